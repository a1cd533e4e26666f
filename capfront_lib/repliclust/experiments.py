"""Experiment runners of §5.3–5.4 and App. 4D: overlap approximations (Fig 5.4), overlap control
(Fig 5.11), the mock clustering benchmark (Tables 5.2/5.3), overlap vs clustering difficulty
(Figs 5.9/5.10), the convergence of the center placement (§5.3 "Running the minimization"), what
``distort`` does to overlaps and shapes (§5.4 "Examining the generated data sets") and the overlap of
non-Gaussian clusters (App. 4D).

Every study is a list of independent *jobs*, each a small picklable item that carries its own
``numpy.random.SeedSequence`` (spawned from the master seed and the study's name), mapped with
:func:`capfront_lib.core.parallel.pmap`: serial by default, on the run's Dask cluster when one is
configured, with identical results either way. Each job limits BLAS/OpenMP to one thread.
"""

from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from capfront_lib.core.parallel import pmap

from .archetype import Archetype, covariance_matrices, curve_archetype_params, random_axes, sample_mixture_model
from .centers import place_centers
from .distributions import FAMILIES
from .maxmin import sample_aspects, sample_axis_lengths, sample_radii
from .overlap import c2c_overlap, exact_overlap, exact_q, lda_axis, lda_overlap, minimax_threshold
from .postprocess import distort

ALGORITHMS = ("EM-GMM", "K-Means", "Spectral", "Hierarchical", "HDBSCAN")
MAIN4 = ("EM-GMM", "K-Means", "Spectral", "Hierarchical")


def study_seeds(seed: int, study: str, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent seeds for the jobs of one study, derived from the master seed and the study name.

    Changing the size of one study leaves every other study's draws unchanged.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return np.random.SeedSequence([int(seed), zlib.crc32(study.encode())]).spawn(n)


# --------------------------------------------------------------------------------------------
# Fig 5.4: exact vs LDA vs C2C overlap on two-cluster Gaussian models


@dataclass(frozen=True)
class PairJob:
    p: int
    seed: np.random.SeedSequence
    shape_range: tuple[float, float] = (1.0, 10.0)
    log10_overlap_range: tuple[float, float] = (-4.0, 0.0)


def overlap_pair(job: PairJob) -> dict[str, float]:
    """One two-cluster Gaussian model (Fig 5.4, pairwise unit) and its exact / LDA / C2C overlaps.

    As in the authors' design: aspect_ref, aspect_maxmin, radius_maxmin ~ U(1, 10); a target overlap
    o = 0.95·10^U(−4, 0); centers placed with the LDA constraint max = 1.025·o, min = 0.975·o.
    """
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        aref, amm, rmm = rng.uniform(*job.shape_range, size=3)
        o = 0.95 * 10 ** rng.uniform(*job.log10_overlap_range)
        arch = Archetype(
            n_clusters=2, dim=job.p, n_samples=200, aspect_ref=float(aref), aspect_maxmin=float(amm),
            radius_maxmin=float(rmm), max_overlap=min(1.025 * o, 0.999), min_overlap=0.975 * o,
            distributions=["normal"], overlap_mode="lda",
        )
        m = sample_mixture_model(arch, rng)
        C, S = m.centers, m.covariances
        return dict(p=job.p, aspect_ref=float(aref), aspect_maxmin=float(amm), radius_maxmin=float(rmm), target=float(o),
                    exact=float(exact_overlap(C[0], C[1], S[0], S[1])), lda=float(lda_overlap(C[0], C[1], S[0], S[1])),
                    c2c=float(c2c_overlap(C[0], C[1], S[0], S[1])))


def overlap_pairs_study(n_pairs: int, dims: Sequence[int], seed: int, **kw: Any) -> pd.DataFrame:
    """``n_pairs`` two-cluster Gaussian models (dimension cycling through ``dims``) and their overlaps."""
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    if not dims or any(int(p) < 1 for p in dims):
        raise ValueError(f"dims must be a non-empty list of positive integers, got {dims}")
    seeds = study_seeds(seed, "fig54-pairs", n_pairs)
    jobs = [PairJob(int(dims[i % len(dims)]), s, **kw) for i, s in enumerate(seeds)]
    return pd.DataFrame(pmap(overlap_pair, jobs))


@dataclass(frozen=True)
class DatasetOverlapJob:
    p: int
    k: int
    target: float
    seed: np.random.SeedSequence
    shape_range: tuple[float, float] = (1.0, 10.0)


def overlap_dataset(job: DatasetOverlapJob) -> dict[str, float]:
    """One multi-cluster Gaussian mixture in the authors' per-data-set unit (spec D10): the midpoint of
    the min and the max over clusters of each cluster's largest overlap, for exact, LDA and C2C."""
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        aref, amm, rmm = rng.uniform(*job.shape_range, size=3)
        o = job.target
        arch = Archetype(
            n_clusters=job.k, dim=job.p, n_samples=100 * job.k, aspect_ref=float(aref), aspect_maxmin=float(amm),
            radius_maxmin=float(rmm), max_overlap=min(1.025 * o, 0.999), min_overlap=0.975 * o,
            distributions=["normal"], overlap_mode="lda",
        )
        m = sample_mixture_model(arch, rng)
        row = dict(p=job.p, k=job.k, target=o)
        for mode in ("exact", "lda", "c2c"):
            nearest = np.nanmax(m.pairwise_overlaps(mode), axis=1)
            row[mode] = float(0.5 * (nearest.min() + nearest.max()))
        return row


def overlap_datasets_study(n_datasets: int, dims: Sequence[int], seed: int, *, ks: Sequence[int] = (5, 10, 30)) -> pd.DataFrame:
    """Fig 5.4 in the authors' per-data-set unit: k from ``ks`` and p from ``dims`` (cycled), shape
    parameters ~ U(1, 10), overlaps o = 0.95·10^linspace(−4, 0, 50) (cycled)."""
    if n_datasets < 1:
        raise ValueError(f"n_datasets must be >= 1, got {n_datasets}")
    grid = 0.95 * 10 ** np.linspace(-4, 0, 50)
    seeds = study_seeds(seed, "fig54-datasets", n_datasets)
    jobs = [DatasetOverlapJob(int(dims[i % len(dims)]), int(ks[(i // len(dims)) % len(ks)]), float(grid[(i * 7) % len(grid)]), s)
            for i, s in enumerate(seeds)]
    return pd.DataFrame(pmap(overlap_dataset, jobs))


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


def monte_carlo_rule(mu1, mu2, S1, S2, n: int, rng: np.random.Generator, axis: str = "exact") -> dict[str, float]:
    """Simulate the linear rule ``aᵀx ≤ c → cluster 1`` along the exact minimax axis (Anderson–Bahadur),
    the LDA axis (Theorem 6) or the C2C axis (App. 4C), with the threshold c that equalises the two
    Gaussian error rates. Returns both empirical error rates and the formula's α/2 for that axis."""
    mu1, mu2, S1, S2 = (np.asarray(v, dtype=float) for v in (mu1, mu2, S1, S2))
    d = mu2 - mu1
    if axis == "exact":
        _, t = exact_q(mu1, mu2, S1, S2, return_t=True)
        a = np.linalg.solve(t * S1 + (1 - t) * S2, d)
        alpha = float(exact_overlap(mu1, mu2, S1, S2))
    elif axis == "lda":
        a = lda_axis(mu1, mu2, S1, S2)
        alpha = float(lda_overlap(mu1, mu2, S1, S2))
    elif axis == "c2c":
        a = d
        alpha = float(c2c_overlap(mu1, mu2, S1, S2))
    else:
        raise ValueError(f"axis must be 'exact', 'lda' or 'c2c', got {axis!r}")
    c = minimax_threshold(a, mu1, mu2, S1, S2)
    X1 = rng.multivariate_normal(mu1, S1, size=n)
    X2 = rng.multivariate_normal(mu2, S2, size=n)
    e1 = float(np.mean(X1 @ a > c))
    e2 = float(np.mean(X2 @ a <= c))
    half = alpha / 2
    return dict(axis=axis, err1=e1, err2=e2, half_alpha=half, alpha=alpha, se=float(np.sqrt(half * (1 - half) / n)), n=n)


def monte_carlo_minimax(mu1, mu2, S1, S2, n: int, rng: np.random.Generator) -> dict[str, float]:
    """The exact minimax rule on one Gaussian pair: both error rates should equal α*/2 (eq. 5.4)."""
    return monte_carlo_rule(mu1, mu2, S1, S2, n, rng, "exact")


# --------------------------------------------------------------------------------------------
# Fig 5.11: pairwise overlaps of mixture models drawn from an archetype


@dataclass(frozen=True)
class ControlJob:
    archetype: int
    params: dict
    model: int
    seed: np.random.SeedSequence


def overlap_control_job(job: ControlJob) -> list[dict[str, Any]]:
    """LDA and exact overlaps of every cluster pair of one mixture model drawn from an archetype."""
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype.from_params(job.params)
        m = sample_mixture_model(arch, rng)
        L = m.pairwise_overlaps("lda")
        E = m.pairwise_overlaps("exact")
        iu, ju = np.triu_indices(m.k, 1)
        tol_min = arch.min_overlap * (1 - 1e-3)
        min_ok_lda = bool(np.all(np.nanmax(L, axis=1) >= tol_min)) if m.k > 1 else True
        min_ok_exact = bool(np.all(np.nanmax(E, axis=1) >= tol_min)) if m.k > 1 else True
        nearest_ratio = float(np.min(np.nanmax(E, axis=1)) / arch.min_overlap) if m.k > 1 else np.nan
        return [dict(archetype=job.archetype, name=arch.name, model=job.model, i=int(i), j=int(j), lda=float(L[i, j]),
                     exact=float(E[i, j]), max_overlap=arch.max_overlap, min_overlap=arch.min_overlap,
                     model_min_ok=min_ok_lda, model_min_ok_exact=min_ok_exact, nearest_exact_over_min=nearest_ratio)
                for i, j in zip(iu, ju)]


def overlap_control(archetypes: Sequence[Archetype], n_models: int, seed: int, numbers: Sequence[int] | None = None) -> pd.DataFrame:
    """Exact and LDA overlaps of all cluster pairs in ``n_models`` mixture models per archetype (Fig 5.11).

    ``numbers`` are the archetypes' labels in the output (default 1, 2, ...).
    """
    numbers = list(numbers) if numbers is not None else list(range(1, len(archetypes) + 1))
    jobs = []
    for num, arch in zip(numbers, archetypes):
        for mi, s in enumerate(study_seeds(seed, f"fig511-{num}", n_models)):
            jobs.append(ControlJob(num, arch.describe(), mi, s))
    return pd.DataFrame([r for rows in pmap(overlap_control_job, jobs) for r in rows])


def overlap_control_summary(ctrl: pd.DataFrame) -> pd.DataFrame:
    """Per archetype: models, share meeting max (LDA), share meeting min (LDA / exact), largest exact/max,
    share of pairs below min_overlap."""
    rows = []
    for a, g in ctrl.groupby("archetype"):
        per_model = g.groupby("model").agg(lmax=("lda", "max"), emax=("exact", "max"), ok_min=("model_min_ok", "first"),
                                           ok_min_exact=("model_min_ok_exact", "first"))
        mx = g["max_overlap"].iloc[0]
        rows.append(dict(
            archetype=int(a), models=len(per_model), pairs=len(g),
            share_models_lda_max_ok=float(np.mean(per_model.lmax <= mx * (1 + 1e-3))),
            share_models_min_ok=float(np.mean(per_model.ok_min)),
            share_models_min_ok_exact=float(np.mean(per_model.ok_min_exact)),
            smallest_nearest_exact_over_min=float(g["nearest_exact_over_min"].min()),
            largest_exact_over_max=float(per_model.emax.max() / mx),
            share_pairs_below_min=float(np.mean(g["exact"] < g["min_overlap"])),
        ))
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
    fast_solvers: bool = True,
) -> np.ndarray:
    """Labels from one of the five algorithms (hyperparameters as in the authors' analysis code).

    ``fast_solvers`` changes only how the same quantities are computed, where measured to matter
    (``benchmarks/repliclust.py``): HDBSCAN computes its mutual-reachability graph by brute force in
    more than 20 dimensions (space-partitioning trees degenerate there; the same graph, so the same
    labels up to ties between equal distances), and spectral clustering finds the Laplacian's leading
    eigenvectors with LOBPCG instead of ARPACK on 2,000 or more points (the same eigenvectors to solver
    tolerance; the benchmark prints the AMI between both labelings).
    """
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.mixture import GaussianMixture

    n, p = X.shape
    if algorithm == "EM-GMM":
        return GaussianMixture(k, max_iter=500, n_init=gmm_n_init, init_params="k-means++", random_state=seed).fit_predict(X)
    if algorithm == "K-Means":
        return KMeans(k, max_iter=500, n_init=kmeans_n_init, random_state=seed).fit_predict(X)
    if algorithm == "Hierarchical":
        return AgglomerativeClustering(k, linkage="ward").fit_predict(X)
    if algorithm == "Spectral":
        solver = "lobpcg" if (fast_solvers and n >= 2000) else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SpectralClustering(k, affinity=spectral_affinity, random_state=seed, eigen_solver=solver).fit_predict(X)
    if algorithm == "HDBSCAN":
        algo = "brute" if (fast_solvers and p > 20) else "auto"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return HDBSCAN(min_samples=hdbscan_min_samples, algorithm=algo, copy=True).fit_predict(X)
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


@dataclass(frozen=True)
class BenchmarkJob:
    archetype: int
    params: dict
    convexity: str
    rep: int
    seed: np.random.SeedSequence
    algorithms: tuple[str, ...]
    cluster_kw: dict = field(default_factory=dict)


def benchmark_job(job: BenchmarkJob) -> list[dict[str, Any]]:
    """One data set of the mock benchmark (convex, or a new data set passed through ``distort``),
    clustered by every algorithm; one row per algorithm."""
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype.from_params(job.params)
        X, y = sample_mixture_model(arch, rng).sample_data(rng)
        if job.convexity == "nonconvex":
            # float32, as distort returns it and as the authors' benchmark clustered it (EM is then ~3×
            # faster than on a float64 copy with identical labels; benchmarks/repliclust.py)
            X = distort(X, rng)
        rows = []
        for alg in job.algorithms:
            s = int(rng.integers(2**31 - 1))
            t0 = time.perf_counter()
            lab = cluster(X, arch.n_clusters, alg, s, **job.cluster_kw)
            rows.append(dict(archetype=job.archetype, name=arch.name, convexity=job.convexity, rep=job.rep, algorithm=alg,
                             seconds=time.perf_counter() - t0, **score(y, lab)))
        return rows


def run_benchmark(
    archetypes: Sequence[Archetype],
    n_datasets: int,
    algorithms: Iterable[str],
    seed: int,
    *,
    numbers: Sequence[int] | None = None,
    include_nonconvex: bool = True,
    **cluster_kw: Any,
) -> pd.DataFrame:
    """The mock benchmark of §5.4: ``n_datasets`` data sets per archetype, convex and (new data sets)
    distorted, every algorithm on every data set. ``numbers`` label the archetypes (default 1, 2, ...)."""
    algorithms = tuple(algorithms)
    for a in algorithms:
        if a not in ALGORITHMS:
            raise ValueError(f"algorithms: unknown {a!r}; choose from {ALGORITHMS}")
    numbers = list(numbers) if numbers is not None else list(range(1, len(archetypes) + 1))
    kinds = ["convex", "nonconvex"] if include_nonconvex else ["convex"]
    jobs = []
    for kind in kinds:
        for num, arch in zip(numbers, archetypes):
            for r, s in enumerate(study_seeds(seed, f"benchmark-{kind}-{num}", n_datasets)):
                jobs.append(BenchmarkJob(num, arch.describe(), kind, r, s, algorithms, dict(cluster_kw)))
    # the slowest jobs first, so that a cluster's workers finish together
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].params["n_samples"] * jobs[i].params["dim"])
    out = pmap(benchmark_job, [jobs[i] for i in order], desc="benchmark")
    rows = [None] * len(jobs)
    for i, res in zip(order, out):
        rows[i] = res
    return pd.DataFrame([r for res in rows for r in res])


def summarise_benchmark(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and SE (sd/√n) per archetype × convexity × algorithm, plus the average over archetypes
    (with the thesis's SE convention sd/√(all data sets))."""
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


@dataclass(frozen=True)
class CurveJob:
    convexity: str
    p: int
    max_overlap: float
    reps: int
    seed: np.random.SeedSequence


def curve_job(job: CurveJob) -> list[dict[str, Any]]:
    """``reps`` two-cluster data sets of one (p, max_overlap) point, Ward clustering, AMI/ARI and the
    silhouette of the true labels."""
    from sklearn.metrics import silhouette_score

    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype.from_params(curve_archetype_params(job.p, job.max_overlap))
        rows = []
        for r in range(job.reps):
            X, y = sample_mixture_model(arch, rng).sample_data(rng)
            if job.convexity == "nonconvex":
                X = distort(X, rng)  # float32, as the package returns it
            lab = cluster(X, 2, "Hierarchical", 0)
            rows.append(dict(convexity=job.convexity, p=job.p, max_overlap=job.max_overlap, rep=r,
                             silhouette=float(silhouette_score(X, y)), **score(y, lab)))
        return rows


def difficulty_curves(dims: Sequence[int], overlaps: Sequence[float], reps: int, seed: int, *, include_nonconvex: bool = True) -> pd.DataFrame:
    """Ward clustering of 2-cluster data sets ("two clusters with very different shapes in pD").

    For every p and max_overlap (min = max/10): ``reps`` data sets, AMI, ARI and the silhouette of
    the true labels; the non-convex run distorts new data sets.
    """
    kinds = ["convex", "nonconvex"] if include_nonconvex else ["convex"]
    jobs = [CurveJob(kind, int(p), float(o), int(reps), s)
            for kind in kinds for p in dims for o in overlaps
            for s in study_seeds(seed, f"curves-{kind}-{int(p)}-{float(o):.3g}", 1)]
    return pd.DataFrame([r for rows in pmap(curve_job, jobs, desc="curves") for r in rows])


def curve_trend(curves: pd.DataFrame) -> pd.DataFrame:
    """Per convexity and p: Spearman correlation of max_overlap with mean AMI/ARI/silhouette."""
    m = curves.groupby(["convexity", "p", "max_overlap"])[["AMI", "ARI", "silhouette"]].mean().reset_index()
    rows = []
    for (kind, p), g in m.groupby(["convexity", "p"]):
        rows.append(dict(convexity=kind, p=p, **{f"spearman_{c}": float(stats.spearmanr(g["max_overlap"], g[c])[0])
                                                for c in ("AMI", "ARI", "silhouette")}))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# §5.3 "Running the minimization in practice": convergence of the center placement


@dataclass(frozen=True)
class PlacementJob:
    k: int
    p: int
    rep: int
    seed: np.random.SeedSequence
    params: dict = field(default_factory=dict)
    penalties: tuple[float, ...] = (0.01,)
    backoff: bool = False


def placement_job(job: PlacementJob) -> list[dict[str, Any]]:
    """Draw the covariances of one mixture model (default archetype parameters with k clusters in p
    dimensions) and place its centers once per linear-penalty weight λ, from the same initial centers.

    Returns per λ: converged (loss exactly 0), epochs, restarts and the loss history of the kept restart.
    By default with the thesis's fixed step η (``backoff=False``), the procedure whose convergence §5.3
    describes.
    """
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype(**{**dict(n_clusters=job.k, dim=job.p, n_samples=100 * job.k), **job.params})
        radii = sample_radii(arch.n_clusters, arch.scale, arch.radius_maxmin, rng)
        aspects = sample_aspects(arch.n_clusters, arch.aspect_ref, arch.aspect_maxmin, rng, arch.aspect_semantics)
        lengths = np.stack([rng.permutation(sample_axis_lengths(radii[j], aspects[j], arch.dim, rng)) for j in range(arch.n_clusters)])
        covs = covariance_matrices(random_axes(arch.n_clusters, arch.dim, rng), lengths)
        init_seed = int(rng.integers(2**31 - 1))
        rows = []
        for lam in job.penalties:
            res = place_centers(covs, arch.max_overlap, arch.min_overlap, np.random.default_rng(init_seed), scale=arch.scale,
                                packing=arch.packing, mode=arch.resolved_mode, learning_rate=arch.learning_rate,
                                linear_penalty_weight=lam, backoff=job.backoff)
            rows.append(dict(k=job.k, p=job.p, rep=job.rep, penalty=lam, converged=res.converged, epochs=res.epochs,
                             restarts=res.restarts, history=list(res.history)))
        return rows


def convergence_study(cells: Sequence[tuple[int, int]], reps: int, seed: int, *, penalties: Sequence[float] = (0.01,),
                      params: dict | None = None, backoff: bool = False) -> pd.DataFrame:
    """Center placement on ``reps`` mixture models for each (k, p) cell, once per penalty weight λ."""
    jobs = [PlacementJob(int(k), int(p), r, s, dict(params or {}), tuple(float(x) for x in penalties), backoff)
            for k, p in cells for r, s in enumerate(study_seeds(seed, f"sgd-{int(k)}-{int(p)}", reps))]
    return pd.DataFrame([r for rows in pmap(placement_job, jobs, desc="placement") for r in rows])


def loss_curve_fits(history: Sequence[float]) -> dict[str, float] | None:
    """How the overlap loss falls during one placement: R² of log L_t against the epoch t (exponential
    decay = linear convergence) and against log(t+1) (power-law decay = sublinear convergence), over
    the epochs before the loss hits exactly 0. None when fewer than four positive losses were recorded."""
    h = np.asarray(history, dtype=float)
    h = h[h > 0]
    if h.size < 4:
        return None
    y = np.log(h)
    t = np.arange(h.size, dtype=float)

    def r2(x):
        if np.ptp(y) == 0:
            return 1.0, 0.0
        c = np.polyfit(x, y, 1)
        resid = y - np.polyval(c, x)
        return float(1 - resid @ resid / np.sum((y - y.mean()) ** 2)), float(c[0])

    r_exp, slope = r2(t)
    r_pow, _ = r2(np.log(t + 1))
    return dict(r2_exponential=r_exp, r2_power=r_pow, log_rate=slope, epochs_positive=int(h.size))


# --------------------------------------------------------------------------------------------
# §5.4 "Examining the generated data sets": what distort does to overlaps and shapes


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


def empirical_pair_overlap(X1: np.ndarray, X2: np.ndarray) -> float:
    """Empirical overlap of two point clouds: the minimax error along the LDA axis of their sample means
    and covariances (eq. 5.5 with estimates), orientated from cluster 1 to cluster 2."""
    m1, m2 = X1.mean(axis=0), X2.mean(axis=0)
    S1 = np.atleast_2d(np.cov(X1, rowvar=False))
    S2 = np.atleast_2d(np.cov(X2, rowvar=False))
    a = np.linalg.lstsq(0.5 * (S1 + S2), m2 - m1, rcond=None)[0]
    return empirical_minimax_error(X1 @ a, X2 @ a)


def empirical_aspects(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per cluster: √(largest / smallest eigenvalue) of its sample covariance (its aspect ratio)."""
    out = []
    for j in np.unique(y):
        ev = np.linalg.eigvalsh(np.atleast_2d(np.cov(X[y == j], rowvar=False)))
        out.append(float(np.sqrt(ev[-1] / max(ev[0], 1e-300))))
    return np.asarray(out)


@dataclass(frozen=True)
class DistortJob:
    archetype: int
    params: dict
    rep: int
    seed: np.random.SeedSequence


def distort_job(job: DistortJob) -> dict[str, Any]:
    """One data set before and after ``distort`` (the same points): empirical overlap of every cluster
    pair and every cluster's aspect ratio, both times."""
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype.from_params(job.params)
        X, y = sample_mixture_model(arch, rng).sample_data(rng)
        Xd = distort(X, rng).astype(float)
        k = arch.n_clusters
        groups = [np.flatnonzero(y == j) for j in range(k)]
        pairs = []
        for i in range(k):
            for j in range(i + 1, k):
                a, b = groups[i], groups[j]
                pairs.append(dict(i=i, j=j, n_min=int(min(a.size, b.size)),
                                  before=empirical_pair_overlap(X[a], X[b]), after=empirical_pair_overlap(Xd[a], Xd[b])))
        return dict(archetype=job.archetype, rep=job.rep, pairs=pairs,
                    aspect_before=empirical_aspects(X, y).tolist(), aspect_after=empirical_aspects(Xd, y).tolist())


def distort_study(archetypes: Sequence[Archetype], numbers: Sequence[int], reps: int, seed: int) -> list[dict[str, Any]]:
    """``reps`` data sets per archetype, each measured before and after ``distort``."""
    jobs = [DistortJob(num, arch.describe(), r, s)
            for num, arch in zip(numbers, archetypes) for r, s in enumerate(study_seeds(seed, f"distort-{num}", reps))]
    return pmap(distort_job, jobs, desc="distort")


def distort_pairs_frame(study: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per cluster pair: archetype, data set, empirical overlap before and after ``distort``."""
    return pd.DataFrame([dict(archetype=d["archetype"], rep=d["rep"], **p) for d in study for p in d["pairs"]])


# --------------------------------------------------------------------------------------------
# App. 4D: non-Gaussian overlap along the LDA axis


@dataclass(frozen=True)
class FamilyJob:
    family: str
    nominal: float
    n_points: int
    dim: int
    model: int
    seed: np.random.SeedSequence


def family_job(job: FamilyJob) -> dict[str, Any]:
    """One 2-cluster model of one radial family with LDA overlap ≈ nominal (±2.5 %), and the empirical
    minimax error along its LDA axis."""
    with threadpool_limits(1):
        rng = np.random.default_rng(job.seed)
        arch = Archetype(n_clusters=2, dim=job.dim, n_samples=2 * job.n_points, imbalance_ratio=1.0,
                         max_overlap=1.025 * job.nominal, min_overlap=0.975 * job.nominal, distributions=[job.family])
        m = sample_mixture_model(arch, rng)
        X, y = m.sample_data(rng)
        S = m.covariances
        a = lda_axis(m.centers[0], m.centers[1], S[0], S[1])
        z = X @ a
        return dict(family=job.family, nominal=job.nominal, model=job.model,
                    lda=float(lda_overlap(m.centers[0], m.centers[1], S[0], S[1])),
                    empirical=empirical_minimax_error(z[y == 0], z[y == 1]))


def nongaussian_models(families: Sequence[str], nominal: float, n_models: int, n_points: int, seed: int, dim: int = 2) -> pd.DataFrame:
    """Per family: ``n_models`` 2-D models at a nominal overlap and their empirical minimax error (App. 4D)."""
    for fam in families:
        if fam not in FAMILIES:
            raise ValueError(f"families: unknown {fam!r}")
    jobs = [FamilyJob(fam, float(nominal), int(n_points), int(dim), mi, s)
            for fam in families for mi, s in enumerate(study_seeds(seed, f"app4d-{fam}", n_models))]
    return pd.DataFrame(pmap(family_job, jobs, desc="families"))


def nongaussian_summary(models: pd.DataFrame) -> pd.DataFrame:
    """Mean empirical overlap per family with its SE (sd/√models)."""
    g = models.groupby("family", sort=False)["empirical"]
    out = pd.DataFrame(dict(nominal=models.groupby("family", sort=False)["nominal"].first(), empirical=g.mean(),
                            se=g.std(ddof=1) / np.sqrt(g.count()), models=g.count())).reset_index()
    return out


def nongaussian_overlap(families: Sequence[str], nominal: float, n_models: int, n_points: int, seed: int, dim: int = 2) -> pd.DataFrame:
    """Per family: mean empirical minimax error along the LDA axis at a nominal overlap (App. 4D)."""
    return nongaussian_summary(nongaussian_models(families, nominal, n_models, n_points, seed, dim))


def timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, float]:
    """(fn(*args, **kw), seconds) — for the run's timing record."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0
