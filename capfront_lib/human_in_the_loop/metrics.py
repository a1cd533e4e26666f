"""Selective-prediction metrics: rejection by a score, accuracy-rejection curves, AUARC, smoother.

Thesis ch. 4 (Zellinger & Thomson, "Fail Fast, or Ask"), §4.3 "Metrics" and §4.5:

* rejection of a fraction ``r`` of queries by an uncertainty score (for a reasoning model: the length of its
  trace, rejecting the longest ones), eq. (4.3): ``Accuracy(T) = E[correct | N_out <= T]``;
* the conditional accuracy ``A(r)`` over the *non-rejected* queries and the error ``E(r) = 1 - A(r)``;
* AUARC = the plain mean of ``A(r)`` over rejection rates 0 %..20 % (the thesis's definition, not an integral);
* the local linear regression of correctness on (log) trace length of Fig. 4.3, with a +-1 sigma band.

Counts are realised exactly: rejecting a fraction ``r`` of ``n`` queries rejects ``round_half_up(n*r)`` of them, the
ones with the largest score, ties broken by query id (the smaller id is rejected first) so that every run is
deterministic and hits its target count.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "count",
    "rejection_grid",
    "rejection_order",
    "reject_top",
    "conditional_accuracy",
    "accuracy_rejection_curve",
    "accuracy_rejection_curve_naive",
    "auarc",
    "oracle_curve",
    "random_curve_expected",
    "selective_bounds",
    "local_linear",
]


def count(n: int, frac) -> np.ndarray | int:
    """``round_half_up(n * frac)``: the number of queries a rate ``frac`` stands for (vectorised).

    A tiny tolerance protects exact halves from floating-point error (``500 * 0.075`` -> 38).
    """
    f = np.asarray(frac, dtype=float)
    if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f > 1):
        raise ValueError(f"rates must lie in [0, 1], got {frac!r}")
    k = np.floor(n * f + 0.5 + 1e-9).astype(int)
    return int(k) if k.ndim == 0 else k


def rejection_grid(rejection_max: float = 0.20, rejection_step: float = 0.005) -> np.ndarray:
    """Rejection rates ``0, step, ..., rejection_max`` (inclusive): the AUARC grid of §4.3 (41 points by default)."""
    if not (np.isfinite(rejection_max) and 0 <= rejection_max <= 1):
        raise ValueError(f"rejection_max must be in [0, 1], got {rejection_max!r}")
    if not (np.isfinite(rejection_step) and rejection_step > 0):
        raise ValueError(f"rejection_step must be > 0, got {rejection_step!r}")
    k = rejection_max / rejection_step
    if abs(k - round(k)) > 1e-6:
        raise ValueError(f"rejection_max ({rejection_max}) must be a multiple of rejection_step ({rejection_step})")
    return np.round(np.arange(int(round(k)) + 1) * rejection_step, 12)


def _as_1d(name: str, x, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has length {a.shape[0]}, expected {n}")
    if np.any(~np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values (first index {int(np.flatnonzero(~np.isfinite(a))[0])})")
    return a


def _check_correct(correct) -> np.ndarray:
    c = _as_1d("correct", correct)
    if not np.isin(c, (0.0, 1.0)).all():
        raise ValueError(f"correct must be 0/1; first offending index {int(np.flatnonzero(~np.isin(c, (0.0, 1.0)))[0])}")
    return c


def rejection_order(score, ids=None) -> np.ndarray:
    """Indices in the order queries are rejected: largest ``score`` first, ties by ``ids`` ascending.

    ``ids`` defaults to the position; they may be strings or numbers but must be unique.
    """
    s = _as_1d("score", score)
    if ids is None:
        keys = np.arange(s.size)
    else:
        keys = np.asarray(ids)
        if keys.shape != s.shape:
            raise ValueError(f"ids has shape {keys.shape}, expected {s.shape}")
        if np.unique(keys).size != keys.size:
            raise ValueError("ids must be unique (they break ties between equal scores)")
    # lexsort sorts by the last key first: primary -score, secondary id
    return np.lexsort((keys, -s))


def reject_top(score, n_reject: int, ids=None) -> np.ndarray:
    """Boolean mask of the ``n_reject`` queries with the largest score (ties by id): rejection by eq. (4.3)."""
    s = _as_1d("score", score)
    if not (0 <= int(n_reject) <= s.size):
        raise ValueError(f"n_reject must be in [0, {s.size}], got {n_reject}")
    mask = np.zeros(s.size, dtype=bool)
    mask[rejection_order(s, ids)[: int(n_reject)]] = True
    return mask


def conditional_accuracy(correct, rejected) -> float:
    """``A(r)``: accuracy over the non-rejected queries (§4.3 "Metrics"); NaN when everything is rejected."""
    c = _check_correct(correct)
    rej = np.asarray(rejected, dtype=bool)
    if rej.shape != c.shape:
        raise ValueError(f"rejected has shape {rej.shape}, expected {c.shape}")
    keep = ~rej
    return float(c[keep].mean()) if keep.any() else float("nan")


def accuracy_rejection_curve(correct, score, rates, ids=None) -> np.ndarray:
    """``A(r)`` for every rate in ``rates``, rejecting the highest-``score`` queries (eq. 4.3), vectorised.

    One sort plus a cumulative sum: rejecting the first ``k`` queries of :func:`rejection_order` leaves
    ``(total correct - cumsum[k]) / (n - k)`` as the conditional accuracy.
    """
    c = _check_correct(correct)
    order = rejection_order(_as_1d("score", score, c.size), ids)
    k = count(c.size, rates)
    csum = np.concatenate([[0.0], np.cumsum(c[order])])
    kept = c.size - np.asarray(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c.sum() - csum[k]) / kept
    return np.where(kept > 0, out, np.nan)


def accuracy_rejection_curve_naive(correct, score, rates, ids=None) -> np.ndarray:
    """Reference implementation of :func:`accuracy_rejection_curve`: one full rejection per rate (for benchmarks)."""
    c = _check_correct(correct)
    return np.array([conditional_accuracy(c, reject_top(score, count(c.size, r), ids)) for r in np.atleast_1d(rates)])


def auarc(curve) -> float:
    """Area under the accuracy-rejection curve as §4.3 defines it: the plain mean of ``A(r)`` over the grid."""
    a = np.asarray(curve, dtype=float)
    if a.size == 0 or np.any(np.isnan(a)):
        raise ValueError("auarc: the curve is empty or contains NaN")
    return float(a.mean())


def oracle_curve(n: int, n_errors: int, rates) -> np.ndarray:
    """Best possible ``A(r)``: errors are rejected first, ``A = (n - k - max(e - k, 0)) / (n - k)``."""
    if not (0 <= n_errors <= n) or n <= 0:
        raise ValueError(f"need 0 <= n_errors <= n and n > 0, got n={n}, n_errors={n_errors}")
    k = np.asarray(count(n, rates))
    kept = n - k
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (kept - np.maximum(n_errors - k, 0)) / kept
    return np.where(kept > 0, out, np.nan)


def random_curve_expected(n: int, n_errors: int, rates) -> np.ndarray:
    """Expected ``A(r)`` under uniformly random rejection: ``1 - e`` at every rate (hypergeometric mean)."""
    if not (0 <= n_errors <= n) or n <= 0:
        raise ValueError(f"need 0 <= n_errors <= n and n > 0, got n={n}, n_errors={n_errors}")
    return np.full(np.shape(np.atleast_1d(rates)), 1.0 - n_errors / n)


def selective_bounds(n: int, n_errors: int, rates) -> dict[str, float]:
    """AUARC of random rejection (``1 - e``) and of the oracle (errors rejected first) on ``rates``."""
    return {
        "random": auarc(random_curve_expected(n, n_errors, rates)),
        "oracle": auarc(oracle_curve(n, n_errors, rates)),
    }


def local_linear(x, y, grid, bandwidth: float) -> dict[str, np.ndarray]:
    """Gaussian-kernel local linear regression of ``y`` on ``x`` at ``grid`` with a binomial +-1 sigma band.

    Fig. 4.3 of the thesis ("local linear regression (+-1 sigma) of correctness vs output tokens"); the smoother
    details are not given, so: kernel ``w_i = phi((x_i - x0)/h)``, estimate ``a`` of the weighted least-squares fit
    ``y ~ a + b (x - x0)``, and ``sigma = sqrt(p(1-p)/n_eff)`` with ``p`` = the estimate clipped to [0, 1] and the
    effective sample size ``n_eff = (sum w)^2 / sum w^2``. Returns ``mean``, ``se``, ``n_eff`` arrays.
    """
    xv = _as_1d("x", x)
    yv = _as_1d("y", y, xv.size)
    g = _as_1d("grid", grid)
    if not (np.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be > 0, got {bandwidth!r}")
    d = xv[None, :] - g[:, None]  # grid x n
    w = np.exp(-0.5 * (d / bandwidth) ** 2)
    s0, s1, s2 = w.sum(1), (w * d).sum(1), (w * d * d).sum(1)
    t0, t1 = (w * yv).sum(1), (w * d * yv).sum(1)
    det = s0 * s2 - s1 * s1
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(det > 1e-12 * np.maximum(s0 * s2, 1e-300), (s2 * t0 - s1 * t1) / det, t0 / s0)
        n_eff = s0**2 / (w * w).sum(1)
    p = np.clip(a, 0.0, 1.0)
    se = np.sqrt(p * (1 - p) / n_eff)
    return {"mean": a, "se": se, "n_eff": n_eff}

