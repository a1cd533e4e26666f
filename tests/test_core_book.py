"""Glue values are stored as plain Python numbers so that {glue:text} can format them."""

import numpy as np

from capfront_lib.core.book import plain


def test_plain_turns_numpy_scalars_into_python_numbers():
    assert type(plain(np.float64(0.25))) is float and plain(np.float64(0.25)) == 0.25
    assert type(plain(np.int64(3))) is int
    assert type(plain(np.array(1.5))) is float
    assert repr(plain(np.float32(0.5))) == "0.5"
    arr = np.arange(3)
    assert plain(arr) is arr and plain("text") == "text"
