"""Chapter-level analyses built from the metric and system functions: the Table 4.2 analogue, calibration summary,
and the price-of-review (economic) lens that reuses the economic-evaluation chapter's expected reward.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation.reward import expected_reward, per_minute_to_per_second
from capfront_lib.human_in_the_loop.metrics import auarc
from capfront_lib.human_in_the_loop.systems import PairData, ffa_curve, naive_delta_pct

__all__ = ["system_curves", "table_4_2_analogue", "calibration_metrics", "CALIBRATION_TARGETS", "reward_surface",
           "drag_controls", "replicate_tables"]


def system_curves(pairs: Mapping[str, PairData], utilizations: Sequence[float], rates) -> dict[tuple[str, float], dict]:
    """:func:`ffa_curve` for every reasoning model (key of ``pairs``) and utilisation (``u = 0`` is Ask)."""
    return {(m, float(u)): ffa_curve(d, float(u), rates) for m, d in pairs.items() for u in utilizations}


def table_4_2_analogue(
    pairs: Mapping[str, PairData],
    utilizations: Sequence[float],
    rates,
    report_rejection_rate: float = 0.10,
    curves: Mapping[tuple[str, float], dict] | None = None,
) -> pd.DataFrame:
    """One row per (M_r, u): AUARC, relative Δ vs Ask (u = 0), ΔL/ΔC in % (mean over the rate grid and at
    ``report_rejection_rate``), the naive ΔL/ΔC of eq. (4.2) and the drag factors ``D_L``, ``D_C`` (grid means).

    The base (Ask) latency and cost are M_r's mean latency and cost; the FFA means include M_nr on every query.
    """
    rates = np.asarray(rates, float)
    if curves is None:
        curves = system_curves(pairs, sorted({0.0, *map(float, utilizations)}), rates)
    rows = []
    for m, d in pairs.items():
        base = curves.get((m, 0.0)) or ffa_curve(d, 0.0, rates)
        base_auarc = auarc(base["accuracy"])
        Lr, Cr = d.latency_r.mean(), d.cost_r.mean()
        Lnr, Cnr = d.latency_nr.mean(), d.cost_nr.mean()
        for u in utilizations:
            u = float(u)
            cur = curves.get((m, u)) or ffa_curve(d, u, rates)
            at = ffa_curve(d, u, [report_rejection_rate])
            a = auarc(cur["accuracy"])
            rows.append({
                "model": m,
                "u": u,
                "base_auarc": base_auarc,
                "auarc": a,
                "delta_auarc_pct": 100 * (a - base_auarc) / base_auarc,
                "dL_pct": 100 * (cur["mean_latency"].mean() / Lr - 1),
                "dC_pct": 100 * (cur["mean_cost"].mean() / Cr - 1),
                "dL_pct_at_report": 100 * (at["mean_latency"][0] / Lr - 1),
                "dC_pct_at_report": 100 * (at["mean_cost"][0] / Cr - 1),
                "naive_dL_pct": float(naive_delta_pct(Lr, Lnr, u)),
                "naive_dC_pct": float(naive_delta_pct(Cr, Cnr, u)),
                "D_L": float(np.nanmean(cur["drag_latency"])) if u < 1 else np.nan,
                "D_C": float(np.nanmean(cur["drag_cost"])) if u < 1 else np.nan,
            })
    return pd.DataFrame(rows)


#: Calibration targets of the simulator (spec §4.2): published summaries the frozen parameters must match.
CALIBRATION_TARGETS = {
    "base_auarc": {"qwen3-235b-a22b": 0.99, "deepseek-r1-0528": 0.96, "o3-2025-04-16": 0.96},
    "base_auarc_tol": 0.01,
    "qwen3_error_at_7.5": 0.01,
    "r1_error_at_20": (0.03, 0.01),
    "o3_gain_max": 0.005,
    "ffa_auarc_tol": 0.02,
    "drag_tol": 0.1,
}


def calibration_metrics(logs: Iterable[pd.DataFrame], rates, utilizations=(0.5, 0.6, 0.75),
                        reasoning_models: Sequence[str] | None = None) -> pd.DataFrame:
    """Average over simulated ``logs`` (e.g. one per seed) of the calibration quantities per M_r and utilisation.

    Columns: ``model, u, auarc, A0, E_7.5, E_20, D_L, D_C, gain`` (``gain`` = AUARC − A(0)); ``u = 0`` is Ask.
    """
    from capfront_lib.human_in_the_loop.sim import pair  # local import: sim imports the published tables

    rates = np.asarray(rates, float)
    i75 = int(np.argmin(np.abs(rates - 0.075)))
    i20 = int(np.argmin(np.abs(rates - 0.20)))
    recs = []
    for s, log in enumerate(logs):
        models = reasoning_models or [m for m in pd.unique(log["model"]) if log.loc[log["model"] == m, "p_true"].isna().all()]
        for m in models:
            d = pair(log, m)
            for u in (0.0, *utilizations):
                c = ffa_curve(d, u, rates)
                recs.append({"seed": s, "model": m, "u": u, "auarc": auarc(c["accuracy"]), "A0": c["accuracy"][0],
                             "E_7.5": 1 - c["accuracy"][i75], "E_20": 1 - c["accuracy"][i20],
                             "D_L": float(np.nanmean(c["drag_latency"])), "D_C": float(np.nanmean(c["drag_cost"]))})
    df = pd.DataFrame(recs)
    out = df.groupby(["model", "u"], sort=False).mean(numeric_only=True).drop(columns="seed").reset_index()
    out["gain"] = out["auarc"] - out["A0"]
    return out


def reward_surface(pair_data: PairData, utilizations, rates, lambda_E: float, lambda_L_per_min: float,
                   lambda_A: float, human_error_rate: float = 0.0) -> dict[str, np.ndarray]:
    """Expected reward of FFA over a (u, r) grid with the economic chapter's reward (eqs. 3.9/3.12).

    ``R(u, r) = -(C̄ + λ_L L̄ + λ_E · (errors among answered + h · deferred) / n + λ_A · r_realised)`` — deferral to
    the human is an abstention priced at ``λ_A`` (price of human review); errors are counted per query (not
    conditionally), and ``h`` is an optional human error rate (0 in the thesis). Returns ``R`` (u x r) and the
    arg-max.
    """
    us = np.asarray(utilizations, float)
    rs = np.asarray(rates, float)
    lam_L = float(per_minute_to_per_second(lambda_L_per_min))
    R = np.empty((us.size, rs.size))
    for i, u in enumerate(us):
        c = ffa_curve(pair_data, float(u), rs)
        n_rej = pair_data.n - c["n_answered"]
        err_rate = (c["n_errors"] + human_error_rate * n_rej) / pair_data.n
        R[i] = expected_reward(c["mean_cost"], c["mean_latency"], err_rate, lambda_E, lam_L,
                               c["rejection_rate"], lambda_A)
    iu, ir = np.unravel_index(int(np.nanargmax(R)), R.shape)
    return {"R": R, "u": us, "r": rs, "best_u": float(us[iu]), "best_r": float(rs[ir]), "best_R": float(R[iu, ir])}


def drag_controls(models: Sequence[str], nonreasoning_model: str, n: int, seed: int, overrides: Mapping,
                  overlay, utilizations: Sequence[float], rates, ptrue_quality: Sequence[float] = ()) -> pd.DataFrame:
    """Simulated control runs of latency drag: the frozen calibration against trace length unrelated to difficulty
    and errors (``b_m = c_m = 0``). Per (setting, model, u): Spearman rho(p_true, L_r), the drag factor ``D_L`` (grid
    mean), the realised latency change and the naive eq. (4.2) change, both in %."""
    from scipy import stats

    from capfront_lib.human_in_the_loop.sim import knob_overrides, pair, simulate
    from capfront_lib.human_in_the_loop.systems import naive_delta_pct

    off = knob_overrides(token_difficulty_coupling={m: 0.0 for m in models}, token_error_shift={m: 0.0 for m in models},
                         ptrue_quality=ptrue_quality[0] if ptrue_quality else None, nonreasoning_model=nonreasoning_model)
    rows = []
    for label, ov in (("frozen calibration", dict(overrides)), ("b = 0, c = 0", {**dict(overrides), **off})):
        log = simulate(n, seed, ov, list(models), nonreasoning_model, overlay)
        for m in models:
            d = pair(log, m, nonreasoning_model)
            rho = float(stats.spearmanr(d.p_true, d.latency_r).statistic)
            for u in utilizations:
                c = ffa_curve(d, float(u), rates)
                rows.append({"setting": label, "model": m, "u": float(u), "Spearman ρ(p_true, L_r)": rho,
                             "D_L": float(np.nanmean(c["drag_latency"])),
                             "realised ΔL %": float(100 * (c["mean_latency"].mean() / d.latency_r.mean() - 1)),
                             "naive ΔL % (eq. 4.2)": float(naive_delta_pct(d.latency_r.mean(), d.latency_nr.mean(), u))})
    return pd.DataFrame(rows)


def _replicate(item: dict) -> pd.DataFrame:
    """One simulated replicate of the Table 4.2 analogue (module-level so that a Dask worker can run it)."""
    from capfront_lib.human_in_the_loop.sim import pair, simulate

    log = simulate(item["n"], item["seed"], item["overrides"], list(item["models"]), item["nr"], item["overlay"])
    pairs = {m: pair(log, m, item["nr"]) for m in item["models"]}
    return table_4_2_analogue(pairs, item["u_table"], item["rates"], item["report_r"]).assign(seed=item["seed"])


def replicate_tables(models: Sequence[str], nonreasoning_model: str, n: int, seeds: Iterable[int], overrides: Mapping,
                     overlay, u_table: Sequence[float], rates, report_rejection_rate: float) -> pd.DataFrame:
    """The Table 4.2 analogue on independent simulated data sets (one per seed), through
    :func:`capfront_lib.core.parallel.pmap` so that ``--dask-local`` runs them on a cluster."""
    from capfront_lib.core.parallel import pmap

    items = [{"seed": int(s), "n": int(n), "overrides": dict(overrides), "models": list(models), "nr": nonreasoning_model,
              "overlay": overlay, "u_table": list(u_table), "rates": np.asarray(rates), "report_r": report_rejection_rate}
             for s in seeds]
    if not items:
        return pd.DataFrame()
    return pd.concat(pmap(_replicate, items, desc="replicates"), ignore_index=True)
