"""What the chapter measured for one registry claim, handed to the claims ledger in one place.

Computation modules return :class:`Measure` objects (value, interval, replicates, note); the notebook
passes them to :func:`record`, which calls ``Ledger.measure`` (the verdict is computed there by
``core.claims.decide`` from the registry's rule). No verdict is ever typed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from scipy import stats

__all__ = ["Measure", "record", "t_interval", "bootstrap_interval"]


@dataclass(frozen=True)
class Measure:
    """One measured claim: ``value`` (a number, or a bool for ``holds``), optional interval and size."""

    claim_id: str
    value: Any
    ci: tuple[float, float] | None = None
    n: int | None = None
    display: str | None = None
    note: str = ""
    method: str | None = None


def record(ledger, measures: Iterable[Measure]) -> None:
    """``ledger.measure`` for every measure (verdicts are computed by the ledger)."""
    for m in measures:
        ledger.measure(m.claim_id, m.value, ci=m.ci, n=m.n, display=m.display, note=m.note, method=m.method)


def t_interval(x, level: float = 0.95) -> tuple[float, tuple[float, float], int]:
    """Mean of replicates and its Student-t interval: (mean, (lo, hi), n). Needs n >= 2."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n < 2:
        raise ValueError(f"a t-interval needs at least 2 replicates, got {n}")
    m = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return m, (m - half, m + half), n


def bootstrap_interval(stat, data: np.ndarray, rng: np.random.Generator, B: int = 2000, level: float = 0.95,
                       axis: int = 0) -> tuple[float, tuple[float, float]]:
    """Percentile bootstrap of ``stat(data)`` resampling along ``axis`` (replicates): (estimate, (lo, hi)).

    The interval is widened to contain the estimate (it always should for sensible statistics)."""
    data = np.asarray(data)
    est = float(stat(data))
    n = data.shape[axis]
    idx = rng.integers(0, n, size=(int(B), n))
    boots = np.array([stat(np.take(data, i, axis=axis)) for i in idx], dtype=float)
    lo, hi = np.quantile(boots[np.isfinite(boots)], [(1 - level) / 2, (1 + level) / 2])
    return est, (float(min(lo, est)), float(max(hi, est)))
