"""Vectorised query bootstrap of a pool's co-failure statistics (spec §2.10), by sufficient statistics.

A bootstrap replicate resamples queries. Every statistic of the chapter depends on the replicate only
through multinomial query weights ``w`` (how often each query was drawn): the error rates
``alpha_i = sum_j w_j W_ij / n``, the pairwise co-error rates ``p11_ij = sum_j w_j W_ij W_kj / n`` and
the all-wrong rate ``beta = sum_j w_j 1[all wrong at j] / n``. So a replicate costs one weighted
``m x n x m`` product instead of a re-read of the matrix, and the tetrachoric solve, the
single-factor integral, the Clayton calibration and the implied correlation run for all replicates of
a chunk at once (the solver is :func:`capfront_lib.cofailure.copula.tetrachoric_from_p11`).

Chunks carry their own seed and go through :func:`capfront_lib.core.parallel.pmap`, so a Dask cluster
can run them and the result is identical to the serial run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtri

from capfront_lib.cofailure.copula import CLAMP, beta_sf, gauss_hermite, tetrachoric_from_p11
from capfront_lib.cofailure.pool import as_correctness
from capfront_lib.core.parallel import pmap
from capfront_lib.core.threads import single_thread_blas

__all__ = ["replicate_stats", "boot_chunk", "bootstrap_pool", "BootDraws", "half_pool_subsets", "percentile_ci",
           "gh_beta_sf_batch", "tetrachoric_warm"]

_GH_MAX_RHO = 0.7  # Gauss-Hermite-96 is accurate to ~1e-5 relative up to here (spec §2.4); quadrature above


def gh_beta_sf_batch(t: np.ndarray, rho: np.ndarray, nodes: int = 96, exact_above: float | None = _GH_MAX_RHO) -> np.ndarray:
    """Single-factor all-wrong probability for a batch: ``t`` is (B, k) thresholds, ``rho`` (B,) correlations.

    beta_sf(t_b, rho_b) = int phi(z) prod_i Phi((t_bi - sqrt(rho_b) z)/sqrt(1 - rho_b)) dz (spec §2.4) by
    Gauss-Hermite; rows with rho_b > ``exact_above`` (0.7) are recomputed by adaptive quadrature
    (:func:`copula.beta_sf`); ``exact_above=None`` keeps Gauss-Hermite everywhere (root finding).
    """
    t = np.atleast_2d(np.asarray(t, float))
    rho = np.asarray(rho, float).reshape(-1)
    if t.shape[0] != rho.size:
        raise ValueError(f"t has {t.shape[0]} rows but rho has {rho.size} values")
    x, w = gauss_hermite(nodes)
    r = np.clip(rho, 0.0, 1 - 1e-12)
    s = np.sqrt(r)[:, None, None]
    c = np.sqrt(1 - r)[:, None, None]
    logp = log_ndtr((t[:, None, :] - s * x[None, :, None]) / c).sum(axis=2)
    out = np.exp(logp) @ w
    hi = np.flatnonzero(rho > exact_above) if exact_above is not None else np.array([], int)
    if hi.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for b in hi:
                out[b] = beta_sf(t[b], rho[b])
    return out


def _clayton_theta(alpha: np.ndarray, p11bar: np.ndarray, iu: tuple[np.ndarray, np.ndarray], iters: int = 45) -> np.ndarray:
    """Clayton theta per replicate with mean pairwise C(alpha_i, alpha_j) = p11bar (bisection on log theta in [1e-4, 50]).

    The same calibration as :func:`copula.clayton_calibrate` (spec §2.6), vectorised over replicates; NaN where
    p11bar lies outside the Clayton range.
    """
    ai, aj = alpha[:, iu[0]], alpha[:, iu[1]]

    def f(th: np.ndarray) -> np.ndarray:
        t = th[:, None]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.mean((ai ** -t + aj ** -t - 1) ** (-1 / t), axis=1) - p11bar

    lo = np.full(len(p11bar), np.log(1e-4))
    hi = np.full(len(p11bar), np.log(50.0))
    ok = (f(np.exp(lo)) <= 0) & (f(np.exp(hi)) >= 0)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        neg = f(np.exp(mid)) < 0
        lo = np.where(neg, mid, lo)
        hi = np.where(neg, hi, mid)
    return np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)


def _implied_rho(t: np.ndarray, beta: np.ndarray, iters: int = 24) -> np.ndarray:
    """rho_eff per replicate with beta_sf(t_b, rho) = beta_b (bisection on [0, 0.999]; Table 2's implied correlation).

    0 where beta_b is at or below independence; NaN where it is at or above the comonotone limit.
    Gauss-Hermite with 160 nodes throughout (relative error ~1e-4 at rho = 0.9, far below bootstrap spread).
    """
    lo = np.zeros(len(beta))
    hi = np.full(len(beta), 0.999)
    b0 = gh_beta_sf_batch(t, lo, nodes=160, exact_above=None)
    bmax = gh_beta_sf_batch(t, hi, nodes=160, exact_above=None)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = gh_beta_sf_batch(t, mid, nodes=160, exact_above=None) < beta
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = 0.5 * (lo + hi)
    out = np.where(beta <= b0, 0.0, out)
    return np.where(beta >= bmax, np.nan, out)


def tetrachoric_warm(ti, tj, p11, r0, *, tol: float = 1e-10, max_iter: int = 60) -> np.ndarray:
    """Solve Phi2(t_i, t_j; r) = p11 for r from a warm start ``r0`` (spec §2.3, vectorised).

    :func:`copula.tetrachoric_from_p11` started at the full-sample solution: in a bootstrap most pairs then
    converge in 2-3 safeguarded Newton steps. A forward residual below ``tol`` (1e-10 in p11, so r to ~1e-9:
    far below any bootstrap spread) stops a pair.
    """
    return tetrachoric_from_p11(ti, tj, p11, r0=r0, tol=tol, halvings=max_iter)


def _tetrachoric_pairs(alpha: np.ndarray, p11: np.ndarray, iu, zero_cell: str = "clamp",
                       r0: np.ndarray | None = None) -> np.ndarray:
    """Tetrachoric r for every (replicate, pair) from error rates (B, m) and co-error rates (B, P).

    Mirrors :func:`copula.tetrachoric_matrix` (spec §2.3): a pair with an empty 2x2 cell is pinned at
    +-(1 - 1e-6) under ``"clamp"``; the others are solved by :func:`copula.tetrachoric_from_p11`.
    """
    if zero_cell != "clamp":
        raise ValueError("the vectorised bootstrap supports zero_cell='clamp' only")
    ai, aj = alpha[:, iu[0]], alpha[:, iu[1]]
    tol = 1e-12
    c11 = p11
    c10 = ai - p11
    c01 = aj - p11
    c00 = 1 - ai - aj + p11
    pos = (c10 <= tol) | (c01 <= tol)
    neg = (c11 <= tol) | (c00 <= tol)
    zero = pos | neg
    r = np.empty_like(p11)
    solve = ~zero
    if solve.any():
        ti, tj = ndtri(ai[solve]), ndtri(aj[solve])
        pp = p11[solve]
        start = np.zeros_like(p11) if r0 is None else np.broadcast_to(np.clip(r0, -0.99, 0.99), p11.shape)
        st = start[solve]
        res = np.empty(pp.size)
        step = 150_000
        for s in range(0, pp.size, step):
            res[s:s + step] = tetrachoric_warm(ti[s:s + step], tj[s:s + step], pp[s:s + step], st[s:s + step])
        r[solve] = res
    r = np.where(zero & pos & ~neg, CLAMP, r)
    r = np.where(zero & neg & ~pos, -CLAMP, r)
    r = np.where(zero & pos & neg, CLAMP, r)
    return r


def half_pool_subsets(m: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` seeded subsets of ceil(m/2) models (rows, sorted) for the pool-size growth statistic."""
    k = int(np.ceil(m / 2))
    return np.array([np.sort(rng.choice(m, k, replace=False)) for _ in range(int(reps))], dtype=int)


def replicate_stats(A: np.ndarray, w: np.ndarray, *, subsets: np.ndarray | None = None, clayton: bool = True,
                    implied: bool = True, groups: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Co-failure statistics of the pool ``A`` (m x n, 0/1) under query weights ``w`` (B x n, summing to n per row).

    Returns arrays of length B: ``beta`` (all-wrong rate), ``a_sb`` (best accuracy), ``gain`` (oracle gain G),
    ``phibar``/``rbar`` (mean Pearson / tetrachoric over all pairs), ``beta_sf`` / ``beta_sf_pearson``
    (single factor at rbar / phibar, heterogeneous thresholds), ``beta_clayton`` (Clayton matched to the mean
    pairwise co-error), ``rho_eff`` (implied correlation) and, with ``subsets`` (S x k model indices), the
    ratio of means at that size ``ratio_half``; with ``groups`` ({name: S x k model indices}, equal size within a
    group) the ratio of means ``ratio_<name>`` of each group; plus ``ok`` (False where some model's error rate is
    0 or 1).
    """
    A = as_correctness(A)
    m, n = A.shape
    w = np.atleast_2d(np.asarray(w, float))
    if w.shape[1] != n:
        raise ValueError(f"weights must have {n} columns, got {w.shape}")
    W = 1.0 - A
    B = w.shape[0]
    iu = np.triu_indices(m, 1)
    with single_thread_blas():
        alpha = w @ W.T / n
        allw = (A.sum(axis=0) == 0).astype(float)
        beta = w @ allw / n
        p11 = np.empty((B, len(iu[0])))
        for b in range(B):
            M = (W * w[b]) @ W.T / n
            p11[b] = M[iu]
    ok = np.all((alpha > 0) & (alpha < 1), axis=1)
    alpha_c = np.clip(alpha, 1e-12, 1 - 1e-12)
    acc = 1 - alpha
    a_sb = acc.max(axis=1)
    out: dict[str, np.ndarray] = {"ok": ok, "beta": beta, "a_sb": a_sb, "gain": (1 - beta) - a_sb}
    ai, aj = alpha_c[:, iu[0]], alpha_c[:, iu[1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = (p11 - ai * aj) / np.sqrt(ai * (1 - ai) * aj * (1 - aj))
    out["phibar"] = np.nanmean(phi, axis=1)
    r = np.full_like(p11, np.nan)
    if ok.any():
        a0 = np.clip(W.mean(axis=1), 1e-12, 1 - 1e-12)[None, :]
        r0 = _tetrachoric_pairs(a0, (W @ W.T / n)[iu][None, :], iu)[0]  # full-sample solution: warm start
        r[ok] = _tetrachoric_pairs(alpha_c[ok], p11[ok], iu, r0=r0)
    out["rbar"] = r.mean(axis=1)
    t = ndtri(alpha_c)
    nan = np.full(B, np.nan)
    bsf, bsfp = nan.copy(), nan.copy()
    if ok.any():
        bsf[ok] = gh_beta_sf_batch(t[ok], np.maximum(out["rbar"][ok], 0.0))
        bsfp[ok] = gh_beta_sf_batch(t[ok], np.maximum(out["phibar"][ok], 0.0))
    out["beta_sf"], out["beta_sf_pearson"] = bsf, bsfp
    if clayton:
        bc = nan.copy()
        if ok.any():
            th = _clayton_theta(alpha_c[ok], p11[ok].mean(axis=1), iu)
            with np.errstate(over="ignore", invalid="ignore"):
                bc[ok] = (np.sum(alpha_c[ok] ** -th[:, None], axis=1) - m + 1) ** (-1 / th)
        out["beta_clayton"] = bc
    if implied:
        re = nan.copy()
        if ok.any():
            re[ok] = _implied_rho(t[ok], beta[ok])
        out["rho_eff"] = re
    todo = dict(groups or {})
    if subsets is not None:
        todo["half"] = subsets
    for name, S in todo.items():
        out[f"ratio_{name}"] = _subset_ratio_of_means(A, w, np.asarray(S, int), r, t, ok)
    return out


def _subset_ratio_of_means(A: np.ndarray, w: np.ndarray, S: np.ndarray, r: np.ndarray, t: np.ndarray,
                           ok: np.ndarray) -> np.ndarray:
    """Ratio of means over the subsets ``S`` (rows of model indices, one size): mean all-wrong rate of the subsets
    over the mean single-factor prediction, each subset calibrated on its own mean tetrachoric (reused pairwise
    estimates ``r``, B x P) and thresholds ``t`` (B x m); one value per replicate (spec §2.9)."""
    m, n = A.shape
    B = w.shape[0]
    iu = np.triu_indices(m, 1)
    k = S.shape[1]
    pair_index = -np.ones((m, m), int)
    pair_index[iu] = np.arange(len(iu[0]))
    bk = np.empty((B, len(S)))
    bs = np.full((B, len(S)), np.nan)
    su, sv = np.triu_indices(k, 1)
    for s, sub in enumerate(S):
        aw = (A[sub].sum(axis=0) == 0).astype(float)
        bk[:, s] = w @ aw / n
        lo, hi = np.minimum(sub[su], sub[sv]), np.maximum(sub[su], sub[sv])
        pid = pair_index[lo, hi]
        rb = r[:, pid].mean(axis=1)
        if ok.any():
            bs[ok, s] = gh_beta_sf_batch(t[ok][:, sub], np.maximum(rb[ok], 0.0), nodes=160, exact_above=None)
    with np.errstate(divide="ignore", invalid="ignore"):
        return bk.mean(axis=1) / bs.mean(axis=1)


def boot_chunk(item: dict) -> dict[str, np.ndarray]:
    """One chunk of bootstrap replicates (a pure function of its item, for :func:`pmap`).

    ``item``: ``A`` (m x n), ``n_rep``, ``seed`` (int or SeedSequence entropy), optional ``subsets``,
    ``clayton``, ``implied``.
    """
    A = np.asarray(item["A"], float)
    rng = np.random.default_rng(item["seed"])
    n = A.shape[1]
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=int(item["n_rep"])).astype(float)
    return replicate_stats(A, w, subsets=item.get("subsets"), clayton=item.get("clayton", True),
                           implied=item.get("implied", True), groups=item.get("groups"))


@dataclass
class BootDraws:
    """Bootstrap draws of a pool (replicates with a degenerate model dropped and counted)."""

    draws: dict[str, np.ndarray]
    n_ok: int
    n_dropped: int

    def ci(self, key: str, level: float = 0.90) -> tuple[float, float]:
        return percentile_ci(self.draws[key], level)

    def ratio(self, num: str, den: str) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.draws[num] / self.draws[den]


def percentile_ci(x, level: float = 0.90) -> tuple[float, float]:
    """Percentile interval of the finite draws at ``level`` (e.g. 0.90 -> 5-95%); NaN if none is finite.

    Draws that are +inf (a ratio over a zero prediction) count as above every finite draw.
    """
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(x, [a, 1 - a], method="linear")
    return float(lo), float(hi)


def bootstrap_pool(Y, n_boot: int, seed: int, *, chunk: int = 100, subsets: np.ndarray | None = None,
                   clayton: bool = True, implied: bool = True, groups: dict[str, np.ndarray] | None = None) -> BootDraws:
    """Query bootstrap of :func:`replicate_stats` in seeded chunks through :func:`pmap` (Dask when configured)."""
    A = as_correctness(Y)
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    sizes = [min(chunk, n_boot - s) for s in range(0, n_boot, chunk)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    items = [{"A": A, "n_rep": k, "seed": ss, "subsets": subsets, "clayton": clayton, "implied": implied, "groups": groups}
             for k, ss in zip(sizes, seeds)]
    parts = pmap(boot_chunk, items, desc="bootstrap")
    keys = parts[0].keys()
    allv = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    ok = allv.pop("ok")
    draws = {k: v[ok] for k, v in allv.items()}
    return BootDraws(draws=draws, n_ok=int(ok.sum()), n_dropped=int((~ok).sum()))
