"""The co-failure ceiling (chapter ``co_failure_ceiling``): when combining language models cannot help.

Implements Chen (2026), *When Does Combining Language Models Help? A Co-Failure Ceiling on Routing,
Voting, and Mixture-of-Agents Across 67 Frontier Models* (v1) with the corrections of its public
revision: the all-wrong rate beta and the ceiling 1 - beta (Prop. 1), the Clopper–Pearson certificate,
tetrachoric vs Pearson correlations, single-factor / full Gaussian and Clayton copulas, the
common-shock atom (Prop. 2), non-identification (Prop. 3), the budget LP (Prop. 4), the symmetric
probit vote (Props. 5–7), the cascade identity (Prop. 8) and the audit of all-wrong items.

Practitioners: ``capfront_lib.cofailure.certificate(log)`` or ``capfront certificate LOG.csv``.
"""

from capfront_lib.cofailure.analysis import (
    audit_all_wrong, bootstrap_ratio, family_means, jackknife_models, pool_curve, predictions,
)
from capfront_lib.cofailure.budget import bang_per_buck, dual_value, pattern_types, solve_lp, value_at, value_curve
from capfront_lib.cofailure.copula import (
    beta_sf, beta_sf_gh, bvn_cdf, bvn_pdf, clayton_calibrate, clayton_cdf, clayton_mc, clip_correlation, implied_rho,
    mean_offdiag, nearest_correlation, orthant_genz, orthant_mc, orthant_sov, pearson_matrix, tetrachoric_from_p11,
    tetrachoric_matrix,
)
from capfront_lib.cofailure.ensemble import selfmoa_vs_hetero, triplet_index, triplet_regression, triplet_table
from capfront_lib.cofailure.pool import (
    certificate_bound, co_failure_share, cp_interval, optimism, partition_oracle, pool_summary, regime, single_best,
)
from capfront_lib.cofailure.report import JSON_KEYS, certificate, coverage_filter, format_certificate
from capfront_lib.cofailure.simulate import SimPool, sim_truth_beta, sim_truth_pairs, simulate_pool

__all__ = [name for name in dir() if not name.startswith("_")]
