"""Pillar B of the co-failure paper: triplet majority votes vs correlation (spec §2.11) and
Self-MoA vs heterogeneous fusion at matched quality (spec §2.12)."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from capfront_lib.cofailure.copula import pearson_matrix

__all__ = ["triplet_index", "vote_accuracy", "triplet_table", "ols", "triplet_regression", "vote", "selfmoa_vs_hetero"]


def triplet_index(m: int, max_triplets: int | None, rng: np.random.Generator) -> np.ndarray:
    """All C(m,3) triplets (lexicographic) or a seeded subsample of ``max_triplets`` of them."""
    if m < 3:
        raise ValueError(f"need at least 3 models for triplets, got m = {m}")
    total = comb(m, 3)
    if max_triplets is None or max_triplets >= total:
        return np.array(list(combinations(range(m), 3)), dtype=int)
    idx = np.sort(rng.choice(total, size=int(max_triplets), replace=False))
    allt = np.array(list(combinations(range(m), 3)), dtype=int)
    return allt[idx]


def vote(answers: np.ndarray, rng: np.random.Generator, gold=None) -> np.ndarray:
    """Plurality vote over the first axis of an integer answer array (k x n), seeded random tie-break.

    Missing answers are coded -1 and never win. Returns the voted answer per query (or its
    correctness when ``gold`` is given).
    """
    A = np.asarray(answers, int)
    k, n = A.shape
    L = int(A.max()) + 1 if A.size else 1
    counts = np.zeros((L, n))
    for row in A:
        ok = row >= 0
        np.add.at(counts, (row[ok], np.flatnonzero(ok)), 1.0)
    noise = rng.uniform(0, 0.5, size=counts.shape)  # < 1 so only exact ties are broken
    win = np.argmax(counts + noise * (counts > 0), axis=0)
    return win if gold is None else (win == np.asarray(gold)).astype(float)


def vote_accuracy(Y, trip: np.ndarray) -> np.ndarray:
    """Binary strict-majority accuracy mean_j 1[Y_i + Y_j + Y_k >= 2] for each triplet (vectorised)."""
    A = np.asarray(Y, float)
    out = np.empty(len(trip))
    for s in range(0, len(trip), 2000):
        T = trip[s:s + 2000]
        out[s:s + 2000] = ((A[T[:, 0]] + A[T[:, 1]] + A[T[:, 2]]) >= 2).mean(axis=1)
    return out


def triplet_table(Y, trip: np.ndarray, phi: np.ndarray | None = None, preds=None, gold=None,
                  rng: np.random.Generator | None = None) -> dict:
    """Per-triplet vote accuracy v, gain g = v - max a, rho_T = mean phi over its 3 pairs, headroom h = 1 - max a.

    With ``preds`` (m x n integer answers, -1 missing) and ``gold`` the vote is a plurality with a
    seeded tie-break; otherwise the binary strict majority.
    """
    A = np.asarray(Y, float)
    acc = A.mean(axis=1)
    if phi is None:
        phi = pearson_matrix(A)
    if preds is not None:
        if rng is None:
            raise ValueError("rng is required for plurality votes")
        v = np.array([vote(np.asarray(preds)[list(t)], rng, gold).mean() for t in trip])
    else:
        v = vote_accuracy(A, trip)
    best = acc[trip].max(axis=1)
    rho = (phi[trip[:, 0], trip[:, 1]] + phi[trip[:, 0], trip[:, 2]] + phi[trip[:, 1], trip[:, 2]]) / 3
    return {"trip": trip, "vote": v, "gain": v - best, "rho": rho, "headroom": 1 - best}


def ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares coefficients of y on X (X includes the intercept column)."""
    return np.linalg.lstsq(X, y, rcond=None)[0]


def triplet_regression(tab: dict, m: int, n_boot: int = 200, rng: np.random.Generator | None = None) -> dict:
    """OLS g ~ 1 + rho_T + h with leave-one-model-out jackknife inference (spec §2.11).

    SE_J = sqrt((J-1)/J sum_l (b1^(-l) - mean)^2), CI b1 +- 1.96 SE_J; also the (invalid) i.i.d.
    triplet bootstrap CI and the ratio of widths; mean gain with its leave-one-model-out range.
    """
    trip = tab["trip"]
    X = np.column_stack([np.ones(len(trip)), tab["rho"], tab["headroom"]])
    y = tab["gain"]
    b = ols(X, y)
    loo, loo_mean = [], []
    for l in range(m):
        keep = ~np.any(trip == l, axis=1)
        if keep.sum() > 3:
            loo.append(ols(X[keep], y[keep])[1])
            loo_mean.append(y[keep].mean())
    loo = np.array(loo)
    J = loo.size
    se = float(np.sqrt((J - 1) / J * np.sum((loo - loo.mean()) ** 2)))
    out = {"b0": b[0], "b_rho": b[1], "b_head": b[2], "se_jack": se, "ci_jack": (b[1] - 1.96 * se, b[1] + 1.96 * se),
           "mean_gain": float(y.mean()), "gain_loo_range": (float(np.min(loo_mean)), float(np.max(loo_mean))),
           "frac_negative": float(np.mean(y < 0)), "n_triplets": int(len(trip))}
    if rng is not None and n_boot > 0:
        bs = []
        for _ in range(n_boot):
            i = rng.integers(0, len(trip), len(trip))
            bs.append(ols(X[i], y[i])[1])
        lo, hi = np.percentile(bs, [2.5, 97.5])
        out["ci_iid"] = (float(lo), float(hi))
        out["width_ratio"] = float((out["ci_jack"][1] - out["ci_jack"][0]) / (hi - lo))
    return out


def _vote_binary(Ysub: np.ndarray) -> np.ndarray:
    """Strict majority on 0/1 rows, half credit on even ties (spec §6 item 13)."""
    k = Ysub.shape[0]
    s = Ysub.sum(axis=0)
    return np.where(2 * s > k, 1.0, np.where(2 * s == k, 0.5, 0.0))


def selfmoa_vs_hetero(Ys: np.ndarray, band_width: float, kmax: int, n_partitions: int, rng: np.random.Generator,
                      n_est: int = 3, n_boot: int = 200) -> dict:
    """Self-MoA vs heterogeneous fusion at matched quality (spec §2.12) on multi-sample 0/1 data.

    ``Ys``: m x n x S correctness (S samples per model). Each partition splits samples into EST
    (``n_est``) / EVAL. SelfMoA(k) votes over k EVAL samples of the best model; Hetero(k) votes over
    EVAL sample 0 of the top-k band models (within ``band_width`` of the best, ranked on EST).
    Returns per-k curves of the first partition with a paired query-bootstrap 95% CI of Diff(k),
    rho_intra / rho_inter, and the distribution of Diff(3) over partitions.
    """
    Ys = np.asarray(Ys, float)
    m, n, S = Ys.shape
    if S < n_est + 3:
        raise ValueError(f"need >= {n_est + 3} samples per model, got S = {S}")
    diffs3 = []
    first = None
    for part in range(int(n_partitions)):
        perm = rng.permutation(S)
        est, ev = perm[:n_est], perm[n_est:]
        acc_est = Ys[:, :, est].mean(axis=(1, 2))
        best = int(np.argmax(acc_est))
        band = np.flatnonzero(acc_est >= acc_est[best] - band_width)
        band = band[np.argsort(-acc_est[band], kind="stable")]
        ks = [k for k in range(1, kmax + 1) if k <= min(len(ev), len(band))]
        rows = []
        for k in ks:
            sm = _vote_binary(Ys[best][:, ev[:k]].T)
            he = _vote_binary(Ys[band[:k], :, ev[0]])
            rows.append((k, sm, he))
        if 3 in ks:
            r3 = [r for r in rows if r[0] == 3][0]
            diffs3.append(float(r3[2].mean() - r3[1].mean()))
        if part == 0:
            curves = []
            for k, sm, he in rows:
                d = he - sm
                W = rng.multinomial(n, np.full(n, 1 / n), size=n_boot) / n
                bd = W @ d
                curves.append({"k": k, "selfmoa": float(sm.mean()), "hetero": float(he.mean()), "diff": float(d.mean()),
                               "lo": float(np.percentile(bd, 2.5)), "hi": float(np.percentile(bd, 97.5))})
            E = 1 - Ys[best][:, est].T
            intra = pearson_matrix(1 - E)
            inter = pearson_matrix(Ys[band, :, est[0]]) if len(band) > 1 else np.array([[1.0]])
            iu_a = np.triu_indices(intra.shape[0], 1)
            iu_b = np.triu_indices(inter.shape[0], 1)
            first = {"curves": curves, "rho_intra": float(np.nanmean(intra[iu_a])),
                     "rho_inter": float(np.nanmean(inter[iu_b])) if len(band) > 1 else float("nan"),
                     "band_size": int(len(band)), "best": best}
    d3 = np.array(diffs3)
    return {**(first or {}), "diff3": d3, "diff3_mean": float(d3.mean()) if d3.size else float("nan"),
            "diff3_min": float(d3.min()) if d3.size else float("nan"), "diff3_max": float(d3.max()) if d3.size else float("nan"),
            "diff3_pos": float(np.mean(d3 > 0)) if d3.size else float("nan")}
