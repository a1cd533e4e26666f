"""One plotting style for the whole book, and source notes for figure titles.

No computation lives here: functions take arrays/frames and draw.
"""

from __future__ import annotations

from typing import Literal

import matplotlib as mpl

Source = Literal["simulated", "public data", "transcription", "analytic", "your log"]

_SOURCE_TEXT = {
    "simulated": "simulated data",
    "public data": "real public data",
    "transcription": "transcription of the paper's published values",
    "analytic": "analytic (closed form)",
    "your log": "your log",
}

PALETTE = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057", "#e07a5f"]


def use_style() -> None:
    """Apply the book's matplotlib style (sizes, grid, colour cycle)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.2),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
        }
    )


def source_note(source: Source) -> str:
    """Text naming where a figure's data comes from, to put in its title or caption."""
    try:
        return _SOURCE_TEXT[source]
    except KeyError:
        raise ValueError(f"source must be one of {list(_SOURCE_TEXT)}, got {source!r}") from None


def titled(ax, title: str, source: Source) -> None:
    """Set an axes title that ends with the data source in brackets."""
    ax.set_title(f"{title}\n[{source_note(source)}]")
