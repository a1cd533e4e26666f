"""Checks of the chapter's theorems (thesis ch. 3, Theorems 3-5, App. 3B) on concrete menus.

* **Theorem 3** (App. 3B "Proof of Theorem 1"): under a regularity condition, strictly positive prices map
  *onto* the Pareto surface. Part (i) of the proof (every reward-optimal option at strictly positive prices is
  Pareto-optimal) needs no condition: :func:`optimal_is_pareto`. Part (ii) (surjectivity) needs the condition,
  which holds on a *convex* menu; randomised routing between the models ("randomly routing queries between two
  LLMs smoothly interpolates", §3.5) makes the menu the convex hull of the models' metric vectors, and
  :func:`mixture_surjectivity` checks part (ii) there by linear programming. On the finite menu itself the
  condition fails in general (:func:`reward.lower_convex_hull`: only hull vertices are ever selected).
* **Theorem 4**: the printed statement has S1 and S2 swapped relative to its proof. :func:`theorem4_check` tests
  both on random pairs of convex menus in (cost, error), with exact envelope comparisons.
* **Theorem 5** (eq. 3.26): :func:`theorem5_residual` on random deferral/error vectors.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from capfront_lib.economic_evaluation import cascade as cc
from capfront_lib.economic_evaluation import reward as rw

__all__ = [
    "optimal_is_pareto", "dominated_in_hull", "supporting_prices", "mixture_surjectivity",
    "envelope_geq", "front_dominates", "theorem4_check", "theorem5_residual",
]

_LP_TOL = 1e-9


def optimal_is_pareto(F, weights) -> bool:
    """Theorem 3, part (i): every option selected by ``argmin F @ w`` for a strictly positive weight row ``w`` is
    Pareto-optimal in ``F`` (options x objectives, minimised). ``weights`` rows must be strictly positive."""
    F = np.asarray(F, float)
    W = np.atleast_2d(np.asarray(weights, float))
    if np.any(W <= 0):
        raise ValueError("optimal_is_pareto needs strictly positive weights")
    chosen = rw.selected_by_sweep(F, W)
    return bool(rw.pareto_mask(F)[chosen].all())


def dominated_in_hull(F, x) -> float:
    """Largest total improvement ``sum(x - y)`` over points ``y <= x`` of the convex hull of the rows of ``F``.

    0 (up to LP tolerance) iff ``x`` is Pareto-optimal in the hull (the randomised-routing menu). One LP:
    ``max 1's  s.t.  F' v + s = x, 1'v = 1, v >= 0, s >= 0``.
    """
    F = np.asarray(F, float)
    x = np.asarray(x, float)
    k, d = F.shape
    c = np.r_[np.zeros(k), -np.ones(d)]
    A_eq = np.zeros((d + 1, k + d))
    A_eq[:d, :k] = F.T
    A_eq[:d, k:] = np.eye(d)
    A_eq[d, :k] = 1.0
    b_eq = np.r_[x, 1.0]
    res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * (k + d), method="highs")
    if not res.success:  # pragma: no cover - x is in the hull by construction in our uses
        raise RuntimeError(f"dominance LP failed: {res.message}")
    return float(-res.fun)


def supporting_prices(F, x, upper: float = 1e6) -> tuple[np.ndarray | None, float]:
    """Strictly positive prices ``w = (1, lam_2, ..., lam_d)`` at which ``x`` is reward-optimal over ``F``.

    Maximises ``t`` subject to ``lam_i >= t`` and ``w (x - F_m) <= 0`` for every option ``m`` (``lam_i <= upper``).
    Returns ``(w, t)``; ``x`` is optimal for some strictly positive prices iff ``t > 0``.
    """
    F = np.asarray(F, float)
    x = np.asarray(x, float)
    k, d = F.shape
    # variables: lam_2..lam_d, t ; maximise t
    n = d - 1
    c = np.r_[np.zeros(n), -1.0]
    diff = x[None, :] - F  # k x d ; constraint diff[:,0] + diff[:,1:] @ lam <= 0
    A1 = np.c_[diff[:, 1:], np.zeros(k)]
    b1 = -diff[:, 0]
    A2 = np.c_[-np.eye(n), np.ones(n)]  # t - lam_i <= 0
    b2 = np.zeros(n)
    res = linprog(c, A_ub=np.r_[A1, A2], b_ub=np.r_[b1, b2], bounds=[(0, upper)] * n + [(None, upper)],
                  method="highs")
    if not res.success:
        return None, float("-inf")
    lam = res.x[:n]
    return np.r_[1.0, lam], float(res.x[-1])


def mixture_surjectivity(F, n_samples: int = 400, rng: np.random.Generator | int = 0) -> dict:
    """Theorem 3, part (ii), on the randomised-routing menu ``conv(F)``: sample mixtures, keep the Pareto-optimal
    ones (:func:`dominated_in_hull` = 0) and find strictly positive prices making each one reward-optimal.

    Samples mixtures of random subsets of the Pareto-optimal models (edges and faces of the front) and of all
    models. Returns ``n_samples``, ``n_pareto`` (Pareto-optimal mixtures found), ``n_supported`` (of those,
    optimal for some strictly positive prices), ``min_t`` and ``holds`` (every Pareto mixture supported and at
    least 10 of them found).
    """
    rng = np.random.default_rng(rng)
    F = np.asarray(F, float)
    scale = F.max(axis=0) - F.min(axis=0)
    scale[scale == 0] = 1.0
    G = F / scale  # the check is scale-free; normalising keeps the LPs well conditioned
    front = np.flatnonzero(rw.pareto_mask(G))
    n_pareto = n_sup = 0
    min_t = float("inf")
    for i in range(n_samples):
        pool = front if i % 2 == 0 else np.arange(len(G))
        size = int(rng.integers(1, len(pool) + 1))
        sub = rng.choice(pool, size=size, replace=False)
        w = rng.dirichlet(np.ones(size))
        x = w @ G[sub]
        if dominated_in_hull(G, x) > _LP_TOL:
            continue
        n_pareto += 1
        _, t = supporting_prices(G, x)
        min_t = min(min_t, t)
        n_sup += int(t > _LP_TOL)
    return {"n_samples": n_samples, "n_pareto": n_pareto, "n_supported": n_sup, "min_t": min_t,
            "holds": bool(n_pareto >= 10 and n_sup == n_pareto)}


def _value(F, lam) -> float:
    """``min_m (c_m + lam e_m)`` for a (cost, error) menu: minus the value R(lam) of eq. (3.14)."""
    return float(np.min(F[:, 0] + lam * F[:, 1]))


def envelope_geq(F1, F2, atol: float = 1e-12) -> bool:
    """Exactly whether ``R_1(lam) >= R_2(lam)`` for every ``lam > 0`` (menus of (cost, error) rows, eq. 3.14).

    ``-R_i`` is the lower envelope of lines ``c + lam e``; the difference is piecewise linear with kinks where two
    lines of ``F1 ∪ F2`` cross, so it suffices to check ``lam -> 0``, every positive crossing, and the slopes at
    infinity (the smallest error rates).
    """
    F1, F2 = np.asarray(F1, float), np.asarray(F2, float)
    P = np.r_[F1, F2]
    lams = [0.0]
    for i in range(len(P)):
        for j in range(i + 1, len(P)):
            de = P[i, 1] - P[j, 1]
            if de != 0:
                lam = (P[j, 0] - P[i, 0]) / de
                if lam > 0:
                    lams.append(lam)
    big = 2.0 * max(lams) + 1.0
    lams.append(big)
    for lam in lams:
        if _value(F1, lam) > _value(F2, lam) + atol * max(1.0, lam):
            return False
    e1, e2 = F1[:, 1].min(), F2[:, 1].min()
    return bool(e1 <= e2 + atol)


def front_dominates(A, B) -> bool:
    """Whether some point of ``conv(A)`` Pareto-dominates some Pareto-optimal point of ``conv(B)`` (2 objectives).

    The Pareto front of ``conv(B)`` is the chain of lower-convex-hull edges (:func:`reward.lower_convex_hull`);
    for each edge one LP maximises the total improvement of a hull point of ``A`` over a point of the edge. A
    dominating point of ``conv(A)`` implies a dominating Pareto point of ``conv(A)``, so this is the Theorem 4
    relation between the two Pareto surfaces.
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    verts = rw.lower_convex_hull(B[:, 0], B[:, 1])
    front = B[verts]
    segs = [(front[i], front[i + 1]) for i in range(len(front) - 1)] or [(front[0], front[0])]
    k = len(A)
    for b0, b1 in segs:
        # variables v (k), t, s (2): A' v + s - t (b1 - b0) = b0 ; 1'v = 1 ; maximise s1 + s2
        c = np.r_[np.zeros(k), 0.0, -1.0, -1.0]
        A_eq = np.zeros((3, k + 3))
        A_eq[:2, :k] = A.T
        A_eq[:2, k] = -(b1 - b0)
        A_eq[:2, k + 1:] = np.eye(2)
        A_eq[2, :k] = 1.0
        res = linprog(c, A_eq=A_eq, b_eq=np.r_[b0, 1.0],
                      bounds=[(0, None)] * k + [(0, 1)] + [(0, None)] * 2, method="highs")
        if res.success and -res.fun > 1e-9:
            return True
    return False


def theorem4_check(n_pairs: int = 200, n_models: int = 4, rng: np.random.Generator | int = 0,
                   max_draws: int = 20000) -> dict:
    """Theorem 4 on random pairs of convex (randomised-routing) menus in (cost, error) with ``R_1 >= R_2``.

    Pairs are drawn as ``S1`` uniform in the unit square and ``S2`` = a worsened copy of ``S1`` plus one random
    point; only pairs where :func:`envelope_geq` holds exactly are kept. Reports ``n_pairs``, ``proved_holds``
    (no Pareto point of S2 dominates one of S1 in any pair: the proof's statement), ``printed_holds`` (no
    Pareto point of S1 dominates one of S2 in any pair: the statement as printed) and ``n_printed_fail``.
    """
    rng = np.random.default_rng(rng)
    kept = proved_fail = printed_fail = 0
    draws = 0
    while kept < n_pairs and draws < max_draws:
        draws += 1
        S1 = rng.uniform(0, 1, (n_models, 2))
        S2 = np.r_[S1 + rng.uniform(0, 0.3, S1.shape) * rng.integers(0, 2, (n_models, 1)), rng.uniform(0, 1.2, (1, 2))]
        if not envelope_geq(S1, S2):
            continue
        kept += 1
        proved_fail += int(front_dominates(S2, S1))
        printed_fail += int(front_dominates(S1, S2))
    return {"n_pairs": kept, "n_draws": draws, "proved_holds": bool(kept >= n_pairs and proved_fail == 0),
            "n_proved_fail": proved_fail, "printed_holds": bool(printed_fail == 0), "n_printed_fail": printed_fail}


def theorem5_residual(n_draws: int = 200, rng: np.random.Generator | int = 0) -> float:
    """Largest |e_casc - formula| of eq. (3.26) over random deferral and error vectors of random length and rates
    (population covariances). The identity is exact, so this is rounding error (~1e-16)."""
    rng = np.random.default_rng(rng)
    worst = 0.0
    for _ in range(n_draws):
        n = int(rng.integers(2, 400))
        p = rng.uniform(0, 1, 3)
        d = (rng.uniform(size=n) < p[0]).astype(float)
        es = (rng.uniform(size=n) < p[1]).astype(float)
        eb = (rng.uniform(size=n) < p[2]).astype(float)
        worst = max(worst, abs(cc.cascade_error_decomposition(d, es, eb)["residual"]))
    return worst
