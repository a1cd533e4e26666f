"""Experiment runners of §5.4: overlap approximations (Fig 5.4), overlap control (Fig 5.11), the mock
clustering benchmark (Tables 5.2/5.3) and overlap vs clustering difficulty (Figs 5.9/5.10).

Every runner takes a ``numpy.random.Generator``; scikit-learn estimators get integer seeds drawn from it.
"""

from __future__ import annotations

import time
import warnings
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .archetype import Archetype, curve_archetype_params, sample_mixture_model
from .distributions import FAMILIES
from .overlap import c2c_overlap, exact_overlap, lda_axis, lda_overlap, minimax_threshold, exact_q
from .postprocess import distort

ALGORITHMS = ("EM-GMM", "K-Means", "Spectral", "Hierarchical", "HDBSCAN")


# --------------------------------------------------------------------------------------------
# Fig 5.4: exact vs LDA vs C2C overlap on two-cluster Gaussian models


def overlap_pairs_study(
    n_pairs: int,
    dims: Sequence[int],
    rng: np.random.Generator,
    *,
    shape_range: tuple[float, float] = (1.0, 10.0),
    log10_overlap_range: tuple[float, float] = (-4.0, 0.0),
) -> pd.DataFrame:
    """Random two-cluster Gaussian models and their exact / LDA / C2C overlaps (Fig 5.4, pairwise unit).

    Like the authors' design: aspect_ref, aspect_maxmin, radius_maxmin ~ U(1, 10); a target overlap
    o = 0.95·10^U(−4, 0); centers placed with the LDA constraint max = 1.025·o, min = 0.975·o. The
    dimension cycles through ``dims``.
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    if not dims or any(int(p) < 1 for p in dims):
        raise ValueError(f"dims must be a non-empty list of positive integers, got {dims}")
    rows, mods = [], []
    for i in range(n_pairs):
        p = int(dims[i % len(dims)])
        aref, amm, rmm = rng.uniform(*shape_range, size=3)
        o = 0.95 * 10 ** rng.uniform(*log10_overlap_range)
        arch = Archetype(
            n_clusters=2, dim=p, n_samples=200, aspect_ref=float(aref), aspect_maxmin=float(amm),
            radius_maxmin=float(rmm), max_overlap=min(1.025 * o, 0.999), min_overlap=0.975 * o,
            distributions=["normal"], overlap_mode="lda",
        )
        mods.append(sample_mixture_model(arch, rng))
        rows.append(dict(p=p, aspect_ref=aref, aspect_maxmin=amm, radius_maxmin=rmm, target=o))
    df = pd.DataFrame(rows)
    for col in ("exact", "lda", "c2c"):
        df[col] = np.nan
    fns = {"exact": exact_overlap, "lda": lda_overlap, "c2c": c2c_overlap}
    for p in df["p"].unique():
        idx = np.flatnonzero(df["p"].to_numpy() == p)
        C = np.stack([mods[i].centers for i in idx])
        S = np.stack([mods[i].covariances for i in idx])
        for col, fn in fns.items():
            df.loc[idx, col] = np.atleast_1d(fn(C[:, 0], C[:, 1], S[:, 0], S[:, 1]))
    return df


def overlap_datasets_study(
    n_datasets: int,
    dims: Sequence[int],
    rng: np.random.Generator,
    *,
    ks: Sequence[int] = (5, 10, 30),
    shape_range: tuple[float, float] = (1.0, 10.0),
) -> pd.DataFrame:
    """Fig 5.4 in the authors' per-data-set unit (spec D10): multi-cluster Gaussian mixtures.

    Each data set: k from ``ks`` and p from ``dims`` (cycled), shape parameters ~ U(1, 10), overlaps
    o = 0.95·10^linspace(−4, 0) (cycled), constraints max = 1.025·o, min = 0.975·o (LDA). The reported
    overlap of a data set is the midpoint of the min and the max over clusters of each cluster's largest
    overlap, computed separately with the exact, LDA and C2C overlaps.
    """
    if n_datasets < 1:
        raise ValueError(f"n_datasets must be >= 1, got {n_datasets}")
    grid = 0.95 * 10 ** np.linspace(-4, 0, 50)
    rows = []
    for i in range(n_datasets):
        p = int(dims[i % len(dims)])
        k = int(ks[(i // len(dims)) % len(ks)])
        o = float(grid[(i * 7) % len(grid)])
        aref, amm, rmm = rng.uniform(*shape_range, size=3)
        arch = Archetype(
            n_clusters=k, dim=p, n_samples=100 * k, aspect_ref=float(aref), aspect_maxmin=float(amm),
            radius_maxmin=float(rmm), max_overlap=min(1.025 * o, 0.999), min_overlap=0.975 * o,
            distributions=["normal"], overlap_mode="lda",
        )
        m = sample_mixture_model(arch, rng)
        row = dict(p=p, k=k, target=o)
        for mode in ("exact", "lda", "c2c"):
            nearest = np.nanmax(m.pairwise_overlaps(mode), axis=1)
            row[mode] = float(0.5 * (nearest.min() + nearest.max()))
        rows.append(row)
    return pd.DataFrame(rows)


def overlap_accuracy(df: pd.DataFrame) -> dict[str, float]:
    """Fig 5.4 statistics: Pearson r (linear scale), median/p90 relative error, share within 10 %."""
    out: dict[str, float] = {"n": int(len(df))}
    for col in ("lda", "c2c"):
        rel = np.abs(df[col] - df["exact"]) / df["exact"]
        out[f"r_{col}"] = float(np.corrcoef(df[col], df["exact"])[0, 1])
        out[f"median_rel_err_{col}"] = float(np.median(rel))
        out[f"p90_rel_err_{col}"] = float(np.quantile(rel, 0.9))
        out[f"share_within_10pct_{col}"] = float(np.mean(rel <= 0.10))
        out[f"min_ratio_{col}"] = float(np.min(df[col] / df["exact"]))
    return out


def monte_carlo_minimax(mu1, mu2, S1, S2, n: int, rng: np.random.Generator) -> dict[str, float]:
    """Simulate the exact minimax rule on one Gaussian pair: both error rates should equal α*/2."""
    q, t = exact_q(mu1, mu2, S1, S2, return_t=True)
    d = np.asarray(mu2) - np.asarray(mu1)
    a = np.linalg.solve(t * np.asarray(S1) + (1 - t) * np.asarray(S2), d)
    c = minimax_threshold(a, mu1, mu2, S1, S2)
    X1 = rng.multivariate_normal(mu1, S1, size=n)
    X2 = rng.multivariate_normal(mu2, S2, size=n)
    e1 = float(np.mean(X1 @ a > c))
    e2 = float(np.mean(X2 @ a <= c))
    half = float(exact_overlap(mu1, mu2, S1, S2)) / 2
    se = float(np.sqrt(half * (1 - half) / n))
    return dict(err1=e1, err2=e2, half_alpha=half, se=se, n=n)


# --------------------------------------------------------------------------------------------
# Fig 5.11: pairwise overlaps of mixture models drawn from an archetype


def overlap_control(archetypes: Sequence[Archetype], n_models: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exact and LDA overlaps of all cluster pairs in ``n_models`` mixture models per archetype."""
    rows = []
    for ai, arch in enumerate(archetypes):
        for mi in range(n_models):
            m = sample_mixture_model(arch, rng)
            L = m.pairwise_overlaps("lda")
            E = m.pairwise_overlaps("exact")
            iu, ju = np.triu_indices(m.k, 1)
            nearest = np.nanmax(L, axis=1)
            for i, j in zip(iu, ju):
                rows.append(dict(archetype=ai + 1, name=arch.name, model=mi, i=i, j=j, lda=L[i, j], exact=E[i, j],
                                 max_overlap=arch.max_overlap, min_overlap=arch.min_overlap,
                                 model_min_ok=bool(np.all(nearest >= arch.min_overlap * (1 - 1e-3)))))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Tables 5.2/5.3: clustering benchmark


def cluster(
    X: np.ndarray,
    k: int,
    algorithm: str,
    seed: int,
    *,
    gmm_n_init: int = 10,
    kmeans_n_init: int = 10,
    spectral_affinity: str = "nearest_neighbors",
    hdbscan_min_samples: int = 5,
) -> np.ndarray:
    """Labels from one of the five algorithms (hyperparameters as in the authors' analysis code)."""
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.mixture import GaussianMixture

    if algorithm == "EM-GMM":
        return GaussianMixture(k, max_iter=500, n_init=gmm_n_init, init_params="k-means++", random_state=seed).fit_predict(X)
    if algorithm == "K-Means":
        return KMeans(k, max_iter=500, n_init=kmeans_n_init, random_state=seed).fit_predict(X)
    if algorithm == "Hierarchical":
        return AgglomerativeClustering(k, linkage="ward").fit_predict(X)
    if algorithm == "Spectral":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SpectralClustering(k, affinity=spectral_affinity, random_state=seed).fit_predict(X)
    if algorithm == "HDBSCAN":
        return HDBSCAN(min_samples=hdbscan_min_samples, copy=True).fit_predict(X)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")


def score(y: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """AMI and ARI; noise points (label −1) are excluded and their share returned as p_noise.

    With fewer than 2 non-noise points AMI/ARI are NaN (spec D8; the thesis prints 1.000 there).
    """
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    keep = labels >= 0
    p_noise = float(1 - keep.mean())
    if keep.sum() < 2:
        return dict(AMI=np.nan, ARI=np.nan, p_noise=p_noise)
    return dict(
        AMI=float(adjusted_mutual_info_score(y[keep], labels[keep])),
        ARI=float(adjusted_rand_score(y[keep], labels[keep])),
        p_noise=p_noise,
    )


def run_benchmark(
    archetypes: Sequence[Archetype],
    n_datasets: int,
    algorithms: Iterable[str],
    rng: np.random.Generator,
    *,
    include_nonconvex: bool = True,
    progress=lambda x: x,
    **cluster_kw,
) -> pd.DataFrame:
    """The mock benchmark of §5.4: n data sets per archetype, convex and (new data sets) distorted."""
    algorithms = list(algorithms)
    for a in algorithms:
        if a not in ALGORITHMS:
            raise ValueError(f"algorithms: unknown {a!r}; choose from {ALGORITHMS}")
    kinds = ["convex", "nonconvex"] if include_nonconvex else ["convex"]
    jobs = [(ai, arch, kind, r) for kind in kinds for ai, arch in enumerate(archetypes) for r in range(n_datasets)]
    rows = []
    for ai, arch, kind, r in progress(jobs):
        X, y = sample_mixture_model(arch, rng).sample_data(rng)
        if kind == "nonconvex":
            X = distort(X, rng).astype(float)
        for alg in algorithms:
            seed = int(rng.integers(2**31 - 1))
            t0 = time.perf_counter()
            lab = cluster(X, arch.n_clusters, alg, seed, **cluster_kw)
            rows.append(dict(archetype=ai + 1, name=arch.name, convexity=kind, rep=r, algorithm=alg,
                             seconds=time.perf_counter() - t0, **score(y, lab)))
    return pd.DataFrame(rows)


def summarise_benchmark(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and SE (sd/√n) per archetype × convexity × algorithm, plus the average over archetypes."""
    metrics = ["AMI", "ARI", "p_noise"]
    g = df.groupby(["convexity", "algorithm", "archetype"])[metrics]
    mean = g.mean()
    se = g.std(ddof=1) / np.sqrt(g.count())
    per = mean.join(se.add_suffix("_se")).reset_index()
    g2 = df.groupby(["convexity", "algorithm"])[metrics]
    avg = g2.mean().join((g2.std(ddof=1) / np.sqrt(g2.count())).add_suffix("_se")).reset_index()
    avg["archetype"] = "avg"
    per["archetype"] = per["archetype"].astype(str)
    return pd.concat([per, avg], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Figs 5.9/5.10: overlap vs difficulty


def difficulty_curves(
    dims: Sequence[int],
    overlaps: Sequence[float],
    reps: int,
    rng: np.random.Generator,
    *,
    include_nonconvex: bool = True,
    progress=lambda x: x,
) -> pd.DataFrame:
    """Ward clustering of 2-cluster data sets ("two clusters with very different shapes in pD").

    For every p and max_overlap (min = max/10): ``reps`` data sets, AMI, ARI and the silhouette of
    the true labels; the non-convex run distorts new data sets.
    """
    from sklearn.metrics import silhouette_score

    kinds = ["convex", "nonconvex"] if include_nonconvex else ["convex"]
    rows = []
    jobs = [(kind, p, o) for kind in kinds for p in dims for o in overlaps]
    for kind, p, o in progress(jobs):
        arch = Archetype.from_params(curve_archetype_params(int(p), float(o)))
        for r in range(reps):
            X, y = sample_mixture_model(arch, rng).sample_data(rng)
            if kind == "nonconvex":
                X = distort(X, rng).astype(float)
            lab = cluster(X, 2, "Hierarchical", 0)
            rows.append(dict(convexity=kind, p=int(p), max_overlap=float(o), rep=r,
                             silhouette=float(silhouette_score(X, y)), **score(y, lab)))
    return pd.DataFrame(rows)


def curve_trend(curves: pd.DataFrame) -> pd.DataFrame:
    """Per convexity and p: Spearman correlation of max_overlap with mean AMI/ARI/silhouette."""
    m = curves.groupby(["convexity", "p", "max_overlap"])[["AMI", "ARI", "silhouette"]].mean().reset_index()
    rows = []
    for (kind, p), g in m.groupby(["convexity", "p"]):
        rows.append(dict(convexity=kind, p=p, **{f"spearman_{c}": float(stats.spearmanr(g["max_overlap"], g[c])[0])
                                                for c in ("AMI", "ARI", "silhouette")}))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# App. 4D: non-Gaussian overlap along the LDA axis


def empirical_minimax_error(x1: np.ndarray, x2: np.ndarray) -> float:
    """Sum of the two error rates of the best threshold on 1-D projections (class 1 below, 2 above),
    the threshold minimising the larger error — the empirical version of α (§5.3 definition)."""
    x1 = np.sort(np.asarray(x1, float))
    x2 = np.sort(np.asarray(x2, float))
    cand = np.concatenate([x1, x2])
    e1 = 1 - np.searchsorted(x1, cand, side="right") / x1.size  # P(x1 > c)
    e2 = np.searchsorted(x2, cand, side="right") / x2.size  # P(x2 <= c)
    i = int(np.argmin(np.maximum(e1, e2)))
    return float(e1[i] + e2[i])


def nongaussian_overlap(
    families: Sequence[str], nominal: float, n_models: int, n_points: int, rng: np.random.Generator, dim: int = 2
) -> pd.DataFrame:
    """For each family: 2-cluster 2D models with overlap ≈ ``nominal`` (LDA constraint ±2.5 %), and the
    empirical minimax error along the LDA axis (App. 4D, spec D2)."""
    rows = []
    for fam in families:
        if fam not in FAMILIES:
            raise ValueError(f"families: unknown {fam!r}")
        arch = Archetype(n_clusters=2, dim=dim, n_samples=2 * n_points, imbalance_ratio=1.0,
                         max_overlap=1.025 * nominal, min_overlap=0.975 * nominal, distributions=[fam])
        errs = []
        for _ in range(n_models):
            m = sample_mixture_model(arch, rng)
            X, y = m.sample_data(rng)
            S = m.covariances
            a = lda_axis(m.centers[0], m.centers[1], S[0], S[1])
            z = X @ a
            errs.append(empirical_minimax_error(z[y == 0], z[y == 1]))
        rows.append(dict(family=fam, nominal=nominal, empirical=float(np.mean(errs)),
                         se=float(np.std(errs, ddof=1) / np.sqrt(n_models)) if n_models > 1 else np.nan))
    return pd.DataFrame(rows)
