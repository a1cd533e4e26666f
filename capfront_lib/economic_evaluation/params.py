"""Typed parameter schema of the ``economic_evaluation`` chapter (checked by the runner before a kernel starts).

Names equal the notebook's ``parameters`` cell (a test checks it); defaults live in the notebook.
"""

from __future__ import annotations

from typing import Any, Mapping

from capfront_lib.core.params import (
    Bool, Choice, Float, FloatList, Guard, Int, InputPath, Prob, ResultsDir, Schema, Seed, Str, StrList,
)
from capfront_lib.economic_evaluation.tables import MODELS, NON_REASONING, REASONING

#: cells of the price grid kept in memory at once (prices of error x prices of latency x split repeats x small
#: models, ~100 bytes each with the cascade bookkeeping) and rows of the simulated per-query log.
MAX_GRID_CELLS = 2_000_000
MAX_LOG_ROWS = 3_000_000


def _lambdas(p: Mapping[str, Any]) -> str | None:
    if not p["lambda_E_max"] > p["lambda_E_min"]:
        return f"parameter 'lambda_E_max' ({p['lambda_E_max']:g}) must exceed lambda_E_min ({p['lambda_E_min']:g})"
    return None


def _cascades(p: Mapping[str, Any]) -> str | None:
    if len(set(p["small_models"])) != len(p["small_models"]):
        return f"parameter 'small_models' must not repeat a model, got {p['small_models']}"
    if p["big_model"] in p["small_models"]:
        return f"parameter 'big_model' ({p['big_model']}) cannot also be a small model"
    if len(p["verification_quality"]) != len(p["small_models"]):
        return (f"parameter 'verification_quality' needs one value per small model ({len(p['small_models'])}), "
                f"got {len(p['verification_quality'])}")
    return None


def _placeholders(p: Mapping[str, Any]) -> str | None:
    for name in ("placeholder_gpt41", "placeholder_llama70"):
        err, tokens, latency = p[name]
        if not 0.0 <= err <= 1.0:
            return f"parameter {name!r}: error rate (item 0) must be in [0, 1], got {err:g}"
        if tokens < 0:
            return f"parameter {name!r}: output tokens (item 1) must be >= 0, got {tokens:g}"
        if latency <= 0.3:
            return f"parameter {name!r}: latency (item 2) must exceed the 0.3 s network overhead, got {latency:g}"
    return None


def _grid_cells(p: Mapping[str, Any]) -> float:
    return float(p["n_lambda_E"]) * len(p["lambda_L_per_min"]) * p["n_split_repeats"] * max(1, len(p["small_models"]))


def _log_rows(p: Mapping[str, Any]) -> float:
    return float(p["n_queries"]) * len(MODELS)


SCHEMA = Schema(
    "economic_evaluation",
    [
        Seed("seed", "random seed of the simulated per-query data and the train/test splits"),
        InputPath("outcomes_path", "your evaluation log (core long or wide form); '' = the paper's table + simulation"),
        Choice("real_data", ["auto", "off"], "'auto': the public-data cascade when CAPFRONT_DATA_DIR is set"),
        Int("n_queries", min=60, max=1_000_000, help="simulated level-5 queries (the paper's 500)"),
        Float("lambda_E_min", min=0.0, strict_min=True, help="smallest price of error ($)"),
        Float("lambda_E_max", min=0.0, max=1e9, strict_min=True, help="largest price of error ($)"),
        Int("n_lambda_E", min=3, max=100_000, help="points of the log grid of prices of error"),
        FloatList("lambda_L_per_min", min=0.0, max=1e6, min_length=1, max_length=50, sorted=True,
                  help="prices of latency ($/minute), increasing"),
        Float("lambda_A", min=0.0, max=1e9, help="price of abstention ($ per query handed to a human)"),
        Choice("big_model", list(MODELS), "M_big of the cascades"),
        StrList("small_models", choices=list(MODELS), min_length=1, help="M_small candidates"),
        Prob("train_frac", open=True, help="share of queries used to choose the threshold"),
        Float("threshold_quantile_step", min=0.0, max=0.5, strict_min=True,
              help="candidate thresholds = training quantiles at this step (App. 3D: 0.025)"),
        Int("n_split_repeats", min=1, max=10_000, help="random train/test splits of the cascade analysis"),
        FloatList("verification_quality", min=-1.0, max=1.0, min_length=1,
                  help="assumed correlation of each small model's simulated P(True) with its correctness"),
        FloatList("placeholder_gpt41", length=3, min=0.0, max=1e6,
                  help="ASSUMED GPT-4.1 level-5 error rate, output tokens, latency (s): not published"),
        FloatList("placeholder_llama70", length=3, min=0.0, max=1e6,
                  help="ASSUMED Llama3.3 70B level-5 error rate, output tokens, latency (s): not published"),
        Prob("difficulty_loading", help="weight of the shared latent difficulty in every simulated error score"),
        Float("n_input_tokens_mean", min=1.0, max=1e6, help="prompt length in tokens (implied by Table 4.1's costs)"),
        Bool("include_verification_cost", "add the P(True) call's cost and latency to M_small"),
        Bool("interactive", "build the ipywidgets explorer in a live session"),
        ResultsDir("results_dir"),
    ],
    checks=[_lambdas, _cascades, _placeholders],
    guards=[
        Guard("n_lambda_E × len(lambda_L_per_min) × n_split_repeats × len(small_models)", _grid_cells, MAX_GRID_CELLS,
              unit="price-grid cells", advice="use fewer prices or split repeats"),
        Guard("n_queries × 6 models", _log_rows, MAX_LOG_ROWS, unit="simulated rows", advice="lower n_queries"),
    ],
)

__all__ = ["SCHEMA", "MAX_GRID_CELLS", "MAX_LOG_ROWS", "REASONING", "NON_REASONING"]
