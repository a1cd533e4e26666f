"""Chapter ``evaluation_logs``: the summaries every later chapter starts from, and the field's routing metrics.

All functions take an :class:`~capfront_lib.core.evallog.EvalLog` and use its first generation
(one run per model and query) unless stated otherwise, so they are defined on the ``N x L`` 0/1
correctness matrix ``Y``:

* accuracy of model ``l``: ``a_l = mean_n Y[n, l]``;
* single best model: ``argmax_l a_l``;
* per-query oracle (a router that always picks a model that is right, when one exists):
  ``oracle = mean_n max_l Y[n, l]``;
* all-models-wrong rate ``beta = mean_n prod_l (1 - Y[n, l]) = 1 - oracle`` — the ceiling
  ``1 - beta`` of the co-failure chapter.

A graded log (scores in [0, 1]) goes through the one threshold rule of :mod:`capfront_lib.core.metrics`
(:func:`binary_view`) before any of these numbers is computed, so the oracle and every router are judged
alike. The routing metrics of the field (Gap@Oracle, random router at matched cost, APGR/CPT, AIQ) live in
:mod:`capfront_lib.core.metrics`; :func:`routing_metrics` applies them to a log with the routers a log can
support (a cross-fitted category router when it has categories, a confidence cascade when it has
confidences).

The chapter reproduces no paper, so it has no claims registry: :func:`empty_ledger` is its ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from capfront_lib.core import metrics as mt
from capfront_lib.core.evallog import EvalLog, MissingReport
from capfront_lib.core.params import (
    Choice, Float, Guard, InputPath, Int, ResultsDir, Schema, Seed, Str,
)

# ---------------------------------------------------------------------------------------------
# parameters

#: cells of the simulated default log (queries x models; five float arrays of this size are kept)
MAX_SIM_CELLS = 10_000_000


def _items_need_log(p: Mapping[str, Any]) -> str | None:
    if p["items_path"] and not p["outcomes_path"]:
        return "parameter 'items_path' supplies categories for a wide log; give outcomes_path too"
    return None


def _pair(p: Mapping[str, Any]) -> str | None:
    if p["weak_model"] and p["weak_model"] == p["strong_model"]:
        return f"parameters 'weak_model' and 'strong_model' name the same model ({p['weak_model']})"
    return None


SCHEMA = Schema(
    "evaluation_logs",
    [
        Seed("seed", "random seed of the simulated default log"),
        Int("n_queries", min=1, help="simulated queries"),
        Int("n_models", min=1, help="simulated models"),
        Int("n_categories", min=1, help="simulated query categories"),
        Float("specialisation", min=0.0, help="spread of per-category aptitude (0 = none)"),
        InputPath("outcomes_path", "your log (CSV/parquet, long or wide form); '' = the simulated default"),
        InputPath("items_path", "optional table with id and category for a wide log"),
        Choice("missing", ["drop_queries", "keep_partial"], "what to do with missing cells"),
        Float("correct_threshold", min=0.0, max=1.0, strict_min=True,
              help="a graded score counts as correct only at >= this value"),
        Str("weak_model", "weak model of the RouteLLM pair; '' = the cheapest model less accurate than the best"),
        Str("strong_model", "strong model of the pair; '' = the most accurate model"),
        Choice("real_data", ["auto", "off"], "'auto': the public MMLU-Pro and GSM8K sections when CAPFRONT_DATA_DIR holds them"),
        ResultsDir(),
    ],
    checks=[_items_need_log, _pair],
    guards=[Guard("n_queries × n_models", lambda p: float(p["n_queries"]) * p["n_models"], MAX_SIM_CELLS,
                  advice="lower n_queries or n_models")],
)


def empty_ledger():
    """The chapter's claims ledger: it reproduces no paper, so the registry is empty (no rows, no verdicts)."""
    from capfront_lib.core.claims import Ledger, Registry

    return Ledger("evaluation_logs", registry=Registry("evaluation_logs", "no paper: the book's opening chapter", ()))


# ---------------------------------------------------------------------------------------------
# the binary, complete view every number below reads


def binary_view(log: EvalLog, threshold: float = mt.DEFAULT_THRESHOLD) -> EvalLog:
    """The log with correctness turned to 0/1 by the one threshold rule (``score >= threshold``).

    A 0/1 log comes back unchanged; missing cells stay missing. Other fields (cost, confidence, ...)
    are kept as they are.
    """
    t = mt._check_threshold(threshold)
    if log.binary:
        return log
    y = log.array("correct")
    arrays = {name: log.array(name) for name in log.fields}
    if ((y > 0) & (y < 1)).any():
        arrays["correct"] = np.where(np.isnan(y), np.nan, (y >= t).astype(float))
    return EvalLog(arrays, log.query_ids, log.models, categories=log.categories, source=log.source, binary=True,
                   missing=log.missing)


def complete_part(log: EvalLog, generation: int = 0) -> tuple[EvalLog, int]:
    """The queries every model answered (in ``generation``), and how many queries were left out."""
    y = log.array("correct")[:, :, generation]
    keep = ~np.isnan(y).any(axis=1)
    if keep.all():
        return log, 0
    if not keep.any():
        raise ValueError(f"{log.source}: no query was answered by every model; the oracle needs complete queries")
    return log.select(queries=list(log.query_ids[keep])), int((~keep).sum())


def _matrix(log: EvalLog, generation: int = 0, *, complete: bool = True) -> np.ndarray:
    """``N x L`` correctness of one generation; with ``complete`` the log must have no missing cells."""
    y = log.correctness()[:, :, generation]
    if complete and np.isnan(y).any():
        raise ValueError(
            f"{log.source}: {int(np.isnan(y).sum())} missing cells in generation {generation}; "
            "load the log with missing='drop_queries' for oracle statistics"
        )
    return y


def log_head(log: EvalLog, n: int = 8) -> pd.DataFrame:
    """The first ``n`` rows of the log in long form, costs shown per 1,000 answers (readable digits)."""
    head = log.to_long().head(n)
    if "cost_usd" in head:
        head = head.assign(cost_usd=head["cost_usd"] * 1000).rename(columns={"cost_usd": "cost (USD per 1,000)"})
    return head


def unique_share(log: EvalLog) -> pd.DataFrame:
    """:func:`oracle_routing_share` as a table, largest first."""
    share = oracle_routing_share(log).sort_values(ascending=False)
    return share.rename_axis("model").rename("only this model is right").to_frame()


def model_summary(log: EvalLog) -> pd.DataFrame:
    """Per-model accuracy (over all generations), answered cells and mean cost/latency when logged,
    sorted by accuracy (best first)."""
    return log.per_model().sort_values("accuracy", ascending=False)


def single_best(log: EvalLog, generation: int = 0) -> tuple[str, float]:
    """The model with the highest accuracy on ``generation`` and that accuracy (ties: first model)."""
    acc = np.nanmean(_matrix(log, generation), axis=0)
    j = int(np.argmax(acc))
    return log.models[j], float(acc[j])


def oracle_accuracy(log: EvalLog, generation: int = 0) -> float:
    """Per-query oracle accuracy ``mean_n max_l Y[n, l]`` (a perfect router over the pool)."""
    return float(np.mean(np.max(_matrix(log, generation), axis=1)))


def all_wrong_rate(log: EvalLog, generation: int = 0) -> float:
    """All-models-wrong rate ``beta = mean_n prod_l (1 - Y[n, l])`` (binary logs)."""
    y = _matrix(log, generation)
    if not log.binary:
        raise ValueError(f"{log.source}: all-models-wrong rate needs binary correctness (use binary_view)")
    return float(np.mean(np.all(y == 0, axis=1)))


def pool_curve(log: EvalLog, generation: int = 0) -> pd.DataFrame:
    """Oracle and single-best accuracy of the pools formed by the k most accurate models, k = 1..L.

    The gap between the two columns is what routing could gain at most with that pool.
    """
    y = _matrix(log, generation)
    order = np.argsort(-y.mean(axis=0), kind="stable")
    covered = np.maximum.accumulate(y[:, order], axis=1)
    return pd.DataFrame(
        {
            "k": np.arange(1, y.shape[1] + 1),
            "added_model": [log.models[j] for j in order],
            "single_best": np.full(y.shape[1], y[:, order[0]].mean()),
            "oracle": covered.mean(axis=0),
        }
    )


def category_accuracy(log: EvalLog) -> pd.DataFrame:
    """Accuracy of each model within each query category (rows: categories, columns: models)."""
    if log.categories is None:
        raise ValueError(f"{log.source}: the log has no 'category' information")
    acc = log.wide("correct", generation=None)
    return acc.groupby(log.categories.reindex(acc.index).to_numpy()).mean()


def oracle_routing_share(log: EvalLog, generation: int = 0) -> pd.Series:
    """Share of queries each model is *uniquely* right on (no other model solves them)."""
    y = _matrix(log, generation)
    unique = (y == 1) & (y.sum(axis=1, keepdims=True) == 1)
    return pd.Series(unique.mean(axis=0), index=log.models, name="uniquely_right")


def key_numbers(log: EvalLog) -> dict[str, Any]:
    """The numbers the chapter reports (and its tests check), on a binary, complete log."""
    best, best_acc = single_best(log)
    summary = log.per_model()
    out: dict[str, Any] = {
        "n_queries": log.n_queries,
        "n_models": log.n_models,
        "n_generations": log.n_generations,
        "accuracy": {m: float(a) for m, a in summary["accuracy"].items()},
        "single_best_model": best,
        "single_best_accuracy": best_acc,
        "oracle_accuracy": oracle_accuracy(log),
        "all_wrong_rate": all_wrong_rate(log),
        "dropped_queries": log.missing.n_dropped,
        "missing_cells": log.missing.n_missing_cells,
    }
    if log.has("cost_usd"):
        out["mean_cost_usd"] = {m: float(c) for m, c in summary["mean_cost_usd"].items()}
    return out


# ---------------------------------------------------------------------------------------------
# the field's routing metrics on a log


def routing_scores(log: EvalLog, M: mt.Matrix, weak: str, strong: str, *, seed: int = 0) -> tuple[dict, dict]:
    """The routers this log can support for the pair (weak, strong): ``(routers, cascades)``.

    * ``category``: the cross-fitted strong-minus-weak accuracy of the query's category
      (:func:`capfront_lib.core.metrics.category_score`), when the log has categories;
    * ``confidence`` (a cascade): ``1 - confidence`` of the weak model's answer, when the log has
      confidences (the weak model answers first, so it is priced as a cascade).
    """
    routers: dict[str, np.ndarray] = {}
    cascades: dict[str, np.ndarray] = {}
    if log.categories is not None and log.categories.reindex(log.query_ids).nunique() > 1:
        routers["category"] = mt.category_score(M, log.categories.reindex(log.query_ids).to_numpy(), weak, strong, seed=seed)
    if log.has("confidence"):
        conf = log.array("confidence")[:, log.models.index(weak), 0]
        if np.isfinite(conf).all():
            cascades["confidence"] = 1.0 - conf
    return routers, cascades


def resolve_pair(M: mt.Matrix, weak_model: str = "", strong_model: str = "") -> tuple[str, str]:
    """The weak/strong pair: the given names (checked against the log) or :func:`metrics.choose_pair`."""
    auto_weak, auto_strong = mt.choose_pair(M) if not (weak_model and strong_model) else ("", "")
    weak, strong = weak_model or auto_weak, strong_model or auto_strong
    for role, name in (("weak_model", weak), ("strong_model", strong)):
        M.index(name)  # raises naming the models
    if weak == strong:
        raise mt.MetricsError(f"{M.source}: the weak and the strong model are the same ({weak})")
    return weak, strong


def routing_metrics(log: EvalLog, *, threshold: float = mt.DEFAULT_THRESHOLD, weak_model: str = "",
                    strong_model: str = "", costs: Mapping[str, float] | None = None, seed: int = 0) -> dict[str, Any]:
    """:func:`capfront_lib.core.metrics.field_metrics` of a (complete) log with the routers it supports.

    Returns the flat metrics dict plus ``"curves"`` (the pair curves, for figures; not JSON) and
    ``"matrix"`` (the :class:`~capfront_lib.core.metrics.Matrix`).
    """
    M = mt.matrix_from_log(log, threshold=threshold, costs=costs)
    weak, strong = resolve_pair(M, weak_model, strong_model)
    routers, cascades = routing_scores(log, M, weak, strong, seed=seed)
    fm = mt.field_metrics(M, pair=(weak, strong), scores=routers, cascades=cascades)
    curves = {"oracle": mt.pair_curve(M, weak, strong, mt.oracle_pair_score(M, weak, strong))}
    curves.update({k: mt.pair_curve(M, weak, strong, v) for k, v in routers.items()})
    curves.update({k: mt.pair_curve(M, weak, strong, v, always_weak=True) for k, v in cascades.items()})
    return {"metrics": fm, "curves": curves, "matrix": M}


def public_logs(root: Path | None) -> dict[str, tuple[EvalLog, str]]:
    """The public matrices of ``CAPFRONT_DATA_DIR`` this chapter reads: MMLU-Pro (with its categories)
    and ZeroEval GSM8K, each with its data label. Absent files are left out."""
    import warnings

    from capfront_lib.core.env import data_label
    from capfront_lib.core.evallog import load_log

    out: dict[str, tuple[EvalLog, str]] = {}
    if root is None:
        return out
    files = {
        "mmlu_pro": (root / "MMLU-Pro" / "mmlu_pro_correct.csv", root / "MMLU-Pro" / "mmlu_pro_items.csv"),
        "gsm8k": (root / "ZeroEval" / "gsm8k_correct.csv", None),
    }
    for key, (path, items) in files.items():
        if not path.is_file():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the dropped incomplete queries are reported by the page
            log = load_log(path, items_path=items if items is not None and items.is_file() else None, missing="drop_queries")
        out[key] = (log, data_label(path))
    return out


def public_summary(name: str, log: EvalLog, label: str, fm: Mapping[str, Any]) -> dict[str, Any]:
    """One column of the public-data table (metric -> value, numbers as raw values)."""
    pr = fm["pair_routers"]
    return {
        "data": label,
        "queries every model answered": log.n_queries,
        "queries left out": log.missing.n_dropped,
        "models": log.n_models,
        "single best": fm["single_best"],
        "its accuracy": fm["single_best_accuracy"],
        "oracle": fm["oracle_accuracy"],
        "Gap@Oracle": fm["gap_at_oracle"],
        "random router (uniform)": fm["random_uniform_accuracy"],
        "pair (weak → strong)": f"{fm['pair_weak']} → {fm['pair_strong']}",
        "APGR, category router": pr.get("category", {}).get("apgr"),
        "APGR, oracle order": pr["oracle"]["apgr"],
    }


PUBLIC_NAMES = {"mmlu_pro": "MMLU-Pro", "gsm8k": "GSM8K (ZeroEval)"}


def public_table(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The public-data summaries side by side (one column per matrix), every cell as display text."""
    from capfront_lib.core import fmt

    def cell(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return fmt.number(int(v))
        if isinstance(v, (float, np.floating)):
            return fmt.number(float(v), 3)
        return str(v)

    cols = {PUBLIC_NAMES.get(k, k): {m: cell(v) for m, v in r.items() if m != "data"} for k, r in rows.items()}
    df = pd.DataFrame(cols)
    df.index.name = "metric"
    return df


# ---------------------------------------------------------------------------------------------
# figures (no computation below: functions take results and draw)


def explorer(seed: int = 0) -> Any:
    """ipywidgets panel: how the oracle gap reacts to pool size and specialisation (simulated)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from capfront_lib.core.demo import demo_log

    def draw(n_models: int, specialisation: float, difficulty_scale: float) -> None:
        log = demo_log(1500, n_models, seed=seed, specialisation=specialisation, difficulty_scale=difficulty_scale)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        plot_pool_curve(ax, pool_curve(log), f"specialisation {specialisation:.1f}")
        plt.show()

    return w.interactive(
        draw,
        n_models=w.IntSlider(value=8, min=2, max=20, description="models"),
        specialisation=w.FloatSlider(value=0.8, min=0.0, max=2.5, step=0.1, description="specialisation"),
        difficulty_scale=w.FloatSlider(value=1.5, min=0.0, max=3.0, step=0.1, description="difficulty"),
    )


def pool_figure(curve: pd.DataFrame):
    """The pool curve as one figure (7 in wide)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    plot_pool_curve(ax, curve)
    fig.tight_layout()
    return fig


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def dominated_models(summary: pd.DataFrame) -> list[str]:
    """Models for which another model is at least as accurate and at most as costly, one of them strictly."""
    if "mean_cost_usd" not in summary:
        return []
    a = summary["accuracy"].to_numpy(float)
    c = summary["mean_cost_usd"].to_numpy(float)
    dom = ((a[None, :] >= a[:, None]) & (c[None, :] <= c[:, None]) & ((a[None, :] > a[:, None]) | (c[None, :] < c[:, None]))).any(axis=1)
    return [str(m) for m, d in zip(summary.index, dom) if d]


def explorer_numbers(seed: int = 0, specialisations: tuple[float, ...] = (0.0, 0.8, 1.6, 2.4)) -> pd.DataFrame:
    """Oracle, single best and headroom of the full pool of 8 for the explorer grid's simulated logs."""
    from capfront_lib.core.demo import demo_log

    rows = []
    for s in specialisations:
        c = pool_curve(demo_log(1500, 8, seed=seed, specialisation=s))
        o, b = float(c["oracle"].iloc[-1]), float(c["single_best"].iloc[-1])
        rows.append({"specialisation": s, "oracle": o, "single_best": b, "headroom": o - b})
    return pd.DataFrame(rows)


def plot_pool_curve(ax, curve: pd.DataFrame, title: str = "") -> None:
    """Draw oracle vs single-best accuracy against pool size on ``ax`` (the caption names the data)."""
    ax.plot(curve["k"], curve["oracle"], marker="o", label="per-query oracle")
    ax.plot(curve["k"], curve["single_best"], ls="--", label="single best model")
    ax.fill_between(curve["k"], curve["single_best"], curve["oracle"], alpha=0.15, label="routing headroom")
    ax.set_xlabel("pool size k (most accurate first)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    _integer_ticks(ax)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")


def static_explorer_grid(seed: int = 0, specialisations: tuple[float, ...] = (0.0, 0.8, 1.6, 2.4)):
    """The static stand-in for :func:`explorer`: a 2 x 2 grid, one panel per specialisation level."""
    import matplotlib.pyplot as plt

    from capfront_lib.core.demo import demo_log

    fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.6), sharex=True, sharey=True)
    for ax, s in zip(axes.ravel(), specialisations):
        plot_pool_curve(ax, pool_curve(demo_log(1500, 8, seed=seed, specialisation=s)), f"specialisation {s:.1f}")
        ax.legend().set_visible(False)
        ax.label_outer()
    axes.ravel()[0].legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


def _short(name: str, n: int = 18) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def plot_models(summary: pd.DataFrame):
    """Accuracy of each model against its mean cost (log scale) or, without costs, a bar chart."""
    import matplotlib.pyplot as plt

    if "mean_cost_usd" in summary:
        fig, ax = plt.subplots(figsize=(7.0, 4.2))
        ax.scatter(summary["mean_cost_usd"] * 1000, summary["accuracy"], s=40)
        for name, row in summary.iterrows():
            ax.annotate(_short(str(name)), (row["mean_cost_usd"] * 1000, row["accuracy"]), fontsize=9,
                        xytext=(4, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("mean cost (USD per 1,000 queries, log scale)")
        ax.set_ylabel("accuracy")
    else:
        fig, ax = plt.subplots(figsize=(7.0, 0.28 * len(summary) + 1.4))
        ax.barh([_short(str(m), 28) for m in summary.index[::-1]], summary["accuracy"][::-1])
        ax.set_xlabel("accuracy")
        ax.tick_params(axis="y", labelsize=9)
    fig.tight_layout()
    return fig


def plot_category_heatmap(cat_acc: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(cat_acc) + 2.2))
    im = ax.imshow(cat_acc.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(cat_acc)), cat_acc.index, fontsize=9)
    ax.set_xticks(range(cat_acc.shape[1]), [_short(str(c), 14) for c in cat_acc.columns], rotation=60, ha="right", fontsize=9)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="accuracy")
    fig.tight_layout()
    return fig


def plot_cost_frontier(M: mt.Matrix, fm: Mapping[str, Any]):
    """The models' (mean cost, accuracy), the Zero router's hull, the oracle and the uniform random router."""
    import matplotlib.pyplot as plt

    acc, mc = M.accuracy(), M.mean_cost()
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    ax.scatter(mc * 1000, acc, s=30, color="#2e4057", label="single models", zorder=3)
    hc, hq = mt.ndch(mc, acc)
    x = np.append(hc, mc.max()) * 1000
    ax.plot(x, np.append(hq, hq[-1]), color="#1b6ca8", lw=2, label="random router at matched cost (hull)")
    ax.scatter([fm["oracle_cost"] * 1000], [fm["oracle_accuracy"]], marker="*", s=180, color="#d1495b",
               label="oracle (cheapest correct model)", zorder=4)
    ax.scatter([fm["random_uniform_cost"] * 1000], [fm["random_uniform_accuracy"]], marker="x", s=60, color="#edae49",
               label="uniform random router", zorder=4)
    ax.scatter([fm["single_best_cost"] * 1000], [fm["single_best_accuracy"]], marker="o", s=110, facecolors="none",
               edgecolors="#00798c", lw=2, label="single best model", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel("mean cost (USD per 1,000 queries, log scale)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def plot_pgr_curves(curves: Mapping[str, pd.DataFrame], names: Mapping[str, str] | None = None):
    """PGR against the share of calls to the strong model for each router, with the random diagonal."""
    import matplotlib.pyplot as plt

    names = {**mt.ROUTER_NAMES, **dict(names or {})}
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="random router (APGR ½)")
    for key, curve in curves.items():
        ax.plot(curve["strong_share"], curve["pgr"], lw=1.8, label=names.get(key, key))
    ax.axhline(1.0, color="grey", lw=0.8)
    for p in mt.CPT_LEVELS:
        ax.axhline(p, color="grey", lw=0.6, ls="--")
    ax.set_xlabel("share of queries sent to the strong model")
    ax.set_ylabel("performance gap recovered (PGR)")
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig
