"""Chapter ``evaluation_logs``: the summaries every later chapter starts from.

All functions take an :class:`~capfront_lib.core.evallog.EvalLog` and use its first generation
(one run per model and query) unless stated otherwise, so they are defined on the ``N x L`` 0/1
correctness matrix ``Y``:

* accuracy of model ``l``: ``a_l = mean_n Y[n, l]``;
* single best model: ``argmax_l a_l``;
* per-query oracle (a router that always picks a model that is right, when one exists):
  ``oracle = mean_n max_l Y[n, l]``;
* all-models-wrong rate ``beta = mean_n prod_l (1 - Y[n, l]) = 1 - oracle`` — the ceiling
  ``1 - beta`` of the co-failure chapter.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from capfront_lib.core.evallog import EvalLog


def _matrix(log: EvalLog, generation: int = 0, *, complete: bool = True) -> np.ndarray:
    """``N x L`` correctness of one generation; with ``complete`` the log must have no missing cells."""
    y = log.correctness()[:, :, generation]
    if complete and np.isnan(y).any():
        raise ValueError(
            f"{log.source}: {int(np.isnan(y).sum())} missing cells in generation {generation}; "
            "load the log with missing='drop_queries' for oracle statistics"
        )
    return y


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
        raise ValueError(f"{log.source}: all-models-wrong rate needs binary correctness")
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
    """The numbers the chapter reports (and its tests check)."""
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


def explorer(seed: int = 0) -> Any:
    """ipywidgets panel: how the oracle gap reacts to pool size and specialisation (simulated)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from capfront_lib.core.demo import demo_log

    def draw(n_models: int, specialisation: float, difficulty_scale: float) -> None:
        log = demo_log(1500, n_models, seed=seed, specialisation=specialisation, difficulty_scale=difficulty_scale)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        plot_pool_curve(ax, pool_curve(log), f"specialisation {specialisation:.1f}", "simulated")
        plt.show()

    return w.interactive(
        draw,
        n_models=w.IntSlider(value=8, min=2, max=20, description="models"),
        specialisation=w.FloatSlider(value=0.8, min=0.0, max=2.5, step=0.1, description="specialisation"),
        difficulty_scale=w.FloatSlider(value=1.5, min=0.0, max=3.0, step=0.1, description="difficulty"),
    )


def plot_pool_curve(ax, curve: pd.DataFrame, title: str, source: str) -> None:
    """Draw oracle vs single-best accuracy against pool size on ``ax``."""
    from capfront_lib.core.plotting import titled

    ax.plot(curve["k"], curve["oracle"], marker="o", label="per-query oracle")
    ax.plot(curve["k"], curve["single_best"], ls="--", label="single best model")
    ax.fill_between(curve["k"], curve["single_best"], curve["oracle"], alpha=0.15, label="routing headroom")
    ax.set_xlabel("pool size k (most accurate models first)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    titled(ax, title, source)  # type: ignore[arg-type]
    ax.legend(loc="lower right")


def static_explorer_grid(seed: int = 0, specialisations: tuple[float, ...] = (0.0, 0.8, 1.6, 2.4)) -> Any:
    """The static stand-in for :func:`explorer`: one panel per specialisation level."""
    import matplotlib.pyplot as plt

    from capfront_lib.core.demo import demo_log

    fig, axes = plt.subplots(1, len(specialisations), figsize=(3.2 * len(specialisations), 3.4), sharey=True)
    for ax, s in zip(np.atleast_1d(axes), specialisations):
        plot_pool_curve(ax, pool_curve(demo_log(1500, 8, seed=seed, specialisation=s)), f"specialisation {s:.1f}", "simulated")
        ax.legend().set_visible(False)
    np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig
