"""The co-failure ceiling (chapter ``co_failure_ceiling``): when combining language models cannot help.

Implements Chen (2026), *When Does Combining Language Models Help? A Co-Failure Ceiling on Routing,
Voting, and Mixture-of-Agents Across 67 Frontier Models* (v1) with the corrections of its public
revision: the all-wrong rate beta and the ceiling 1 - beta (Prop. 1), the Clopper–Pearson certificate,
tetrachoric vs Pearson correlations, single-factor / full Gaussian and Clayton copulas, the
common-shock atom (Prop. 2), non-identification (Prop. 3), the budget LP (Prop. 4), the symmetric
probit vote (Props. 5–7), the cascade identity (Prop. 8) and the audit of all-wrong items.

Practitioners: ``capfront_lib.cofailure.certificate(log)`` or ``capfront certificate LOG.csv``.
"""

import importlib
from typing import Any

# Lazy attribute access (PEP 562): `capfront certificate` must not import the whole chapter at start-up.
_EXPORTS: dict[str, str] = {
    "JSON_KEYS": "report",
    "SimPool": "simulate",
    "audit_all_wrong": "analysis",
    "bang_per_buck": "budget",
    "beta_sf": "copula",
    "beta_sf_gh": "copula",
    "bootstrap_ratio": "analysis",
    "bvn_cdf": "copula",
    "bvn_pdf": "copula",
    "certificate": "report",
    "certificate_bound": "pool",
    "clayton_calibrate": "copula",
    "clayton_cdf": "copula",
    "clayton_mc": "copula",
    "clip_correlation": "copula",
    "co_failure_share": "pool",
    "coverage_filter": "report",
    "cp_interval": "pool",
    "dual_value": "budget",
    "family_means": "analysis",
    "format_certificate": "report",
    "implied_rho": "copula",
    "jackknife_models": "analysis",
    "mean_offdiag": "copula",
    "nearest_correlation": "copula",
    "optimism": "pool",
    "orthant_genz": "copula",
    "orthant_mc": "copula",
    "orthant_sov": "copula",
    "partition_oracle": "pool",
    "pattern_types": "budget",
    "pearson_matrix": "copula",
    "pool_curve": "analysis",
    "pool_summary": "pool",
    "predictions": "analysis",
    "regime": "pool",
    "selfmoa_vs_hetero": "ensemble",
    "sim_truth_beta": "simulate",
    "sim_truth_pairs": "simulate",
    "simulate_pool": "simulate",
    "single_best": "pool",
    "solve_lp": "budget",
    "tetrachoric_from_p11": "copula",
    "tetrachoric_matrix": "copula",
    "triplet_index": "ensemble",
    "triplet_regression": "ensemble",
    "triplet_table": "ensemble",
    "value_at": "budget",
    "value_curve": "budget",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"capfront_lib.cofailure.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'capfront_lib.cofailure' has no attribute {name!r}")
