"""Prop. 4 budget-constrained routing as a linear program (spec §2.13).

Types t (distinct correctness columns by default) with weights p_t, quality q_it, price c_i per query.
The value curve V(B) is the upper concave hull of the bang-per-buck policies scanned at the dual
breakpoints; ``linprog`` (HiGHS) gives the same value and a shadow price lambda_B.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, sparse

__all__ = ["pattern_types", "bang_per_buck", "breakpoints", "value_curve", "value_at", "dual_value", "solve_lp"]


def pattern_types(Y) -> tuple[np.ndarray, np.ndarray]:
    """Collapse queries to distinct correctness columns: returns (q: m x T 0/1, p: T weights summing to 1)."""
    A = np.asarray(Y, float)
    cols, counts = np.unique(A.T, axis=0, return_counts=True)
    return cols.T.copy(), counts / counts.sum()


def _check(q, p, c):
    q = np.asarray(q, float)
    p = np.asarray(p, float)
    c = np.asarray(c, float)
    if q.ndim != 2 or q.shape != (c.size, p.size):
        raise ValueError(f"q must be m x T = {c.size} x {p.size}, got {q.shape}")
    if np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("costs c must be finite and >= 0")
    if np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
        raise ValueError("type weights p must be >= 0 and sum to 1")
    return q, p, c


def bang_per_buck(q, p, c, lam: float) -> tuple[float, float, np.ndarray]:
    """Policy argmax_i (q_it - lam c_i) per type, ties to the cheapest model: returns (cost, value, choice)."""
    q, p, c = _check(q, p, c)
    order = np.argsort(c, kind="stable")  # cheapest first so argmax picks it on ties
    score = q[order] - lam * c[order, None]
    pick = order[np.argmax(score, axis=0)]
    return float(p @ c[pick]), float(p @ q[pick, np.arange(q.shape[1])]), pick


def breakpoints(q, c) -> np.ndarray:
    """Dual breakpoints lambda = (q_it - q_jt)/(c_i - c_j) > 0 (for 0/1 data 1/(c_i - c_j), c_i > c_j)."""
    q = np.asarray(q, float)
    c = np.asarray(c, float)
    diffs = c[:, None] - c[None, :]
    if set(np.unique(q)).issubset({0.0, 1.0}):
        lam = 1.0 / diffs[diffs > 0]
    else:
        num = (q[:, None, :] - q[None, :, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = (num / diffs[:, :, None]).ravel()
        lam = lam[np.isfinite(lam) & (lam > 0)]
    return np.unique(lam)


def value_curve(q, p, c) -> dict:
    """Exact V(B): bang-per-buck points at every breakpoint (plus lambda = 0 and lambda -> inf), upper concave hull.

    Returns hull vertices (cost, value) sorted by cost, the slopes lambda_B of its segments, and all scanned points.
    """
    q, p, c = _check(q, p, c)
    lams = np.concatenate([[0.0], breakpoints(q, c), [np.inf]])
    pts = []
    for lam in lams:
        if np.isinf(lam):
            i = int(np.argmin(np.where(c == c.min(), -q @ p, np.inf)))  # cheapest (most accurate among ties)
            pts.append((float(c[i]), float(q[i] @ p)))
        else:
            cost, val, _ = bang_per_buck(q, p, c, lam)
            pts.append((cost, val))
    P = np.unique(np.array(pts), axis=0)
    # upper concave hull, increasing part (monotone chain)
    hull: list[tuple[float, float]] = []
    for x, y in sorted(map(tuple, P), key=lambda z: (z[0], -z[1])):
        if hull and x == hull[-1][0]:
            continue
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) >= -1e-15:
                hull.pop()
            else:
                break
        hull.append((x, y))
    H = np.array(hull)
    # keep the non-decreasing part only (past the max the extra spend buys nothing)
    k = int(np.argmax(H[:, 1] >= H[:, 1].max() - 1e-15))
    H = H[: k + 1]
    slopes = np.diff(H[:, 1]) / np.diff(H[:, 0]) if len(H) > 1 else np.array([])
    return {"cost": H[:, 0], "value": H[:, 1], "slopes": slopes, "points": P}


def value_at(curve: dict, B) -> np.ndarray:
    """V(B) from the hull (flat beyond the last vertex; NaN below the cheapest model's cost)."""
    B = np.asarray(B, float)
    x, y = curve["cost"], curve["value"]
    out = np.interp(B, x, y)
    return np.where(B < x[0] - 1e-15, np.nan, out)


def dual_value(q, p, c, B: float) -> tuple[float, float]:
    """Dual V(B) = min_{lam >= 0} lam B + sum_t p_t max_i (q_it - lam c_i), exactly at the breakpoints; (value, argmin lam)."""
    q, p, c = _check(q, p, c)
    lams = np.concatenate([[0.0], breakpoints(q, c)])
    vals = np.array([lam * B + p @ np.max(q - lam * c[:, None], axis=0) for lam in lams])
    i = int(np.argmin(vals))
    return float(vals[i]), float(lams[i])


def _undominated(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """m x T mask of (model, type) pairs that are not dominated: per type and quality level only the cheapest model.

    Replacing a model by a cheaper one of equal quality on a type keeps the objective and lowers the cost, so an
    optimal policy never needs the others: dropping them changes neither V(B) nor the budget's shadow price.
    """
    m, T = q.shape
    keep = np.zeros((m, T), bool)
    order = np.argsort(c, kind="stable")
    qo = q[order]
    for level in np.unique(q):
        hit = qo == level
        first = np.argmax(hit, axis=0)  # cheapest model with this quality on each type
        has = hit.any(axis=0)
        keep[order[first[has]], np.flatnonzero(has)] = True
    return keep


def solve_lp(q, p, c, B: float, reduce: bool = True) -> tuple[float, float]:
    """Primal LP of Prop. 4 with ``scipy.optimize.linprog(method="highs")``: returns (V(B), shadow price lambda_B).

    max sum_t p_t sum_i pi_it q_it  s.t.  sum_t p_t sum_i pi_it c_i <= B, sum_i pi_it = 1, pi >= 0.
    With ``reduce`` the dominated (model, type) pairs are left out (:func:`_undominated`; for 0/1 data two
    variables per type instead of m), which leaves the value and the shadow price unchanged.
    At kinks HiGHS may return any subgradient.
    """
    q, p, c = _check(q, p, c)
    m, T = q.shape
    if B < c.min() - 1e-12:
        raise ValueError(f"budget B = {B} is below the cheapest model's cost {c.min()}")
    keep = _undominated(q, c) if reduce else np.ones((m, T), bool)
    ii, tt = np.nonzero(keep)
    obj = -(q[ii, tt] * p[tt])
    A_ub = (c[ii] * p[tt])[None, :]
    A_eq = sparse.csr_matrix((np.ones(len(ii)), (tt, np.arange(len(ii)))), shape=(T, len(ii)))
    res = optimize.linprog(obj, A_ub=A_ub, b_ub=[B], A_eq=A_eq, b_eq=np.ones(T), bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(-res.fun), float(-res.ineqlin.marginals[0])
