"""Simulated level-5 per-query data for the human-in-the-loop systems, on the economic chapter's simulator.

The thesis's per-query MATH data are not public. This module draws them with the simulator shared with ch. 3,
:func:`capfront_lib.economic_evaluation.simulate.simulate_outcomes` (latent difficulty ``z``, exact-count errors,
trace length ``log N_out = sigma_m (b_m z + c_m err + sqrt(1-b_m^2) xi)``, latency from tokens, cost from Table 3C
prices, ``logit p_true = beta0 + beta1 (rho (-s) + sqrt(1-rho^2) zeta)``), level 5 only, with Table 4.1's means as
anchors. Chapter 4 needs knobs that ch. 3 leaves at common defaults: per-model trace-length coupling ``b_m``, error
shift ``c_m``, spread ``sigma_m``, difficulty loading ``a_m`` and Llama3.1 405B's P(True) quality ``rho``. They are
frozen in an *overlay* file, ``data/human_in_the_loop/sim_params.json``, merged over the shared file model by
model; everything the overlay does not name is the shared value.

Knob names of the chapter (spec) and of the shared simulator:

=============================  ==========================================
chapter parameter              shared simulator key
=============================  ==========================================
``error_difficulty_loading``   ``difficulty_loading`` (per model)
``token_difficulty_coupling``  ``token_difficulty_coupling`` (per model)
``token_error_shift``          ``token_error_shift`` (per model)
``token_log_sd``               ``token_sigma`` (per model)
``ptrue_quality``              ``verification_quality`` of M_nr
=============================  ==========================================

Agreement of the calibrated simulator with published summaries is true by construction, never evidence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation.simulate import load_sim_params as load_shared_params
from capfront_lib.economic_evaluation.simulate import simulate_outcomes
from capfront_lib.economic_evaluation.tables import load_model_table
from capfront_lib.human_in_the_loop.published import DATA_DIR, NONREASONING_MODEL, REASONING_MODELS
from capfront_lib.human_in_the_loop.systems import PairData

__all__ = ["SIM_PARAMS_PATH", "KNOBS", "load_overlay", "merge_params", "knob_overrides", "effective_params", "load_outcome_log",
           "simulate", "pair", "LOG_COLUMNS"]

SIM_PARAMS_PATH = DATA_DIR / "sim_params.json"
LOG_COLUMNS = ("query_id", "model", "correct", "n_in", "n_out", "latency_s", "cost_usd", "p_true")
#: chapter parameter name -> shared simulator key
KNOBS = {
    "error_difficulty_loading": "difficulty_loading",
    "token_difficulty_coupling": "token_difficulty_coupling",
    "token_error_shift": "token_error_shift",
    "token_log_sd": "token_sigma",
}


def load_overlay(path: str | Path | None = None) -> dict[str, Any]:
    """The chapter's frozen overlay of simulator parameters (keys of the shared file; ``_``-keys are comments)."""
    p = Path(path) if path else SIM_PARAMS_PATH
    if not p.is_file():
        raise FileNotFoundError(f"simulator parameter overlay {p} does not exist")
    raw = json.loads(p.read_text())
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def merge_params(base: Mapping[str, Any], *overlays: Mapping[str, Any]) -> dict[str, Any]:
    """Merge overlays into ``base``: per-model mappings merge model by model (a scalar base becomes ``default``)."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for ov in overlays:
        for k, v in (ov or {}).items():
            if k not in out:
                raise ValueError(f"unknown simulator parameter {k!r}; known: {sorted(out)}")
            if isinstance(v, Mapping):
                cur = out[k]
                cur = dict(cur) if isinstance(cur, Mapping) else {"default": cur}
                cur.update(v)
                out[k] = cur
            else:
                out[k] = v
    return out


def knob_overrides(
    error_difficulty_loading: Mapping[str, float] | None = None,
    token_difficulty_coupling: Mapping[str, float] | None = None,
    token_error_shift: Mapping[str, float] | None = None,
    token_log_sd: Mapping[str, float] | None = None,
    ptrue_quality: float | None = None,
    nonreasoning_model: str = NONREASONING_MODEL,
) -> dict[str, Any]:
    """Translate the chapter's knob parameters (spec §4.1) into shared-simulator overrides, validating ranges."""
    out: dict[str, Any] = {}
    for name, val, lo, hi in (("error_difficulty_loading", error_difficulty_loading, 0.0, 1.0),
                              ("token_difficulty_coupling", token_difficulty_coupling, 0.0, 1.0),
                              ("token_error_shift", token_error_shift, -10.0, 10.0),
                              ("token_log_sd", token_log_sd, 0.0, 5.0)):
        if not val:
            continue
        if not isinstance(val, Mapping):
            raise ValueError(f"parameter {name!r} must be a {{model id: number}} mapping, got {val!r}")
        for m, v in val.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= float(v) <= hi):
                raise ValueError(f"parameter {name!r}[{m!r}] must be a number in [{lo}, {hi}], got {v!r}")
        out[KNOBS[name]] = {str(m): float(v) for m, v in val.items()}
    if ptrue_quality is not None:
        if isinstance(ptrue_quality, bool) or not (0.0 <= float(ptrue_quality) <= 1.0):
            raise ValueError(f"parameter 'ptrue_quality' must be in [0, 1], got {ptrue_quality!r}")
        out["verification_quality"] = {nonreasoning_model: float(ptrue_quality)}
    return out


def effective_params(overrides: Mapping[str, Any] | None = None, overlay_path: str | Path | None = None) -> dict:
    """Shared parameters, then the chapter overlay, then ``overrides`` (all merged model by model)."""
    return merge_params(load_shared_params(), load_overlay(overlay_path), overrides or {})


def simulate(
    n: int,
    seed: int | np.random.Generator = 0,
    overrides: Mapping[str, Any] | None = None,
    reasoning_models: Sequence[str] = REASONING_MODELS,
    nonreasoning_model: str = NONREASONING_MODEL,
    overlay_path: str | Path | None = None,
) -> pd.DataFrame:
    """``n`` simulated level-5 queries answered by every model: a long log with :data:`LOG_COLUMNS`.

    Means are pinned to Table 4.1 by the shared simulator (error counts exactly ``round(n e_m)``, mean latency exact,
    mean output tokens up to integer rounding); ``p_true`` is filled for the non-reasoning model only.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n (number of simulated queries) must be an integer >= 2, got {n!r}")
    models = list(reasoning_models) + [nonreasoning_model]
    table = load_model_table(include_placeholders=False)
    unknown = [m for m in models if m not in table.index]
    if unknown:
        raise ValueError(f"models without published level-5 means (Table 4.1): {unknown}")
    params = effective_params(overrides, overlay_path)
    log = simulate_outcomes(table, int(n), seed, levels=(5,), params=params, models=models)
    return log[list(LOG_COLUMNS)].astype({"correct": float, "n_out": float, "n_in": float})


def pair(log: pd.DataFrame, reasoning_model: str, nonreasoning_model: str = NONREASONING_MODEL) -> PairData:
    """The (M_nr, M_r) arrays of a per-query log, see :meth:`PairData.from_log`."""
    return PairData.from_log(log, reasoning_model, nonreasoning_model)


def load_outcome_log(path: str | Path) -> pd.DataFrame:
    """Read a user's per-query log (CSV/parquet) with columns ``query_id, model, correct, n_out, latency_s,
    cost_usd, p_true`` and validate it with the core's long-form loader (binary ``correct``, non-negative
    ``n_out``/latency/cost, no duplicated (query, model) rows); ``p_true`` must lie in [0, 1] where given."""
    from capfront_lib.core.evallog import from_long

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"outcome log {p} does not exist")
    df = pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq") else pd.read_csv(p, dtype={"query_id": str})
    need = ("query_id", "model", "correct", "n_out", "latency_s", "cost_usd", "p_true")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{p}: outcome log is missing columns {missing}; needs {list(need)}")
    from_long(df.rename(columns={"n_out": "output_tokens", "p_true": "confidence"}), source=str(p),
              missing="keep_partial")
    pt = pd.to_numeric(df["p_true"], errors="coerce")
    bad = pt.notna() & ((pt < 0) | (pt > 1))
    if bad.any():
        raise ValueError(f"{p}: column 'p_true' must lie in [0, 1]; offending rows {list(df.index[bad][:5])}")
    df = df.copy()
    df["query_id"] = df["query_id"].astype(str)
    for c in ("correct", "n_out", "latency_s", "cost_usd", "p_true"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def knobs_from_lists(reasoning_models: Sequence[str], error_difficulty_loading: Sequence[float] = (),
                     token_difficulty_coupling: Sequence[float] = (), token_error_shift: Sequence[float] = (),
                     ptrue_quality: Sequence[float] = (), nonreasoning_model: str = NONREASONING_MODEL) -> dict[str, Any]:
    """The notebook's list parameters (one value per reasoning model, ``[]`` = frozen) -> simulator overrides."""
    def as_map(values):
        return dict(zip(reasoning_models, values)) if values else None

    return knob_overrides(as_map(error_difficulty_loading), as_map(token_difficulty_coupling),
                          as_map(token_error_shift), None, ptrue_quality[0] if ptrue_quality else None,
                          nonreasoning_model)
