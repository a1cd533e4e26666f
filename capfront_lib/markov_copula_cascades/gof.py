"""Goodness of fit and Markov diagnostics (Sec. 2.4: Tables 2.3-2.6, Fig. 2.1, App. 2F)."""

from __future__ import annotations

import numba
import numpy as np
from scipy import stats

from .model import MixedBetaMarginal, fit_gumbel_theta, gumbel_cdf, gumbel_sample, kendall_distribution

_T_GRID = np.linspace(0.0, 1.0, 1000)


def pseudo_observations(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-based pseudo-observations rank/(n+1) (average ranks for ties)."""
    n = len(x)
    return stats.rankdata(x) / (n + 1), stats.rankdata(y) / (n + 1)


def empirical_kendall_values_reference(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """V_i = (1/n) sum_l 1{U_l <= U_i, V_l <= V_i} by the O(n^2) comparison matrix (reference for tests)."""
    le = (u[None, :] <= u[:, None]) & (v[None, :] <= v[:, None])
    return le.mean(axis=1)


@numba.njit(cache=False)
def _dominance_counts(order: np.ndarray, u: np.ndarray, vr: np.ndarray, m: int) -> np.ndarray:  # pragma: no cover - compiled
    """#{l: u_l <= u_i and v_l <= v_i} for every i, with a Fenwick tree over the dense ranks ``vr`` (1..m) of v.

    Points are visited in increasing u (``order``); all points sharing a u value are inserted before any of
    them is queried, so ties in u (and, through the inclusive rank query, ties in v) count as <=."""
    n = order.size
    tree = np.zeros(m + 1, np.int64)
    out = np.empty(n, np.int64)
    g = 0
    while g < n:
        h = g
        while h + 1 < n and u[order[h + 1]] == u[order[g]]:
            h += 1
        for t in range(g, h + 1):
            j = vr[order[t]]
            while j <= m:
                tree[j] += 1
                j += j & (-j)
        for t in range(g, h + 1):
            j = vr[order[t]]
            c = 0
            while j > 0:
                c += tree[j]
                j -= j & (-j)
            out[order[t]] = c
        g = h + 1
    return out


def empirical_kendall_values(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """V_i = (1/n) sum_l 1{U_l <= U_i, V_l <= V_i} (including l = i), the empirical copula at each point.

    O(n log n) by a Fenwick tree (the copula goodness-of-fit bootstrap calls this thousands of times; the
    comparison matrix of :func:`empirical_kendall_values_reference` is O(n^2) and gives the same values).
    """
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    if u.shape != v.shape or u.ndim != 1:
        raise ValueError("u and v must be 1-D of equal length")
    if u.size == 0:
        return np.empty(0)
    uniq = np.unique(v)
    vr = np.searchsorted(uniq, v, side="left").astype(np.int64) + 1
    order = np.lexsort((v, u)).astype(np.int64)
    return _dominance_counts(order, u, vr, int(uniq.size)) / u.size


def _stieltjes_cvm(f_emp: np.ndarray, f_model: np.ndarray) -> float:
    """Trapezoid Riemann-Stieltjes integral of (F_emp - F_model)^2 dF_model on a grid."""
    d2 = (f_emp - f_model) ** 2
    return float(np.sum(0.5 * (d2[1:] + d2[:-1]) * np.diff(f_model)))


def copula_cvm(x: np.ndarray, y: np.ndarray, theta: float | None = None, analytic: bool = False) -> tuple[float, float]:
    """sqrt(n) * int (K_n - K_theta)^2 dK_theta on Kendall's transform (Genest-Remillard-Beaudoin), Table 2.4.

    K_n is the ECDF of the empirical Kendall values; K_theta is the ECDF of C_theta(U_i) at the pseudo-
    observations (authors' version) or, with ``analytic``, t - t ln t / theta. ``theta`` defaults to the
    tau-based estimate on (x, y). Returns (statistic, theta).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 5:
        raise ValueError("x and y must be 1-D of equal length >= 5")
    th = fit_gumbel_theta(x, y) if theta is None else float(theta)
    u, v = pseudo_observations(x, y)
    n = x.size
    w = np.sort(empirical_kendall_values(u, v))
    kn = np.searchsorted(w, _T_GRID, side="right") / n
    if analytic:
        kt = kendall_distribution(_T_GRID, th)
    else:
        c = np.sort(gumbel_cdf(u, v, th))
        kt = np.searchsorted(c, _T_GRID, side="right") / n
    return float(np.sqrt(n) * _stieltjes_cvm(kn, kt)), th


def copula_gof(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_boot: int = 200,
               x_fit: np.ndarray | None = None, y_fit: np.ndarray | None = None) -> dict[str, float]:
    """Copula CvM statistic with a parametric-bootstrap p-value.

    theta is estimated on (x_fit, y_fit) (training data, the thesis text) or on (x, y) (authors' code).
    Each bootstrap replicate mirrors that split: it draws pairs from Gumbel(theta_hat) (independence if
    theta_hat = 1), re-estimates theta by tau on a sample of the fitting size (a fresh training-size
    sample when ``x_fit`` is given, else the test-size sample itself) and recomputes the statistic on n
    test-size pairs; p = mean(stat_b >= stat). Mirroring the split keeps the test's size correct when
    theta comes from separate training data.
    """
    if n_boot < 1:
        raise ValueError(f"gof_B must be >= 1, got {n_boot}")
    th = fit_gumbel_theta(x, y) if x_fit is None else fit_gumbel_theta(x_fit, y_fit)
    stat, _ = copula_cvm(x, y, th)
    n = len(x)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        uv = gumbel_sample(n, th, rng)
        if x_fit is None:
            boot[b], _ = copula_cvm(uv[:, 0], uv[:, 1])
        else:
            fit = gumbel_sample(len(x_fit), th, rng)
            boot[b], _ = copula_cvm(uv[:, 0], uv[:, 1], fit_gumbel_theta(fit[:, 0], fit[:, 1]))
    return {"stat": stat, "theta": th, "p": float(np.mean(boot >= stat))}


def marginal_sqrt_cvm(x: np.ndarray, marginal: MixedBetaMarginal) -> float:
    """sqrt( int (F_hat - F)^2 dF ) on a 1000-point grid of [0, 1] (eq. 2.20; no n factor)."""
    xs = np.sort(np.asarray(x, float))
    f_emp = np.searchsorted(xs, _T_GRID, side="right") / xs.size
    return float(np.sqrt(_stieltjes_cvm(f_emp, marginal.cdf(_T_GRID))))


def marginal_gof(x: np.ndarray, marginal: MixedBetaMarginal, rng: np.random.Generator, n_boot: int = 200) -> dict[str, float]:
    """Marginal sqrt(CvM) with a parametric-bootstrap p-value (samples from the fitted F, no refit)."""
    stat = marginal_sqrt_cvm(x, marginal)
    n = len(x)
    draws = marginal.rvs(n * n_boot, rng).reshape(n_boot, n)  # one vectorised inversion for all samples
    boot = np.array([marginal_sqrt_cvm(d, marginal) for d in draws])
    return {"stat": stat, "p": float(np.mean(boot >= stat))}


def kendall_tau_matrix(phi: np.ndarray) -> np.ndarray:
    """Kendall tau-b between all pairs of columns (Fig. 2.1 heatmap)."""
    x = np.asarray(phi, float)
    k = x.shape[1]
    out = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = stats.kendalltau(x[:, i], x[:, j]).statistic
    return out


def markov_regression_pvalues(phi: np.ndarray, y: np.ndarray, target: int) -> dict[str, list[float]]:
    """Table 2.3 check: logit y_target ~ 1 + Phi_j + Phi_{target-1} for every earlier ancestor j < target-1.

    Returns the p-values of the ancestors (one regression each) and of the Markov predictor in each regression.
    """
    import warnings

    import statsmodels.api as sm

    if target < 2 or target >= phi.shape[1]:
        raise ValueError(f"target must index a model with at least two ancestors, got {target}")
    anc, mk = [], []
    for j in range(target - 1):
        X = sm.add_constant(np.column_stack([phi[:, j], phi[:, target - 1]]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.Logit(np.asarray(y[:, target], float), X).fit(disp=0, maxiter=200)
        anc.append(float(res.pvalues[1]))
        mk.append(float(res.pvalues[2]))
    return {"ancestor_p": anc, "markov_p": mk}


def sigma_tau(n: int) -> float:
    """Normal-approximation standard error of Kendall's tau under independence, sqrt(2(2n+5)/(9n(n-1)))."""
    if n < 2:
        raise ValueError("n must be >= 2")
    return float(np.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))))


def conditional_tau(phi_i: np.ndarray, phi_j: np.ndarray, y_i: np.ndarray, y_j: np.ndarray, min_n: int = 50) -> dict[str, float]:
    """App. 2F: Kendall's tau of two models' confidences on queries both answer correctly / both get wrong.

    Returns NaN (printed "?" in the thesis) where fewer than ``min_n`` queries qualify (sigma_tau(50) ~ 0.1).
    """
    out = {}
    for name, mask in (("both_correct", (y_i == 1) & (y_j == 1)), ("both_wrong", (y_i == 0) & (y_j == 0))):
        n = int(mask.sum())
        out[f"n_{name}"] = n
        out[f"tau_{name}"] = float(stats.kendalltau(phi_i[mask], phi_j[mask]).statistic) if n >= min_n else float("nan")
    return out
