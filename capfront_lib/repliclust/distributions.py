"""Radial distributions of clusters (thesis §5.3, "Defining Clusters and Mixture Models").

A point of cluster j is ``x = μ + r·(u ⊙ σ) U`` with u uniform on the sphere and, as in repliclust
1.0.0 (spec D5), ``r = ‖(|Z_1|,…,|Z_p|)‖₂ / q`` where Z_i are iid draws of the cluster's family F and
q is the 0.682-quantile of |Z|. For F = normal this gives exactly N(μ, Σ/q²) with q ≈ 0.9986.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import optimize, stats

QUANTILE_LEVEL = 0.682


@dataclass(frozen=True)
class Family:
    """A univariate family: a numpy sampler and the matching frozen scipy distribution."""

    name: str
    draw: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
    dist: object  # scipy frozen distribution of Z
    heavy_tailed: bool = False
    bounded: bool = False


FAMILIES: dict[str, Family] = {
    "normal": Family("normal", lambda g, s: g.standard_normal(s), stats.norm()),
    "standard_t": Family("standard_t", lambda g, s: g.standard_t(5, s), stats.t(5), heavy_tailed=True),
    "exponential": Family("exponential", lambda g, s: g.exponential(1.0, s), stats.expon()),
    "uniform": Family("uniform", lambda g, s: g.uniform(0.0, 1.0, s), stats.uniform(), bounded=True),
    "beta": Family("beta", lambda g, s: g.beta(2.5, 8.5, s), stats.beta(2.5, 8.5), bounded=True),
    "chisquare": Family("chisquare", lambda g, s: g.chisquare(5, s), stats.chi2(5)),
    "gumbel": Family("gumbel", lambda g, s: g.gumbel(0.0, 1.0, s), stats.gumbel_r()),
    "weibull": Family("weibull", lambda g, s: g.weibull(1.5, s), stats.weibull_min(1.5)),
    "gamma": Family("gamma", lambda g, s: g.gamma(3.0, 1.0, s), stats.gamma(3.0)),
    # numpy's pareto(a) is the Lomax (Pareto II) law
    "pareto": Family("pareto", lambda g, s: g.pareto(10.0, s), stats.lomax(10.0), heavy_tailed=True),
    "f": Family("f", lambda g, s: g.f(7, 10, s), stats.f(7, 10), heavy_tailed=True),
    "lognormal": Family("lognormal", lambda g, s: g.lognormal(0.0, 0.75, s), stats.lognorm(0.75), heavy_tailed=True),
}

SUPPORTED_DISTRIBUTIONS = tuple(FAMILIES)


def check_family(name: str) -> Family:
    """Return the family called ``name`` or raise ``ValueError`` listing the supported ones."""
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"distributions: unknown family {name!r}; supported: {list(FAMILIES)}") from None


@lru_cache(maxsize=None)
def abs_quantile(name: str, level: float = QUANTILE_LEVEL) -> float:
    """The ``level``-quantile q of |Z| for Z ~ F, solving P(|Z| ≤ q) = F(q) − F(−q) = level exactly.

    repliclust estimates q from 10⁶ draws; the closed-form cdf of |Z| gives it without sampling.
    """
    fam = check_family(name)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    d = fam.dist
    g = lambda x: d.cdf(x) - d.cdf(-x) - level  # noqa: E731
    hi = 1.0
    while g(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-14))


def sample_radial(name: str, p: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n radii ``‖(|Z_1|,…,|Z_p|)‖₂ / q`` for family ``name`` (spec 1.3, the v1.0.0 reading of D5)."""
    fam = check_family(name)
    z = np.abs(fam.draw(rng, (n, p)))
    return np.sqrt(np.einsum("ij,ij->i", z, z)) / abs_quantile(name)


def assign_families(
    k: int, distributions: list[str], proportions: list[float] | None, rng: np.random.Generator
) -> list[str]:
    """Families of k clusters: floor(prop·k) each, the rest drawn at random by proportion, shuffled."""
    if not distributions:
        raise ValueError("distributions must list at least one family")
    for d in distributions:
        check_family(d)
    if proportions is None:
        props = np.full(len(distributions), 1.0 / len(distributions))
    else:
        props = np.asarray(proportions, dtype=float)
        if props.shape != (len(distributions),) or np.any(props < 0) or not np.isclose(props.sum(), 1.0):
            raise ValueError("distribution_proportions must be non-negative, one per distribution, summing to 1")
    counts = np.floor(props * k).astype(int)
    out = [d for d, c in zip(distributions, counts) for _ in range(c)]
    extra = k - len(out)
    if extra > 0:
        out += list(rng.choice(distributions, size=extra, p=props))
    rng.shuffle(out)
    return [str(x) for x in out]
