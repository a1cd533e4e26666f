"""Typed parameter schema of the ``human_in_the_loop`` chapter (checked by the runner before a kernel starts).

Names equal the notebook's ``parameters`` cell (a test checks it); defaults live in the notebook. The simulator
knobs are lists aligned with ``reasoning_models``; an empty list keeps the frozen calibration.
"""

from __future__ import annotations

from typing import Any, Mapping

from capfront_lib.core.params import (
    Bool, Choice, Float, FloatList, Guard, InputPath, Int, Prob, ResultsDir, Schema, Seed, Str, StrList,
)

#: simulated cells kept in memory: queries x models x (1 + replicates), plus the control runs
MAX_SIM_CELLS = 20_000_000


def _grid(p: Mapping[str, Any]) -> str | None:
    k = p["rejection_max"] / p["rejection_step"]
    if abs(k - round(k)) > 1e-6:
        return (f"parameter 'rejection_max' ({p['rejection_max']:g}) must be a multiple of rejection_step "
                f"({p['rejection_step']:g})")
    if round(k) > 2000:
        return f"parameter 'rejection_step' gives {round(k) + 1} rejection rates; at most 2,001 are allowed"
    return None


def _models(p: Mapping[str, Any]) -> str | None:
    if len(set(p["reasoning_models"])) != len(p["reasoning_models"]):
        return f"parameter 'reasoning_models' must not repeat a model, got {p['reasoning_models']}"
    if p["nonreasoning_model"] in p["reasoning_models"]:
        return f"parameter 'nonreasoning_model' ({p['nonreasoning_model']}) cannot also be a reasoning model"
    return None


def _knobs(p: Mapping[str, Any]) -> str | None:
    n = len(p["reasoning_models"])
    for name in ("error_difficulty_loading", "token_difficulty_coupling", "token_error_shift"):
        if p[name] and len(p[name]) != n:
            return f"parameter {name!r} needs one value per reasoning model ({n}) or [] for the frozen calibration, got {len(p[name])}"
    return None


def _utilizations(p: Mapping[str, Any]) -> str | None:
    if len(set(p["utilizations"])) != len(p["utilizations"]):
        return f"parameter 'utilizations' must not repeat a value, got {p['utilizations']}"
    return None


def _cells(p: Mapping[str, Any]) -> float:
    k = len(p["reasoning_models"]) + 1
    return float(p["n_queries"]) * k * (1 + p["n_replicates"]) + 2.0 * p["n_control"] * k


SCHEMA = Schema(
    "human_in_the_loop",
    [
        Seed("seed", "random seed of the simulated data"),
        InputPath("outcomes_path", "your evaluation log (core long form with output_tokens / confidence); '' = simulated"),
        Choice("real_data", ["auto", "off"], "'auto': the public-data section when CAPFRONT_DATA_DIR is set"),
        Int("n_queries", min=20, max=2_000_000, help="simulated level-5 queries (the thesis's 500)"),
        Int("n_replicates", min=0, max=10_000, help="further simulated data sets for the sampling spread"),
        Int("n_control", min=200, max=2_000_000, help="queries of the simulated control runs (drag switched off)"),
        StrList("reasoning_models", min_length=1, help="reasoning models M_r"),
        Str("nonreasoning_model", "the non-reasoning model M_nr in front"),
        Prob("rejection_max", open=False, help="AUARC grid: rejection rates 0 ... rejection_max"),
        Float("rejection_step", min=0.0, max=1.0, strict_min=True, help="step of the rejection grid"),
        FloatList("utilizations", min=0.0, max=1.0, strict_max=True, min_length=1, help="utilisations u of the error curves"),
        InputPath("sim_params_path", "overlay of simulator parameters; '' = data/human_in_the_loop/sim_params.json"),
        FloatList("error_difficulty_loading", min=0.0, max=1.0, min_length=0, help="a_m per reasoning model; [] = frozen"),
        FloatList("token_difficulty_coupling", min=0.0, max=1.0, min_length=0, help="b_m per reasoning model; [] = frozen"),
        FloatList("token_error_shift", min=-10.0, max=10.0, min_length=0, help="c_m per reasoning model; [] = frozen"),
        FloatList("ptrue_quality", min=0.0, max=1.0, min_length=0, max_length=1, help="[rho] of M_nr's P(True); [] = frozen"),
        Float("llr_bandwidth", min=0.0, max=5.0, strict_min=True, help="kernel width of the Fig. 4.3 smoother (log10 units)"),
        Prob("report_rejection_rate", help="single rejection rate at which latency and cost changes are also reported"),
        Float("lambda_E", min=0.0, max=1e9, help="price of an error ($)"),
        Float("lambda_L_per_min", min=0.0, max=1e6, help="price of latency ($ per minute)"),
        Float("lambda_A", min=0.0, max=1e9, help="price of one human review ($)"),
        Prob("human_error_rate", help="the human's error rate on deferred queries (the thesis assumes 0)"),
        Int("n_bootstrap", min=100, max=1_000_000, help="bootstrap resamples of the public-data intervals"),
        Bool("interactive", "build the ipywidgets explorer in a live session"),
        ResultsDir("results_dir"),
    ],
    checks=[_grid, _models, _knobs, _utilizations],
    guards=[Guard("n_queries × models × (1 + n_replicates) + 2 × n_control × models", _cells, MAX_SIM_CELLS,
                  unit="simulated cells", advice="lower n_queries, n_replicates or n_control")],
)

__all__ = ["SCHEMA", "MAX_SIM_CELLS"]
