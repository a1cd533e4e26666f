"""The Capability Frontier (eqs. 19-21): exact lambda-sweep, grid version, SOTA metrics (Tables 1-2),
and the extrapolation-debiased frontier ("debias quality and cost separately")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capfront_lib.oracle_debiasing.estimators import fit_extrapolation

__all__ = [
    "Frontier",
    "frontier_exact",
    "frontier_from_points",
    "route",
    "routed_point",
    "frontier_grid",
    "quality_at_cost",
    "cost_at_quality",
    "sota",
    "frontier_metrics",
    "support_function",
    "subsample_route_curves",
    "frontier_extrapolated",
]


@dataclass
class Frontier:
    """Vertices of a frontier: ``cost`` and ``quality`` non-decreasing; ``slope[i]`` joins vertex i and i+1.

    ``alpha`` gives, for each segment, the value of alpha in eq. (19) at which it is traversed
    (alpha = 1/(1 + slope R_C/R_Q)); ``None`` when the ranges are unknown.
    """

    cost: np.ndarray
    quality: np.ndarray
    slope: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def end(self) -> tuple[float, float]:
        """The alpha = 1 end (max quality, then min cost)."""
        return float(self.cost[-1]), float(self.quality[-1])


def _check_qc(q, c) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(q, dtype=float)
    c = np.asarray(c, dtype=float)
    if q.ndim != 2 or q.shape != c.shape:
        raise ValueError(f"q and c must be (N, L) matrices of the same shape, got {q.shape} and {c.shape}")
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(c))):
        raise ValueError("q and c must be finite (fill or drop missing cells first)")
    return q, c


def _prompt_hull(q: np.ndarray, c: np.ndarray) -> tuple[int, list[tuple[float, float]]]:
    """Upper-left convex hull of one prompt's (c, q) points: start index and segments (dc, dq)."""
    cmin = c.min()
    cand = np.nonzero(c <= cmin)[0]
    cur = int(cand[np.argmax(q[cand])])
    start = cur
    segs = []
    while True:
        dc = c - c[cur]
        dq = q - q[cur]
        ok = (dc > 0) & (dq > 0)
        if not ok.any():
            break
        sl = np.where(ok, dq / np.where(ok, dc, 1.0), -np.inf)
        smax = sl.max()
        tie = np.nonzero(ok & (sl >= smax * (1 - 1e-12)))[0]
        nxt = int(tie[np.argmax(c[tie])])
        segs.append((float(c[nxt] - c[cur]), float(q[nxt] - q[cur])))
        cur = nxt
    return start, segs


def frontier_exact(q, c, *, R_Q: float | None = None, R_C: float | None = None) -> Frontier:
    """Exact frontier of per-prompt routing by argmax(q - lambda c) over all lambda (spec §1.6).

    Eqs. (19)-(21) route by argmax of alpha Q* + (1-alpha)(-C*); min-max scaling is affine, so this is
    argmax(q - lambda c) with lambda = (1-alpha) R_Q/(alpha R_C). Start at every prompt's cheapest
    (then best) model and add all per-prompt hull segments (divided by N) in order of decreasing slope.
    """
    q, c = _check_qc(q, c)
    N = q.shape[0]
    rows = np.arange(N)
    starts = np.empty(N, dtype=int)
    dcs, dqs = [], []
    for n in rows:
        st, segs = _prompt_hull(q[n], c[n])
        starts[n] = st
        for dc, dq in segs:
            dcs.append(dc)
            dqs.append(dq)
    dcs = np.asarray(dcs)
    dqs = np.asarray(dqs)
    slopes = dqs / dcs if dcs.size else np.zeros(0)
    order = np.argsort(-slopes, kind="stable")
    c0 = c[rows, starts].mean()
    q0 = q[rows, starts].mean()
    cost = np.concatenate([[c0], c0 + np.cumsum(dcs[order]) / N])
    qual = np.concatenate([[q0], q0 + np.cumsum(dqs[order]) / N])
    sl = slopes[order]
    alpha = None
    if R_Q is not None and R_C is not None:
        alpha = 1.0 / (1.0 + sl * R_C / R_Q)
    return Frontier(cost=cost, quality=qual, slope=sl, alpha=alpha)


def frontier_from_points(cost, quality) -> Frontier:
    """Upper-left concave envelope of a set of achievable (cost, quality) points (randomised mixing)."""
    cost = np.asarray(cost, dtype=float)
    quality = np.asarray(quality, dtype=float)
    ok = np.isfinite(cost) & np.isfinite(quality)
    if not ok.any():
        raise ValueError("no finite (cost, quality) points")
    st, segs = _prompt_hull(quality[ok], cost[ok])
    c0, q0 = cost[ok][st], quality[ok][st]
    dc = np.array([s[0] for s in segs])
    dq = np.array([s[1] for s in segs])
    return Frontier(cost=np.concatenate([[c0], c0 + np.cumsum(dc)]), quality=np.concatenate([[q0], q0 + np.cumsum(dq)]),
                    slope=dq / dc if dc.size else np.zeros(0))


def route(q, c, lam: float, tol: float = 1e-12) -> np.ndarray:
    """Per-prompt choice argmax_l(q - lam c); ties go to higher quality, then lower cost. lam = inf: cheapest."""
    q = np.asarray(q, dtype=float)
    c = np.asarray(c, dtype=float)
    if np.isinf(lam):
        key1, key2 = -c, q
    else:
        key1, key2 = q - lam * c, q
    best = key1.max(axis=-1, keepdims=True)
    m1 = key1 >= best - tol * (1 + np.abs(best))
    k2 = np.where(m1, key2, -np.inf)
    best2 = k2.max(axis=-1, keepdims=True)
    m2 = m1 & (k2 >= best2 - tol * (1 + np.abs(best2)))
    return np.argmin(np.where(m2, c, np.inf), axis=-1)


def routed_point(q_route, c_route, lam: float, q_score=None, c_score=None) -> tuple[float, float]:
    """(mean cost, mean quality) when routing with (q_route, c_route) and scoring with (q_score, c_score)."""
    q_score = q_route if q_score is None else q_score
    c_score = c_route if c_score is None else c_score
    choice = route(q_route, c_route, lam)
    rows = np.arange(np.asarray(q_route).shape[0])
    return float(np.asarray(c_score)[rows, choice].mean()), float(np.asarray(q_score)[rows, choice].mean())


def frontier_grid(q, c, alphas) -> tuple[np.ndarray, np.ndarray]:
    """Eqs. (19)-(21) on an alpha grid: route by argmax alpha Q* + (1-alpha)(-C*) with min-max scaling."""
    q, c = _check_qc(q, c)
    R_Q = q.max() - q.min()
    R_C = c.max() - c.min()
    if R_Q <= 0 or R_C <= 0:
        raise ValueError("quality and cost must each take at least two distinct values")
    costs, quals = [], []
    for a in np.asarray(alphas, dtype=float):
        if not 0.0 <= a <= 1.0:
            raise ValueError("alphas must lie in [0, 1]")
        lam = np.inf if a == 0 else (1.0 - a) * R_Q / (a * R_C)
        if a == 1.0:
            lam = 0.0
        cc, qq = routed_point(q, c, lam)
        costs.append(cc)
        quals.append(qq)
    return np.asarray(costs), np.asarray(quals)


def quality_at_cost(front: Frontier, c0: float) -> float:
    """Frontier quality at cost c0 (linear interpolation = randomised routing); NaN below the cheapest point."""
    if c0 < front.cost[0] - 1e-15:
        return float("nan")
    if c0 >= front.cost[-1]:
        return float(front.quality[-1])
    return float(np.interp(c0, front.cost, front.quality))


def cost_at_quality(front: Frontier, q0: float) -> float:
    """Minimal frontier cost reaching quality q0; NaN if q0 exceeds the frontier's maximum."""
    if q0 > front.quality[-1] + 1e-15:
        return float("nan")
    if q0 <= front.quality[0]:
        return float(front.cost[0])
    return float(np.interp(q0, front.quality, front.cost))


def sota(q_means, c_means) -> int:
    """Index of the SOTA single model: highest mean quality, ties to the cheaper model."""
    q_means = np.asarray(q_means, dtype=float)
    c_means = np.asarray(c_means, dtype=float)
    best = q_means.max()
    cand = np.nonzero(q_means >= best - 1e-12)[0]
    return int(cand[np.argmin(c_means[cand])])


def frontier_metrics(front: Frontier, q_S: float, c_S: float) -> dict:
    """Tables 1-2 metrics vs SOTA (q_S, c_S): error reduction at alpha=1, matched-quality saving, matched-cost error reduction."""
    if q_S >= 1.0:
        nan = float("nan")
        return {"err_red_alpha1": nan, "saving_matched_q": nan, "err_red_matched_c": nan}
    q1 = front.quality[-1]
    c_mq = cost_at_quality(front, q_S)
    q_mc = quality_at_cost(front, c_S)
    return {
        "err_red_alpha1": float((q1 - q_S) / (1.0 - q_S)),
        "saving_matched_q": float(1.0 - c_mq / c_S) if c_S > 0 else float("nan"),
        "err_red_matched_c": float((q_mc - q_S) / (1.0 - q_S)),
    }


def support_function(q, c, lams) -> np.ndarray:
    """h(lambda) = (1/N) sum_n max_l (q_nl - lambda c_nl) (the frontier's support function)."""
    q, c = _check_qc(q, c)
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    return np.array([np.mean(np.max(q - lam * c, axis=1)) for lam in lams])


def _route_sums_numpy(Q, C, U, G_primes, lams):
    """Reference: mean routed (cost, quality) per (lambda, G') for the nested subsets given by the order of U."""
    perm = np.argsort(U, axis=2, kind="stable")
    Qp = np.take_along_axis(Q, perm, axis=2).cumsum(axis=2)
    Cp = np.take_along_axis(C, perm, axis=2).cumsum(axis=2)
    qm = np.moveaxis(Qp[:, :, G_primes - 1] / G_primes, 2, 0)  # (G', N, L)
    cm = np.moveaxis(Cp[:, :, G_primes - 1] / G_primes, 2, 0)
    # continuous costs make exact ties of q - lam c a null event, so a plain argmax routes
    ch = np.argmax(qm[None] - lams[:, None, None, None] * cm[None], axis=3)  # (n_lam, G', N)
    q = np.take_along_axis(qm[None], ch[..., None], axis=3)[..., 0].mean(axis=2)
    c = np.take_along_axis(cm[None], ch[..., None], axis=3)[..., 0].mean(axis=2)
    return c, q


def _route_sums_kernel():
    """The same computation compiled with numba: per prompt, the models' nested-subset means, then a loop over
    G' and lambda (no 4-D temporaries)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(Q, C, U, G_primes, lams):
        N, L, G = Q.shape
        nl, ng = lams.size, G_primes.size
        cs = np.zeros((nl, ng))
        qs = np.zeros((nl, ng))
        qc = np.empty((L, G))
        cc = np.empty((L, G))
        qv = np.empty(L)
        cv = np.empty(L)
        for n in range(N):
            for l in range(L):
                order = np.argsort(U[n, l], kind="mergesort")
                aq, ac = 0.0, 0.0
                for g in range(G):
                    aq += Q[n, l, order[g]]
                    ac += C[n, l, order[g]]
                    qc[l, g] = aq
                    cc[l, g] = ac
            for j in range(ng):
                g = G_primes[j]
                for l in range(L):
                    qv[l] = qc[l, g - 1] / g
                    cv[l] = cc[l, g - 1] / g
                for i in range(nl):
                    lam = lams[i]
                    best, bl = -np.inf, 0
                    for l in range(L):
                        v = qv[l] - lam * cv[l]
                        if v > best:  # first maximum, as np.argmax
                            best, bl = v, l
                    qs[i, j] += qv[bl]
                    cs[i, j] += cv[bl]
        return cs / N, qs / N

    return kernel


_KERNEL = None


def _route_sums(Q, C, U, G_primes, lams, engine: str):
    global _KERNEL
    if engine == "numpy":
        return _route_sums_numpy(Q, C, U, G_primes, lams)
    if _KERNEL is None:
        _KERNEL = _route_sums_kernel()
    return _KERNEL(Q, C, U, np.ascontiguousarray(G_primes, dtype=np.int64), np.ascontiguousarray(lams, dtype=float))


def subsample_route_curves(Q, C, lams, rng: np.random.Generator, B: int = 200, G_primes=None, engine: str = "numba"):
    """Monte Carlo curves of the routed (cost, quality) of the naive router on size-G' subsets (spec §1.4).

    Q, C are complete (N, L, G) tensors. For each of B draws a random permutation of each (n, l)'s
    generations (the order of uniform draws) gives nested subsets; the first G' form a uniform size-G' subset
    (independent per model). Returns (G_primes, cost[len(lams), len(G_primes)], quality[...]). ``engine``
    "numba" (default, compiled loop) or "numpy" (the vectorised reference; same draws, same result to rounding).
    """
    Q = np.ascontiguousarray(Q, dtype=float)
    C = np.ascontiguousarray(C, dtype=float)
    if Q.ndim != 3 or Q.shape != C.shape:
        raise ValueError("Q and C must be (N, L, G) tensors of equal shape")
    if not (np.all(np.isfinite(Q)) and np.all(np.isfinite(C))):
        raise ValueError("subsample_route_curves needs complete tensors (no missing generations)")
    if engine not in ("numba", "numpy"):
        raise ValueError(f"engine must be 'numba' or 'numpy', got {engine!r}")
    N, L, G = Q.shape
    G_primes = np.arange(1, G + 1) if G_primes is None else np.asarray(G_primes, dtype=int)
    if np.any(G_primes < 1) or np.any(G_primes > G):
        raise ValueError(f"G_primes must lie in [1, {G}]")
    lams = np.asarray(lams, dtype=float)
    qs = np.zeros((lams.size, G_primes.size))
    cs = np.zeros_like(qs)
    for _ in range(int(B)):
        c, q = _route_sums(Q, C, rng.random((N, L, G)), G_primes, lams, engine)
        qs += q
        cs += c
    return G_primes, cs / B, qs / B


def frontier_extrapolated(G_primes, cost_curves, quality_curves, form: str = "12", **fit_kw):
    """Debias quality and cost separately (the paper's extrapolation frontier): fit eq. (11)/(12) to each
    lambda's routed quality and to its negated cost over G', and take the G -> infinity limits.

    Returns (cost_inf, quality_inf) per lambda.
    """
    cq, cc = [], []
    for qc, ccurve in zip(quality_curves, cost_curves):
        fq = fit_extrapolation(G_primes, qc, form, **fit_kw)
        neg = -np.asarray(ccurve)
        span = max(float(np.ptp(neg)), abs(neg[-1]), 1e-12)
        fc = fit_extrapolation(G_primes, neg, form, a_bounds=(neg[-1] - 20 * span, neg[-1]), **fit_kw)
        cq.append(fq.a_inf)
        cc.append(-fc.a_inf)
    return np.asarray(cc), np.asarray(cq)
