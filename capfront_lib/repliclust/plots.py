"""Figures of the repliclust chapter (drawing only; every number comes from the library's computations).

Every figure is at most 7.2 in wide (the book's text column at 110 dpi), with at most three panels per
row and text of at least 9 pt; the data source is named in the page's caption, not in the figure.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE

WIDTH = 7.2
FS = 9  # smallest font size used


def embed_2d(X: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D view of a data set: the data itself when p = 2, else PCA (or t-SNE)."""
    X = np.asarray(X, dtype=float)
    if X.shape[1] <= 2:
        return X[:, :2]
    if method == "pca":
        Xc = X - X.mean(axis=0)
        _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
        return Xc @ Vt[:2].T
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(2, random_state=seed, init="pca").fit_transform(X)
    raise ValueError(f"embed must be 'pca' or 'tsne', got {method!r}")


def _scatter(ax, X2, y, s=4):
    cmap = plt.get_cmap("tab20")
    ax.scatter(X2[:, 0], X2[:, 1], c=[cmap(int(v) % 20) for v in y], s=s, linewidths=0, alpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def plot_gallery(items: Sequence[dict], embed: str = "pca", seed: int = 0):
    """Figs 5.7/5.8: rows of three archetypes, convex row above its distorted row. items: name, X, y, Xd, yd."""
    n = len(items)
    ncol = min(3, n)
    blocks = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(2 * blocks, ncol, figsize=(WIDTH, 2.35 * 2 * blocks), squeeze=False)
    for j, it in enumerate(items):
        b, c = divmod(j, ncol)
        for r, (key, lab, kind) in enumerate((("X", "y", "convex"), ("Xd", "yd", "distorted"))):
            ax = axes[2 * b + r, c]
            _scatter(ax, embed_2d(it[key], embed, seed), it[lab], s=3)
            ax.set_title(f"{it.get('number', j + 1)}: {kind}, p = {it['X'].shape[1]}", fontsize=FS)
    for j in range(n, blocks * ncol):
        b, c = divmod(j, ncol)
        axes[2 * b, c].axis("off")
        axes[2 * b + 1, c].axis("off")
    fig.tight_layout()
    return fig


def plot_families(samples: dict[str, tuple[np.ndarray, np.ndarray]]):
    """Fig 5.2(a): one 2-D cluster per radial family (at most three per row)."""
    n = len(samples)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.4 * nrow), squeeze=False)
    lim = 0.0
    for ax, (name, (X, note)) in zip(axes.ravel(), samples.items()):
        ax.scatter(X[:, 0], X[:, 1], s=2, color=PALETTE[0], alpha=0.5, linewidths=0)
        ax.set_title(f"{name} ({note})", fontsize=FS)
        ax.set_aspect("equal")
        lim = max(lim, float(np.quantile(np.abs(X), 0.995)))
    for ax in axes.ravel():
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.tick_params(labelsize=FS)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_sphere(Y: np.ndarray, y: np.ndarray):
    """3-D scatter of a 2-D data set wrapped around the sphere (Fig 5.6)."""
    fig = plt.figure(figsize=(4.2, 4.0))
    ax = fig.add_subplot(projection="3d")
    cmap = plt.get_cmap("tab20")
    ax.scatter(Y[:, 0], Y[:, 1], Y[:, 2], c=[cmap(int(v) % 20) for v in y], s=3)
    ax.set_xlabel("$y_1$", fontsize=FS)
    ax.set_ylabel("$y_2$", fontsize=FS)
    ax.set_zlabel("$y_3$", fontsize=FS)
    ax.tick_params(labelsize=FS)
    fig.tight_layout()
    return fig


def plot_maxmin(draws: dict[str, dict]):
    """Histograms of max-min draws with lo / ref / hi lines, two per row. draws[name] = dict(values, lo, ref, hi, xlabel)."""
    n = len(draws)
    ncol = 2
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.7 * nrow), squeeze=False)
    for ax, (name, d) in zip(axes.ravel(), draws.items()):
        ax.hist(d["values"], bins=30, color=PALETTE[0], alpha=0.8)
        for v, ls in ((d["lo"], ":"), (d["ref"], "-"), (d["hi"], "--")):
            ax.axvline(v, color="k", ls=ls, lw=1.2)
        ax.set_title(f"{name}\nlo {d['lo']:.3g}, ref {d['ref']:.3g}, hi {d['hi']:.3g}", fontsize=FS)
        ax.set_xlabel(d["xlabel"])
        ax.set_ylabel("count")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_overlap_accuracy(df: pd.DataFrame, stats: dict):
    """Fig 5.4: (a) approximate vs exact overlap, log-log with y = x; (b) relative error vs exact."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.4))
    lo = max(df["exact"].min() * 0.5, 1e-8)
    for col, c, lab in (("c2c", PALETTE[1], "C2C"), ("lda", PALETTE[0], "LDA")):
        a.scatter(df["exact"], df[col], s=6, color=c, alpha=0.6, label=f"{lab}, r = {stats[f'r_{col}']:.3f}", linewidths=0)
        rel = np.maximum(np.abs(df[col] - df["exact"]) / df["exact"], 1e-8)
        b.scatter(df["exact"], rel, s=6, color=c, alpha=0.6, label=lab, linewidths=0)
    a.plot([lo, 1], [lo, 1], "k--", lw=1, label="y = x")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("exact overlap α*")
    a.set_ylabel("approximate overlap")
    b.set_ylabel("relative error")
    b.axhline(0.1, color="grey", ls=":", lw=1, label="10 %")
    a.legend(fontsize=FS, loc="upper left")
    b.legend(fontsize=FS, loc="lower left")
    a.set_title("(a) approximation vs exact", fontsize=FS + 1)
    b.set_title("(b) relative error", fontsize=FS + 1)
    fig.tight_layout()
    return fig


def plot_overlap_control(df: pd.DataFrame):
    """Fig 5.11: histograms of exact pairwise overlaps per archetype with max/min overlap lines."""
    archs = sorted(df["archetype"].unique())
    ncol = 3
    nrow = int(np.ceil(len(archs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.6 * nrow), squeeze=False)
    for ax, a in zip(axes.ravel(), archs):
        g = df[df["archetype"] == a]
        v = np.log10(np.clip(g["exact"].to_numpy(), 1e-12, None))
        ax.hist(v, bins=30, color=PALETTE[3], alpha=0.85)
        ax.axvline(np.log10(g["max_overlap"].iloc[0]), color="k", ls="--", lw=1.2, label="max_overlap")
        ax.axvline(np.log10(g["min_overlap"].iloc[0]), color="grey", ls="--", lw=1.2, label="min_overlap")
        ax.set_title(f"archetype {a}", fontsize=FS + 1)
        ax.set_xlabel("log₁₀ exact overlap")
        ax.set_ylabel("pairs")
        ax.locator_params(axis="x", nbins=4)
    for ax in axes.ravel()[len(archs):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=FS, loc="upper left")
    fig.tight_layout()
    return fig


def plot_convergence(conv: pd.DataFrame, penalty: float = 0.01):
    """§5.3 placement: (a) loss per epoch on a log scale for a few placements per cell; (b) mean epochs per cell."""
    c = conv[np.isclose(conv.penalty, penalty)]
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.2))
    cells = sorted({(int(k), int(p)) for k, p in zip(c.k, c.p)})
    for i, (k, p) in enumerate(cells):
        g = c[(c.k == k) & (c.p == p)]
        for j, h in enumerate(g.history.head(3)):
            h = np.asarray(h, dtype=float)
            h = h[h > 0]
            a.plot(np.arange(h.size), h, "-", color=PALETTE[i % len(PALETTE)], lw=1, alpha=0.8,
                   label=f"k {k}, p {p}" if j == 0 else None)
    a.set_yscale("log")
    a.set_xlabel("epoch")
    a.set_ylabel("overlap loss L (before it hits 0)")
    a.legend(fontsize=FS, ncol=1, loc="upper right")
    a.set_title("(a) loss per epoch", fontsize=FS + 1)
    m = c.groupby(["k", "p"]).epochs.agg(["mean", "std", "count"]).reset_index()
    labels = [f"k {int(k)}\np {int(p)}" for k, p in zip(m.k, m.p)]
    b.bar(np.arange(len(m)), m["mean"], yerr=m["std"] / np.sqrt(m["count"]), color=PALETTE[0], capsize=3)
    b.set_xticks(np.arange(len(m)))
    b.set_xticklabels(labels, fontsize=FS)
    b.set_ylabel("epochs to loss 0 (mean ± SE)")
    b.set_title("(b) epochs per (k, p)", fontsize=FS + 1)
    fig.tight_layout()
    return fig


def plot_distort(pairs: pd.DataFrame, aspects: tuple[np.ndarray, np.ndarray]):
    """What distort does: (a) empirical pairwise overlap after vs before; (b) cluster aspect ratios after vs before."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    floor = 1e-3
    for arch, g in pairs.groupby("archetype"):
        a.scatter(np.maximum(g.before, floor), np.maximum(g.after, floor), s=8, alpha=0.6, linewidths=0,
                  color=PALETTE[(int(arch) - 1) % len(PALETTE)], label=f"archetype {arch}")
    a.plot([floor, 1], [floor, 1], "k--", lw=1, label="y = x")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("overlap before distort")
    a.set_ylabel("overlap after distort")
    a.legend(fontsize=FS, loc="lower right")
    a.set_title("(a) pairwise overlap", fontsize=FS + 1)
    before, after = aspects
    b.scatter(before, after, s=8, alpha=0.6, color=PALETTE[2], linewidths=0)
    hi = max(before.max(), after.max()) * 1.1
    b.plot([1, hi], [1, hi], "k--", lw=1)
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("aspect ratio before")
    b.set_ylabel("aspect ratio after")
    b.set_title("(b) cluster aspect ratio", fontsize=FS + 1)
    fig.tight_layout()
    return fig


def plot_benchmark(ours: pd.DataFrame, thesis: pd.DataFrame, metric: str = "AMI"):
    """Bars: our mean ± SE per archetype and algorithm, thesis values as black ticks (Table 5.2); one row per convexity."""
    algs = ["EM-GMM", "K-Means", "Spectral", "Hierarchical"]
    kinds = [k for k in ("convex", "nonconvex") if k in set(ours.convexity)]
    fig, axes = plt.subplots(len(kinds), 1, figsize=(WIDTH, 2.7 * len(kinds)), sharey=True, squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds):
        o = ours[(ours.convexity == kind) & (ours.archetype != "avg")]
        archs = sorted(o["archetype"].unique(), key=int)
        x = np.arange(len(archs))
        w = 0.2
        for i, alg in enumerate(algs):
            g = o[o.algorithm == alg].set_index("archetype").reindex(archs)
            if g[metric].isna().all():
                continue
            ax.bar(x + (i - 1.5) * w, g[metric], w, yerr=g[f"{metric}_se"].fillna(0), color=PALETTE[i], label=alg, capsize=2)
            t = thesis[(thesis.convexity == kind) & (thesis.algorithm == alg) & (thesis.metric == metric)]
            t = t.set_index("archetype").reindex(archs)
            ax.scatter(x + (i - 1.5) * w, t["value"], marker="_", color="k", s=70, zorder=3, label="thesis" if i == 0 else None)
        ax.set_xticks(x)
        ax.set_xticklabels([str(a) for a in archs])
        ax.set_xlabel("archetype")
        ax.set_title("convex data" if kind == "convex" else "non-convex (distorted) data", fontsize=FS + 1)
        ax.set_ylabel(metric)
        ax.set_ylim(0, 1.05)
    axes[0, 0].legend(fontsize=FS, ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.12), frameon=False)
    fig.tight_layout()
    return fig


def plot_difficulty(curves: pd.DataFrame, kind: str):
    """Figs 5.9/5.10: mean AMI, ARI and silhouette vs max_overlap (log x), one line per dimension."""
    m = curves[curves.convexity == kind].groupby(["p", "max_overlap"])[["AMI", "ARI", "silhouette"]].mean().reset_index()
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.1))
    for ax, col in zip(axes, ("AMI", "ARI", "silhouette")):
        for i, (p, g) in enumerate(m.groupby("p")):
            ax.plot(g["max_overlap"], g[col], "o-", color=PALETTE[i % len(PALETTE)], label=f"p = {p}", ms=3, lw=1.2)
        ax.set_xscale("log")
        ax.set_xticks([1e-7, 1e-4, 1e-1])
        ax.set_xlabel("max_overlap")
        ax.set_title(f"mean {col}" + (" (Ward)" if col != "silhouette" else " (true labels)"), fontsize=FS + 1)
        ax.tick_params(labelsize=FS)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=FS, loc="upper center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_nongaussian(summary: pd.DataFrame, n_points: int):
    """App. 4D check: empirical minimax error per radial family at a nominal overlap (log y; zeros marked)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    floor = 0.5 / n_points
    s = summary.sort_values("empirical")
    vals = np.maximum(s["empirical"].to_numpy(), floor)
    y = np.arange(len(s))
    ax.barh(y, 100 * vals, xerr=100 * s["se"].fillna(0).to_numpy(), color=PALETTE[3], capsize=2)
    ax.set_yticks(y)
    ax.set_yticklabels(s["family"], fontsize=FS)
    for yi, v in zip(y, s["empirical"]):
        if v <= 0:
            ax.text(100 * floor * 1.3, yi, "0", va="center", fontsize=FS)
    nominal = float(s["nominal"].iloc[0])
    ax.axvline(100 * nominal, color="k", ls="--", lw=1, label=f"nominal {100 * nominal:g} %")
    ax.set_xscale("log")
    ax.set_xlabel("empirical minimax error along the LDA axis (%)")
    ax.legend(fontsize=FS, loc="lower right")
    fig.tight_layout()
    return fig


def plot_explorer_grid(panels: Sequence[dict], rows: Sequence[str], cols: Sequence[str]):
    """Static explorer: a grid of 2-D data sets; rows and columns labelled by their parameter values,
    each panel annotated with its largest exact pairwise overlap."""
    nrow, ncol = len(rows), len(cols)
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, 2.3 * nrow), squeeze=False)
    for ax, pnl in zip(axes.ravel(), panels):
        _scatter(ax, pnl["X"][:, :2], pnl["y"], s=3)
        ax.text(0.02, 0.02, pnl["note"], transform=ax.transAxes, fontsize=FS, va="bottom",
                bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
    for j, c in enumerate(cols):
        axes[0, j].set_title(c, fontsize=FS + 1)
    for i, r in enumerate(rows):
        axes[i, 0].set_ylabel(r, fontsize=FS + 1)
    fig.tight_layout()
    return fig
