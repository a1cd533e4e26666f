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
    f = lambda x: x * L * stats.norm.pdf(x) * stats.norm.cdf(x) ** (L - 1)  # noqa: E731
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


def expected_biased_oracle_independent(pi, G: int) -> float:
    """E O_biased(G) for independent heterogeneous models: 1/(NG) sum_n sum_{y<G} [1 - prod_l F(y;G,pi_nl)].

    Project addition generalising eq. (10) to a full (N, L) matrix of success probabilities.
    """
    G = _check_G(G)
    pi = _check_p(pi, "pi")
    if pi.ndim != 2:
        raise ValueError(f"pi must be an (N, L) matrix, got shape {pi.shape}")
    total = 0.0
    for y in range(G):
        total += (1.0 - np.prod(special.bdtr(y, G, pi), axis=1)).sum()
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
