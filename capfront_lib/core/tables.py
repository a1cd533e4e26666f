"""One formatter for every table a page displays.

``show_table(df, ...)`` renders a DataFrame as an HTML table that a reader can read:

- no pandas index column (pass ``index=True`` to show a meaningful index as the first column);
- numbers through :mod:`capfront_lib.core.fmt`: integers with thousands separators, floats with
  significant digits chosen per column, very small/large values as ``× 10ⁿ``, integral floats as integers;
- a missing cell is ``—`` and needs a footnote saying why (``missing="..."``); a non-finite ratio is
  ``∞`` and needs ``infinite="..."`` — a table that has them without the reason raises;
- the table sits in its own horizontally scrolling box, so a wide table never widens the page.
"""

from __future__ import annotations

import html
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from capfront_lib.core import fmt

CSS_CLASS = "cf-table"


def _column_decimals(values: pd.Series, sig: int) -> int | None:
    """Decimals that give the column's typical magnitude ``sig`` significant digits (None: use per-cell)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    x = np.abs(x[np.isfinite(x) & (x != 0)])
    x = x[(x >= 1e-3) & (x < 1e9)]
    if x.size == 0:
        return None
    mag = int(math.floor(math.log10(float(np.median(x)))))
    return int(min(max(sig - 1 - mag, 0), 6))


def _is_integral_column(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return False
    if pd.api.types.is_integer_dtype(s):
        return True
    if not pd.api.types.is_float_dtype(s):
        return False
    x = s.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return x.size > 0 and bool(np.all(x == np.round(x))) and bool(np.all(np.abs(x) < 1e15))


def format_cells(
    df: pd.DataFrame,
    *,
    sig: int | Mapping[str, int] = 3,
    percent: Iterable[str] = (),
    decimals: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, bool, bool]:
    """Format every cell as text; return (text frame, has_missing, has_infinite)."""
    percent = set(percent)
    decimals = dict(decimals or {})
    out = pd.DataFrame(index=df.index)
    has_missing = has_inf = False
    for col in df.columns:
        s = df[col]
        csig = sig.get(col, 3) if isinstance(sig, Mapping) else sig
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        cells: list[str] = []
        if numeric:
            integral = _is_integral_column(s)
            dec = decimals.get(col, None if integral else _column_decimals(s * (100 if col in percent else 1), csig))
            for v in s.tolist():
                if fmt.is_missing(v):
                    has_missing = True
                    cells.append(fmt.MISSING)
                elif isinstance(v, float) and math.isinf(v):
                    has_inf = True
                    cells.append(fmt.number(v))
                elif col in percent:
                    cells.append(fmt.pct(v, dec if dec is not None else 1))
                elif integral:
                    cells.append(fmt.number(int(round(v))))
                else:
                    cells.append(fmt.number(float(v), csig, decimals=dec if dec is not None and 1e-3 <= abs(v) < 1e9 else None))
        else:
            for v in s.tolist():
                if fmt.is_missing(v):
                    has_missing = True
                    cells.append(fmt.MISSING)
                elif isinstance(v, (float, np.floating)) and math.isinf(float(v)):
                    has_inf = True
                    cells.append(fmt.number(float(v)))
                elif isinstance(v, (float, np.floating)):
                    cells.append(fmt.number(float(v), csig))
                elif isinstance(v, (bool, np.bool_)):
                    cells.append("yes" if v else "no")
                else:
                    cells.append(str(v))
        out[col] = cells
    return out, has_missing, has_inf


def table_html(
    df: pd.DataFrame,
    *,
    caption: str | None = None,
    missing: str | None = None,
    infinite: str | None = None,
    notes: Iterable[str] = (),
    index: bool = False,
    sig: int | Mapping[str, int] = 3,
    percent: Iterable[str] = (),
    decimals: Mapping[str, int] | None = None,
    wide: bool = False,
) -> str:
    """The HTML of a formatted table (see the module docstring). Raises when ``—``/``∞`` lack a reason."""
    frame = df.reset_index() if index else df
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    text, has_missing, has_inf = format_cells(frame, sig=sig, percent=percent, decimals=decimals)
    if has_missing and not missing:
        cols = [c for c in frame.columns if frame[c].map(fmt.is_missing).any()]
        raise ValueError(f"table has missing cells in columns {cols}: pass missing='why they are missing'")
    if has_inf and not infinite:
        raise ValueError("table has infinite values: pass infinite='why (e.g. a zero denominator)'")
    numeric_cols = {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}
    head = "".join(f'<th class="{"num" if c in numeric_cols else "txt"}">{html.escape(c)}</th>' for c in text.columns)
    body = []
    for _, row in text.iterrows():
        tds = "".join(
            f'<td class="{"num" if c in numeric_cols else "txt"}">{html.escape(str(v))}</td>' for c, v in row.items()
        )
        body.append(f"<tr>{tds}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = []
    if has_missing:
        foot.append(f"{fmt.MISSING} {missing}")
    if has_inf:
        foot.append(f"∞ {infinite}")
    foot.extend(notes)
    foot_html = "".join(f'<p class="cf-table-note">{html.escape(n)}</p>' for n in foot)
    cls = CSS_CLASS + (" cf-table-wide" if wide else "")
    return (
        f'<div class="{cls}"><table>{cap}<thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table>{foot_html}</div>'
    )


def show_table(df: pd.DataFrame, **kwargs: Any):
    """Display a formatted table (returns the ``IPython.display.HTML`` object; see :func:`table_html`)."""
    from IPython.display import HTML

    return HTML(table_html(df, **kwargs))
