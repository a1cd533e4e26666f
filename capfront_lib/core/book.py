"""Glue for book pages: numbers computed in a run, quoted in the prose.

``myst_nb.glue`` stores the text form of a value; for a numpy scalar that is ``np.float64(0.5)``
(numpy >= 2), which ``{glue:text}`key:.3f``` cannot format — a Sphinx warning and, with warnings as
errors, a failed book. This wrapper stores numpy scalars as plain Python numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """A numpy scalar or 0-d array as the equivalent Python scalar; anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` with numpy scalars turned into Python numbers (not displayed by default)."""
    from myst_nb import glue as _glue

    _glue(name, plain(value), display=display)
