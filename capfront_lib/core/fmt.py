"""Numbers as a reader should see them: in prose (glued) and in tables.

- thousands separators (``9,460``), significant digits rather than padded decimals (``1.21`` not
  ``1.210000``);
- very small or very large numbers typeset with a Unicode exponent (``1.2 × 10⁻⁴``), never ``1.20e-04``
  or a 20-digit integer;
- missing values as an em dash and non-finite values as ``∞`` / ``−∞`` (callers add a note saying why).

Glued text goes through these functions (``glue("cost", number(x))``), so prose numbers need no
``{glue:text}`` format spec and no Markdown math.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def is_missing(x: Any) -> bool:
    """None, NaN or pandas NA."""
    if x is None:
        return True
    try:
        import pandas as pd

        if x is pd.NA or x is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(x, float) and math.isnan(x)


def _as_float(x: Any) -> float | None:
    try:
        import numpy as np

        if isinstance(x, np.generic):
            x = x.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def sci(x: float, sig: int = 2) -> str:
    """``1.2 × 10⁻⁴`` (mantissa with ``sig`` significant digits)."""
    if x == 0:
        return "0"
    exp = int(math.floor(math.log10(abs(x))))
    mant = x / 10**exp
    if round(abs(mant), sig - 1) >= 10:  # 9.96 -> 10.0 at 2 digits: carry into the exponent
        exp += 1
        mant = x / 10**exp
    m = f"{mant:.{max(sig - 1, 0)}f}"
    return f"{m.replace('-', '−')} × 10{str(exp).translate(_SUP)}"


def number(x: Any, sig: int = 3, *, decimals: int | None = None, sci_below: float = 1e-3,
           sci_above: float = 1e9) -> str:
    """A number for prose or a table cell.

    Integers get thousands separators; floats get ``sig`` significant digits (or exactly ``decimals``
    decimals when given); magnitudes below ``sci_below`` or above ``sci_above`` use ``× 10ⁿ``.
    Missing -> ``—``; infinities -> ``∞``.
    """
    if is_missing(x):
        return MISSING
    v = _as_float(x)
    if v is None:
        return str(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if math.isnan(v):
        return MISSING
    integral = isinstance(x, int) or (not isinstance(x, float) and float(v).is_integer() and _is_int_like(x))
    if integral and abs(v) < sci_above:
        return f"{int(v):,}".replace("-", "−")
    if v != 0 and (abs(v) < sci_below or abs(v) >= sci_above):
        return sci(v, max(sig, 1))
    if decimals is None:
        if v == 0:
            return "0"
        mag = int(math.floor(math.log10(abs(v))))
        decimals = max(sig - 1 - mag, 0)
    text = f"{v:,.{decimals}f}"
    return text.replace("-", "−")


def _is_int_like(x: Any) -> bool:
    try:
        import numpy as np

        return isinstance(x, np.integer)
    except ImportError:  # pragma: no cover
        return False


def pct(x: Any, decimals: int = 1, *, signed: bool = False) -> str:
    """A fraction as a percentage: ``pct(0.5396, 2) == "53.96%"``."""
    if is_missing(x):
        return MISSING
    v = float(x) * 100
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    s = f"{v:+.{decimals}f}%" if signed else f"{v:.{decimals}f}%"
    return s.replace("-", "−")


def money(x: Any, sig: int = 3) -> str:
    """US dollars: ``$0.0212``, ``$333.33``, ``$1.2 × 10⁻⁴``."""
    if is_missing(x):
        return MISSING
    v = float(x)
    sign, v = ("−", -v) if v < 0 else ("", v)
    if v != 0 and v < 1e-3:
        return f"{sign}${sci(v, sig)}"
    if v >= 100:
        return f"{sign}${v:,.2f}"
    return f"{sign}${number(v, sig)}"


def interval(lo: Any, hi: Any, sig: int = 3) -> str:
    """``[0.0012, 0.0088]``."""
    return f"[{number(lo, sig)}, {number(hi, sig)}]"
