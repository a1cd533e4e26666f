"""Simulator of per-query joint outcomes consistent with the published level-5 means (shared with ch. 4).

The authors' per-query MATH data are not public. This generator produces a long per-query log
``query_id, level, model, correct, error, truncated, n_in, n_out, cost_usd, latency_s, p_true`` whose level-5
cells match Table 4.1 (and the flagged placeholders) *by construction*:

- latent difficulty ``z_q ~ N(0, 1)`` per query, shared by all models (same queries);
- error score ``s_qm = a_m z_q + sqrt(1 - a_m^2) eps_qm``; **exact-count calibration**: in each (level, model)
  cell the ``round(n * e_m * f_level)`` highest scores are errors (level 5: 14 / 29 / 19 / 153 of 500);
- output tokens ``log N_out = sigma_m (b_m z_q + c_m err_qm + sqrt(1 - b_m^2) xi_qm)``, rescaled so the cell mean
  equals ``tokens_m * multiplier_level``; optional per-model cap (Llama3.3 70B: 5,000) -- truncated outputs
  count as errors (spec 5.14);
- input tokens lognormal around ``n_input_tokens_mean``; cost = eq. (3.24) with Table 3C prices;
- latency ``= overhead + N_out / throughput_m * lognormal noise (mean 1)``; ``throughput_m`` is set on the
  calibration level so that its mean latency equals the anchor exactly;
- self-verification for non-reasoning models: ``logit p_true = beta0 + beta1 (rho_m (-s_qm) + sqrt(1-rho_m^2) zeta_q)``,
  ``rho_m`` = verification quality (assumed; not published).

Agreement of simulated means with published ones is true by construction, never evidence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation.tables import DATA_DIR

SIM_PARAMS_PATH = DATA_DIR / "sim_params.json"

LOG_COLUMNS = ("query_id", "level", "model", "correct", "error", "truncated", "n_in", "n_out", "cost_usd",
               "latency_s", "p_true")


def load_sim_params(path: str | Path | None = None) -> dict[str, Any]:
    """The frozen simulator parameters (``data/economic_evaluation/sim_params.json``), shared with ch. 4."""
    with open(Path(path) if path else SIM_PARAMS_PATH) as fh:
        params = json.load(fh)
    params.pop("_comment", None)
    return params


def _per_model(name: str, value, model: str, default=None) -> float | None:
    """A parameter that is either one number for all models or a {model: number} mapping."""
    if isinstance(value, Mapping):
        if model in value:
            return None if value[model] is None else float(value[model])
        if "default" in value:
            return None if value["default"] is None else float(value["default"])
        return default
    return None if value is None else float(value)


def _per_level(name: str, value: Mapping, level: int) -> float:
    for key in (level, str(level)):
        if key in value:
            return float(value[key])
    raise ValueError(f"sim parameter {name!r} has no entry for level {level}")


def simulate_outcomes(
    table: pd.DataFrame,
    n_per_level: int,
    rng: np.random.Generator | int,
    *,
    levels: Sequence[int] = (1, 3, 5),
    params: Mapping[str, Any] | None = None,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Simulate a per-query log for the models of ``table`` (module docstring gives the model).

    ``table``: a model table (:func:`~capfront_lib.economic_evaluation.tables.load_model_table`) with columns
    ``error_rate``, ``output_tokens``, ``latency_s``, ``price_in_per_mtok``, ``price_out_per_mtok``,
    ``model_class``; its values are the *calibration-level* anchors. ``params`` overrides entries of
    :func:`load_sim_params`. ``rng``: a Generator or a seed. Returns a long DataFrame with columns
    :data:`LOG_COLUMNS` (``p_true`` is NaN for reasoning models).
    """
    if isinstance(n_per_level, bool) or not isinstance(n_per_level, (int, np.integer)) or n_per_level < 2:
        raise ValueError(f"n_per_level must be an integer >= 2, got {n_per_level!r}")
    rng = np.random.default_rng(rng)
    p = load_sim_params()
    if params:
        unknown = set(params) - set(p)
        if unknown:
            raise ValueError(f"params: unknown simulator parameters {sorted(unknown)}; known: {sorted(p)}")
        p.update(params)
    levels = [int(l) for l in levels]
    if len(levels) == 0 or len(set(levels)) != len(levels):
        raise ValueError(f"levels must be distinct and non-empty, got {levels}")
    models = list(table.index if models is None else models)
    missing = [m for m in models if m not in table.index]
    if missing:
        raise ValueError(f"models not in the model table: {missing}")
    need = ("error_rate", "output_tokens", "latency_s", "price_in_per_mtok", "price_out_per_mtok", "model_class")
    lack = [c for c in need if c not in table.columns]
    if lack:
        raise ValueError(f"model table lacks columns {lack}")
    cal_level = int(p["calibration_level"])
    overhead = float(p["latency_overhead_s"])
    n = int(n_per_level)

    frames = []
    # latent difficulty and input tokens: one draw per query, shared by all models
    z = {lv: rng.standard_normal(n) for lv in levels}
    s_in = float(p["input_token_sigma"])
    n_in = {}
    for lv in levels:
        x = np.exp(s_in * rng.standard_normal(n))
        n_in[lv] = np.maximum(1, np.round(float(p["n_input_tokens_mean"]) * x / x.mean())).astype(int)
    throughput: dict[str, float] = {}
    sim: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for m in models:
        row = table.loc[m]
        a = _per_model("difficulty_loading", p["difficulty_loading"], m)
        sig = _per_model("token_sigma", p["token_sigma"], m)
        b = _per_model("token_difficulty_coupling", p["token_difficulty_coupling"], m)
        c = _per_model("token_error_shift", p["token_error_shift"], m)
        cap = _per_model("token_cap", p.get("token_cap", {}), m, default=None)
        for name, v in (("difficulty_loading", a), ("token_difficulty_coupling", b)):
            if not -1 <= v <= 1:
                raise ValueError(f"sim parameter {name!r} for {m} must be in [-1, 1], got {v}")
        for lv in levels:
            eps = rng.standard_normal(n)
            s = a * z[lv] + np.sqrt(1 - a * a) * eps
            e_rate = min(1.0, float(row["error_rate"]) * _per_level("level_error_factor", p["level_error_factor"], lv))
            k = int(round(n * e_rate))
            err = np.zeros(n)
            if k > 0:
                err[np.argsort(-s, kind="stable")[:k]] = 1.0
            xi = rng.standard_normal(n)
            logt = sig * (b * z[lv] + c * err + np.sqrt(1 - b * b) * xi)
            w = np.exp(logt - logt.max())
            target = float(row["output_tokens"]) * _per_level("level_token_multiplier", p["level_token_multiplier"], lv)
            n_out = np.maximum(1, np.round(target * w / w.mean())).astype(int)
            trunc = np.zeros(n, dtype=bool)
            if cap is not None:
                trunc = n_out > cap
                n_out = np.minimum(n_out, int(cap))
                err = np.maximum(err, trunc.astype(float))
            noise = np.exp(float(p["latency_noise_sigma"]) * rng.standard_normal(n)
                           - 0.5 * float(p["latency_noise_sigma"]) ** 2)
            sim[(lv, m)] = {"s": s, "err": err, "n_out": n_out, "trunc": trunc, "noise": noise}
        # throughput calibrated on the calibration level (exact mean latency there)
        L_anchor = float(row["latency_s"])
        if L_anchor <= overhead:
            raise ValueError(f"latency_s of {m} ({L_anchor}) must exceed latency_overhead_s ({overhead})")
        if cal_level in levels:
            d = sim[(cal_level, m)]
            throughput[m] = float(np.sum(d["n_out"] * d["noise"]) / (n * (L_anchor - overhead)))
        else:
            throughput[m] = float(row["output_tokens"]) / (L_anchor - overhead)

    beta0, beta1 = float(p["ptrue_beta0"]), float(p["ptrue_beta1"])
    for lv in levels:
        ids = np.array([f"L{lv}-{i:05d}" for i in range(n)])
        for m in models:
            row = table.loc[m]
            d = sim[(lv, m)]
            cost = (n_in[lv] * float(row["price_in_per_mtok"]) + d["n_out"] * float(row["price_out_per_mtok"])) / 1e6
            lat = overhead + d["n_out"] / throughput[m] * d["noise"]
            rho = _per_model("verification_quality", p["verification_quality"], m, default=None)
            if row["model_class"] == "reasoning" or rho is None:
                pt = np.full(n, np.nan)
            else:
                if not -1 <= rho <= 1:
                    raise ValueError(f"verification_quality for {m} must be in [-1, 1], got {rho}")
                zeta = rng.standard_normal(n)
                pt = 1 / (1 + np.exp(-(beta0 + beta1 * (rho * (-d["s"]) + np.sqrt(1 - rho * rho) * zeta))))
            frames.append(pd.DataFrame({
                "query_id": ids, "level": lv, "model": m, "correct": (1 - d["err"]).astype(int),
                "error": d["err"].astype(int), "truncated": d["trunc"], "n_in": n_in[lv], "n_out": d["n_out"],
                "cost_usd": cost, "latency_s": lat, "p_true": pt}))
    return pd.concat(frames, ignore_index=True)[list(LOG_COLUMNS)]


def cascade_data_from_log(log: pd.DataFrame, small: str, big: str, *, level: int | None = None,
                          include_verification_cost: bool = False, verification_tokens: int = 1,
                          return_ids: bool = False):
    """Join a per-query log into :class:`~capfront_lib.economic_evaluation.cascade.CascadeData` for ``small -> big``.

    ``log`` needs ``query_id, model, error (or correct), cost_usd, latency_s`` and ``p_true`` for ``small``.
    ``include_verification_cost`` adds the P(True) re-prompt to M_small: input = its prompt + answer tokens,
    ``verification_tokens`` output tokens, priced with Table 3C, and a latency of one more prefill
    (approximated by the overhead). Excluded by default (spec 5.8: Table 4.1 costs exclude it).
    ``return_ids=True`` returns ``(data, query_ids)`` with the query ids in the data's order.
    """
    from capfront_lib.economic_evaluation.cascade import CascadeData

    d = log if level is None else log[log["level"] == level]
    if "error" not in d.columns:
        d = d.assign(error=1 - d["correct"].astype(int))
    a = d[d["model"] == small].set_index("query_id")
    b = d[d["model"] == big].set_index("query_id")
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"log has no rows for model {small if len(a) == 0 else big!r}")
    common = a.index.intersection(b.index)
    if len(common) != len(a) or len(common) != len(b):
        raise ValueError(f"models {small!r} and {big!r} must answer the same queries "
                         f"({len(a)} vs {len(b)}, {len(common)} shared)")
    a, b = a.loc[common], b.loc[common]
    if a["p_true"].isna().any():
        raise ValueError(f"p_true is missing for the small model {small!r}")
    cost_s = a["cost_usd"].to_numpy(float)
    lat_s = a["latency_s"].to_numpy(float)
    if include_verification_cost:
        from capfront_lib.economic_evaluation.tables import load_prices

        pr = load_prices().set_index("model").loc[small]
        n_in = (a["n_in"] + a["n_out"]).to_numpy(float)
        cost_s = cost_s + (n_in * pr["price_in_per_mtok"] + verification_tokens * pr["price_out_per_mtok"]) / 1e6
        lat_s = lat_s + float(load_sim_params()["latency_overhead_s"])
    data = CascadeData(p=a["p_true"].to_numpy(float), err_small=a["error"].to_numpy(float),
                       err_big=b["error"].to_numpy(float), cost_small=cost_s, cost_big=b["cost_usd"].to_numpy(float),
                       lat_small=lat_s, lat_big=b["latency_s"].to_numpy(float))
    return (data, common.to_numpy()) if return_ids else data
