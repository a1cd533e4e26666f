"""Coverage of the Prop. 1(iii) certificate over simulated pools: the revision's sound form vs v1's.

A pool of m models is drawn from a common-shock law with known truth: each query is co-hard with
probability omega (every model wrong); otherwise model i errs independently with probability alpha_i.
Then beta = omega + (1 - omega) prod_i alpha_i, a_i = (1 - omega)(1 - alpha_i), and the true maximum
gain of any selection policy is G* = (1 - beta) - max_i a_i (Prop. 1(i)). A certificate covers when
G* <= U. Only counts are drawn (K ~ all-wrong queries, c_i ~ correct answers), so a pool costs O(m n).

* sound form (rev, spec §2.2): U = (1 - beta_lo) - max_i a_i,lo, lower CP limits at delta/2 and delta/(2m);
* v1's form: U_v1 = (1 - beta_lo) - a_sb,hi, an *upper* CP limit on the in-sample best at delta/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from capfront_lib.cofailure.pool import cp_interval, cp_lower, cp_upper
from capfront_lib.core.parallel import pmap

__all__ = ["Scenario", "SCENARIOS", "true_gain", "simulate_counts", "certificates", "coverage_chunk", "coverage_study"]


@dataclass(frozen=True)
class Scenario:
    """A simulated pool law: common-shock rate ``omega`` and per-model error rates ``alpha`` outside the shock."""

    name: str
    omega: float
    alpha: tuple[float, ...]
    n: int


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("co-failure tail (omega 0.03, 10 models)", 0.03, tuple(np.linspace(0.15, 0.40, 10).round(4)), 300),
    Scenario("no co-failure (omega 0, 10 models)", 0.0, tuple(np.linspace(0.10, 0.30, 10).round(4)), 300),
    Scenario("many equal models (omega 0.02, 20 x 0.2)", 0.02, (0.2,) * 20, 200),
)


def true_gain(sc: Scenario) -> float:
    """G* = (1 - beta) - max_i a_i of the scenario's law (Prop. 1(i): the largest gain any selection policy has)."""
    a = np.asarray(sc.alpha)
    beta = sc.omega + (1 - sc.omega) * np.prod(a)
    return float((1 - beta) - np.max((1 - sc.omega) * (1 - a)))


def simulate_counts(sc: Scenario, n_pools: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(K, c): all-wrong counts (n_pools,) and correct counts (n_pools, m) of ``n_pools`` simulated pools."""
    a = np.asarray(sc.alpha)
    m = a.size
    K = np.empty(n_pools, int)
    C = np.empty((n_pools, m), int)
    for s in range(0, n_pools, 200):
        b = min(200, n_pools - s)
        shock = rng.uniform(size=(b, 1, sc.n)) < sc.omega
        err = shock | (rng.uniform(size=(b, m, sc.n)) < a[None, :, None])
        K[s:s + b] = err.all(axis=1).sum(axis=1)
        C[s:s + b] = sc.n - err.sum(axis=2)
    return K, C


def certificates(K: np.ndarray, C: np.ndarray, n: int, delta: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(U_rev, U_v1) for arrays of pools: lower CP limits on beta and on every accuracy (Bonferroni), vs v1's upper
    limit on the in-sample best."""
    m = C.shape[1]
    beta_lo = cp_lower(K, n, delta / 2)
    asb_lo = np.max(cp_lower(C, n, delta / (2 * m)), axis=1)
    asb_hi_v1 = cp_upper(C.max(axis=1), n, delta / 2)
    return (1 - beta_lo) - asb_lo, (1 - beta_lo) - asb_hi_v1


def coverage_chunk(item: dict) -> tuple[int, int, int]:
    """(covered by the sound form, covered by v1's form, pools) for one seeded chunk of one scenario."""
    sc = item["scenario"]
    rng = np.random.default_rng(item["seed"])
    K, C = simulate_counts(sc, int(item["n_pools"]), rng)
    u_rev, u_v1 = certificates(K, C, sc.n, item["delta"])
    g = true_gain(sc)
    return int(np.sum(g <= u_rev)), int(np.sum(g <= u_v1)), int(len(K))


def coverage_study(n_pools: int, seed: int, delta: float = 0.05, scenarios=SCENARIOS, chunk: int = 500) -> list[dict]:
    """Coverage of both certificate forms per scenario, with exact 95% Clopper-Pearson intervals on the rates."""
    rows = []
    seeds = np.random.SeedSequence(seed).spawn(len(scenarios))
    for sc, ss in zip(scenarios, seeds):
        sizes = [min(chunk, n_pools - s) for s in range(0, int(n_pools), chunk)]
        cs = ss.spawn(len(sizes))
        parts = pmap(coverage_chunk, [{"scenario": sc, "seed": c, "n_pools": k, "delta": delta} for k, c in zip(sizes, cs)])
        rev, v1, N = (sum(p[i] for p in parts) for i in range(3))
        rows.append({"scenario": sc.name, "true_gain": true_gain(sc), "n_pools": N,
                     "coverage_rev": rev / N, "ci_rev": cp_interval(rev, N, 0.05),
                     "coverage_v1": v1 / N, "ci_v1": cp_interval(v1, N, 0.05)})
    return rows
