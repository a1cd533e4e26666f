"""Figures of the InferenceDynamics chapter (drawing only; every number comes from the other modules).

Every figure is at most 7.2 in wide (the book's 110 dpi text column), at most three panels per row, text
at 9 pt or more. Titles are short; the data label (simulated / public data / your log) goes into the
caption that the notebook writes under the numbered figure.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

WIDTH = 7.1  # inches; 7.2 at most after tight bounding boxes
SMALL = 9  # smallest font size on any figure (pt)


#: shorter spellings of long public model names on crowded axes (applied before any truncation)
ALIASES = (("Meta-Llama-3_1-", "Llama-3.1-"), ("-Instruct", "-Ins"), ("gemini-1.5-", "gemini-"), ("-002", ""),
           ("DeepSeek-Coder-V2", "DS-Coder-V2"), ("jamba-1.5-large", "jamba-large"), ("Mixtral-8x7B-Ins-v0.1", "Mixtral-8x7B"),
           ("c4ai-command-r-v01", "command-r"))


def _short(name: str, n: int = 16) -> str:
    """Model names on crowded axes: known long names abbreviated (:data:`ALIASES`), then an ellipsis beyond
    ``n`` characters."""
    name = str(name)
    for a, b in ALIASES:
        name = name.replace(a, b)
    return name if len(name) <= n else name[: n - 1] + "…"


def annotate_points(ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], *, fontsize: int = SMALL) -> None:
    """Label scatter points without overlaps: for each point try offsets around it and keep the first whose
    text box overlaps no earlier label and stays inside the axes (else the first offset)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    cands = [(4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"), (-4, -3, "right", "top"),
             (4, 11, "left", "bottom"), (4, -11, "left", "top"), (-4, 11, "right", "bottom"), (-4, -11, "right", "top")]
    placed = []
    for x, y, lab in zip(xs, ys, labels):
        chosen = None
        for dx, dy, ha, va in cands:
            t = ax.annotate(lab, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=fontsize)
            bb = t.get_window_extent(renderer)
            inside = bb.x0 >= frame.x0 and bb.x1 <= frame.x1 and bb.y0 >= frame.y0 and bb.y1 <= frame.y1
            if inside and not any(bb.overlaps(o) for o in placed):
                chosen = t
                break
            t.remove()
        if chosen is None:
            chosen = ax.annotate(lab, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=fontsize)
        placed.append(chosen.get_window_extent(renderer))


def profile_heatmap(S_k: pd.DataFrame, S_c: pd.DataFrame, *, n_elements: int = 8, n_models: int = 4,
                    counts_k: pd.Series | None = None):
    """Fig.-1 analog: element scores S(t, e) of the ``n_models`` strongest models on the most frequent
    knowledge elements and on the capabilities; the best model of each row is outlined."""
    top_models = S_k.mean(axis=0).sort_values(ascending=False).index[:n_models]
    ks = S_k.dropna(how="all")
    if counts_k is not None:
        ks = ks.loc[counts_k.reindex(ks.index).fillna(0).sort_values(ascending=False).index]
    ks = ks.iloc[:n_elements][top_models]
    cs = S_c.dropna(how="all").iloc[:n_elements][top_models]
    rows = max(len(ks), len(cs))
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 0.42 * rows + 1.9))
    for ax, tab, name in ((axes[0], ks, "knowledge"), (axes[1], cs, "capability")):
        ax.imshow(tab.to_numpy(), cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(tab.columns)), [_short(c, 10) for c in tab.columns], rotation=30, ha="right", fontsize=SMALL)
        ax.set_yticks(range(len(tab.index)), [_short(i, 18) for i in tab.index], fontsize=SMALL)
        ax.grid(False)
        best = np.nanargmax(tab.to_numpy(), axis=1)
        for i in range(tab.shape[0]):
            for j in range(tab.shape[1]):
                ax.text(j, i, f"{tab.iat[i, j]:.2f}", ha="center", va="center", fontsize=SMALL,
                        color="k" if j == best[i] else "w", fontweight="bold" if j == best[i] else "normal",
                        bbox=dict(boxstyle="square,pad=0.15", fc="w", ec="none") if j == best[i] else None)
        ax.set_title(f"{name} profile S(t, e)", fontsize=10)
    fig.tight_layout()
    return fig


def rank_distribution_bars(dist: pd.DataFrame, *, top: int = 8):
    """Appendix-B analog: weighted-rank knowledge distribution (percent) per benchmark (stacked bars)."""
    cols = dist.sum(axis=0).sort_values(ascending=False).index[:top]
    sub = dist[cols].copy()
    sub["rest"] = 100 - sub.sum(axis=1)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.34 * len(sub) + 2.2))
    left = np.zeros(len(sub))
    cmap = plt.get_cmap("tab20")
    for j, c in enumerate(sub.columns):
        ax.barh(sub.index, sub[c], left=left, color="lightgrey" if c == "rest" else cmap(j % 20), label=c)
        left += sub[c].to_numpy()
    ax.set_xlabel("weighted-rank share of the knowledge tags (%)")
    ax.set_ylabel("benchmark")
    ax.invert_yaxis()
    ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, title="element", title_fontsize=SMALL)
    fig.tight_layout()
    return fig


def beta_sweep_plot(sweep: pd.DataFrame, singles: pd.DataFrame, *, best_name: str = "", mark_beta: float | None = 15.0):
    """Left: PR and CR (%) against beta; right: cost-accuracy plane with the single models and the router's path."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.5))
    ax = axes[0]
    x = sweep["beta"].to_numpy()
    ax.plot(x, sweep["performance_ratio"], "o-", color="C0", ms=3, label="performance ratio")
    ax.plot(x, sweep["cost_ratio"], "s-", color="C1", ms=3, label="cost ratio")
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    if mark_beta is not None:
        ax.axvline(mark_beta, color="grey", lw=0.8, ls=":")
        ax.text(mark_beta, 2, " β = 15", fontsize=SMALL, color="grey")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max(float(x.max()), 1.0) * 1.5)
    ax.set_ylim(0, max(110.0, float(sweep[["performance_ratio", "cost_ratio"]].max().max()) * 1.05))
    ax.set_xlabel("β (1/USD, symlog)")
    ax.set_ylabel("% of the best single model")
    ax.legend(fontsize=SMALL, loc="best")
    ax.set_title(f"PR and CR vs β (reference: {_short(best_name, 20)})", fontsize=10)
    ax = axes[1]
    ax.scatter(singles["mean_cost_usd"] * 1e3, singles["avg"], color="grey", zorder=3, s=14)
    ax.plot(sweep["mean_cost_usd"] * 1e3, sweep["accuracy"], "o-", color="C1", ms=3)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_xlabel("mean cost per query (USD × 10⁻³)")
    ax.set_ylabel("macro accuracy")
    ax.set_title("cost–accuracy plane (red: router)", fontsize=10)
    lo_y = min(float(singles["avg"].min()), float(sweep["accuracy"].min()))
    hi_y = max(float(singles["avg"].max()), float(sweep["accuracy"].max()))
    ax.set_ylim(lo_y - 0.08 * (hi_y - lo_y + 1e-9), hi_y + 0.12 * (hi_y - lo_y + 1e-9))
    fig.tight_layout()
    annotate_points(ax, singles["mean_cost_usd"].to_numpy() * 1e3, singles["avg"].to_numpy(), [_short(n, 17) for n in singles.index])
    return fig


def share_heatmaps(panels: Sequence[tuple[pd.DataFrame, str, str]]):
    """Selection shares, one heatmap per panel ``(shares, title, ylabel)`` stacked vertically (rows:
    groups or beta values, columns: models); percentages written in the cells."""
    heights = [0.3 * p[0].shape[0] + 1.0 for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, sum(heights) + 1.2), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (shares, title, ylabel) in zip(axes[:, 0], panels):
        ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(shares.shape[1]), [_short(c, 14) for c in shares.columns], rotation=25, ha="right", fontsize=SMALL)
        ax.set_yticks(range(shares.shape[0]), [f"{i:g}" if isinstance(i, float) else str(i) for i in shares.index], fontsize=SMALL)
        ax.set_ylabel(ylabel)
        ax.grid(False)
        for i in range(shares.shape[0]):
            for j in range(shares.shape[1]):
                v = shares.iat[i, j]
                if v >= 0.005:
                    ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=SMALL, color="k" if v < 0.6 else "w")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def dynamic_pool_plot(curves: dict[str, pd.DataFrame]):
    """Router, best single model of the pool and hindsight oracle against the pool, one panel per setting."""
    k = len(curves)
    fig, axes = plt.subplots(1, k, figsize=(WIDTH, 3.6), squeeze=False)
    for ax, (name, df) in zip(axes[0], curves.items()):
        ax.plot(df["pool_size"], df["router"], "o-", ms=4, label="router")
        ax.plot(df["pool_size"], df["best_in_pool"], "s--", ms=4, label="best single in pool")
        ax.plot(df["pool_size"], df["oracle"], "^:", ms=4, label="oracle (hindsight)")
        ax.set_xticks(df["pool_size"], [("+" if i else "") + _short(a, 12) for i, a in enumerate(df["added"])],
                      rotation=40, ha="right", fontsize=SMALL)
        ax.set_xlabel("model added at this step")
        ax.set_ylabel("macro accuracy")
        ax.set_title(name, fontsize=10)
    axes[0][0].legend(fontsize=SMALL)
    fig.tight_layout()
    return fig


def noise_plot(tag_curve: pd.DataFrame, text_curve: pd.DataFrame | None = None):
    """Router gain over the best single model against tag noise (mean and 95 % t-interval over replicates)
    and, with ``text_curve``, against the text noise seen by a keyword tagger."""
    n = 1 if text_curve is None else 2
    fig, axes = plt.subplots(1, n, figsize=(WIDTH, 3.3), squeeze=False)
    ax = axes[0][0]
    m = 100 * tag_curve["gain_mean"]
    if tag_curve["ci_low"].notna().all():
        ax.fill_between(tag_curve["noise"], 100 * tag_curve["ci_low"], 100 * tag_curve["ci_high"], alpha=0.25, color="C0",
                        label="95 % t-interval")
    ax.plot(tag_curve["noise"], m, "o-", ms=4, color="C0", label="mean over replicates")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("tag noise (P[tag replaced])")
    ax.set_ylabel("router − best single (points)")
    ax.legend(fontsize=SMALL)
    ax.set_title("metadata tags", fontsize=10)
    if text_curve is not None:
        ax = axes[0][1]
        ax.plot(text_curve["text_noise"], 100 * text_curve["gain_keyword"], "o-", ms=4, label="keyword, any hit")
        ax.plot(text_curve["text_noise"], 100 * text_curve["gain_keyword_min2"], "d-", ms=4, label="keyword, ≥ 2 hits")
        ax.plot(text_curve["text_noise"], 100 * text_curve["gain_latent"], "s--", ms=4, label="latent tags")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("text noise (share of foreign words)")
        ax.set_ylabel("router − best single (points)")
        ax.legend(fontsize=SMALL)
        ax.set_title("keyword tagger on pseudo-text", fontsize=10)
    fig.tight_layout()
    return fig


def forest_plot(rows: pd.DataFrame, *, xlabel: str = "router − best single model (points, 95 % CI)"):
    """Point estimates with intervals, one row per setting (``rows`` indexed by label, columns diff, lo, hi in points)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(rows) + 1.3))
    y = np.arange(len(rows))[::-1]
    col = np.where(rows["hi"] < 0, "C1", np.where(rows["lo"] > 0, "C3", "C0"))
    for yi, (_, r), c in zip(y, rows.iterrows(), col):
        ax.errorbar(r["diff"], yi, xerr=[[r["diff"] - r["lo"]], [r["hi"] - r["diff"]]], fmt="o", capsize=3, color=c)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, rows.index, fontsize=SMALL)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def explorer_grid(cells: Sequence[dict], *, models: Sequence[str] = ()):
    """Static stand-in for the widget: one panel per (alpha, beta, gamma, delta) with the selection shares."""
    n = len(cells)
    ncol = 3
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.55 * nrow + 0.3), squeeze=False, sharey=True)
    for ax, cell in zip(axes.ravel(), cells):
        ax.bar(range(len(models)), cell["shares"], color="C0")
        ax.set_xticks(range(len(models)), [_short(m, 6) for m in models], rotation=90, fontsize=SMALL)
        ax.set_ylim(0, 1)
        ax.set_title(f"α={cell['alpha']:g} β={cell['beta']:g} γ={cell['gamma']:g} δ={cell['delta']:g}\n"
                     f"acc {cell['accuracy']:.3f}, PR {cell['pr']:.0f}%, CR {cell['cr']:.0f}%", fontsize=SMALL)
    for ax in axes[:, 0]:
        ax.set_ylabel("share routed")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def heldout_category_plot(per_fold: dict[str, pd.DataFrame]):
    """One panel per pool: router − best single of the fold (points, 95 % CI), one row per held-out fold."""
    k = len(per_fold)
    n = max(len(v) for v in per_fold.values())
    fig, axes = plt.subplots(1, k, figsize=(WIDTH, 0.36 * n + 1.9), squeeze=False, sharey=True)
    for ax, (name, pf) in zip(axes[0], per_fold.items()):
        y = np.arange(len(pf))[::-1]
        d, lo, hi = 100 * pf["diff"], 100 * pf["ci_low"], 100 * pf["ci_high"]
        col = np.where(pf["ci_high"] < 0, "C1", np.where(pf["ci_low"] > 0, "C3", "C0"))
        for yi, di, l, h, c in zip(y, d, lo, hi, col):
            ax.errorbar(di, yi, xerr=[[di - l], [h - di]], fmt="o", capsize=3, color=c)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, [_short(c, 22) for c in pf["categories"]], fontsize=SMALL)
        ax.set_xlabel("router − fold's best (points)")
        ax.set_title(_short(name, 34), fontsize=10)
    fig.tight_layout()
    return fig


def absent_figure(text: str):
    """A figure that states why its data are absent in this run (e.g. no public data): text only, no axes."""
    fig, ax = plt.subplots(figsize=(WIDTH, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    return fig
