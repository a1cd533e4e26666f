"""Oracle estimators on outcome counts: true/naive oracles (eqs. 4-5), split-sample bracket,
subsampling curve and extrapolation (eqs. 11-12), posthoc k-shot oracle (eqs. 22-23),
reliability (eq. 24), uplift and topic entropy (eqs. 26-27).

Quality data enter as success counts ``s`` (N, L) and generation counts ``G`` (scalar or (N, L)),
the sufficient statistics of binary outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "check_counts",
    "oracle_value",
    "best_single",
    "uplift",
    "split_sample_oracle",
    "subsample_curve_exact",
    "extrap_form11",
    "extrap_form12",
    "ExtrapFit",
    "fit_extrapolation",
    "kshot_any",
    "kshot_route_then_sample",
    "kshot_shared_round",
    "kshot_population",
    "reliability",
    "reliability_expected",
    "topic_probs",
    "topic_entropy",
]


def check_counts(s, G) -> tuple[np.ndarray, np.ndarray]:
    """Validate success counts ``s`` (N, L) and generation counts ``G`` (broadcastable); return int arrays."""
    s = np.asarray(s)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 1:
        raise ValueError(f"s (success counts) must be an (N, L) array with N, L >= 1, got shape {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(np.round(s) != s):
        raise ValueError("s (success counts) must hold non-negative integers")
    Garr = np.broadcast_to(np.asarray(G), s.shape)
    if not np.all(np.isfinite(Garr)) or np.any(Garr < 1) or np.any(np.round(Garr) != Garr):
        raise ValueError("G (generations per prompt and model) must hold positive integers")
    if np.any(s > Garr):
        bad = np.argwhere(s > Garr)[0]
        raise ValueError(f"s exceeds G at (prompt, model) = {tuple(int(i) for i in bad)}")
    return s.astype(np.int64), Garr.astype(np.int64)


def oracle_value(M) -> float:
    """(1/N) sum_n max_l M_nl: eq. (4) with M = mu (true oracle), eq. (5) with M = phibar (naive oracle)."""
    M = np.asarray(M, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"matrix must be (N, L), got shape {M.shape}")
    return float(np.mean(np.nanmax(M, axis=1)))


def best_single(M) -> float:
    """max_l (1/N) sum_n M_nl: the best single model's mean (the comparator of eq. 26)."""
    M = np.asarray(M, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"matrix must be (N, L), got shape {M.shape}")
    return float(np.max(np.nanmean(M, axis=0)))


def uplift(mu, phibar=None) -> float:
    """Eq. (26): O_true - max_l (1/N) sum_n phibar_nl (phibar defaults to mu: population mode)."""
    return oracle_value(mu) - best_single(mu if phibar is None else phibar)


def _route_argmax(score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax over the last axis with uniformly random tie-breaking."""
    jitter = rng.random(score.shape)
    best = score.max(axis=-1, keepdims=True)
    return np.argmax(np.where(score >= best - 1e-12, 1.0 + jitter, 0.0), axis=-1)


def split_sample_oracle(s, G, rng: np.random.Generator, n_splits: int = 20) -> float:
    """Split-sample lower bracket (project addition, spec §1.4): route on one half, score on the other, swap.

    The halves are random splits of each (n, l)'s generations, drawn as Hypergeometric counts. The
    selection never sees the scoring half, so this is a feasible router and E <= O_true.
    """
    s, Gm = check_counts(s, G)
    if np.any(Gm < 2):
        raise ValueError("split_sample_oracle needs G >= 2 generations for every (prompt, model)")
    if int(n_splits) < 1:
        raise ValueError("n_splits must be >= 1")
    h = Gm // 2
    rows = np.arange(s.shape[0])
    vals = []
    for _ in range(int(n_splits)):
        s1 = rng.hypergeometric(s, Gm - s, h)
        s2 = s - s1
        m1, m2 = s1 / h, s2 / (Gm - h)
        a = _route_argmax(m1, rng)
        b = _route_argmax(m2, rng)
        vals.append(0.5 * (m2[rows, a].mean() + m1[rows, b].mean()))
    return float(np.mean(vals))


def subsample_curve_exact(s, G, G_primes=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact expected naive oracle over random size-G' subsets (spec §1.4, the data behind eqs. 11-12).

    O_sub(G') = 1/(N G') sum_n sum_{y<G'} [1 - prod_l H(y; G_nl, s_nl, G')], with H the hypergeometric
    CDF; subsets are drawn without replacement, independently per model. Returns (G_primes, O_sub).
    """
    s, Gm = check_counts(s, G)
    gmin = int(Gm.min())
    G_primes = np.arange(1, gmin + 1) if G_primes is None else np.asarray(G_primes, dtype=int)
    if np.any(G_primes < 1) or np.any(G_primes > gmin):
        raise ValueError(f"G_primes must lie in [1, min G_nl = {gmin}]")
    out = []
    N = s.shape[0]
    for gp in G_primes:
        y = np.arange(int(gp)).reshape(-1, 1, 1)
        H = stats.hypergeom.cdf(y, Gm[None], s[None], int(gp))
        out.append((1.0 - np.prod(H, axis=2)).sum() / (N * gp))
    return G_primes, np.asarray(out)


def extrap_form11(G, a_inf, beta, lam):
    """Eq. (11): O_biased(G) = a_inf + beta * G^-lambda."""
    return a_inf + beta * np.asarray(G, dtype=float) ** (-lam)


def extrap_form12(G, a_inf, beta, lam, gamma, delta):
    """Eq. (12): O_biased(G) = a_inf + beta * [1 + ((G - gamma)/delta)^2]^(-lambda/2)."""
    G = np.asarray(G, dtype=float)
    return a_inf + beta * (1.0 + ((G - gamma) / delta) ** 2) ** (-lam / 2.0)


@dataclass
class ExtrapFit:
    """Result of an extrapolation fit; ``a_inf`` estimates the G -> infinity value (the paper's alpha)."""

    form: str
    a_inf: float
    params: dict
    rss: float
    on_bound: list = field(default_factory=list)

    def predict(self, G):
        if self.form == "11":
            return extrap_form11(G, self.a_inf, self.params["beta"], self.params["lam"])
        return extrap_form12(G, self.a_inf, self.params["beta"], self.params["lam"], self.params["gamma"], self.params["delta"])


def fit_extrapolation(
    G_primes,
    y,
    form: str = "12",
    *,
    lambda_bounds=(0.25, 0.75),
    gamma_bounds=(0.0, 1.0),
    delta_bounds=(0.05, 50.0),
    a_bounds=None,
    fixed_lambda: float | None = None,
    weights=None,
) -> ExtrapFit:
    """Least-squares fit of eq. (11) or (12) to a subsampling curve (spec §1.4 bounds, multi-start over delta).

    ``a_bounds`` defaults to [0, y at the largest G']; for cost curves fit -C with wider bounds.
    ``fixed_lambda`` pins lambda (eq. 11 with lambda = .5 is the spec's stable variant).
    """
    x = np.asarray(G_primes, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("G_primes and y must be 1-D arrays of equal length")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    if form not in ("11", "12"):
        raise ValueError(f"form must be '11' or '12', got {form!r}")
    n_par = (2 if fixed_lambda is not None else 3) if form == "11" else 5
    if x.size < n_par:
        raise ValueError(f"form {form} needs at least {n_par} G' values, got {x.size}")
    lo_l, hi_l = lambda_bounds
    if not (0 < lo_l <= hi_l):
        raise ValueError("lambda_bounds must satisfy 0 < low <= high")
    y_last = y[np.argmax(x)]
    if a_bounds is None:
        a_bounds = (min(0.0, y_last), y_last)
    a_lo, a_hi = a_bounds
    w = np.ones_like(y) if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    span = max(float(np.ptp(y)), 1e-9)

    def model(theta):
        if form == "11":
            a, b = theta[0], theta[1]
            lam = fixed_lambda if fixed_lambda is not None else theta[2]
            return extrap_form11(x, a, b, lam)
        return extrap_form12(x, *theta)

    def jac(theta):
        """Analytic Jacobian of the weighted residuals (the fits run hundreds of times per frontier)."""
        if form == "11":
            b = theta[1]
            lam = fixed_lambda if fixed_lambda is not None else theta[2]
            gl = x ** (-lam)
            cols = [np.ones_like(x), gl] + ([] if fixed_lambda is not None else [-b * np.log(x) * gl])
        else:
            _, b, lam, gam, dl = theta
            d = x - gam
            u = 1.0 + (d / dl) ** 2
            uh = u ** (-lam / 2.0)
            du = b * lam * u ** (-lam / 2.0 - 1.0)
            cols = [np.ones_like(x), uh, -0.5 * b * np.log(u) * uh, du * d / dl**2, du * d**2 / dl**3]
        return w[:, None] * np.column_stack(cols)

    best = None
    starts = [0.3, 1.0, 3.0, 10.0] if form == "12" else [None]
    for d0 in starts:
        lam0 = 0.5 if fixed_lambda is None else fixed_lambda
        a0 = min(max(y_last - 0.5 * span, a_lo), a_hi)
        if form == "11":
            theta0 = [a0, max(y.max() - a0, 1e-6)] + ([] if fixed_lambda is not None else [min(max(lam0, lo_l), hi_l)])
            lb = [a_lo, 0.0] + ([] if fixed_lambda is not None else [lo_l])
            ub = [a_hi, np.inf] + ([] if fixed_lambda is not None else [hi_l])
        else:
            theta0 = [a0, max(y.max() - a0, 1e-6) * 2, min(max(lam0, lo_l), hi_l),
                      0.5 * sum(gamma_bounds), min(max(d0, delta_bounds[0]), delta_bounds[1])]
            lb = [a_lo, 0.0, lo_l, gamma_bounds[0], delta_bounds[0]]
            ub = [a_hi, np.inf, hi_l, gamma_bounds[1], delta_bounds[1]]
        theta0 = np.clip(theta0, np.asarray(lb) + 1e-12 * (np.asarray(ub) > np.asarray(lb)),
                         np.where(np.isfinite(ub), np.asarray(ub, dtype=float) - 1e-12, np.inf))
        res = optimize.least_squares(lambda t: w * (model(t) - y), theta0, jac=jac, bounds=(lb, ub), method="trf",
                                     x_scale="jac", max_nfev=2000)
        rss = float(np.sum((model(res.x) - y) ** 2))
        if best is None or rss < best[1]:
            best = (res.x, rss, lb, ub)
    theta, rss, lb, ub = best
    names = ["a_inf", "beta"] + (["lam"] if (form == "12" or fixed_lambda is None) else [])
    if form == "12":
        names += ["gamma", "delta"]
    params = dict(zip(names, (float(v) for v in theta)))
    if fixed_lambda is not None:
        params["lam"] = float(fixed_lambda)
    on_bound = [n for n, v, l, u in zip(names, theta, lb, ub)
                if np.isclose(v, l, atol=1e-6 * max(1, abs(l))) or (np.isfinite(u) and np.isclose(v, u, atol=1e-6 * max(1, abs(u))))]
    a = params.pop("a_inf")
    return ExtrapFit(form=form, a_inf=float(a), params=params, rss=rss, on_bound=on_bound)


def _pass_fail_ratio(s, G, k):
    """C(G - s, k) / C(G, k): probability that a random k-subset of the generations holds no success."""
    return special.comb(G - s, k) / special.comb(G, k)


def kshot_any(s, G, k: int) -> float:
    """Posthoc k-shot oracle, any-model form (spec §1.7): (1/N) sum_n [1 - prod_l C(G-s_nl,k)/C(G,k)].

    Unbiased for eq. (23) under independent per-model subsets; requires k <= G_nl.
    """
    s, Gm = check_counts(s, G)
    k = int(k)
    if k < 1 or k > Gm.min():
        raise ValueError(f"k must be in [1, min G_nl = {int(Gm.min())}], got {k}")
    return float(np.mean(1.0 - np.prod(_pass_fail_ratio(s, Gm, k), axis=1)))


def kshot_route_then_sample(s, G, k: int) -> float:
    """Printed eq. (22): mean_n max_l [1 - C(G-s,k)/C(G,k)] (max over models outside the subset average)."""
    s, Gm = check_counts(s, G)
    k = int(k)
    if k < 1 or k > Gm.min():
        raise ValueError(f"k must be in [1, min G_nl = {int(Gm.min())}], got {k}")
    return float(np.mean(np.max(1.0 - _pass_fail_ratio(s, Gm, k), axis=1)))


def kshot_shared_round(r, G: int, k: int) -> float:
    """Shared-round variant: mean_n [1 - C(G-r_n,k)/C(G,k)], r_n = rounds in which any model succeeded."""
    r = np.asarray(r)
    if r.ndim != 1 or np.any(r < 0) or np.any(r > G):
        raise ValueError("r must be a 1-D array of counts in [0, G]")
    if not 1 <= k <= G:
        raise ValueError(f"k must be in [1, G={G}]")
    return float(np.mean(1.0 - _pass_fail_ratio(r, G, k)))


def kshot_population(pi, k) -> np.ndarray:
    """Eq. (23): (1/N) sum_n [1 - prod_l (1 - pi_nl)^k], vectorised over k."""
    pi = np.asarray(pi, dtype=float)
    if pi.ndim != 2 or np.any((pi < 0) | (pi > 1)):
        raise ValueError("pi must be an (N, L) matrix of probabilities")
    k = np.atleast_1d(np.asarray(k, dtype=float))
    if np.any(k < 0):
        raise ValueError("k must be non-negative")
    log_fail = np.log1p(-np.minimum(pi, 1.0 - 1e-300)).sum(axis=1)  # (N,)
    log_fail = np.where(np.any(pi >= 1.0, axis=1), -np.inf, log_fail)
    return np.mean(1.0 - np.exp(np.outer(k, log_fail)), axis=1)


def reliability(phibar) -> np.ndarray:
    """Eq. (24): reliability(l) = 2 (1/N) sum_n |phibar_nl - 1/2|, one value per model."""
    phibar = np.asarray(phibar, dtype=float)
    if phibar.ndim != 2:
        raise ValueError("phibar must be an (N, L) matrix")
    if np.any((phibar < 0) | (phibar > 1)):
        raise ValueError("phibar must lie in [0, 1]")
    return 2.0 * np.nanmean(np.abs(phibar - 0.5), axis=0)


def reliability_expected(G: int, pi) -> np.ndarray:
    """Exact E[reliability contribution] = 2 sum_y Binom(y; G, pi) |y/G - 1/2| (spec §1.8), vectorised over pi."""
    pi = np.asarray(pi, dtype=float)
    y = np.arange(G + 1).reshape((-1,) + (1,) * pi.ndim)
    return 2.0 * np.sum(stats.binom.pmf(y, G, pi) * np.abs(y / G - 0.5), axis=0)


def topic_probs(s: float, K: int) -> np.ndarray:
    """theta(s) = (1 - s)/K + s e_1: the linear sweep of Appendix G from uniform (s=0) to one topic (s=1)."""
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"s must be in [0, 1], got {s}")
    if K < 1:
        raise ValueError("K must be >= 1")
    th = np.full(K, (1.0 - s) / K)
    th[0] += s
    return th


def topic_entropy(theta) -> float:
    """Eq. (27): H = -sum_k theta_k ln theta_k (natural log, 0 ln 0 = 0)."""
    th = np.asarray(theta, dtype=float)
    if np.any(th < 0) or not np.isclose(th.sum(), 1.0):
        raise ValueError("theta must be a probability vector")
    nz = th[th > 0]
    return float(abs(-(nz * np.log(nz)).sum()))
