"""Bias of the naive oracle: Gaussian (eqs. 6-8) and Bernoulli/Binomial (eqs. 9-10, corrected).

All formulas refer to *The Capability Frontier: Benchmarks Miss 82% of Model Performance*.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import integrate, special, stats

__all__ = [
    "expected_max_std_normal",
    "blom_expected_max",
    "gaussian_bias_asymptotic",
    "gaussian_bias_exact",
    "bernoulli_bias",
    "bernoulli_bias_curve",
    "bernoulli_bias_printed_eq10",
    "expected_biased_oracle_independent",
    "local_slope",
    "first_G_slope_reaches",
]


def _check_L(L: int) -> int:
    if int(L) != L or L < 1:
        raise ValueError(f"L (number of models) must be a positive integer, got {L!r}")
    return int(L)


def _check_G(G: int) -> int:
    if int(G) != G or G < 1:
        raise ValueError(f"G (generations) must be a positive integer, got {G!r}")
    return int(G)


def _check_p(p: np.ndarray, name: str = "p") -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return p


@lru_cache(maxsize=256)
def expected_max_std_normal(L: int) -> float:
    """e_L = E max of L iid N(0,1) = int x L phi(x) Phi(x)^(L-1) dx (exact version of eq. 7's sqrt(2 ln L))."""
    L = _check_L(L)
    if L == 1:
        return 0.0
    c = 1.0 / np.sqrt(2.0 * np.pi)
    f = lambda x: x * L * c * np.exp(-0.5 * x * x) * special.ndtr(x) ** (L - 1)  # noqa: E731
    val, _ = integrate.quad(f, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-12, limit=200)
    return float(val)


def blom_expected_max(L: int) -> float:
    """Blom's approximation Phi^-1((L - .375)/(L + .25)) to e_L (a cross-check of the quadrature)."""
    L = _check_L(L)
    return float(stats.norm.ppf((L - 0.375) / (L + 0.25)))


def gaussian_bias_asymptotic(G, L: int, sigma=1.0) -> np.ndarray:
    """Eq. (7)/(8) as printed: bias ~ sigma * sqrt(2 ln L / G) (the paper's asymptotic form)."""
    L = _check_L(L)
    G = np.asarray(G, dtype=float)
    if np.any(G <= 0):
        raise ValueError("G must be positive")
    return np.asarray(sigma) * np.sqrt(2.0 * np.log(L) / G)


def gaussian_bias_exact(G, L: int, sigma=1.0) -> np.ndarray:
    """Exact Gaussian bias of eq. (6): E max_l phibar - mu = sigma * e_L / sqrt(G)."""
    G = np.asarray(G, dtype=float)
    if np.any(G <= 0):
        raise ValueError("G must be positive")
    return np.asarray(sigma) * expected_max_std_normal(L) / np.sqrt(G)


def bernoulli_bias(G: int, p, L: int) -> np.ndarray:
    """Corrected eq. (10): Bias_B(G,p,L) = (1/G) sum_{y=0}^{G-1} [1 - F(y;G,p)^L] - p.

    F is the Binomial(G, p) CDF. Vectorised over ``p``. The printed eq. (10) drops the y=0 term
    (see :func:`bernoulli_bias_printed_eq10`).
    """
    G, L = _check_G(G), _check_L(L)
    p = _check_p(p)
    F = _binom_cdf_table(G, p)[:G]  # F(y; G, p) for y = 0..G-1
    return (1.0 - F**L).sum(axis=0) / G - p


def _binom_cdf_table(G: int, p: np.ndarray) -> np.ndarray:
    """Binomial(G, p) CDF at y = 0..G (axis 0), from log-pmf (gammaln shared over p) and a cumulative sum."""
    y = np.arange(G + 1, dtype=float).reshape((G + 1,) + (1,) * p.ndim)
    logc = special.gammaln(G + 1.0) - special.gammaln(y + 1.0) - special.gammaln(G - y + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.where(y > 0, y * np.log(p), 0.0) + np.where(G - y > 0, (G - y) * np.log1p(-p), 0.0)
    pmf = np.exp(logc + lp)
    return np.minimum(np.cumsum(pmf, axis=0), 1.0)


def bernoulli_bias_curve(G_values, p, L: int) -> np.ndarray:
    """Bias_B over a set of G values; shape (len(G_values),) + p.shape."""
    return np.stack([bernoulli_bias(int(g), p, L) for g in np.atleast_1d(G_values)])


def bernoulli_bias_printed_eq10(G: int, p, L: int) -> np.ndarray:
    """Eq. (10) read literally (terms g = 1..G of 1 - F(g)^L, over G, minus p): wrong, kept for the regression test."""
    G, L = _check_G(G), _check_L(L)
    p = _check_p(p)
    g = np.arange(1, G + 1).reshape((G,) + (1,) * p.ndim)
    F = stats.binom.cdf(g, G, p)
    return (1.0 - F**L).sum(axis=0) / G - p


def expected_biased_oracle_independent(pi, G: int, chunk: int = 128) -> float:
    """E O_biased(G) for independent heterogeneous models: 1/(NG) sum_n sum_{y<G} [1 - prod_l F(y;G,pi_nl)].

    Project addition generalising eq. (10) to a full (N, L) matrix of success probabilities. The binomial
    CDFs come from log-pmf tables (one ``gammaln`` per count, shared by all cells), ``chunk`` prompts at a time.
    """
    G = _check_G(G)
    pi = _check_p(pi, "pi")
    if pi.ndim != 2:
        raise ValueError(f"pi must be an (N, L) matrix, got shape {pi.shape}")
    total = 0.0
    for start in range(0, pi.shape[0], int(chunk)):
        F = _binom_cdf_table(G, pi[start:start + int(chunk)])[:G]  # (G, n, L): F(y) for y = 0..G-1
        total += float((1.0 - np.prod(F, axis=2)).sum())
    return float(total / (pi.shape[0] * G))


def local_slope(G_values, bias) -> np.ndarray:
    """Local log-log slope -d log bias / d log G by backward differences (G-1 -> G); NaN at the first point."""
    G_values = np.asarray(G_values, dtype=float)
    bias = np.asarray(bias, dtype=float)
    if bias.shape[0] != G_values.shape[0]:
        raise ValueError("bias must have one row per G value")
    with np.errstate(divide="ignore", invalid="ignore"):
        lb = np.log(bias)
        lg = np.log(G_values).reshape((-1,) + (1,) * (bias.ndim - 1))
        slope = -(lb[1:] - lb[:-1]) / (lg[1:] - lg[:-1])
    pad = np.full((1,) + bias.shape[1:], np.nan)
    return np.concatenate([pad, slope])


def first_G_slope_reaches(p: float, L: int, target: float = 0.45, G_max: int = 2000) -> int | None:
    """The first G at which the local slope of Bias_B(., p, L) (backward difference G-1 -> G) reaches ``target``."""
    G_values = np.arange(1, G_max + 1)
    b = bernoulli_bias_curve(G_values, np.array(p), L)
    s = local_slope(G_values, b)
    hit = np.nonzero(s >= target)[0]
    return int(G_values[hit[0]]) if hit.size else None


# --------------------------------------------------------------------------------------------- claims of Sec. 4.2
def eq7_overstatement(L: int) -> float:
    """Ratio of the paper's asymptotic Gaussian bias (7) to the exact one: sqrt(2 ln L) / e_L."""
    L = _check_L(L)
    if L < 2:
        raise ValueError("eq. (7) needs L >= 2")
    return float(np.sqrt(2.0 * np.log(L)) / expected_max_std_normal(L))


def gaussian_decay_mc(L: int, G_pair=(1, 100), reps: int = 2000, rng: np.random.Generator | None = None,
                      chunk: int = 500) -> dict:
    """Monte Carlo of eq. (8)'s decay law under assumption (6): L models with identical N(0, 1) generations.

    For each G of ``G_pair`` draw ``reps`` pools of L x G standard normals, average each model's G draws
    and take the maximum over models (the naive oracle of one prompt; the truth is 0). Returns the two
    mean biases with standard errors and the log-log slope between them with a 95 % delta-method interval.
    """
    rng = np.random.default_rng() if rng is None else rng
    L = _check_L(L)
    out = {}
    for G in G_pair:
        G = _check_G(G)
        vals = []
        left = int(reps)
        while left > 0:
            m = min(chunk, left)
            vals.append(rng.standard_normal((m, L, G)).mean(axis=2).max(axis=1))
            left -= m
        v = np.concatenate(vals)
        out[G] = (float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)))
    (g1, (b1, s1)), (g2, (b2, s2)) = out.items()
    slope = -np.log(b2 / b1) / np.log(g2 / g1)
    se = np.sqrt((s1 / b1) ** 2 + (s2 / b2) ** 2) / np.log(g2 / g1)
    return {"bias": out, "slope": float(slope), "ci": (float(slope - 1.96 * se), float(slope + 1.96 * se)),
            "reps": int(reps), "exact": {g: expected_max_std_normal(L) / np.sqrt(g) for g in G_pair}}


def tied_slope_at(G: int, p, L: int) -> np.ndarray:
    """Local log-log slope of Bias_B between G-1 and G (vectorised over p)."""
    b1 = bernoulli_bias(G - 1, p, L)
    b2 = bernoulli_bias(G, p, L)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(np.log(b2) - np.log(b1)) / (np.log(G) - np.log(G - 1))


def fig2_shape(L_list, p_list, G_max: int) -> dict:
    """Fig. 2's shape on a grid: Bias_B non-increasing in G = 1..G_max, largest at G = 1, zero for p in {0, 1},
    and below a tenth of its G = 1 value at G = 10,000 (it decays to zero)."""
    G = np.arange(1, int(G_max) + 1)
    p = _check_p(np.asarray(p_list, dtype=float))
    inner = p[(p > 0) & (p < 1)]
    edge = np.array([0.0, 1.0])
    nonincr = True
    max_at_1 = True
    zero_edges = True
    tends = True
    for L in L_list:
        c = bernoulli_bias_curve(G, inner, int(L)) if inner.size else np.zeros((G.size, 0))
        nonincr &= bool(np.all(np.diff(c, axis=0) <= 1e-12))
        max_at_1 &= bool(np.all(c[0] >= c.max(axis=0) - 1e-12))
        zero_edges &= bool(np.all(np.abs(bernoulli_bias_curve(G, edge, int(L))) <= 1e-12))
        if inner.size:
            tends &= bool(np.all(bernoulli_bias(10_000, inner, int(L)) < 0.1 * c[0]))
    return {"non_increasing": nonincr, "max_at_G1": max_at_1, "zero_at_p01": zero_edges, "tends_to_zero": tends}


def first_G_table(L_list, p_list, target: float = 0.45, G_max: int = 400) -> np.ndarray:
    """First G with local slope >= target for each (L, p) (rows L, columns p); -1 if not reached by G_max."""
    out = np.full((len(L_list), len(p_list)), -1, dtype=int)
    G = np.arange(1, int(G_max) + 1)
    p = np.asarray(p_list, dtype=float)
    for i, L in enumerate(L_list):
        s = local_slope(G, bernoulli_bias_curve(G, p, int(L)))
        for j in range(p.size):
            hit = np.nonzero(s[:, j] >= target)[0]
            out[i, j] = int(G[hit[0]]) if hit.size else -1
    return out


def _fit_power_law_const(G: np.ndarray, y: np.ndarray, starts=None) -> tuple[float, float, float]:
    """Eq. (25) y = a G^-b + c by least squares, multi-start over (b, c) plus any given starts; returns (a, b, c)."""
    from scipy import optimize

    span = float(y[0] - y[-1])
    x0s = [[max(float(y[0]) - c0, 1e-6), b0, max(c0, 0.0)]
           for b0 in (0.25, 1.0) for c0 in (float(y[-1] - 0.5 * span),)]
    x0s += [list(x) for x in (starts or [])]
    best = None
    ub = float(y[-1])
    lG = np.log(G)

    def jac(t):
        gb = G ** (-t[1])
        return np.column_stack([gb, -t[0] * lG * gb, np.ones_like(G)])

    for x0 in x0s:
        x0 = np.clip(np.asarray(x0, dtype=float), [0.0, 0.01, 0.0], [np.inf, 5.0, ub])
        r = optimize.least_squares(lambda t: t[0] * G ** (-t[1]) + t[2] - y, x0, jac=jac,
                                   bounds=([0.0, 0.01, 0.0], [np.inf, 5.0, ub]), x_scale="jac")
        if best is None or r.cost < best.cost:
            best = r
    a, b, c = best.x
    return float(a), float(b), float(c)


def G_needed_eq25(L_list, p_list, G_scan, band=(0.4, 0.6)) -> dict:
    """Appendix A: the smallest number of generations G for which eq. (25), y = a G'^-b + c, fitted by least
    squares to the exact expected naive oracle on G' = 1..G, gives an exponent b inside ``band`` for every
    (L, p) of the grid (each G of ``G_scan`` in turn; the previous fit warm-starts the next).

    Returns {'G_needed': int or None (not reached within G_scan), 'exponents': {G: array (L, p)}, 'G_scan'}.
    """
    G_scan = sorted(int(g) for g in G_scan)
    p = _check_p(np.asarray(p_list, dtype=float))
    Gall = np.arange(1, G_scan[-1] + 1)
    curves = {int(L): bernoulli_bias_curve(Gall, p, int(L)) + p for L in L_list}
    exps: dict[int, np.ndarray] = {}
    prev: dict[tuple[int, int], tuple[float, float, float]] = {}
    needed = None
    for gm in G_scan:
        b = np.empty((len(L_list), p.size))
        for i, L in enumerate(L_list):
            for j in range(p.size):
                key = (int(L), j)
                fit = _fit_power_law_const(Gall[:gm].astype(float), curves[int(L)][:gm, j],
                                           starts=[prev[key]] if key in prev else None)
                prev[key] = fit
                b[i, j] = fit[1]
        exps[gm] = b
        if np.all((b >= band[0]) & (b <= band[1])):
            needed = gm
            break
    return {"G_needed": needed, "exponents": exps, "G_scan": G_scan}


def slope_band_onset(L_list, p_list, G_max: int, band=(0.4, 0.6)) -> int:
    """The smallest G from which the local log-log slope of Bias_B stays inside ``band`` up to G_max, over the grid
    (the 'local slope' reading of Appendix A's G needed)."""
    G = np.arange(1, int(G_max) + 1)
    p = _check_p(np.asarray(p_list, dtype=float))
    onset = 2
    for L in L_list:
        s = local_slope(G, bernoulli_bias_curve(G, p, int(L)))[1:]
        bad = ~((s >= band[0]) & (s <= band[1]))
        rows = np.nonzero(bad.any(axis=1))[0]
        if rows.size:
            onset = max(onset, int(G[1:][rows[-1]]) + 1)
    return onset
