"""Parameter schema of the repliclust chapter (checked by the runner before a kernel starts and by the
notebook in one line). Names equal the notebook's parameters cell; defaults live in the notebook."""

from __future__ import annotations

from typing import Any, Mapping

from capfront_lib.core.params import (
    Bool,
    Choice,
    FloatList,
    Guard,
    Int,
    IntList,
    ResultsDir,
    Schema,
    Seed,
    StrList,
)

from .distributions import FAMILIES
from .experiments import ALGORITHMS

BENCHMARK_SIZES = {1: (1200, 2), 2: (1200, 2), 3: (700, 10), 4: (700, 10), 5: (400, 100), 6: (4000, 100)}
"""(n_samples, dim) of the six benchmark archetypes, for the resource guard."""


def _unique(name: str):
    def check(p: Mapping[str, Any]) -> str | None:
        v = p[name]
        if len(set(v)) != len(v):
            return f"parameter {name!r} must not repeat values, got {v!r}"
        return None

    return check


def _nl_key(p: Mapping[str, Any]) -> str | None:
    import os

    if p["nl_backend"] == "openai" and not os.environ.get("OPENAI_API_KEY"):
        return "parameter 'nl_backend' = 'openai' needs OPENAI_API_KEY; use 'replay' or 'rules' offline"
    return None


def _benchmark_cells(p: Mapping[str, Any]) -> float:
    """Points × dimensions × data sets clustered by the benchmark (each by up to five algorithms)."""
    kinds = 2 if p["include_nonconvex"] else 1
    return float(sum(BENCHMARK_SIZES[a][0] * BENCHMARK_SIZES[a][1] for a in p["benchmark_archetypes"])
                 * p["n_datasets_per_archetype"] * kinds)


def _fig54_cells(p: Mapping[str, Any]) -> float:
    """Σ p³ over the Fig 5.4 models (each needs p×p inverses and an eigendecomposition)."""
    dims = p["overlap_dims"]
    per = sum(d**3 for d in dims) / len(dims)
    k = 1 if p["fig54_unit"] == "pairs" else 435  # pairs per data set at k = 30
    return float(p["n_overlap_pairs"] * per * k)


def _curve_points(p: Mapping[str, Any]) -> float:
    kinds = 2 if p["include_nonconvex"] else 1
    return float(len(p["curve_dims"]) * len(p["curve_overlaps"]) * p["curve_reps"] * kinds * 200 * max(p["curve_dims"]))


SCHEMA = Schema(
    "repliclust",
    [
        Seed("seed", "master seed of every random draw"),
        Choice("generator_backend", ["numpy"], "this book's numpy/scipy implementation (the only backend)"),
        Int("n_overlap_pairs", min=8, max=20_000, help="two-cluster Gaussian models of the Fig 5.4 study"),
        IntList("overlap_dims", min=2, max=1000, max_length=10, help="dimensions cycled through in the Fig 5.4 study"),
        Choice("fig54_unit", ["pairs", "datasets"], "one pair per model, or the authors' per-data-set midpoint"),
        Int("n_datasets_per_archetype", min=1, max=200, help="data sets per archetype and convexity in the benchmark"),
        IntList("benchmark_archetypes", min=1, max=6, max_length=6, help="which of the six benchmark archetypes to run"),
        Bool("include_nonconvex", "also run the studies on distorted (non-convex) data"),
        StrList("algorithms", choices=ALGORITHMS, min_length=1, help="clustering algorithms of the benchmark"),
        Int("gmm_n_init", min=1, max=100, help="EM-GMM restarts (thesis: 10)"),
        Int("kmeans_n_init", min=1, max=100, help="K-Means restarts"),
        Choice("spectral_affinity", ["nearest_neighbors", "rbf"], "affinity of spectral clustering"),
        Choice("aspect_semantics", ["thesis", "package"], "reading of aspect_maxmin"),
        IntList("curve_dims", min=2, max=1000, max_length=10, sorted=True, help="dimensions of the difficulty curves"),
        FloatList("curve_overlaps", min=0, max=1, strict_min=True, strict_max=True, min_length=3, max_length=20, sorted=True,
                  help="max_overlap values of the difficulty curves (min = max/10)"),
        Int("curve_reps", min=2, max=1000, help="data sets per (dimension, overlap) point"),
        Int("pairwise_models_per_archetype", min=1, max=1000, help="mixture models per archetype for Fig 5.11"),
        Int("nongaussian_models", min=2, max=500, help="models per radial family in the App. 4D check"),
        Int("nongaussian_points", min=100, max=200_000, help="points per cluster in the App. 4D check"),
        Int("mc_points", min=1000, max=5_000_000, help="Monte Carlo points per cluster for the minimax-rule checks"),
        Int("sgd_models", min=2, max=1000, help="mixture models per (k, p) cell of the placement-convergence study"),
        IntList("sgd_ks", min=2, max=50, min_length=2, max_length=6, sorted=True, help="numbers of clusters of the convergence study (at p = 10)"),
        IntList("sgd_dims", min=2, max=200, min_length=2, max_length=6, sorted=True, help="dimensions of the convergence study (at k = 10)"),
        Int("distort_datasets", min=2, max=500, help="data sets per archetype measured before and after distort"),
        Int("n_boot", min=200, max=20_000, help="bootstrap resamples of every interval"),
        Choice("nl_backend", ["replay", "rules", "openai"], "model behind the natural-language layer"),
        StrList("nl_descriptions", min_length=1, help="verbal descriptions run through the natural-language layer"),
        Choice("embed", ["pca", "tsne"], "2-D view of data sets with p > 2"),
        ResultsDir("results_dir"),
    ],
    checks=[_unique("benchmark_archetypes"), _unique("algorithms"), _unique("curve_dims"), _unique("overlap_dims"), _nl_key],
    guards=[
        Guard("Σ points × dimensions × data sets of the benchmark", _benchmark_cells, 5e7, "cells",
              "about five times the paper profile, hours of clustering; lower n_datasets_per_archetype or leave out archetype 6"),
        Guard("n_overlap_pairs × mean p³ (× pairs per data set)", _fig54_cells, 4e11, "flops",
              "about ten times the paper profile; lower n_overlap_pairs or the largest overlap_dims"),
        Guard("points × dimensions of the difficulty curves", _curve_points, 5e9, "cells", "lower curve_reps or curve_dims"),
        Guard("points of the App. 4D check", lambda p: 2.0 * len(FAMILIES) * p["nongaussian_models"] * p["nongaussian_points"], 5e8,
              "points", "lower nongaussian_models or nongaussian_points"),
    ],
)
