"""repliclust chapter: archetype-based synthetic cluster data (thesis ch. 5, Zellinger & Bühlmann 2025).

The method of the reference package ``repliclust`` re-implemented in numpy/scipy (spec D1).
"""

from .archetype import (
    BENCHMARK_ARCHETYPE_PARAMS,
    BENCHMARK_DESCRIPTIONS,
    Archetype,
    MixtureModel,
    benchmark_archetypes,
    curve_archetype_params,
    sample_mixture_model,
    synthesize,
)
from .centers import place_centers
from .distributions import FAMILIES, SUPPORTED_DISTRIBUTIONS, abs_quantile, sample_radial
from .maxmin import sample_aspects, sample_axis_lengths, sample_group_sizes, sample_radii
from .overlap import c2c_overlap, exact_overlap, lda_overlap, pairwise_overlaps
from .postprocess import distort, wrap_around_sphere
