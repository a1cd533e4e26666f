"""Parameter checks that stop a run early with a message naming the parameter."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Iterable


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer within [minimum, maximum], else raise ``ValueError``."""
    if not _is_int(value):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"parameter {name!r} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"parameter {name!r} must be <= {maximum}, got {value}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    strict_max: bool = False,
) -> float:
    """Return ``value`` as float if it is a finite real number in the given range, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"parameter {name!r} must be a finite number, got {value!r}")
    v = float(value)
    if minimum is not None and (v < minimum or (strict_min and v == minimum)):
        op = ">" if strict_min else ">="
        raise ValueError(f"parameter {name!r} must be {op} {minimum}, got {v}")
    if maximum is not None and (v > maximum or (strict_max and v == maximum)):
        op = "<" if strict_max else "<="
        raise ValueError(f"parameter {name!r} must be {op} {maximum}, got {v}")
    return v


def check_probability(name: str, value: Any, *, open_interval: bool = False) -> float:
    """Return ``value`` if it is a probability in [0, 1] (or (0, 1) with ``open_interval``)."""
    return check_float(name, value, minimum=0.0, maximum=1.0, strict_min=open_interval, strict_max=open_interval)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"parameter {name!r} must be one of {options}, got {value!r}")
    return value


def check_seed(name: str, value: Any) -> int:
    """A seed is a non-negative integer."""
    return check_int(name, value, minimum=0)
