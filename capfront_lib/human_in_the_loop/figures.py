"""Whole figures of the human-in-the-loop chapter, built from computed numbers (one call per figure in the notebook).

Each function returns the matplotlib figure (at most 7.2 in wide, text >= 9 pt, <= 3 panels per row) and, where the
figure computes something on the way (smoother fits, latency bins), those numbers for results.json.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from capfront_lib.human_in_the_loop import metrics as mt
from capfront_lib.human_in_the_loop import plots as pl
from capfront_lib.human_in_the_loop import systems as sy

__all__ = ["llr_figure", "ask_figure", "drag_figure", "error_curves_figure", "reward_figure", "gains_figure"]


def llr_figure(series: Mapping[str, tuple[np.ndarray, np.ndarray]], bandwidth: float,
               xlabel: str = "output tokens (log scale)", max_panels: int = 3):
    """Fig. 4.3 analogue for up to three models: ``series`` maps model -> (length, correct)."""
    items = list(series.items())[:max_panels]
    fig, axes = plt.subplots(1, max(1, len(items)), figsize=(pl.WIDTH, 2.9), sharey=True, squeeze=False)
    fits = {}
    for ax, (m, (length, correct)) in zip(axes[0], items):
        x = np.log10(np.maximum(np.asarray(length, float), 1.0))
        grid = np.linspace(np.quantile(x, 0.02), np.quantile(x, 0.98), 60)
        fit = mt.local_linear(x, np.asarray(correct, float), grid, bandwidth)
        fits[m] = {"log10_length": grid, "mean": fit["mean"], "se": fit["se"]}
        pl.plot_llr(ax, x, correct, grid, fit, m, xlabel=xlabel)
    axes[0][0].set_ylabel("P(correct)")
    fig.tight_layout()
    return fig, fits


def ask_figure(rates, curves: Mapping[str, np.ndarray], n_errors: Mapping[str, int], n: Mapping[str, int]):
    """Fig. 4.4 analogue: A(r) per model with random and oracle references (legend at the right)."""
    fig, ax = plt.subplots(figsize=(pl.WIDTH, 3.5))
    pl.plot_ask_curves(ax, rates, curves, n_errors, n)
    fig.tight_layout()
    return fig


def drag_figure(pairs: Mapping[str, sy.PairData], models: Sequence[str], u: float, r: float, n_bins: int = 10):
    """Fig. 4.2 analogue for up to two reasoning models; returns the figure and, per model, the binned latencies,
    the mean latency over all and over passed queries, and Spearman's rho(p_true, latency)."""
    models = list(models)[:2]
    fig, axes = plt.subplots(1, len(models), figsize=(pl.WIDTH, 3.4), squeeze=False)
    info = {}
    for ax, m in zip(axes[0], models):
        d = pairs[m]
        route = sy.ffa_route(d, u, r)
        passed = route["actions"] == sy.PASS
        bins = sy.latency_by_confidence(d.p_true, d.latency_r, n_bins, d.tie_key)
        info[m] = {"bins_mean_latency": bins["mean_latency"].to_numpy(), "mean_all": float(d.latency_r.mean()),
                   "mean_pass": float(d.latency_r[passed].mean()),
                   "spearman": float(stats.spearmanr(d.p_true, d.latency_r).statistic)}
        pl.plot_latency_drag(ax, bins, u, r, info[m]["mean_all"], info[m]["mean_pass"], m)
    axes[0][0].set_ylabel("mean latency of M_r (s)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=pl.FS, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig, info


def error_curves_figure(curves: Mapping[tuple[str, float], dict], pairs: Mapping[str, sy.PairData], rates,
                        utilizations: Sequence[float]):
    """Fig. 4.5 analogue: E(r) per utilisation, one panel per reasoning model (up to three), shared legend."""
    models = list(pairs)[:3]
    fig, axes = plt.subplots(1, len(models), figsize=(pl.WIDTH, 3.3), sharey=True, squeeze=False)
    for ax, m in zip(axes[0], models):
        pl.plot_error_curves(ax, rates, {u: 1 - curves[(m, float(u))]["accuracy"] for u in utilizations},
                             1 - pairs[m].correct_r.mean(), m)
    axes[0][0].set_ylabel("error E(r) (%, log scale)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=pl.FS, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def reward_figure(surfaces: Mapping[str, dict]):
    """Reward R(u, r) minus its maximum per reasoning model (up to three panels), one shared colour bar."""
    models = list(surfaces)[:3]
    lo = min(float(np.nanmin(surfaces[m]["R"] - surfaces[m]["best_R"])) for m in models)
    fig, axes = plt.subplots(1, len(models), figsize=(pl.WIDTH, 3.0), sharey=True, squeeze=False)
    im = None
    for ax, m in zip(axes[0], models):
        im = pl.plot_reward_heatmap(ax, surfaces[m], m, vmin=lo)
    axes[0][0].set_ylabel("utilisation u (%)")
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    cax = fig.add_axes((0.9, 0.2, 0.02, 0.65))
    fig.colorbar(im, cax=cax).set_label(r"$R - R_{\max}$ (\$/query)", fontsize=pl.FS)
    return fig


def gains_figure(tables: Mapping[str, "object"], medians: Mapping[str, tuple[float, tuple[float, float]]]):
    """Public data: each model's AUARC gain of length-based over random rejection (dots), per data set, with the
    median and its bootstrap interval (bar)."""
    fig, ax = plt.subplots(figsize=(pl.WIDTH, 2.2 + 0.3 * len(tables)))
    for k, (name, t) in enumerate(tables.items()):
        g = 100 * np.asarray(t["gain_vs_random"], float)
        jitter = np.random.default_rng(k).uniform(-0.12, 0.12, g.size)
        ax.scatter(g, k + jitter, s=18, color=pl.PALETTE[k], alpha=0.7, zorder=3)
        med, (lo, hi) = medians[name]
        ax.plot([100 * lo, 100 * hi], [k + 0.3, k + 0.3], color="k", lw=3)
        ax.plot([100 * med], [k + 0.3], "k|", ms=14)
    ax.axvline(0, color="0.4", ls="--", lw=1)
    ax.set_yticks(range(len(tables)), list(tables))
    ax.set_ylim(-0.6, len(tables) - 0.2)
    ax.set_xlabel("AUARC gain of rejecting the longest outputs over random rejection (percentage points)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
