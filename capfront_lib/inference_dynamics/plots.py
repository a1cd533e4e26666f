"""Figures of the InferenceDynamics chapter (drawing only; every number comes from the other modules)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import Source, source_note, titled


def profile_heatmap(S_k: pd.DataFrame, S_c: pd.DataFrame, *, n_elements: int = 8, n_models: int = 4,
                    counts_k: pd.Series | None = None, source: Source = "simulated"):
    """Fig.-1 analog: element scores S(t, e) of the top models on the most frequent knowledge elements and capabilities."""
    top_models = S_k.mean(axis=0).sort_values(ascending=False).index[:n_models]
    ks = S_k.dropna(how="all")
    if counts_k is not None:
        ks = ks.loc[counts_k.reindex(ks.index).fillna(0).sort_values(ascending=False).index]
    ks = ks.iloc[:n_elements][top_models]
    cs = S_c.dropna(how="all").iloc[:n_elements][top_models]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * max(len(ks), len(cs)) + 2.2))
    for ax, tab, name in ((axes[0], ks, "knowledge"), (axes[1], cs, "capability")):
        im = ax.imshow(tab.to_numpy(), cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(tab.columns)), tab.columns, rotation=30, ha="right")
        ax.set_yticks(range(len(tab.index)), tab.index)
        ax.set_xlabel("model")
        ax.set_ylabel(f"{name} element")
        ax.grid(False)
        for i in range(tab.shape[0]):
            for j in range(tab.shape[1]):
                ax.text(j, i, f"{tab.iat[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
        fig.colorbar(im, ax=ax, label="element score S(t, e) at β = 0")
        ax.set_title(f"{name} profile")
    fig.suptitle(f"Model profiles on the index set [{source_note(source)}]")
    fig.tight_layout()
    return fig


def rank_distribution_bars(dist: pd.DataFrame, *, source: Source = "simulated", top: int = 8):
    """Appendix-B analog: weighted-rank knowledge distribution (percent) per benchmark, one bar group per benchmark."""
    cols = dist.sum(axis=0).sort_values(ascending=False).index[:top]
    sub = dist[cols].copy()
    sub["rest"] = 100 - sub.sum(axis=1)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(sub) + 1.8))
    left = np.zeros(len(sub))
    cmap = plt.get_cmap("tab20")
    for j, c in enumerate(sub.columns):
        ax.barh(sub.index, sub[c], left=left, color=cmap(j % 20), label=c)
        left += sub[c].to_numpy()
    ax.set_xlabel("weighted-rank share of knowledge mass (%)")
    ax.set_ylabel("benchmark")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title="element")
    titled(ax, "Knowledge distribution per benchmark (App. B weighting 1/rank)", source)
    fig.tight_layout()
    return fig


def beta_sweep_plot(sweep: pd.DataFrame, singles: pd.DataFrame, *, source: Source = "simulated", best_name: str = ""):
    """Left: PR and CR (%) against beta; right: cost-accuracy plane with single models and the router's path."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    x = sweep["beta"].to_numpy()
    l1 = ax.plot(x, sweep["performance_ratio"], "o-", color="C0", label="performance ratio (left)")
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max(float(x.max()), 1.0) * 1.5)
    ax.set_xlabel("β (USD⁻¹; symlog axis)")
    ax.set_ylabel(f"PR: % of the best single model's accuracy{f' ({best_name})' if best_name else ''}", fontsize=8)
    ax2 = ax.twinx()
    l2 = ax2.plot(x, sweep["cost_ratio"], "s-", color="C1", label="cost ratio incl. tagging (right)")
    ax2.set_ylabel("CR: % of the best single model's cost", fontsize=8)
    ax2.grid(False)
    ax.legend(l1 + l2, [l.get_label() for l in l1 + l2], fontsize=8)
    titled(ax, "Cost sweep", source)
    ax = axes[1]
    ax.scatter(singles["mean_cost_usd"] * 1e3, singles["avg"], color="grey", zorder=3)
    for name, r in singles.iterrows():
        ax.annotate(str(name), (r["mean_cost_usd"] * 1e3, r["avg"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.plot(sweep["mean_cost_usd"] * 1e3, sweep["accuracy"], "o-", color="C1", label="router over β")
    for _, r in sweep.iloc[[0, -1]].iterrows():
        ax.annotate(f"β={r['beta']:g}", (r["mean_cost_usd"] * 1e3, r["accuracy"]), fontsize=7, color="C1",
                    xytext=(4, -10), textcoords="offset points")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_xlabel("mean cost per query (USD × 10⁻³, log; router excludes tagging)")
    ax.set_ylabel("accuracy (macro mean over benchmarks)")
    ax.legend()
    titled(ax, "Cost–accuracy plane", source)
    fig.tight_layout()
    return fig


def share_heatmap(shares: pd.DataFrame, *, title: str, ylabel: str, source: Source = "simulated"):
    """Heatmap of selection shares (rows: groups or beta values, columns: models)."""
    fig, ax = plt.subplots(figsize=(1.1 * shares.shape[1] + 2.5, 0.42 * shares.shape[0] + 1.8))
    im = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(shares.shape[1]), shares.columns, rotation=30, ha="right")
    ax.set_yticks(range(shares.shape[0]), [str(i) for i in shares.index])
    ax.set_xlabel("model")
    ax.set_ylabel(ylabel)
    ax.grid(False)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            v = shares.iat[i, j]
            if v >= 0.005:
                ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=7, color="k" if v < 0.6 else "w")
    fig.colorbar(im, ax=ax, label="share of queries routed to the model")
    titled(ax, title, source)
    fig.tight_layout()
    return fig


def dynamic_pool_plot(curves: dict[str, pd.DataFrame], *, sources: dict[str, Source] | None = None):
    """Router, best single in the pool and hindsight oracle against pool size, one panel per setting
    (``sources`` names each panel's data source; default simulated)."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5.2 * len(curves), 4), squeeze=False)
    for ax, (name, df) in zip(axes[0], curves.items()):
        source = (sources or {}).get(name, "simulated")
        ax.plot(df["pool_size"], df["router"], "o-", label="router")
        ax.plot(df["pool_size"], df["best_in_pool"], "s--", label="best single in pool")
        ax.plot(df["pool_size"], df["oracle"], "^:", label="oracle (hindsight)")
        ax.set_xticks(df["pool_size"], [f"+{a}" if i else a for i, a in enumerate(df["added"])], rotation=35, ha="right", fontsize=7)
        ax.set_xlabel("model added at this step")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=7)
        titled(ax, f"Dynamic pool: {name}", source)
    fig.tight_layout()
    return fig


def noise_plot(tag_curve: pd.DataFrame, text_curve: pd.DataFrame | None = None, *, source: Source = "simulated"):
    """Router gain over the best single model against tag noise (and text noise with a text tagger)."""
    n = 1 if text_curve is None else 2
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.8), squeeze=False)
    ax = axes[0][0]
    ax.errorbar(tag_curve["noise"], 100 * tag_curve["gain_mean"], yerr=100 * tag_curve["gain_sd"], fmt="o-", capsize=3)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("tag noise (probability each tag is replaced at random)")
    ax.set_ylabel("mixed router − best single (accuracy points)")
    titled(ax, "Gain vs tag noise (metadata tags)", source)
    if text_curve is not None:
        ax = axes[0][1]
        ax.plot(text_curve["text_noise"], 100 * text_curve["gain_keyword"], "o-", label="keyword tagger (any hit)")
        if "gain_keyword_min2" in text_curve:
            ax.plot(text_curve["text_noise"], 100 * text_curve["gain_keyword_min2"], "d-", label="keyword tagger (≥ 2 hits)")
        ax.plot(text_curve["text_noise"], 100 * text_curve["gain_latent"], "s--", label="latent tags")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("text noise (share of foreign words in the query text)")
        ax.set_ylabel("mixed router − best single (accuracy points)")
        ax.legend()
        titled(ax, "Gain vs text noise", source)
    fig.tight_layout()
    return fig


def real_gain_plot(rows: pd.DataFrame, *, source: Source = "public data"):
    """Forest plot: router − best single (accuracy points) with a paired bootstrap CI per setting."""
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.6))
    y = np.arange(len(rows))
    ax.errorbar(100 * rows["diff"], y, xerr=[100 * (rows["diff"] - rows["lo"]), 100 * (rows["hi"] - rows["diff"])], fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, rows.index)
    ax.set_xlabel("router − best single in hindsight (accuracy points, 95% paired bootstrap CI)")
    titled(ax, "Router vs best single model on real logs", source)
    fig.tight_layout()
    return fig


def explorer_grid(cells: Sequence[dict], *, source: Source = "simulated", models: Sequence[str] = ()):
    """Static stand-in for the widget: one panel per (alpha, beta, gamma, delta) with selection shares and accuracy."""
    n = len(cells)
    ncol = 3
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 2.8 * nrow), squeeze=False, sharey=True)
    for ax, cell in zip(axes.ravel(), cells):
        ax.bar(range(len(models)), cell["shares"], color="C0")
        ax.set_xticks(range(len(models)), models, rotation=40, ha="right", fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(f"α={cell['alpha']:g}, β={cell['beta']:g}, γ={cell['gamma']:g}, δ={cell['delta']:g}\n"
                     f"acc {cell['accuracy']:.3f}, PR {cell['pr']:.1f}%, CR {cell['cr']:.0f}%", fontsize=8)
        ax.set_ylabel("share routed")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(f"Explorer grid: selection shares under different router settings [{source_note(source)}]")
    fig.tight_layout()
    return fig


def heldout_category_plot(per_fold: dict[str, pd.DataFrame], *, source: Source = "public data"):
    """One panel per pool: router − best single of the fold (points) with its paired bootstrap CI, one row per
    held-out fold of whole categories (``per_fold[name]`` = rows of :func:`realdata.heldout_category_eval`)."""
    k = len(per_fold)
    n = max(len(v) for v in per_fold.values())
    fig, axes = plt.subplots(1, k, figsize=(5.2 * k, 0.32 * n + 1.8), squeeze=False, sharex=True)
    for ax, (name, pf) in zip(axes[0], per_fold.items()):
        y = np.arange(len(pf))[::-1]
        d, lo, hi = 100 * pf["diff"], 100 * pf["ci_low"], 100 * pf["ci_high"]
        col = np.where(pf["ci_high"] < 0, "C3", np.where(pf["ci_low"] > 0, "C2", "C0"))
        for yi, di, l, h, c in zip(y, d, lo, hi, col):
            ax.errorbar(di, yi, xerr=[[di - l], [h - di]], fmt="o", capsize=3, color=c)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, pf["categories"], fontsize=8)
        ax.set_xlabel("router − best single of the fold (points, 95% CI)")
        titled(ax, f"Held-out categories: {name}", source)
    fig.tight_layout()
    return fig
