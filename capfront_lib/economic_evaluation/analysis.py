"""Chapter-level analyses built from the reward and cascade functions (what the notebook calls).

Each function returns plain dicts / DataFrames of numbers; figures are drawn in :mod:`.plots`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation import cascade as cc
from capfront_lib.economic_evaluation import reward as rw


def crossover_matrix(table: pd.DataFrame, lam_L: float = 0.0) -> pd.DataFrame:
    """``M[a, b]`` = price of error at which model ``a`` overtakes ``b`` (:func:`reward.pairwise_crossover`)."""
    ids = list(table.index)
    out = pd.DataFrame(np.nan, index=ids, columns=ids)
    for a in ids:
        for b in ids:
            if a != b:
                ra, rb = table.loc[a], table.loc[b]
                out.loc[a, b] = rw.pairwise_crossover(ra.cost_usd, ra.error_rate, rb.cost_usd, rb.error_rate,
                                                      ra.latency_s, rb.latency_s, lam_L)
    return out


def critical_lambda_class(lam_E: np.ndarray, best_class: np.ndarray, cls: str = "reasoning") -> float:
    """Smallest grid ``lam_E`` above which the optimal model belongs to ``cls`` at every larger grid value
    (the "reasoning models are optimal for lam_E > $10" reading of Fig. 3.4). ``inf`` if not at the top."""
    wins = np.asarray(best_class) == cls
    if not wins[-1]:
        return float("inf")
    losing = np.where(~wins)[0]
    return float(lam_E[0] if len(losing) == 0 else lam_E[losing[-1] + 1])


def standalone_analysis(table: pd.DataFrame, lam_E: Sequence[float], lam_L_per_min: Sequence[float]) -> dict:
    """Figs 3.3/3.4 quantities from a table of means: reward grid, optimal models, crossovers per ``lam_L``.

    Returns ``R`` (models x lam_E x lam_L), ``best`` (index grid), ``sensitivity`` (labels, rows = lam_L),
    and per-``lam_L`` tables of the category-average crossover (spec 5.1a), the best-vs-best switch
    (5.1b, exact) and the decade-grid critical ``lam_E`` above which a reasoning model stays optimal.
    """
    lE = np.asarray(lam_E, float)
    lLm = np.asarray(lam_L_per_min, float)
    lL = rw.per_minute_to_per_second(lLm)
    R = rw.reward_grid(table, lE, lL)
    best = rw.optimal_choice(R, axis=0)
    cls = table["model_class"].to_numpy()
    rows = []
    for j, (m, s) in enumerate(zip(lLm, lL)):
        iv = rw.optimal_intervals(table.cost_usd.to_numpy(float), table.error_rate.to_numpy(float),
                                  table.latency_s.to_numpy(float), s)
        has_both = (cls == "reasoning").any() and (cls == "non-reasoning").any()
        rows.append({
            "lam_L_per_min": float(m),
            "category_crossover": rw.category_crossover(table, s) if has_both else float("nan"),
            "best_vs_best_switch": rw.first_lambda_where(table, "model_class", "reasoning", s),
            "critical_lam_E_grid": critical_lambda_class(lE, cls[best[:, j]]),
            "optimal_sequence": " -> ".join(str(table.iloc[k]["display_name"]) for k, _, _ in iv),
        })
    return {"R": R, "best": best, "lam_E": lE, "lam_L_per_min": lLm,
            "sensitivity": rw.sensitivity_table(table, lE, lLm), "crossovers": pd.DataFrame(rows)}


def cascade_analysis(data: cc.CascadeData, lam_E: Sequence[float], lam_L_per_min: Sequence[float], *,
                     train_frac: float = 0.5, step: float = 0.025, rng: np.random.Generator | int = 0,
                     n_split_repeats: int = 1) -> dict:
    """Fig. 3.5/3.6 quantities for one ``M_small -> M_big`` pair.

    Splits the queries (App. 3D), fits ``t*(lam)`` on train, evaluates on test; with ``n_split_repeats > 1``
    repeats with fresh random splits (extension) and reports the mean and sd of the critical ``lam_E``.
    Also returns CER/cost/latency/error curves over the quantile thresholds of the full data and the
    Theorem-5 decomposition at every threshold.
    """
    rng = np.random.default_rng(rng)
    lE = np.asarray(lam_E, float)
    lLm = np.asarray(lam_L_per_min, float)
    lL = rw.per_minute_to_per_second(lLm)
    if n_split_repeats < 1:
        raise ValueError("n_split_repeats must be >= 1")
    splits = []
    for _ in range(n_split_repeats):
        tr, te = cc.split_indices(data.n, train_frac, rng)
        res = cc.evaluate_cascade(data.subset(tr), data.subset(te), lE, lL, step)
        crit = [cc.critical_lambda(lE, res["big_test_reward"][:, j], res["test_reward"][:, j]) for j in range(len(lL))]
        splits.append({"res": res, "critical": np.array(crit), "train_idx": tr, "test_idx": te})
    first = splits[0]
    levels, thr = cc.candidate_thresholds(data.p, step)
    cur = cc.reward_curves(data, thr, [0.0], [0.0])
    decomp = []
    for lv, t in zip(levels, thr):
        d = cc.deferral(data.p, t)
        dec = cc.cascade_error_decomposition(d, data.err_small, data.err_big)
        dec.update(level=float(lv), threshold=float(t),
                   oracle_bound=float(cc.cer_oracle_bound(dec["deferral_rate"], dec["e_small"])))
        decomp.append(dec)
    crit_all = np.array([s["critical"] for s in splits])
    return {
        "first_split": first["res"], "critical": first["critical"],
        "train_idx": first["train_idx"], "test_idx": first["test_idx"],
        "critical_all_splits": crit_all,
        "curves": pd.DataFrame({"level": levels, "threshold": thr, "deferral_rate": cur["deferral_rate"],
                                "error": cur["error"], "cost": cur["cost"], "latency": cur["latency"]}),
        "decomposition": pd.DataFrame(decomp),
        "lam_E": lE, "lam_L_per_min": lLm,
    }


def random_deferral_cer(err_small, deferral_rates: Sequence[float], rng: np.random.Generator | int,
                        n_draws: int = 200) -> np.ndarray:
    """Monte Carlo CER of *random* deferral at each rate (baseline of Fig. 3.6a): mean over ``n_draws``
    random subsets of exactly ``round(p_d n)`` queries. The number of small-model errors among them is
    hypergeometric with mean ``k e_s``, so the expected CER is exactly 0; the draws show its spread."""
    rng = np.random.default_rng(rng)
    es = np.asarray(err_small, float)
    n = len(es)
    out = []
    for r in deferral_rates:
        k = int(round(r * n))
        # number of small-model errors among k random queries ~ hypergeometric
        hits = rng.hypergeometric(int(es.sum()), n - int(es.sum()), k, size=n_draws) if 0 < k < n else np.full(n_draws, es.sum() * k / n)
        out.append(float(np.mean(hits / n - (k / n) * es.mean())))
    return np.array(out)


def cascade_suite(log: pd.DataFrame, big: str, smalls: Sequence[str], lam_E: Sequence[float],
                  lam_L_per_min: Sequence[float], *, train_frac: float = 0.5, step: float = 0.025, seed: int = 0,
                  n_split_repeats: int = 1, include_verification_cost: bool = False,
                  names: dict[str, str] | None = None) -> dict[str, dict]:
    """Figs 3.5/3.6 for every ``small -> big`` pair of a per-query log (App. 3D protocol).

    ``log``: per-query frame with ``query_id, model, error (or correct), cost_usd, latency_s, p_true`` (the
    simulator's output or :func:`tables.frame_from_evallog`). Small models without ``p_true`` are skipped. Each pair
    gets its own split stream ``default_rng([seed, k])``. Returns ``{display name: {"model", "data", "query_ids",
    "analysis" (:func:`cascade_analysis`), "random_cer"}}``.
    """
    from capfront_lib.economic_evaluation.simulate import cascade_data_from_log

    out: dict[str, dict] = {}
    present = set(log["model"])
    if big not in present:
        return out
    for k, sm in enumerate(smalls):
        if sm not in present or log.loc[log["model"] == sm, "p_true"].isna().all():
            continue
        cd, qids = cascade_data_from_log(log, sm, big, include_verification_cost=include_verification_cost,
                                         return_ids=True)
        ca = cascade_analysis(cd, lam_E, lam_L_per_min, train_frac=train_frac, step=step,
                              rng=np.random.default_rng([seed, k]), n_split_repeats=n_split_repeats)
        name = (names or {}).get(sm, sm)
        out[name] = {"model": sm, "data": cd, "query_ids": qids, "analysis": ca,
                     "random_cer": random_deferral_cer(cd.err_small, ca["decomposition"].deferral_rate, seed)}
    return out


def critical_table(suite: dict[str, dict], lam_L_per_min: Sequence[float]) -> pd.DataFrame:
    """Per small model and price of latency: the critical price of error of the first split (App. 3D, spec 5.12),
    and over all splits the median and the share of splits in which the cascade still wins at the largest price."""
    rows = []
    for name, s in suite.items():
        ca = s["analysis"]
        allc = ca["critical_all_splits"]
        for j, v in enumerate(lam_L_per_min):
            col = allc[:, j]
            rows.append({"small model": name, "λ_L ($/min)": float(v), "critical λ_E ($), first split": float(ca["critical"][j]),
                         "median over splits ($)": float(np.median(col)),
                         "splits where the cascade wins at the largest λ_E": float(np.mean(~np.isfinite(col))),
                         "n splits": int(col.size)})
    return pd.DataFrame(rows)
