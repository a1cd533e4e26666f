"""Threshold tuning: Rational Tuning (eqs. 2.11-2.13), grid search, Bayesian optimisation; routing and AUC.

All three tuners trace an error-cost curve: a list of threshold vectors (phi_1, ..., phi_{k-1}). The curves are
compared by routing *test* queries and integrating error over the common cost range (Sec. 2.4).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np
from scipy import optimize

from ..core.threads import single_thread_blas
from .model import CascadeModel

# ----------------------------------------------------------------------------------------------
# Routing real (or simulated) queries and the AUC of an error-cost curve
# ----------------------------------------------------------------------------------------------


def route(phi: np.ndarray, labels: np.ndarray, cost: np.ndarray, thresholds: np.ndarray,
          chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cost of a cascade on data, for each threshold row (eq. 2.1).

    ``phi``, ``labels`` (0/1 or soft) and ``cost`` are (n, k) for the k cascade members in order;
    ``thresholds`` is (m, k-1). Model i answers if Phi_i > phi_i, the last model always answers, and
    a query answered by model i pays the sum of the costs of models 1..i.
    """
    phi = np.asarray(phi, float)
    labels = np.asarray(labels, float)
    cost = np.asarray(cost, float)
    th = np.atleast_2d(np.asarray(thresholds, float))
    n, k = phi.shape
    if labels.shape != (n, k) or cost.shape != (n, k):
        raise ValueError(f"phi, labels and cost must all have shape {(n, k)}; got {labels.shape} and {cost.shape}")
    if th.shape[1] != k - 1:
        raise ValueError(f"thresholds need {k - 1} columns, got {th.shape[1]}")
    cum = np.cumsum(cost, axis=1)
    acc = np.empty(th.shape[0])
    mc = np.empty(th.shape[0])
    for s in range(0, th.shape[0], chunk):
        t = th[s : s + chunk]
        pending = np.ones((t.shape[0], n), bool)
        a = np.zeros((t.shape[0], n))
        c = np.zeros((t.shape[0], n))
        for i in range(k):
            ans = pending & (phi[None, :, i] > t[:, i, None]) if i < k - 1 else pending
            a += ans * labels[None, :, i]
            c += ans * cum[None, :, i]
            pending &= ~ans
        acc[s : s + chunk] = a.mean(axis=1)
        mc[s : s + chunk] = c.mean(axis=1)
    return acc, mc


def _clean_curve(cost: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cost = np.asarray(cost, float)
    err = np.asarray(err, float)
    if cost.shape != err.shape or cost.ndim != 1 or cost.size == 0:
        raise ValueError("cost and err must be non-empty 1-D arrays of equal length")
    ux, inv = np.unique(cost, return_inverse=True)
    uy = np.bincount(inv, weights=err) / np.bincount(inv)
    return ux, uy


def auc_pair(cost_a: np.ndarray, err_a: np.ndarray, cost_b: np.ndarray, err_b: np.ndarray) -> tuple[float, float]:
    """Normalised areas under two error-cost curves on their common cost range (Sec. 2.4, Fig. 2.5).

    Each curve is sorted by cost (errors at equal cost averaged) and linearly interpolated; both are
    integrated over [max(min costs), min(max costs)] and divided by its width, so the AUC is the mean
    error over the common range. A single shared cost point gives the errors there; no overlap gives NaN.
    """
    xa, ya = _clean_curve(cost_a, err_a)
    xb, yb = _clean_curve(cost_b, err_b)
    lo, hi = max(xa[0], xb[0]), min(xa[-1], xb[-1])
    if hi < lo:
        return float("nan"), float("nan")
    if hi == lo:
        return float(np.interp(lo, xa, ya)), float(np.interp(lo, xb, yb))
    grid = np.unique(np.concatenate([[lo, hi], xa[(xa > lo) & (xa < hi)], xb[(xb > lo) & (xb < hi)]]))
    fa = np.interp(grid, xa, ya)
    fb = np.interp(grid, xb, yb)
    w = hi - lo
    return float(np.trapezoid(fa, grid) / w), float(np.trapezoid(fb, grid) / w)


def pct_change(new: float, base: float) -> float:
    """%Delta = 100 (AUC_new - AUC_base) / AUC_base (negative: the new method is better)."""
    return 100.0 * (new - base) / base


def pareto_front(p_correct: np.ndarray, e_cost: np.ndarray) -> np.ndarray:
    """Indices of the 2-D Pareto set (maximise P(correct), minimise E[cost]), sorted by cost.

    Sort-based skyline: after sorting by cost (ties by higher P first) a point is kept iff its P exceeds
    every P at lower or equal cost, so the kept points are mutually non-dominated.
    """
    p = np.asarray(p_correct, float)
    c = np.asarray(e_cost, float)
    order = np.lexsort((-p, c))
    ps = p[order]
    prev_max = np.concatenate([[-np.inf], np.maximum.accumulate(ps)[:-1]])
    return order[ps > prev_max]


# ----------------------------------------------------------------------------------------------
# Rational Tuning: continuous optimisation of the Markov-copula objective
# ----------------------------------------------------------------------------------------------


class Evaluator(Protocol):
    """P(correct) and E[cost] of a cascade at threshold rows (the interface of CascadeModel.evaluate)."""

    def evaluate(self, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Curve:
    """Threshold vectors of an error-cost curve plus bookkeeping (lambdas, evaluations, seconds)."""

    thresholds: np.ndarray
    lambdas: np.ndarray
    n_evals: int = 0
    n_iters: list[int] = field(default_factory=list)
    seconds: float = 0.0
    model_p: np.ndarray | None = None
    model_cost: np.ndarray | None = None


def lambda_sweep(lambda_start: Sequence[float] = (0.0, 1e-10, 1e-8, 1e-6), r: float = 1.0, max_steps: int = 24) -> Callable[[int], float]:
    """lambda schedule of eq. (2.12): the listed start values, then lambda <- (1 + r) lambda."""
    starts = [float(v) for v in lambda_start]
    if not starts or any(v < 0 for v in starts):
        raise ValueError("lambda_start must be a non-empty list of non-negative numbers")
    if r <= 0:
        raise ValueError(f"lambda_r must be > 0, got {r}")

    def get(i: int) -> float:
        if i < len(starts):
            return starts[i]
        base = starts[-1] if starts[-1] > 0 else 1e-6
        return base * (1 + r) ** (i - len(starts) + 1)

    return get


def infill(thresholds: np.ndarray, mass: Callable[[int, float, float], float], q: float, max_rounds: int = 30) -> np.ndarray:
    """Insert midpoints (eq. 2.13) between consecutive threshold vectors until no gap exceeds mass q.

    ``mass(j, lo, hi)`` is the probability mass of Phi_j strictly between lo and hi.
    """
    th = [np.asarray(t, float) for t in np.atleast_2d(thresholds)]
    if not 0 < q < 1:
        raise ValueError(f"infill_q must be in (0, 1), got {q}")
    for _ in range(max_rounds):
        out = [th[0]]
        changed = False
        for a, b in zip(th[:-1], th[1:]):
            gap = any(mass(j, min(a[j], b[j]), max(a[j], b[j])) > q for j in range(a.size))
            if gap and np.max(np.abs(a - b)) > 1e-12:
                out.append(0.5 * (a + b))
                changed = True
            out.append(b)
        th = out
        if not changed:
            break
    return np.array(th)


def empirical_mass(phi_train: np.ndarray) -> Callable[[int, float, float], float]:
    """Training mass of Phi_j strictly between two thresholds (for :func:`infill`)."""
    cols = [np.sort(phi_train[:, j]) for j in range(phi_train.shape[1])]

    def mass(j: int, lo: float, hi: float) -> float:
        c = cols[j]
        return float((np.searchsorted(c, hi, "left") - np.searchsorted(c, lo, "right")) / c.size)

    return mass


def _sweep(solve: Callable[[float, np.ndarray | None], tuple[np.ndarray, float, int]], c1: float,
           lambda_start: Sequence[float], lambda_r: float, max_steps: int, cost_stop: float) -> tuple[list[np.ndarray], list[float], list[int]]:
    sched = lambda_sweep(lambda_start, lambda_r, max_steps)
    xs: list[np.ndarray] = []
    lams: list[float] = []
    iters: list[int] = []
    prev = None
    for i in range(len(list(lambda_start)) + max_steps):
        lam = sched(i)
        x, cost, nit = solve(lam, prev)
        xs.append(x)
        lams.append(lam)
        iters.append(nit)
        prev = x
        if cost <= cost_stop * c1 or lam >= 1000:
            break
    return xs, lams, iters


#: cells of the exact chain evaluation behind ``tune_rt(..., evaluator="exact")`` (the chapter's chain_cells)
EXACT_CELLS = 200


def exact_evaluator(model: CascadeModel, n_cells: int = EXACT_CELLS):
    """The :class:`~.chain.ChainEvaluator` of ``model`` on ``n_cells`` cells, built once per model object
    (kept on the model, so its quadratures and copula matrices are reused by every later cascade and call
    and freed with the model)."""
    from .chain import ChainEvaluator

    cache = model.__dict__.setdefault("_exact_evaluators", {})
    ev = cache.get(int(n_cells))
    if ev is None:
        ev = cache[int(n_cells)] = ChainEvaluator(model, int(n_cells))
    return ev


#: L-BFGS-B stopping tolerances of :func:`tune_rt` (relative reduction of the objective): scipy's default
#: (factr = 1e7 times machine epsilon), kept for finite differences / Algorithm 1, and the one used with
#: analytic gradients of the chain evaluation.
FTOL_SCIPY = 2.2204460492503131e-09
FTOL_ANALYTIC = 1e-6


def tune_rt(model: CascadeModel, cascade: Sequence[int], lambda_start: Sequence[float] = (0.0, 1e-10, 1e-8, 1e-6),
            lambda_r: float = 1.0, max_steps: int = 24, cost_stop: float = 1.25, eps: float = 1e-3,
            infill_q: float | None = 0.1, phi_train: np.ndarray | None = None, warm_start: str = "screen",
            fd_step: float = 1e-5, n_screen: int = 64, evaluator: "Evaluator | str | None" = "exact",
            gradient: str = "auto", ftol: float | None = None) -> Curve:
    """Rational Tuning: minimise (1 - P(correct)) + lambda E[cost] of the Markov-copula model (eq. 2.11).

    L-BFGS-B inside the interior box (phi_min + eps, phi_max - eps). Gradients (``gradient``): "fd" =
    forward differences with step ``fd_step``, the k-1 shifted rows evaluated in the same batched call as
    the point; "analytic" = the evaluator's exact derivatives (``evaluate_grad``, e.g. the adjoint
    recursion of :class:`~capfront_lib.markov_copula_cascades.chain.ChainEvaluator`); "auto" (default) =
    analytic when the evaluator has ``evaluate_grad``, else forward differences (Algorithm 1). Start point
    per lambda: ``warm_start`` = "screen" (default) evaluates the model on the midpoint, the previous
    solution and ``n_screen`` fixed random box points and starts from the best (the fixed points do not
    depend on lambda, so they are evaluated once per curve); "midpoint" always starts at the midpoint
    (the authors' choice), "previous" at the previous solution, "both" runs from both and keeps the better. The
    lambda sweep follows eq. (2.12) and stops when E[cost] <= ``cost_stop`` * E[C_1] (or lambda >= 1000
    or ``max_steps``); gaps larger than ``infill_q`` mass are filled by midpoints (eq. 2.13), measured
    on ``phi_train`` (the cascade's columns) or, if absent, on the fitted marginals.

    ``ftol``: L-BFGS-B stops when the objective's relative reduction per iteration falls below it. None =
    :data:`FTOL_ANALYTIC` (1e-6) with analytic gradients and scipy's default (2.2e-9) with finite
    differences, so Algorithm 1's curves are unchanged. 1e-6 of an objective of 0.2-0.7 is far below the
    chain evaluation's own discretisation error (~1e-5 at 200 cells) and halves the evaluations with the
    same test AUC (benchmarks/markov_copula_cascades.py; k = 5, six training sets: %dAUC vs grid search
    -0.4 to -1.1 both at 2.2e-9 and at 1e-6).

    ``evaluator`` replaces Algorithm 1 as the model of P(correct) and E[cost] (anything with the
    ``evaluate(cascade, thresholds)`` interface of :meth:`CascadeModel.evaluate`), e.g.
    :class:`~capfront_lib.markov_copula_cascades.chain.ChainEvaluator`, the exact value of the same
    fitted Markov-copula model that Algorithm 1 approximates for k >= 3. Names: ``"exact"`` = that
    evaluator on :data:`EXACT_CELLS` cells, one per fitted model (:func:`exact_evaluator`, reused across
    cascades and calls; "RT-exact", the default since the compiled chain kernel made it >= 100x faster than
    the naive grid search at k = 5); ``"algorithm1"`` or None = Algorithm 1, the thesis' method (pass it
    explicitly wherever the thesis' RT is meant).
    """
    if isinstance(evaluator, str):
        if evaluator not in ("exact", "algorithm1"):
            raise ValueError(f"evaluator must be 'exact', 'algorithm1', None or an object with evaluate(), got {evaluator!r}")
        evaluator = exact_evaluator(model) if evaluator == "exact" else None
    ev = model if evaluator is None else evaluator
    cas = [int(c) for c in cascade]
    k = len(cas)
    box = np.array(model.box(cas, eps))
    mid = box.mean(axis=1)
    if warm_start not in ("screen", "previous", "midpoint", "both"):
        raise ValueError(f"warm_start must be 'screen', 'previous', 'midpoint' or 'both', got {warm_start!r}")
    if gradient not in ("auto", "analytic", "fd"):
        raise ValueError(f"gradient must be 'auto', 'analytic' or 'fd', got {gradient!r}")
    grad_fn = getattr(ev, "evaluate_grad", None)
    if gradient == "analytic" and grad_fn is None:
        raise ValueError("gradient='analytic' needs an evaluator with evaluate_grad (e.g. chain.ChainEvaluator)")
    if gradient == "fd":
        grad_fn = None
    if ftol is None:
        ftol = FTOL_ANALYTIC if grad_fn is not None else FTOL_SCIPY
    if not 0 < ftol < 1:
        raise ValueError(f"ftol must be in (0, 1), got {ftol}")
    screen_pts = box[:, 0] + (box[:, 1] - box[:, 0]) * np.random.default_rng(12345).uniform(size=(n_screen, k - 1))
    n_evals = 0
    t0 = time.perf_counter()
    fixed: list[tuple[np.ndarray, np.ndarray]] = []  # model values at [mid] + screen_pts (lambda-free)

    def fixed_values() -> tuple[np.ndarray, np.ndarray]:
        nonlocal n_evals
        if not fixed:
            p0, c0 = ev.evaluate(cas, np.vstack([mid, screen_pts]))
            n_evals += 1 + n_screen
            fixed.append((np.asarray(p0, float), np.asarray(c0, float)))
        return fixed[0]

    def solve(lam: float, prev: np.ndarray | None) -> tuple[np.ndarray, float, int]:
        nonlocal n_evals

        seen: dict[bytes, float] = {}

        def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
            nonlocal n_evals
            if grad_fn is not None:
                p, c, dp, dc = grad_fn(cas, x)
                n_evals += 1
                seen[x.tobytes()] = float(c)
                return float((1 - p) + lam * c), np.asarray(lam * dc - dp, float)
            pts = np.vstack([x, x + fd_step * np.eye(k - 1)])
            p, c = ev.evaluate(cas, pts)
            n_evals += pts.shape[0]
            seen[x.tobytes()] = float(c[0])
            f = (1 - p) + lam * c
            return float(f[0]), (f[1:] - f[0]) / fd_step

        best = None
        if warm_start == "screen":
            # candidate starts [mid, prev, screen points] (in this order: ties go to the first);
            # L-BFGS-B from the best of them
            p0, c0 = fixed_values()
            if prev is not None:
                pp, cp = ev.evaluate(cas, prev[None, :])
                n_evals += 1
                p0 = np.concatenate([p0[:1], np.atleast_1d(pp), p0[1:]])
                c0 = np.concatenate([c0[:1], np.atleast_1d(cp), c0[1:]])
            cand = np.vstack([mid] + ([prev] if prev is not None else []) + [screen_pts])
            starts = [cand[int(np.argmin((1 - p0) + lam * c0))]]
        elif prev is None or warm_start == "midpoint":
            starts = [mid]
        else:
            starts = [prev] if warm_start == "previous" else [mid, prev]
        for x0 in starts:
            res = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=box, options={"ftol": ftol})
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        c = seen.get(np.asarray(best.x, float).tobytes())
        if c is None:
            c = float(ev.evaluate(cas, best.x)[1])
        return best.x, c, int(best.nit)

    with single_thread_blas():  # 1-4 dimensional problems: BLAS threads only cost synchronisation
        xs, lams, iters = _sweep(solve, float(model.costs[cas[0]]), lambda_start, lambda_r, max_steps, cost_stop)
    th = np.array(xs)
    if infill_q is not None:
        if phi_train is not None:
            mass = empirical_mass(np.asarray(phi_train)[:, : k - 1])
        else:
            margs = [model.marginals[i] for i in cas[:-1]]

            def mass(j: int, lo: float, hi: float) -> float:
                return float(margs[j].cdf_left(np.array(hi))) - float(margs[j].cdf(np.array(lo)))

        th = infill(th, mass, infill_q)
    p, c = ev.evaluate(cas, th)
    return Curve(th, np.array(lams), n_evals, iters, time.perf_counter() - t0, p, c)


# ----------------------------------------------------------------------------------------------
# Grid search baseline (Sec. 2.4): 40 quantile levels per threshold, soft or hard labels, skyline
# ----------------------------------------------------------------------------------------------

GRID_LEVELS_40 = np.arange(0.01, 0.99, 0.025)


def grid_levels(n_levels: int) -> np.ndarray:
    """Quantile levels: the authors' 0.010, 0.035, ..., 0.985 for 40 levels, else evenly spaced."""
    if n_levels < 1:
        raise ValueError(f"grid_levels must be >= 1, got {n_levels}")
    if n_levels == 40:
        return GRID_LEVELS_40.copy()
    return (np.arange(n_levels) + 0.5) / n_levels


def grid_scores(phi: np.ndarray, labels: np.ndarray, cost: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score all L^(k-1) quantile-grid threshold vectors on training data without enumerating queries x grid.

    Uses the factorisation sum_q prod_j D_j[l_j, q] w[q] = (left product) @ (right recursion)^T with
    D_j[l, q] = 1{Phi_jq <= t_jl}: one matrix product per statistic. Returns (thresholds (L^(k-1), k-1),
    P(correct), E[cost]) with the candidates in C order of the level indices.
    """
    phi = np.asarray(phi, float)
    n, k = phi.shape
    labels = np.asarray(labels, float)
    cost = np.asarray(cost, float)
    if labels.shape != (n, k) or cost.shape != (n, k):
        raise ValueError("phi, labels and cost must have the same (n, k) shape")
    L = levels.size
    tvals = np.array([np.quantile(phi[:, j], levels) for j in range(k - 1)])  # (k-1, L)
    D = [(phi[None, :, j] <= tvals[j][:, None]).astype(float) for j in range(k - 1)]  # (L, n) each
    cum = np.cumsum(cost, axis=1)
    m = (k - 1 + 1) // 2  # number of left dims

    def stat(w: np.ndarray) -> np.ndarray:
        # right recursion V_i = (1 - D_i) w_i + D_i V_{i+1}, dims i..k-2, flattened (L^(k-1-i), n)
        V = w[:, k - 1][None, :]
        for i in range(k - 2, m - 1, -1):
            V = ((1 - D[i])[:, None, :] * w[None, None, :, i] + D[i][:, None, :] * V[None, :, :]).reshape(-1, n)
        # left: running product of deferrals and accumulated answered-in-left terms (summed over queries)
        prod = np.ones((1, n))
        left_only = np.zeros(1)
        for i in range(m):
            ans = prod[:, None, :] * (1 - D[i])[None, :, :]
            left_only = (left_only[:, None] + ans @ w[:, i]).reshape(-1)
            prod = (prod[:, None, :] * D[i][None, :, :]).reshape(-1, n)
        total = left_only[:, None] + prod @ V.T
        return total.reshape(-1) / n

    p = stat(labels)
    c = stat(cum)
    idx = np.indices((L,) * (k - 1)).reshape(k - 1, -1).T
    th = tvals[np.arange(k - 1)[None, :], idx]
    return th, p, c


def grid_search(phi: np.ndarray, labels: np.ndarray, cost: np.ndarray, n_levels: int = 40) -> Curve:
    """Grid-search baseline: score every quantile-grid candidate on training data, keep the skyline."""
    t0 = time.perf_counter()
    th, p, c = grid_scores(phi, labels, cost, grid_levels(n_levels))
    keep = pareto_front(p, c)
    return Curve(th[keep], np.array([]), n_evals=th.shape[0], seconds=time.perf_counter() - t0, model_p=p[keep], model_cost=c[keep])


# ----------------------------------------------------------------------------------------------
# Bayesian optimisation baseline (GP surrogate, expected improvement, batches of 4)
# ----------------------------------------------------------------------------------------------


def tune_bo(phi: np.ndarray, labels: np.ndarray, cost: np.ndarray, rng: np.random.Generator, eps: float = 1e-3,
            batch: int = 4, tol: float = 1e-5, max_iter: int = 30, lambda_start: Sequence[float] = (0.0, 1e-10, 1e-8, 1e-6),
            lambda_r: float = 1.0, max_steps: int = 24, cost_stop: float = 1.25, infill_q: float | None = 0.1,
            n_candidates: int = 512, fit_kernel: bool = True) -> Curve:
    """BO baseline: per lambda minimise the empirical training objective (1 - acc) + lambda cost.

    Gaussian-process surrogate (scikit-learn, Matern 5/2 + noise), expected improvement over random
    candidates in the box, ``batch`` suggestions per iteration, stop when the best loss changes by less
    than ``tol`` between iterations (at least 2 iterations) or after ``max_iter``. Same lambda sweep and
    infill as Rational Tuning (the thesis uses HEBO, which is not a dependency here). Inputs are scaled to the
    unit box; ``fit_kernel`` refits the kernel's amplitude, length scales (one per threshold) and noise by
    maximum marginal likelihood at every iteration, otherwise they stay fixed (amplitude 1 on normalised
    outputs, length 0.2 of the box, noise 1e-4) - about ten times faster, with 8-20 points per fit.
    """
    import warnings

    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    phi = np.asarray(phi, float)
    k = phi.shape[1]
    lo = np.array([phi[:, j].min() + eps for j in range(k - 1)])
    hi = np.array([phi[:, j].max() - eps for j in range(k - 1)])
    hi = np.maximum(hi, lo + 1e-9)
    n_evals = 0
    t0 = time.perf_counter()

    def objective(x: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        nonlocal n_evals
        acc, mc = route(phi, labels, cost, x)
        n_evals += x.shape[0]
        return (1 - acc) + lam * mc, mc

    def solve(lam: float, prev: np.ndarray | None) -> tuple[np.ndarray, float, int]:
        X = lo + (hi - lo) * rng.uniform(size=(batch, k - 1))
        if prev is not None:
            X[0] = prev
        y, mc = objective(X, lam)
        best_prev = float(y.min())
        it = 0
        for it in range(1, max_iter + 1):
            scale = max(float(np.std(y)), 1e-9)
            if fit_kernel:  # hyperparameters by marginal likelihood at every iteration (sklearn's L-BFGS-B)
                kern = ConstantKernel(1.0) * Matern(length_scale=np.full(k - 1, 0.2), nu=2.5) + WhiteKernel(1e-4)
                gp = GaussianProcessRegressor(kern, normalize_y=True, n_restarts_optimizer=0, random_state=int(rng.integers(2**31)))
            else:  # fixed hyperparameters on the unit box (inputs and outputs are normalised)
                kern = ConstantKernel(1.0, "fixed") * Matern(length_scale=0.2, length_scale_bounds="fixed", nu=2.5) \
                    + WhiteKernel(1e-4, "fixed")
                gp = GaussianProcessRegressor(kern, normalize_y=True, optimizer=None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp.fit((X - lo) / (hi - lo), y / scale)
            best_x = X[np.argmin(y)]
            cand = np.vstack([lo + (hi - lo) * rng.uniform(size=(n_candidates, k - 1)),
                              np.clip(best_x + 0.05 * (hi - lo) * rng.standard_normal((n_candidates // 2, k - 1)), lo, hi)])
            mu, sd = gp.predict((cand - lo) / (hi - lo), return_std=True)
            sd = np.maximum(sd, 1e-12)
            imp = y.min() / scale - mu
            ei = imp * norm.cdf(imp / sd) + sd * norm.pdf(imp / sd)
            new = cand[np.argsort(-ei)[:batch]]
            yn, mcn = objective(new, lam)
            X = np.vstack([X, new])
            y = np.concatenate([y, yn])
            mc = np.concatenate([mc, mcn])
            best = float(y.min())
            if it >= 2 and abs(best_prev - best) < tol:
                break
            best_prev = best
        j = int(np.argmin(y))
        return X[j], float(mc[j]), it

    c1 = float(np.mean(cost[:, 0]))
    with single_thread_blas():  # tiny GP and L-BFGS-B problems: BLAS threads cost 10-50x on a busy machine
        xs, lams, iters = _sweep(solve, c1, lambda_start, lambda_r, max_steps, cost_stop)
    th = np.array(xs)
    if infill_q is not None:
        th = infill(th, empirical_mass(phi[:, : k - 1]), infill_q)
    return Curve(th, np.array(lams), n_evals, iters, time.perf_counter() - t0)
