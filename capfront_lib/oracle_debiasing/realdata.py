"""Real evaluation logs (spec §4.2): what the chapter's estimators can say about a log loaded by the
shared core (``capfront_lib.core.load_log``), in particular with one generation per query (G = 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing.pipeline import counts_from_array

__all__ = ["category_router_crossfit", "real_summary"]


def category_router_crossfit(correct: np.ndarray, categories, rng: np.random.Generator, n_splits: int = 20) -> float:
    """A feasible router: per category, pick the model with the best accuracy on a random half of the
    queries and score it on the other half (and swap). Its expectation is a lower bound on O_true."""
    x = np.asarray(correct, dtype=float)
    cats = np.asarray(categories)
    if x.ndim != 2 or cats.shape != (x.shape[0],):
        raise ValueError("correct must be (N, L) and categories must have one label per query")
    vals = []
    for _ in range(int(n_splits)):
        half = rng.random(x.shape[0]) < 0.5
        tot, n = 0.0, 0
        for a, b in ((half, ~half), (~half, half)):
            for c in np.unique(cats):
                tr, te = a & (cats == c), b & (cats == c)
                if tr.sum() == 0 or te.sum() == 0:
                    continue
                best = int(np.nanargmax(np.nanmean(x[tr], axis=0)))
                tot += np.nansum(x[te, best])
                n += int(np.sum(~np.isnan(x[te, best])))
        vals.append(tot / max(n, 1))
    return float(np.mean(vals))


def real_summary(log, rng: np.random.Generator) -> dict:
    """Per-model accuracy, SOTA, naive oracle and the bracket on O_true for a real log.

    With G = 1: O_biased(1) (share of queries some model solved) equals the posthoc k = 1 oracle and is
    unbiased for 1 - prod_l (1 - pi_nl), *not* for the router oracle; O_true is only bracketed by
    max(best single, cross-fitted category router) <= O_true <= E O_biased(1). With G >= 2 the
    subsampling curve, split bracket and eq. (11) with lambda = .5 are also returned ((12) needs G >= 6).
    """
    x = log.correctness()
    s, Gnl = counts_from_array(x)
    if np.any(Gnl == 0):
        # keep_partial: cells not run have G_nl = 0; estimators below use per-cell means with NaN
        pass
    with np.errstate(invalid="ignore", divide="ignore"):
        phibar = np.where(Gnl > 0, s / np.maximum(Gnl, 1), np.nan)
    acc = np.nanmean(phibar, axis=0)
    cost = None
    if log.has("cost_usd"):
        cost = np.nanmean(np.nanmean(log.array("cost_usd"), axis=2), axis=0)
    order = np.argsort(-acc)
    S = int(order[0])
    out = {
        "n_queries": int(x.shape[0]), "n_models": int(x.shape[1]), "G_max": int(Gnl.max()), "G_min": int(Gnl.min()),
        "missing": log.missing.summary(),
        "per_model": pd.DataFrame({"model": log.models, "accuracy": acc}).sort_values("accuracy", ascending=False).reset_index(drop=True),
        "sota_model": log.models[S], "sota_accuracy": float(acc[S]),
        "o_biased": float(np.mean(np.nanmax(phibar, axis=1))),
        "best_single": float(np.nanmax(acc)),
    }
    if cost is not None:
        out["per_model"]["cost_usd"] = cost[order]
    if log.categories is not None:
        cats = log.categories.reindex(log.query_ids).to_numpy()
        out["category_router"] = category_router_crossfit(phibar, cats, rng)
        out["n_categories"] = int(pd.Series(cats).nunique())
    lower = max(out["best_single"], out.get("category_router", -np.inf))
    out["bracket"] = (float(lower), out["o_biased"])
    if int(Gnl.min()) >= 2 and not np.isnan(phibar).any():
        gp, curve = est.subsample_curve_exact(s, Gnl)
        out["curve"] = (gp, curve)
        out["o_split"] = est.split_sample_oracle(s, Gnl, rng)
        if gp.size >= 2:
            out["o_extrap11"] = est.fit_extrapolation(gp, curve, "11", fixed_lambda=0.5).a_inf
        if gp.size >= 6:
            out["o_extrap12"] = est.fit_extrapolation(gp, curve, "12").a_inf
        out["kshot"] = [est.kshot_any(s, Gnl, k) for k in range(1, int(Gnl.min()) + 1)]
    return out
