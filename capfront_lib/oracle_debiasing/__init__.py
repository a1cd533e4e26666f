"""Chapter `oracle_debiasing`: *The Capability Frontier: Benchmarks Miss 82% of Model Performance*.

Submodules: ``theory`` (bias of the naive oracle, eqs. 6-10, 25), ``estimators`` (oracles, split bracket,
subsampling/extrapolation eqs. 11-12, posthoc eqs. 22-23, reliability eq. 24, entropy eqs. 26-27),
``decay`` (Appendix A: heterogeneous and correlated generations), ``frontier`` (eqs. 19-21), ``simulate`` (the PGM
world and Appendix G), ``pgm`` (eqs. 13-18 by ADVI, with the LogNormal cost model), ``published`` (Tables 1-6 and
their rounding), ``realdata`` (public matrices and your log), ``measures`` + ``record`` (what each section measures
for the claims registry), ``params`` (the parameter schema), ``pipeline`` (one run = what the notebook shows),
``plots``, ``widgets``.
"""

from capfront_lib.oracle_debiasing.estimators import (  # noqa: F401
    best_single,
    fit_extrapolation,
    kshot_any,
    kshot_population,
    kshot_route_then_sample,
    oracle_value,
    reliability,
    reliability_expected,
    split_sample_oracle,
    subsample_curve_exact,
    topic_entropy,
    topic_probs,
    uplift,
)
from capfront_lib.oracle_debiasing.frontier import frontier_exact, frontier_metrics, sota  # noqa: F401
from capfront_lib.oracle_debiasing.simulate import entropy_sweep, simulate_world  # noqa: F401
from capfront_lib.oracle_debiasing.theory import (  # noqa: F401
    bernoulli_bias,
    expected_biased_oracle_independent,
    expected_max_std_normal,
)
