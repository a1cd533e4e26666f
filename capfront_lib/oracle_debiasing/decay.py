"""How the naive oracle's bias decays with G beyond identical independent models (Sec. 4.2.1, Appendix A).

* **Heterogeneous models** (different success probabilities per model and prompt, e.g. a PGM world):
  E O_biased(G) is exact by the product-CDF form (``theory.expected_biased_oracle_independent``), so the
  local decay exponent between two large G is exact for the world.
* **Generations correlated across models.** The paper does not say how it correlated them; we use a shared
  per-round Gaussian latent (the chapter spec's choice, also in ``simulate.simulate_world(gen_corr=...)``):
  phi_lg = 1[sqrt(rho) z_g + sqrt(1 - rho) e_lg < Phi^-1(p)], which keeps every marginal Bernoulli(p).
  Given the round effects z_1..z_G the L models are independent and identically distributed, each count a
  Poisson-binomial with probabilities p(z_g) = Phi((Phi^-1(p) - sqrt(rho) z_g)/sqrt(1 - rho)), so
  E[max_l Y_l | z] = sum_{y<G} [1 - F_z(y)^L] exactly (F_z by dynamic programming over the rounds); the
  expectation over z is a Monte Carlo average over ``R`` draws, the same draws for every G (nested rounds).
  The control variate mean_g p(z_g) (whose expectation is exactly p) is subtracted per draw, so each draw
  gives an unbiased estimate of the bias E O_biased(G) - p with a small variance.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing import theory as th
from capfront_lib.oracle_debiasing.record import bootstrap_interval

__all__ = ["hetero_local_slope", "correlated_bias_draws", "fit_exponent", "correlated_exponents", "correlated_curve",
           "hetero_curve"]


def hetero_local_slope(pi, G1: int = 500, G2: int = 1000) -> dict:
    """Local log-log decay exponent of E O_biased(G) - O_true between G1 and G2 for independent models with
    success probabilities ``pi`` (N, L) (exact, eq. 10 generalised to heterogeneous models)."""
    if not 1 <= G1 < G2:
        raise ValueError("need 1 <= G1 < G2")
    truth = est.oracle_value(pi)
    b1 = th.expected_biased_oracle_independent(pi, int(G1)) - truth
    b2 = th.expected_biased_oracle_independent(pi, int(G2)) - truth
    # a bias that has reached 0 in floating point (every prompt resolved) has no measurable slope
    slope = float(-np.log(b2 / b1) / np.log(G2 / G1)) if (b1 > 1e-13 and b2 > 1e-13) else float("nan")
    return {"slope": slope, "bias": (float(b1), float(b2)), "G": (int(G1), int(G2))}


def _pb_emax_kernel():
    """numba kernel: Poisson-binomial DP over rounds; at the requested G, E[max of L iid counts | z] / G."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(pz, want, Ls):
        R, Gmax = pz.shape
        out = np.empty((Ls.size, R, want.size))
        f = np.empty(Gmax + 1)
        for r in range(R):
            f[:] = 0.0
            f[0] = 1.0
            j = 0
            for g in range(1, Gmax + 1):
                q = pz[r, g - 1]
                for k in range(g, 0, -1):
                    f[k] = f[k] * (1.0 - q) + f[k - 1] * q
                f[0] *= 1.0 - q
                if j < want.size and want[j] == g:
                    for a in range(Ls.size):
                        F, em = 0.0, 0.0
                        for y in range(g):
                            F += f[y]
                            Fc = min(F, 1.0)
                            em += 1.0 - Fc ** Ls[a]
                        out[a, r, j] = em / g
                    j += 1
        return out

    return kernel


_PB = None


def correlated_bias_draws(p: float, rho: float, L_list, G_eval, R: int, rng: np.random.Generator) -> dict:
    """Per-draw unbiased estimates of the bias E O_biased(G) - p for L identical models whose generations share
    a per-round Gaussian latent with correlation ``rho`` (see the module docstring).

    Returns {L: array (R, len(G_eval))} and the G values. ``rho = 0`` reproduces the binomial case exactly in
    expectation (each draw then equals ``theory.bernoulli_bias``). The dynamic programme over rounds is
    compiled with numba (``_pb_emax_numpy`` is the vectorised reference used by the tests).
    """
    global _PB
    G_eval, pz = _prepare(p, rho, G_eval, R, rng)
    if _PB is None:
        _PB = _pb_emax_kernel()
    Ls = np.asarray([int(L) for L in L_list], dtype=np.int64)
    em = _PB(pz, G_eval.astype(np.int64), Ls)
    cum_p = np.cumsum(pz, axis=1)[:, G_eval - 1] / G_eval
    return {"G": G_eval, "draws": {int(L): em[a] - cum_p for a, L in enumerate(Ls)}}


def _prepare(p, rho, G_eval, R, rng):
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    G_eval = np.asarray(sorted(int(g) for g in G_eval))
    if G_eval[0] < 1:
        raise ValueError("G values must be >= 1")
    z = rng.standard_normal((int(R), int(G_eval[-1])))
    pz = stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1.0 - rho))
    return G_eval, np.ascontiguousarray(pz)


def _pb_emax_numpy(pz: np.ndarray, G_eval, L_list) -> dict:
    """Reference (vectorised over draws): E[max_l Y_l | z] / G at each G of G_eval, per L."""
    R, Gmax = pz.shape
    f = np.zeros((R, Gmax + 1))
    f[:, 0] = 1.0
    out = {int(L): np.empty((R, len(G_eval))) for L in L_list}
    want = {int(g): j for j, g in enumerate(G_eval)}
    for g in range(1, Gmax + 1):
        q = pz[:, g - 1 : g]
        f[:, 1 : g + 1] = f[:, 1 : g + 1] * (1.0 - q) + f[:, 0:g] * q
        f[:, 0] *= 1.0 - q[:, 0]
        j = want.get(g)
        if j is not None:
            F = np.minimum(np.cumsum(f[:, :g], axis=1), 1.0)
            for L in out:
                out[L][:, j] = (1.0 - F ** L).sum(axis=1) / g
    return out


def fit_exponent(G, bias) -> np.ndarray | float:
    """Least-squares slope of log bias on log G (the lambda of eq. 11 with the truth known), as a positive exponent.

    ``bias`` may be (len(G),) or (..., len(G)) (one fit per row, vectorised); non-positive biases give NaN."""
    x = np.log(np.asarray(G, dtype=float))
    b = np.asarray(bias, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(b > 0, np.log(np.where(b > 0, b, 1.0)), np.nan)
    xc = x - x.mean()
    slope = ((y - y.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / (xc**2).sum()
    return float(-slope) if np.ndim(slope) == 0 else -slope


def correlated_exponents(rhos, ps, Ls, R: int, rng: np.random.Generator, G_fit=(50, 75, 100, 150, 200, 300, 500, 750, 1000),
                         G_small: int = 10, B: int = 1000) -> dict:
    """Appendix A with correlated generations: the decay exponent fitted on ``G_fit`` for every (rho, p, L), the
    value farthest from 0.5 with a bootstrap interval over the Monte Carlo draws, and the bias at ``G_small``.

    Returns {'table': list of dicts, 'worst': (value, (lo, hi)), 'R': R}.
    """
    G_eval = sorted(set(int(g) for g in G_fit) | {int(G_small)})
    jfit = [G_eval.index(int(g)) for g in G_fit]
    jsmall = G_eval.index(int(G_small))
    rows, draws = [], []
    for rho in rhos:
        for p in ps:
            d = correlated_bias_draws(float(p), float(rho), Ls, G_eval, R, rng)
            for L in Ls:
                x = d["draws"][int(L)]
                lam = fit_exponent(np.asarray(G_fit), x[:, jfit].mean(axis=0))
                rows.append({"rho": float(rho), "p": float(p), "L": int(L), "lambda": lam,
                             "bias_G_small": float(x[:, jsmall].mean()),
                             "bias_G_small_se": float(x[:, jsmall].std(ddof=1) / np.sqrt(x.shape[0])),
                             "bias_G_small_indep": float(th.bernoulli_bias(int(G_small), float(p), int(L)))})
                draws.append(x[:, jfit])
    stack = np.stack(draws, axis=1)  # (R, combos, G_fit)

    def worst(a: np.ndarray) -> float:
        lams = fit_exponent(np.asarray(G_fit), a.mean(axis=0))  # one exponent per (rho, p, L)
        k = int(np.nanargmax(np.abs(lams - 0.5)))
        return float(lams[k])

    value, ci = bootstrap_interval(worst, stack, rng, B=B)
    return {"table": rows, "worst": (value, ci), "R": int(R), "G_fit": list(map(int, G_fit)), "G_small": int(G_small)}


def correlated_curve(p: float, rho: float, L: int, G_values, R: int, rng: np.random.Generator) -> np.ndarray:
    """Mean bias E O_biased(G) - p over G_values for L identical models with round correlation ``rho``
    (exact binomial formula when rho = 0, the Monte Carlo of :func:`correlated_bias_draws` otherwise)."""
    G_values = np.asarray(G_values, dtype=int)
    if rho == 0:
        return np.array([float(th.bernoulli_bias(int(g), float(p), int(L))) for g in G_values])
    d = correlated_bias_draws(float(p), float(rho), [int(L)], G_values, R, rng)
    return d["draws"][int(L)].mean(axis=0)


def hetero_curve(pi, G_values) -> np.ndarray:
    """Exact bias E O_biased(G) - O_true of independent heterogeneous models over G_values."""
    truth = est.oracle_value(pi)
    return np.array([th.expected_biased_oracle_independent(pi, int(g)) - truth for g in G_values])
