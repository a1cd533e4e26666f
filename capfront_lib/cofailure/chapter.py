"""Glue for the chapter notebook: load or simulate the pool, assemble tables from library results.

Small helpers so the notebook holds no algorithm longer than a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from capfront_lib.cofailure import pool as _pool
from capfront_lib.cofailure import theory
from capfront_lib.cofailure.copula import beta_sf, tetrachoric_from_p11
from capfront_lib.cofailure.report import coverage_filter, outcome_frame
from capfront_lib.cofailure.simulate import SimPool, sim_truth_beta, sim_truth_pairs, simulate_pool

__all__ = ["Pool", "pool_from_sim", "pool_from_files", "family_of", "synthetic_costs", "cert_row", "cascade_runs",
           "sim_truth_curve", "explorer_grid_data", "frechet_curve", "ceiling_check", "lemma1_check"]


@dataclass
class Pool:
    """The analysed pool: complete 0/1 matrix ``Y`` (m x n) and optional extras."""

    Y: np.ndarray
    names: list
    ids: np.ndarray
    source: str  # "simulated" | "public data" | "your log" (core.env.data_source)
    costs: np.ndarray
    families: np.ndarray
    preds: np.ndarray | None = None      # m x n answers (object or int), None if absent
    gold: np.ndarray | None = None
    categories: np.ndarray | None = None
    score: np.ndarray | None = None      # m x n confidence (higher = more sure), None if absent
    Ys: np.ndarray | None = None         # m x n x S multi-sample correctness (simulated only)
    kind: np.ndarray | None = None       # simulated atom labels
    sim: SimPool | None = None
    coverage: dict = field(default_factory=dict)


def family_of(names) -> np.ndarray:
    """Family label = name prefix before '/' (else before the first '-'); returned as integer codes."""
    pref = [n.split("/")[0] if "/" in n else n.split("-")[0] for n in names]
    return pd.factorize(pd.Series(pref))[0]


def synthetic_costs(acc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Synthetic USD per query, log-uniform in [2e-5, 2e-2] and rising with accuracy (rank order), with jitter."""
    ranks = np.argsort(np.argsort(acc))
    base = np.exp(np.log(2e-5) + (np.log(2e-2) - np.log(2e-5)) * ranks / max(len(acc) - 1, 1))
    return base * np.exp(0.3 * rng.standard_normal(len(acc)))


def pool_from_sim(rng: np.random.Generator, **kw) -> Pool:
    """Simulate the default pool (spec §4) and wrap it."""
    P = simulate_pool(rng, **kw)
    return Pool(Y=P.Y.astype(float), names=P.names, ids=np.arange(P.Y.shape[1]).astype(str), source="simulated",
                costs=P.costs, families=P.families, preds=P.preds, gold=P.gold, categories=None,
                score=P.margin, Ys=P.Ys, kind=P.kind, sim=P,
                coverage={"dropped_models": [], "n_dropped_queries": 0, "n_models_in": P.Y.shape[0], "n_queries_in": P.Y.shape[1],
                          "cost_source": "synthetic", "n_generations": 1})


def _wide(path: str, index: pd.Index | None = None) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"id": str}).set_index("id")
    return df if index is None else df.reindex(index)


def pool_from_files(outcomes_path: str, rng: np.random.Generator, *, min_model_coverage: float = 0.95,
                    items_path: str = "", preds_path: str = "", confidence_path: str = "", confidence_sign: int = -1,
                    costs_path: str = "", families: str = "auto") -> Pool:
    """Load an evaluation log (core loader: long or wide), apply the coverage rule, keep complete rows (spec §1).

    Optional columns of a long log are used when present: ``cost_usd`` (mean per model = price per query),
    ``confidence`` (the cascade score; higher = surer) or else ``output_tokens`` (negated: longer = less sure),
    ``category`` (query types). A wide items table (``items_path``: id, category, answer/gold) and wide tables of
    predicted answers (``preds_path``), confidences (``confidence_path``, times ``confidence_sign``) and a
    ``model,cost`` table (``costs_path``) may be given instead. Nothing is dropped silently: the coverage report
    lists dropped models and rows.
    """
    from capfront_lib.core.env import data_source
    from capfront_lib.core.evallog import load_log

    log = load_log(outcomes_path, missing="keep_partial", min_models=2,
                   items_path=items_path if _has_category(items_path) else None)
    # several generations per cell: the chapter analyses generation 0 (the certificate needs one answer per cell)
    df = outcome_frame(log) if log.n_generations == 1 else log.wide("correct", generation=0)
    n0, m0 = df.shape
    df, dropped = coverage_filter(df, min_model_coverage)
    df = df.loc[df.notna().all(axis=1)]
    if df.shape[1] < 3 or df.shape[0] < 10:
        raise ValueError(f"{outcomes_path}: after the coverage rule only {df.shape[1]} models x {df.shape[0]} complete rows "
                         f"remain (need >= 3 models and >= 10 rows); dropped models: {dropped}")
    names = [str(c) for c in df.columns]
    Y = df.to_numpy(float).T
    idx = df.index.astype(str)
    preds = gold = cats = score = None
    if log.categories is not None:
        cats = log.categories.reindex(idx).to_numpy(object)
    if preds_path:
        preds = _wide(preds_path, idx)[names].to_numpy(object).T
    if items_path:
        it = pd.read_csv(items_path, dtype={"id": str}).set_index("id").reindex(idx)
        gcol = next((c for c in ("answer", "gold", "gold_answer") if c in it.columns), None)
        gold = it[gcol].to_numpy(object) if gcol else None
        if cats is None and "category" in it.columns:
            cats = it["category"].to_numpy(object)
    sub = log.select(models=names, queries=list(idx))
    if confidence_path:
        score = confidence_sign * _wide(confidence_path, idx)[names].to_numpy(float).T
    elif sub.has("confidence"):
        score = sub.wide("confidence").to_numpy(float).T
    elif sub.has("output_tokens"):
        score = -sub.wide("output_tokens").to_numpy(float).T
    if score is not None and not np.all(np.isfinite(score)):
        score = None  # a partial confidence table cannot rank every query; the cascade section says so
    if costs_path:
        c = pd.read_csv(costs_path).set_index("model")["cost"].reindex(names)
        if c.isna().any():
            raise ValueError(f"{costs_path}: column 'cost' has no value for models {list(c.index[c.isna()])}")
        costs, cost_source = c.to_numpy(float), "costs_path"
    elif sub.has("cost_usd"):
        costs, cost_source = np.nanmean(sub.array("cost_usd")[:, :, 0], axis=0), "log"
    else:
        costs, cost_source = synthetic_costs(Y.mean(axis=1), rng), "synthetic"
    fam = family_of(names) if families == "auto" else np.zeros(len(names), int)
    return Pool(Y=Y, names=names, ids=np.asarray(idx), source=data_source(outcomes_path), costs=costs, families=fam,
                preds=preds, gold=gold, categories=cats, score=score,
                coverage={"dropped_models": dropped, "n_dropped_queries": int(n0 - df.shape[0]), "n_models_in": m0,
                          "n_queries_in": n0, "cost_source": cost_source, "n_generations": log.n_generations})


def _has_category(items_path: str) -> bool:
    """True when a wide items table exists and has a ``category`` column (the core loader then reads it)."""
    if not items_path:
        return False
    cols = pd.read_csv(items_path, nrows=0).columns
    return "id" in cols and "category" in cols


def ceiling_check(Y, accuracies) -> dict:
    """Prop. 1(i) on data: every given select-one policy's accuracy is <= 1 - beta_hat, and the oracle attains it.

    ``accuracies`` maps a policy family name to an array of accuracies of policies evaluated on ``Y``.
    """
    A = np.asarray(Y, float)
    beta = float(np.mean(A.sum(axis=0) == 0))
    oracle = float(np.mean(A.max(axis=0)))
    worst = {k: float(np.max(v)) for k, v in accuracies.items() if len(np.atleast_1d(v))}
    top = max(worst.values())
    return {"holds": bool(top <= 1 - beta + 1e-12 and abs(oracle - (1 - beta)) < 1e-15), "best_policy": top,
            "ceiling": 1 - beta, "by_family": worst}


def lemma1_check(Y) -> dict:
    """Lemma 1 on data (types = queries): G > 0 iff no model is right wherever any model is right."""
    A = np.asarray(Y, float)
    oracle = A.max(axis=0)
    dominant = bool(np.any(np.all(A >= oracle, axis=1)))
    G = float(oracle.mean() - A.mean(axis=1).max())
    return {"holds": bool((G > 0) == (not dominant) and G >= 0), "gain": G, "dominant_model": dominant}


def cert_row(name: str, K: int, n: int, correct, delta: float, overhead: float, tau: float, source: str) -> dict:
    """One row of cert_table.csv: beta with CP, point gain, certificate U, verdict, share s and regime."""
    correct = np.atleast_1d(np.asarray(correct, float))
    a_sb = correct.max() / n
    lo, hi = _pool.cp_interval(int(K), int(n), delta)
    c = _pool.certificate_bound(int(K), int(n), correct, delta)
    s, s_lo, s_hi = _pool.co_failure_share(int(K), int(n), a_sb, delta)
    lab, cert = _pool.regime(s, s_lo, s_hi, tau)
    return {"pool": name, "source": source, "K": int(K), "n": int(n), "m": len(correct), "beta": K / n, "beta_lo2": lo,
            "beta_hi2": hi, "beta_lo": c["beta_lo"], "a_sb": a_sb, "asb_lo": c["asb_lo"], "G": (1 - K / n) - a_sb,
            "U": c["U"], "verdict": "no policy in the class can pay" if c["U"] < overhead else "a policy could pay",
            "s": s, "s_lo": s_lo, "s_hi": s_hi, "regime": lab + (", certified" if cert else "")}


def _rank01(x: np.ndarray) -> np.ndarray:
    r = np.argsort(np.argsort(x, kind="stable"), kind="stable")
    return (r + 0.5) / len(x)


def cascade_runs(yL, yH, score, noise_levels, n_seeds: int, rng: np.random.Generator) -> pd.DataFrame:
    """Prop. 8 collapse curve (authors' design): degrade the rank-normalised score, s' = (1-eta)s + eta U."""
    s = _rank01(np.asarray(score, float))
    rows = []
    for eta in noise_levels:
        for sd in range(int(n_seeds)):
            s2 = (1 - eta) * s + eta * rng.uniform(size=len(s))
            cc = theory.cascade_curve(yL, yH, s2)
            rows.append({"eta": eta, "seed": sd, "auc": cc["auc"], "int_A": cc["int_A"], "int_A1": cc["int_A1"],
                         "max_A": cc["max_A"], "identity": theory.cascade_integral_identity(cc["a_L"], cc["auc"])})
    return pd.DataFrame(rows)


def sim_truth_curve(t, families, rho_common, rho_family, atom, sizes) -> pd.DataFrame:
    """Population ratio beta/beta_sf(rbar) of the simulator for the first k models (sizes), by nested GH."""
    rows = []
    m = len(t)
    for k in sizes:
        k = m if k == "all" else int(k)
        if k < 2 or k > m:
            continue
        sel = np.round(np.linspace(0, m - 1, k)).astype(int)
        tt, ff = np.asarray(t)[sel], np.asarray(families)[sel]
        alpha, p11 = sim_truth_pairs(tt, ff, rho_common, rho_family, atom)
        ta = ndtri(alpha)
        iu = np.triu_indices(k, 1)
        rbar = float(np.mean(tetrachoric_from_p11(ta[iu[0]], ta[iu[1]], p11[iu])))
        b = sim_truth_beta(tt, ff, rho_common, rho_family, atom)
        rows.append({"k": k, "beta": b, "rbar": rbar, "beta_sf": beta_sf(ta, rbar), "ratio": b / beta_sf(ta, rbar)})
    return pd.DataFrame(rows)


def explorer_grid_data(omegas, a0s, ms) -> list[dict]:
    """Prop. 2 ratio curves over a grid of (omega, a0), both calibrations (static explorer)."""
    out = []
    for w in omegas:
        for a in a0s:
            rt = theory.shock_ratio(w, a, ms, "tetrachoric", method="gh")["ratio"]
            rp = theory.shock_ratio(w, a, ms, "pearson", method="gh")["ratio"]
            out.append({"omega": w, "a0": a, "m": np.asarray(ms), "ratio_tet": rt, "ratio_pear": rp})
    return out


def frechet_curve(a: float, b: float, n: int = 60) -> dict:
    """Prop. 3 Fréchet class along beta plus the three model values of spec §3.4 (Gaussian, Clayton, shock)."""
    from capfront_lib.cofailure.copula import clayton_calibrate, clayton_cdf

    lo, hi, q = theory.frechet_class(a, b)
    bs = np.linspace(lo, hi, n)
    Q = np.array([q(x) for x in bs])
    t = float(ndtri(a))
    r = float(tetrachoric_from_p11(t, t, b))
    th = clayton_calibrate(np.full(3, a), b)
    w, a0 = theory.shock_from_pair(a, b)
    return {"a": a, "b": b, "beta": bs, "q": Q, "lo": lo, "hi": hi, "r_tet": r, "gauss": beta_sf(np.full(3, t), r),
            "theta": th, "clayton": float(clayton_cdf(np.full(3, a), th)), "omega": w, "a0": a0,
            "shock": float(theory.shock_beta(w, a0, 3))}
