"""Human-in-the-loop systems of thesis ch. 4 ("Fail Fast, or Ask", Zellinger & Thomson 2025).

Submodules
----------
``metrics``    selective prediction: rejection by score, A(r), AUARC, oracle/random references, local linear smoother
``systems``    Ask and Fail Fast, or Ask routing (eq. 4.1), exact counts, latency/cost, eq. (4.2), drag factors
``published``  Tables 4.1 (shared with the economic-evaluation chapter) and 4.2, analytic checks on them
``sim``        simulated level-5 per-query data pinned to Table 4.1 (builds on ``capfront_lib.economic_evaluation``)
``analysis``   Table 4.2 analogue, calibration summary, price-of-review reward surface
``realdata``   the Ask mechanism on public GSM8K / MMLU-Pro matrices (output length as the trace-length signal)
``plots``      figures (no computation)
``panel``      the ipywidgets explorer
"""

from capfront_lib.human_in_the_loop.metrics import (
    accuracy_rejection_curve,
    auarc,
    conditional_accuracy,
    count,
    local_linear,
    oracle_curve,
    reject_top,
    rejection_grid,
    rejection_order,
    selective_bounds,
)
from capfront_lib.human_in_the_loop.systems import (
    FAIL_FAST,
    PASS,
    RESPOND,
    PairData,
    accuracy_with_human,
    ask_route,
    ffa_actions,
    ffa_counts,
    ffa_curve,
    ffa_route,
    implied_drag,
    latency_by_confidence,
    naive_delta_pct,
    naive_mean,
    relative_delta_pct,
)

__all__ = [
    "accuracy_rejection_curve",
    "auarc",
    "conditional_accuracy",
    "count",
    "local_linear",
    "oracle_curve",
    "reject_top",
    "rejection_grid",
    "rejection_order",
    "selective_bounds",
    "FAIL_FAST",
    "PASS",
    "RESPOND",
    "PairData",
    "accuracy_with_human",
    "ask_route",
    "ffa_actions",
    "ffa_counts",
    "ffa_curve",
    "ffa_route",
    "implied_drag",
    "latency_by_confidence",
    "naive_delta_pct",
    "naive_mean",
    "relative_delta_pct",
]
