"""Glue for book pages: numbers computed in a run, quoted in the prose.

``myst_nb.glue`` stores the text form of a value; for a numpy scalar that is ``np.float64(0.5)``
(numpy >= 2), which ``{glue:text}`key:.3f``` cannot format — a Sphinx warning and, with warnings as
errors, a failed book. This wrapper stores numpy scalars as plain Python numbers.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def plain(value: Any) -> Any:
    """A numpy scalar or 0-d array as the equivalent Python scalar; anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` with numpy scalars turned into Python numbers (not displayed by default).

    For prose, prefer glueing text made by :mod:`capfront_lib.core.fmt` (``glue("n", fmt.number(x))``):
    it typesets thousands separators and ``× 10ⁿ`` without Markdown math.
    """
    from myst_nb import glue as _glue

    _glue(name, plain(value), display=display)


def glue_all(values: Mapping[str, Any]) -> None:
    """Glue many values at once (``glue_all({"beta": fmt.number(b), ...})``), none displayed."""
    for name, value in values.items():
        glue(name, value)


def figure(name: str, fig: Any) -> None:
    """Glue a matplotlib figure for a numbered ``{glue:figure}`` in the next Markdown cell, and close it.

    The figure is not displayed where it is made; the page shows it once, as a numbered figure with its
    caption and alt text::

        ```{glue:figure} fig-od-bias
        :name: fig-od-bias
        :alt: Expected bias of the naive oracle against the number of generations, two panels.

        **Take-away sentence.** What is drawn; data: {glue:text}`od_data`.
        ```
    """
    import matplotlib.pyplot as plt

    glue(name, fig)
    plt.close(fig)
