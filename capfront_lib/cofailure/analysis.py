"""Pool-level analyses: predictions of beta by the calibrated copulas, query bootstrap, model jackknife,
pool-size resampling (spec §2.4–§2.10) and the audit of all-wrong items (spec §4 item 4, rev's audit)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri

from capfront_lib.cofailure.copula import (
    beta_sf, beta_sf_gh, clayton_calibrate, clayton_cdf, clip_correlation, mean_offdiag, nearest_correlation,
    orthant_genz, orthant_mc, orthant_sov, pair_tables, pearson_matrix, tetrachoric_matrix, implied_rho,
)
from capfront_lib.cofailure.pool import as_correctness, cp_interval

__all__ = ["predictions", "bootstrap_ratio", "jackknife_models", "pool_curve", "audit_all_wrong", "family_means"]


def _beta_sf_fast(t, rho: float) -> float:
    """GH-96 for rho <= 0.7 (error ~1e-5), adaptive quadrature above (spec §2.4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(beta_sf_gh(t, max(rho, 0.0))) if rho <= 0.7 else beta_sf(t, rho)


def predictions(Y, *, zero_cell: str = "clamp", psd_method: str = "higham", n_mc: int = 200_000,
                use_genz: bool = False, rng: np.random.Generator | None = None, n_sov: int = 1 << 15) -> dict:
    """Observed beta_hat against every model's prediction (spec §2.3–§2.6, §4 item 5).

    Independence, single-factor with Pearson phibar (the trap) and tetrachoric rbar, full pairwise
    Gaussian copula after Higham and after clip projection (separation-of-variables QMC, ``n_sov``
    points, with crude MC on the Higham matrix as a cross-check; optionally Genz), Clayton matched to
    the mean pairwise co-error, and the implied rho_eff. Degenerate models are left out of the fits.
    """
    A = as_correctness(Y)
    m, n = A.shape
    if rng is None:
        rng = np.random.default_rng(0)
    K = int(np.sum(A.sum(axis=0) == 0))
    beta = K / n
    tet = tetrachoric_matrix(A, zero_cell=zero_cell)
    good = ~tet.degenerate
    sub = np.ix_(good, good)
    S = tet.r[sub]
    t = tet.thresholds[good]
    alpha = 1 - A[good].mean(axis=1)
    phi = pearson_matrix(A)[sub]
    phibar, rbar = mean_offdiag(phi), mean_offdiag(S)
    T = pair_tables(A[good])
    iu = np.triu_indices(good.sum(), 1)
    p11bar = float(np.mean(T["n11"][iu] / n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        b_ind = beta_sf(t, 0.0)
        b_p = beta_sf(t, phibar)
        b_t = beta_sf(t, rbar)
    w = np.linalg.eigvalsh(S)
    Sh, iters = nearest_correlation(S)
    Sc = clip_correlation(S)
    bh, seh = orthant_sov(Sh, t, n_sov, rng)
    bc, sec = orthant_sov(Sc, t, n_sov, rng)
    bh_mc, seh_mc = orthant_mc(Sh, t, n_mc, rng)
    theta = clayton_calibrate(alpha, p11bar)
    b_cl = float(clayton_cdf(alpha, theta))
    out = {
        "K": K, "n": n, "m_fit": int(good.sum()), "beta": beta, "beta_ci": cp_interval(K, n, 0.05),
        "phibar": phibar, "rbar": rbar, "n_clamped": tet.n_clamped, "p11bar": p11bar,
        "beta_indep": b_ind, "beta_sf_pearson": b_p, "beta_sf": b_t,
        "n_neg_eig": int(np.sum(w < 0)), "min_eig": float(w.min()),
        "frob_higham": float(np.linalg.norm(Sh - S)), "frob_clip": float(np.linalg.norm(Sc - S)),
        "rbar_higham": mean_offdiag(Sh), "rbar_clip": mean_offdiag(Sc), "higham_iters": iters,
        "beta_full_higham": bh, "se_full_higham": seh, "beta_full_clip": bc, "se_full_clip": sec,
        "beta_full_higham_mc": bh_mc, "se_full_higham_mc": seh_mc,
        "theta_clayton": theta, "lambda_L": 2 ** (-1 / theta), "beta_clayton": b_cl,
        "rho_eff": implied_rho(t, beta) if beta > 0 else 0.0,
    }
    if use_genz:
        out["beta_full_genz"] = orthant_genz(Sh if psd_method == "higham" else Sc, t, maxpts=20000 * len(t))
    for key in ("indep", "sf_pearson", "sf", "full_higham", "full_clip", "clayton"):
        v = out["beta_" + key]
        out["ratio_" + key] = beta / v if v > 0 else float("nan")
    return out


def _replicate(A: np.ndarray, zero_cell: str) -> tuple[float, float, float, float] | None:
    m, n = A.shape
    alpha = 1 - A.mean(axis=1)
    if np.any((alpha <= 0) | (alpha >= 1)):
        return None
    beta = float(np.mean(A.sum(axis=0) == 0))
    tet = tetrachoric_matrix(A, zero_cell=zero_cell, halvings=50)
    rbar = mean_offdiag(tet.r)
    phibar = mean_offdiag(pearson_matrix(A))
    t = ndtri(alpha)
    b_t = _beta_sf_fast(t, rbar)
    b_p = _beta_sf_fast(t, phibar)
    T = pair_tables(A)
    iu = np.triu_indices(m, 1)
    try:
        theta = clayton_calibrate(alpha, float(np.mean(T["n11"][iu] / n)))
        b_cl = float(clayton_cdf(alpha, theta))
    except ValueError:
        b_cl = float("nan")
    return beta, b_t, b_p, b_cl


def bootstrap_ratio(Y, n_boot: int, rng: np.random.Generator, zero_cell: str = "clamp") -> dict:
    """Query bootstrap of beta_hat, beta_sf (tetrachoric, Pearson), Clayton and the ratios (spec §2.10).

    Columns are resampled; alpha, t, r_ij, beta_hat and beta_sf are recomputed jointly in every
    replicate. Replicates with a degenerate model (alpha in {0, 1}) are dropped and counted.
    Percentile 5–95% intervals for ratios (the paper's 90%).
    """
    A = as_correctness(Y)
    n = A.shape[1]
    rows = []
    dropped = 0
    for _ in range(int(n_boot)):
        idx = rng.integers(0, n, n)
        r = _replicate(A[:, idx], zero_cell)
        if r is None:
            dropped += 1
            continue
        rows.append(r)
    R = np.array(rows) if rows else np.empty((0, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_t = R[:, 0] / R[:, 1]
        ratio_p = R[:, 0] / R[:, 2]
        ratio_c = R[:, 0] / R[:, 3]

    def q(x):
        x = x[np.isfinite(x)]
        return (float(np.percentile(x, 5)), float(np.median(x)), float(np.percentile(x, 95))) if x.size else (np.nan,) * 3

    return {"n_ok": int(len(R)), "n_dropped": dropped, "ratio_tet": q(ratio_t), "ratio_pearson": q(ratio_p),
            "ratio_clayton": q(ratio_c), "beta": q(R[:, 0]), "beta_sf": q(R[:, 1]), "draws": R}


def jackknife_models(Y, zero_cell: str = "clamp") -> dict:
    """Leave-one-model-out jackknife SEs of beta_hat and the tetrachoric ratio (authors' realizability script)."""
    A = as_correctness(Y)
    m = A.shape[0]
    vals = []
    for l in range(m):
        r = _replicate(np.delete(A, l, axis=0), zero_cell)
        if r is not None:
            vals.append((r[0], r[0] / r[1] if r[1] > 0 else np.nan))
    V = np.array(vals)
    J = len(V)
    se = np.sqrt((J - 1) / J * np.nansum((V - np.nanmean(V, axis=0)) ** 2, axis=0))
    return {"se_beta": float(se[0]), "se_ratio": float(se[1]), "n": J}


def pool_curve(Y, S: np.ndarray, sizes, reps: int, rng: np.random.Generator) -> pd.DataFrame:
    """Pool-size resampling (spec §2.9): per size k, ``reps`` seeded k-subsets (the full pool once).

    Per subset: beta_k, rbar_k (mean of S restricted to the subset, no re-solve) and beta_sf,k with the
    subset's thresholds. Returns one row per k: fraction with a tail, median and 5–95% band of R_k over
    subsets with K_k > 0 (the paper's statistic) and the ratio of means (project primary).
    """
    A = as_correctness(Y)
    m, n = A.shape
    alpha = 1 - A.mean(axis=1)
    if np.any((alpha <= 0) | (alpha >= 1)):
        raise ValueError("pool_curve needs every model's accuracy strictly inside (0, 1); drop degenerate models")
    t = ndtri(alpha)
    out = []
    for k in sizes:
        k = m if k == "all" else int(k)
        if k < 2 or k > m:
            continue
        subsets = [np.arange(m)] if k == m else [np.sort(rng.choice(m, k, replace=False)) for _ in range(int(reps))]
        bk, bs = [], []
        for sub in subsets:
            bk.append(float(np.mean(A[sub].sum(axis=0) == 0)))
            rb = mean_offdiag(S[np.ix_(sub, sub)])
            bs.append(_beta_sf_fast(t[sub], rb))
        bk, bs = np.array(bk), np.array(bs)
        tail = bk > 0
        R = bk[tail] / bs[tail]
        out.append({"k": k, "n_subsets": len(subsets), "frac_tail": float(tail.mean()),
                    "median_ratio": float(np.median(R)) if R.size else np.nan,
                    "ratio_p05": float(np.percentile(R, 5)) if R.size else np.nan,
                    "ratio_p95": float(np.percentile(R, 95)) if R.size else np.nan,
                    "mean_beta": float(bk.mean()), "mean_beta_sf": float(bs.mean()),
                    "ratio_of_means": float(bk.mean() / bs.mean())})
    return pd.DataFrame(out)


def audit_all_wrong(Y, preds=None, gold=None, ids=None, categories=None, consensus: float = 0.5, delta: float = 0.05) -> dict:
    """Audit table of all-wrong items (rev's first-class step; spec §4 item 4).

    For each query every model got wrong: the modal predicted answer, its share among all m
    models (blank answers count against the consensus), the number of distinct answers and a ``suspect`` flag when the modal share is at least
    ``consensus`` (a consensus against the gold label points at a grader or reference defect).
    Also beta recomputed without flagged items (a labelled sensitivity, never a silent correction).
    """
    A = as_correctness(Y)
    m, n = A.shape
    allw = np.flatnonzero(A.sum(axis=0) == 0)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    rows = []
    for j in allw:
        row = {"id": ids[j]}
        if categories is not None:
            row["category"] = np.asarray(categories)[j]
        if gold is not None:
            row["gold"] = np.asarray(gold)[j]
        if preds is not None:
            col = pd.Series(np.asarray(preds, dtype=object)[:, j])
            col = col[col.notna() & (col.astype(str) != "") & (col.astype(str) != "-1") & (col.astype(str) != "nan")]
            vc = col.astype(str).value_counts()
            if len(vc):  # share among all m models: a blank (no answer extracted) never supports the consensus
                row.update(modal=vc.index[0], modal_share=float(vc.iloc[0] / m), n_distinct=int(len(vc)),
                           n_answered=int(len(col)))
            else:
                row.update(modal=None, modal_share=0.0, n_distinct=0, n_answered=0)
        rows.append(row)
    tab = pd.DataFrame(rows)
    K = len(allw)
    if preds is not None and K:
        tab["suspect"] = tab["modal_share"] >= consensus
        n_flag = int(tab["suspect"].sum())
    else:
        n_flag = 0
        if K:
            tab["suspect"] = False
    K2, n2 = K - n_flag, n - n_flag
    return {"table": tab, "K": K, "n": n, "n_flagged": n_flag, "beta": K / n, "beta_ci": cp_interval(K, n, delta),
            "beta_clean": K2 / n2 if n2 else np.nan, "beta_clean_ci": cp_interval(K2, n2, delta) if n2 else (np.nan, np.nan)}


def family_means(M: np.ndarray, families) -> dict:
    """Mean off-diagonal of a correlation matrix over all, within-family and cross-family pairs (Table 1 rows)."""
    fam = np.asarray(families)
    iu = np.triu_indices(len(fam), 1)
    v = M[iu]
    same = fam[iu[0]] == fam[iu[1]]
    ok = np.isfinite(v)
    return {"all": float(v[ok].mean()), "within": float(v[ok & same].mean()) if (ok & same).any() else np.nan,
            "cross": float(v[ok & ~same].mean()) if (ok & ~same).any() else np.nan}
