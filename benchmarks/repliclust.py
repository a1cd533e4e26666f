"""Speed of the repliclust hot paths, with ratios against the straightforward reference in the same run,
and a CPU-time estimate of the paper profile from representative jobs.

    python benchmarks/repliclust.py            # everything (a few minutes on one core)
    python benchmarks/repliclust.py --quick    # skips the archetype-6 clustering comparisons

1. exact overlap of 1,000 Gaussian pairs in 10-D: simultaneous diagonalisation + O(p) bisection steps
   (``exact_q``) vs one batched linear solve per bisection step (``exact_q_direct``) vs a per-pair
   scipy bisection loop (the textbook way);
2. covariance matrices Σ = Uᵀdiag(σ²)U at p = 500: batched BLAS product vs the three-index einsum;
3. clustering a 4,000 × 100 data set (archetype 6): spectral clustering with LOBPCG vs ARPACK,
   HDBSCAN by brute force vs the default tree, EM-GMM on distort's float32 output vs a float64 copy
   (ratios, and whether the labels agree);
4. sampling a mixture model for each of the six benchmark archetypes; ``distort`` float32 vs float64;
5. CPU seconds of representative jobs of every study, extrapolated to the paper profile (one core).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import yaml
from scipy import optimize
from threadpoolctl import threadpool_limits

from capfront_lib.core.resources import data_path
from capfront_lib.repliclust import experiments as ex
from capfront_lib.repliclust.archetype import (
    BENCHMARK_ARCHETYPE_PARAMS,
    Archetype,
    benchmark_archetypes,
    covariance_matrices,
    random_axes,
    sample_mixture_model,
)
from capfront_lib.repliclust.overlap import exact_q, exact_q_direct
from capfront_lib.repliclust.postprocess import distort
from _timing import best_of as timeit


def per_pair_reference(mu1, mu2, S1, S2):
    """Naive: for each pair, brentq on t·s1 − (1−t)·s2 with a fresh solve per evaluation."""
    qs = np.empty(len(mu1))
    for i in range(len(mu1)):
        d = mu2[i] - mu1[i]

        def g(t, i=i, d=d):
            a = np.linalg.solve(t * S1[i] + (1 - t) * S2[i], d)
            return t * np.sqrt(a @ S1[i] @ a) - (1 - t) * np.sqrt(a @ S2[i] @ a)

        t = optimize.brentq(g, 0.0, 1.0, xtol=1e-14)
        a = np.linalg.solve(t * S1[i] + (1 - t) * S2[i], d)
        qs[i] = a @ d / (np.sqrt(a @ S1[i] @ a) + np.sqrt(a @ S2[i] @ a))
    return qs


def cpu(fn, *args, **kw):
    """(result, CPU seconds of this process)."""
    t0 = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - t0


def overlap_section() -> None:
    rng = np.random.default_rng(0)
    n, p = 1000, 10
    A = rng.normal(size=(n, p, p))
    S1 = A @ np.swapaxes(A, 1, 2) / p + 0.05 * np.eye(p)
    B = rng.normal(size=(n, p, p))
    S2 = B @ np.swapaxes(B, 1, 2) / p + 0.05 * np.eye(p)
    mu1, mu2 = rng.normal(size=(n, p)), 2 * rng.normal(size=(n, p))
    t_fast, q_fast = timeit(lambda: exact_q(mu1, mu2, S1, S2))
    t_direct, q_direct = timeit(lambda: exact_q_direct(mu1, mu2, S1, S2))
    t_naive, q_naive = timeit(lambda: per_pair_reference(mu1, mu2, S1, S2), repeat=1)
    print(f"1. exact overlap, {n} pairs in {p}-D")
    print(f"  exact_q (simultaneous diagonalisation) {t_fast:8.3f} s")
    print(f"  exact_q_direct (batched solve / step)  {t_direct:8.3f} s   ratio {t_direct / t_fast:6.1f}x")
    print(f"  per-pair brentq loop (naive)           {t_naive:8.3f} s   ratio {t_naive / t_fast:6.1f}x")
    print(f"  max rel. difference fast vs direct {np.max(np.abs(q_fast / q_direct - 1)):.1e}, "
          f"vs naive {np.max(np.abs(q_fast / q_naive - 1)):.1e}")


def covariance_section() -> None:
    rng = np.random.default_rng(1)
    U = random_axes(2, 500, rng)
    L = rng.uniform(0.5, 2.0, (2, 500))
    t_blas, S = timeit(lambda: covariance_matrices(U, L))
    t_ein, S2 = timeit(lambda: np.einsum("kai,ka,kaj->kij", U, L**2, U), repeat=1)
    print("2. covariance matrices of a two-cluster model at p = 500")
    print(f"  batched BLAS product {t_blas:8.4f} s; three-index einsum {t_ein:8.3f} s; ratio {t_ein / t_blas:6.0f}x; "
          f"max |diff| {np.max(np.abs(S - S2)):.1e}")


def placement_section() -> None:
    from capfront_lib.repliclust.centers import place_centers

    rng = np.random.default_rng(4)
    cases = []
    for k, p in ((2, 2), (12, 2), (7, 10), (30, 10)):
        covs = covariance_matrices(random_axes(k, p, rng), rng.uniform(0.3, 2.0, (k, p)))
        cases.append(covs)
    place_centers(cases[0], 0.05, 0.001, np.random.default_rng(0), compiled=True)  # compile (or load the cache)
    res = {}
    for compiled in (False, True):
        t0 = time.process_time()
        res[compiled] = [place_centers(c, 0.05, 0.001, np.random.default_rng(i), compiled=compiled) for i, c in enumerate(cases) for _ in range(3)]
        res[compiled + 2] = time.process_time() - t0
    same = all(a.epochs == b.epochs and np.allclose(a.centers, b.centers, atol=1e-9) for a, b in zip(res[False], res[True]))
    print("2b. center placement (SGD, eqs. 5.7-5.9), 12 placements with k = 2..30")
    print(f"  numpy reference {res[2]:6.2f} s, numba kernel {res[3]:6.2f} s, ratio {res[2] / res[3]:4.1f}x; identical outcomes: {same}")


def clustering_section() -> None:
    from sklearn.cluster import HDBSCAN, SpectralClustering
    from sklearn.metrics import adjusted_mutual_info_score as ami

    arch = Archetype.from_params(BENCHMARK_ARCHETYPE_PARAMS[5])
    rng = np.random.default_rng(2)
    print("3. clustering archetype 6 (4,000 points, 100-D), convex and distorted")
    for kind in ("convex", "distorted"):
        X, y = sample_mixture_model(arch, rng).sample_data(rng)
        if kind == "distorted":
            X = distort(X, rng)
        lab_a, t_a = cpu(lambda: SpectralClustering(4, affinity="nearest_neighbors", random_state=0).fit_predict(X))
        lab_l, t_l = cpu(lambda: ex.cluster(X, 4, "Spectral", 0))
        h_a, th_a = cpu(lambda: HDBSCAN(min_samples=5, copy=True).fit_predict(X))
        h_b, th_b = cpu(lambda: ex.cluster(X, 4, "HDBSCAN", 0))
        if kind == "distorted":  # distort returns float32; the authors clustered that array as it is
            g64, tg64 = cpu(lambda: ex.cluster(X.astype(np.float64), 4, "EM-GMM", 0))
            g32, tg32 = cpu(lambda: ex.cluster(X, 4, "EM-GMM", 0))
            print(f"  {kind:9s} EM-GMM (10 restarts) on a float64 copy {tg64:6.2f} s, on distort's float32 {tg32:5.2f} s, "
                  f"ratio {tg64 / tg32:4.1f}x; AMI between the two labelings {ami(g64, g32):.3f}")
        print(f"  {kind:9s} spectral ARPACK {t_a:6.2f} s, LOBPCG {t_l:5.2f} s, ratio {t_a / t_l:5.1f}x; "
              f"AMI vs truth {ami(y, lab_a):.3f} / {ami(y, lab_l):.3f}; AMI between the two labelings {ami(lab_a, lab_l):.3f}")
        print(f"  {kind:9s} HDBSCAN tree {th_a:6.2f} s, brute {th_b:5.2f} s, ratio {th_a / th_b:5.1f}x; "
              f"identical labels: {np.array_equal(h_a, h_b)} (AMI between them {ami(h_a, h_b):.3f}; "
              f"noise {np.mean(h_a < 0):.3f} / {np.mean(h_b < 0):.3f})")


def sampling_section() -> None:
    rng = np.random.default_rng(3)
    archs = benchmark_archetypes()
    times = []
    for a in archs:
        t, _ = timeit(lambda a=a: sample_mixture_model(a, rng))
        times.append(t)
    print("4. mixture models of the six benchmark archetypes (best of 3 each)")
    for a, t in zip(archs, times):
        print(f"  {a.name:55s} {t:7.3f} s")
    X = rng.normal(size=(4000, 100))
    t32, _ = timeit(lambda: distort(X, 1))

    def distort64():  # the same network in float64, for the ratio
        Z = X / np.max(np.linalg.norm(X, axis=1))
        g = np.random.default_rng(1)
        W = g.uniform(-0.1, 0.1, (128, 100))
        h = Z @ W.T
        for _ in range(16):
            h = h @ g.uniform(-1 / np.sqrt(128), 1 / np.sqrt(128), (128, 128)).T
            h = np.tanh((h - h.mean(1, keepdims=True)) / np.sqrt(h.var(1, keepdims=True) + 1e-5))
        return h @ W

    t64, _ = timeit(distort64)
    print(f"  distort 4000 x 100: float32 {t32:.3f} s, float64 {t64:.3f} s, ratio {t64 / t32:.1f}x")


def paper_estimate(skip_archetype6: bool) -> None:
    """CPU seconds of sample jobs, scaled by how many such jobs the paper profile runs."""
    prof = yaml.safe_load(data_path("profiles", "repliclust.yaml").read_text())["paper"]
    seeds = ex.study_seeds(9, "estimate", 64)
    est = {}
    # Fig 5.4: one pair per dimension, scaled to n_overlap_pairs / len(dims) each
    per_dim = prof["n_overlap_pairs"] / len(prof["overlap_dims"])
    est["fig54"] = sum(cpu(ex.overlap_pair, ex.PairJob(p, seeds[i]))[1] * per_dim for i, p in enumerate(prof["overlap_dims"]))
    # benchmark: one convex and one distorted data set per archetype with all five algorithms
    algs = tuple(ex.ALGORITHMS)
    bench = 0.0
    for num, params in enumerate(BENCHMARK_ARCHETYPE_PARAMS, start=1):
        if num == 6 and skip_archetype6:
            continue
        for kind in ("convex", "nonconvex"):
            job = ex.BenchmarkJob(num, dict(params), kind, 0, seeds[10 + 2 * num + (kind == "nonconvex")], algs,
                                  dict(gmm_n_init=prof["gmm_n_init"]))
            bench += cpu(ex.benchmark_job, job)[1] * prof["n_datasets_per_archetype"]
    est["benchmark" + (" (without archetype 6)" if skip_archetype6 else "")] = bench
    # curves: 5 data sets per (p, overlap) at the middle overlap, scaled to curve_reps × overlaps × 2
    curves = 0.0
    for p in (2, 10, 30, 100):
        for kind in ("convex", "nonconvex"):
            job = ex.CurveJob(kind, p, 1e-3, 5, seeds[30 + p % 29])
            curves += cpu(ex.curve_job, job)[1] / 5 * prof["curve_reps"] * len(prof["curve_overlaps"])
    est["curves"] = curves
    # Fig 5.11: two models per archetype
    ctrl = 0.0
    for num, params in enumerate(BENCHMARK_ARCHETYPE_PARAMS, start=1):
        for m in range(2):
            ctrl += cpu(ex.overlap_control_job, ex.ControlJob(num, dict(params), m, seeds[40 + 2 * num + m]))[1] / 2
    est["fig511"] = ctrl * prof["pairwise_models_per_archetype"]
    # convergence: two placements per cell (+ the quadratic comparison on the k = p = 10 cell)
    conv = 0.0
    cells = sorted({(k, 10) for k in (3, 10, 30)} | {(10, p) for p in (2, 10, 50)})
    for i, (k, p) in enumerate(cells):
        conv += cpu(ex.placement_job, ex.PlacementJob(k, p, 0, seeds[55 + i]))[1] * prof["sgd_models"]
    conv += cpu(ex.placement_job, ex.PlacementJob(10, 10, 0, seeds[62], penalties=(0.01, 0.0)))[1] * prof["sgd_models"]
    est["convergence"] = conv
    dis = sum(cpu(ex.distort_job, ex.DistortJob(n, dict(BENCHMARK_ARCHETYPE_PARAMS[n - 1]), 0, seeds[63]))[1] for n in (1, 2, 3, 4))
    est["distort"] = dis * prof["distort_datasets"]
    fam = cpu(ex.family_job, ex.FamilyJob("normal", 0.01, prof["nongaussian_points"], 2, 0, seeds[0]))[1]
    est["app4d"] = fam * 12 * prof["nongaussian_models"]
    print("5. paper profile, CPU seconds on one core extrapolated from representative jobs")
    for k, v in est.items():
        print(f"  {k:40s} {v:8.0f} s")
    print(f"  total {sum(est.values()) / 60:.1f} min (budget 12 min)")


def main() -> None:
    quick = "--quick" in sys.argv
    overlap_section()
    covariance_section()
    placement_section()
    if not quick:
        clustering_section()
    sampling_section()
    paper_estimate(skip_archetype6=quick)


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
