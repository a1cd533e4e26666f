"""Real evaluation logs (spec §4.2): what the chapter's estimators can say about a log loaded by the shared core
(``capfront_lib.core.load_log``) — the public MMLU-Pro and GSM8K matrices or the reader's own log.

With one generation per query (G = 1, the public matrices) the naive oracle O_biased(1), the share of queries
some model solved, is the posthoc k = 1 oracle: an unbiased estimate of (1/N) sum_n [1 - prod_l (1 - pi_nl)],
*not* of the router oracle O_true. O_true is only bracketed, below by a feasible router (the single model chosen on
other queries, or a per-category router chosen on other queries) and above by E O_biased(1). Debiasing needs G > 1
(extrapolation G >= 3, eq. 12 G >= 6); reliability (eq. 24) needs G >= 2; the frontier needs costs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing.pipeline import counts_from_array

__all__ = ["PUBLIC_LOGS", "public_logs", "category_router_crossfit", "specialization_margin", "single_crossfit", "real_summary", "load_real",
           "one_generation_summary"]

# the public per-query matrices the chapter runs on by default (paths relative to CAPFRONT_DATA_DIR)
PUBLIC_LOGS = {
    "MMLU-Pro": ("MMLU-Pro/mmlu_pro_correct.csv", "MMLU-Pro/mmlu_pro_items.csv"),
    "GSM8K (ZeroEval)": ("ZeroEval/gsm8k_correct.csv", None),
}


def public_logs(root: str | Path | None) -> dict[str, tuple[Path, Path | None]]:
    """The public matrices present under ``root`` (``CAPFRONT_DATA_DIR``): {name: (log path, items path or None)}."""
    if root is None:
        return {}
    root = Path(root)
    out = {}
    for name, (log, items) in PUBLIC_LOGS.items():
        if (root / log).is_file():
            out[name] = (root / log, (root / items) if items and (root / items).is_file() else None)
    return out


def load_real(path, items_path=None, missing: str = "drop_queries"):
    """Load a log with the core loader (binary correctness, at least two models); the loader's missing-cell
    warning is returned in ``log.missing`` rather than printed."""
    import warnings

    from capfront_lib.core import load_log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_log(path, items_path=items_path or None, missing=missing, min_models=2)


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


def single_crossfit(correct: np.ndarray, rng: np.random.Generator, n_splits: int = 20) -> float:
    """A feasible router that ignores the query: the model with the best accuracy on a random half of the queries,
    scored on the other half (and swapped). Unlike the best sample accuracy, it is not inflated by choosing the
    best of L noisy accuracies on the same data (the winner's curse of the naive oracle, one level up)."""
    x = np.asarray(correct, dtype=float)
    if x.ndim != 2:
        raise ValueError("correct must be an (N, L) matrix")
    vals = []
    for _ in range(int(n_splits)):
        half = rng.random(x.shape[0]) < 0.5
        for a, b in ((half, ~half), (~half, half)):
            if a.any() and b.any():
                vals.append(float(np.nanmean(x[b, int(np.nanargmax(np.nanmean(x[a], axis=0)))])))
    return float(np.mean(vals))


def specialization_margin(correct: np.ndarray, categories, rng: np.random.Generator, folds: int = 5) -> dict:
    """Does routing by category beat the best single model on held-out queries? (Abstract (i): models are
    right on different questions according to their specialisations.)

    ``folds``-fold cross-fitting: on the other folds choose (a) the best model per category and (b) the best
    model overall; on the held-out fold score both choices. Every query is held out once, so the per-query
    paired differences d_n give the margin's mean and a 95 % normal interval (conditional on the fitted choices).
    """
    x = np.asarray(correct, dtype=float)
    cats = np.asarray(categories).astype(str)
    if x.ndim != 2 or cats.shape != (x.shape[0],):
        raise ValueError("correct must be (N, L) and categories must have one label per query")
    fold = rng.permutation(np.arange(x.shape[0]) % int(folds))
    d = np.full(x.shape[0], np.nan)
    for f in range(int(folds)):
        tr, te = fold != f, fold == f
        single = int(np.nanargmax(np.nanmean(x[tr], axis=0)))
        for c in np.unique(cats[te]):
            m_tr, m_te = tr & (cats == c), te & (cats == c)
            pick = int(np.nanargmax(np.nanmean(x[m_tr], axis=0))) if m_tr.any() else single
            d[m_te] = x[m_te, pick] - x[m_te, single]
    ok = np.isfinite(d)
    n = int(ok.sum())
    m = float(d[ok].mean())
    se = float(d[ok].std(ddof=1) / np.sqrt(n))
    return {"margin": m, "ci": (m - 1.96 * se, m + 1.96 * se), "n": n, "n_categories": int(len(np.unique(cats))),
            "share_changed": float(np.mean(d[ok] != 0))}


def real_summary(log, rng: np.random.Generator) -> dict:
    """What the chapter can say about a real log; each entry present only when the log supports it.

    Always: per-model accuracy, SOTA, O_biased(G_max), bracket on O_true. With categories: the cross-fitted
    category router and the specialisation margin. With G >= 2 on every cell: subsampling curve, split bracket,
    eq. (11) with lambda = 0.5 (eq. 12 needs G >= 6), the posthoc k-shot oracle and reliability (eq. 24).
    ``needs`` lists the sections the log cannot feed, with the missing column.
    """
    x = log.correctness()
    s, Gnl = counts_from_array(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        phibar = np.where(Gnl > 0, s / np.maximum(Gnl, 1), np.nan)
    acc = np.nanmean(phibar, axis=0)
    order = np.argsort(-acc)
    S = int(order[0])
    out: dict = {
        "n_queries": int(x.shape[0]), "n_models": int(x.shape[1]), "G_max": int(Gnl.max()), "G_min": int(Gnl.min()),
        "missing": log.missing.summary(),
        "per_model": pd.DataFrame({"model": log.models, "accuracy": acc}).iloc[order].reset_index(drop=True),
        "sota_model": log.models[S], "sota_accuracy": float(acc[S]),
        "o_biased": float(np.mean(np.nanmax(phibar, axis=1))),
        "best_single": float(np.nanmax(acc)),
        "needs": [],
    }
    out["any_solved_err_red"] = (out["o_biased"] - out["sota_accuracy"]) / (1 - out["sota_accuracy"]) if out["sota_accuracy"] < 1 else np.nan
    if log.has("cost_usd"):
        cost = np.nanmean(np.nanmean(log.array("cost_usd"), axis=2), axis=0)
        out["per_model"]["cost_usd"] = cost[order]
    else:
        out["needs"].append(("the cost-quality frontier and cost bias", "cost_usd"))
    if log.categories is not None:
        cats = log.categories.reindex(log.query_ids).to_numpy()
        out["category_router"] = category_router_crossfit(phibar, cats, rng)
        out["specialization"] = specialization_margin(phibar, cats, rng)
        out["n_categories"] = int(pd.Series(cats).nunique())
    else:
        out["needs"].append(("a feasible per-category router (lower bracket) and the specialisation margin", "category"))
    out["best_single_crossfit"] = single_crossfit(phibar, rng)
    lower = max(out["best_single_crossfit"], out.get("category_router", -np.inf))
    out["bracket"] = (float(lower), out["o_biased"])
    complete = not np.isnan(phibar).any()
    if int(Gnl.min()) >= 2 and complete:
        gp, curve = est.subsample_curve_exact(s, Gnl)
        out["curve"] = (gp, curve)
        out["o_split"] = est.split_sample_oracle(s, Gnl, rng)
        if gp.size >= 3:
            out["o_extrap11"] = est.fit_extrapolation(gp, curve, "11", fixed_lambda=0.5).a_inf
        if gp.size >= 6:
            out["o_extrap12"] = est.fit_extrapolation(gp, curve, "12").a_inf
        out["kshot"] = [est.kshot_any(s, Gnl, k) for k in range(1, int(Gnl.min()) + 1)]
        out["reliability"] = pd.DataFrame({"model": log.models, "reliability": est.reliability(phibar)})
    else:
        why = "generation" if int(Gnl.max()) == 1 else "generation (the same G >= 2 on every cell)"
        out["needs"].append(("debiasing (split bracket, extrapolation), the posthoc k-shot curve and reliability", why))
    return out


def one_generation_summary(correct: np.ndarray, categories, rng: np.random.Generator, truth: float | None = None) -> dict:
    """The G = 1 bracket of an (N, L) 0/1 matrix: best single model, cross-fitted category router, O_biased(1)
    (and the known router oracle ``truth`` of a simulated world, to show where it falls in the bracket)."""
    x = np.asarray(correct, dtype=float)
    out = {"best_single": float(np.nanmax(np.nanmean(x, axis=0))), "best_single_crossfit": single_crossfit(x, rng),
           "o_biased": float(np.mean(np.nanmax(x, axis=1)))}
    if categories is not None:
        out["category_router"] = category_router_crossfit(x, categories, rng)
    if truth is not None:
        out["truth"] = float(truth)
    return out
