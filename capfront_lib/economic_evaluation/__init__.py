"""Economic evaluation of LLMs: prices of error, latency and abstention (thesis ch. 3).

Zellinger, "White Elephants and Cash Cows" ch. 3 (= Zellinger & Thomson 2025, "Economic Evaluation of
LLMs"). Submodules:

- :mod:`.tables`   -- the model table (Table 3C prices + Table 4.1 level-5 means + flagged placeholders);
- :mod:`.reward`   -- rewards of standalone models, cascades, routers (eqs. 3.5, 3.7, 3.9, 3.11), expected
  reward, optimal choice, crossovers, Pareto tools, the medical price of error (eqs. 3.16-3.17);
- :mod:`.cascade`  -- small -> big cascades: deferral, Theorem 5, CER, threshold selection (App. 3D);
- :mod:`.simulate` -- per-query simulator consistent with the published means (shared with ch. 4);
- :mod:`.published` -- what the published numbers alone decide (exact switch points, lower bounds, cost check);
- :mod:`.theory`   -- checks of Theorems 3-5 on concrete menus (part i / ii of Thm 3, Thm 4 both ways, Thm 5);
- :mod:`.params`   -- the chapter's typed parameter schema.
"""

from capfront_lib.economic_evaluation.tables import (
    DEFAULT_PLACEHOLDERS, MODELS, NON_REASONING, REASONING, QWEN3, O3, R1, LLAMA405, LLAMA70, GPT41,
    N_INPUT_TOKENS_MEAN, frame_from_evallog, half_unit, level_means, load_model_table, load_prices, load_published_means,
    summarize_log, token_cost,
)
from capfront_lib.economic_evaluation.reward import (
    any_point_dominates, cascade_reward, category_crossover, dominates, expected_reward,
    expected_value_uncertain_prices, first_lambda_where, general_reward, log_reward_transform,
    lower_convex_hull, medical_price_of_error, optimal_choice, optimal_intervals, pairwise_crossover,
    pareto_mask, per_minute_to_per_second, reward_grid, router_reward, selected_by_sweep, sensitivity_table,
    standalone_reward, value_curve, wage_price_of_error, with_abstention,
)
from capfront_lib.economic_evaluation.cascade import (
    CascadeData, candidate_thresholds, cascade_error_decomposition, cascade_error_reduction, cascade_outcomes,
    cer_oracle_bound, critical_lambda, deferral, evaluate_cascade, reward_curves, select_threshold, split_indices,
)
from capfront_lib.economic_evaluation.simulate import (
    LOG_COLUMNS, SIM_PARAMS_PATH, cascade_data_from_log, load_sim_params, simulate_outcomes,
)

__all__ = [name for name in dir() if not name.startswith("_")]

from capfront_lib.economic_evaluation.analysis import (  # noqa: E402
    cascade_analysis, cascade_suite, critical_lambda_class, critical_table, crossover_matrix, random_deferral_cer,
    standalone_analysis,
)

__all__ = [name for name in dir() if not name.startswith("_")]
