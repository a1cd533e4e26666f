"""Figures of the repliclust chapter (drawing only; every number comes from the library's computations)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE, source_note


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


def plot_gallery(items: Sequence[dict], embed: str = "pca", seed: int = 0):
    """Grid: one column per archetype, rows convex / distorted (Figs 5.7/5.8). items: name, X, y, Xd, yd."""
    n = len(items)
    fig, axes = plt.subplots(2, n, figsize=(2.3 * n, 5.0), squeeze=False)
    for j, it in enumerate(items):
        for i, (key, lab) in enumerate((("X", "y"), ("Xd", "yd"))):
            ax = axes[i, j]
            _scatter(ax, embed_2d(it[key], embed, seed), it[lab])
            if i == 0:
                ax.set_title(f"archetype {j + 1}\np={it['X'].shape[1]}, n={len(it['y'])}", fontsize=8)
        axes[0, 0].set_ylabel("convex")
        axes[1, 0].set_ylabel("distorted (non-convex)")
    view = "axes 1–2 = data" if embed == "pca" else "t-SNE"
    fig.suptitle(f"Data sets drawn from the six benchmark archetypes (p>2: {embed.upper()} view; {view} when p=2)\n"
                 f"[{source_note('simulated')}]", fontsize=10)
    fig.tight_layout()
    return fig


def plot_sphere(Y: np.ndarray, y: np.ndarray):
    """3-D scatter of a 2-D data set wrapped around the sphere (Fig 5.6)."""
    fig = plt.figure(figsize=(4.2, 4.0))
    ax = fig.add_subplot(projection="3d")
    cmap = plt.get_cmap("tab20")
    ax.scatter(Y[:, 0], Y[:, 1], Y[:, 2], c=[cmap(int(v) % 20) for v in y], s=3)
    ax.set_xlabel("$y_1$")
    ax.set_ylabel("$y_2$")
    ax.set_zlabel("$y_3$")
    ax.set_title(f"wrap_around_sphere of a 2-D data set\n[{source_note('simulated')}]", fontsize=9)
    return fig


def plot_maxmin(draws: dict[str, dict]):
    """Histograms of max-min draws with lo / ref / hi lines. draws[name] = dict(values, lo, ref, hi, xlabel)."""
    fig, axes = plt.subplots(1, len(draws), figsize=(3.2 * len(draws), 3.0), squeeze=False)
    for ax, (name, d) in zip(axes[0], draws.items()):
        ax.hist(d["values"], bins=30, color=PALETTE[0], alpha=0.8)
        for v, ls, lab in ((d["lo"], ":", "lo"), (d["ref"], "-", "ref"), (d["hi"], "--", "hi")):
            ax.axvline(v, color="k", ls=ls, lw=1, label=f"{lab} = {v:.3g}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(d["xlabel"])
        ax.set_ylabel("count")
        ax.legend(fontsize=7)
    fig.suptitle(f"Max-min sampling of cluster attributes [{source_note('simulated')}]", fontsize=10)
    fig.tight_layout()
    return fig


def plot_overlap_accuracy(df: pd.DataFrame, stats: dict, unit: str = "pairs"):
    """Fig 5.4: (a) approximate vs exact overlap, log-log with y = x; (b) relative error vs exact."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9.5, 4.0))
    lo = max(df["exact"].min() * 0.5, 1e-8)
    for col, c, lab in (("c2c", PALETTE[1], "center-to-center"), ("lda", PALETTE[0], "LDA")):
        a.scatter(df["exact"], df[col], s=8, color=c, alpha=0.7, label=f"{lab} (r = {stats[f'r_{col}']:.4f})")
        b.scatter(df["exact"], np.abs(df[col] - df["exact"]) / df["exact"], s=8, color=c, alpha=0.7, label=lab)
    a.plot([lo, 1], [lo, 1], "k--", lw=1, label="y = x")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("exact overlap α* (Anderson–Bahadur)")
    a.set_ylabel("approximate overlap")
    b.set_ylabel("relative error |α_approx − α*| / α*")
    b.axhline(0.1, color="grey", ls=":", lw=1, label="10 %")
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    a.set_title("(a) approximation vs exact", fontsize=10)
    b.set_title("(b) relative error", fontsize=10)
    what = "two-cluster Gaussian models" if unit == "pairs" else "Gaussian mixtures (per-data-set midpoint)"
    fig.suptitle(f"Overlap approximations on {len(df)} {what} [{source_note('simulated')}]", fontsize=10)
    fig.tight_layout()
    return fig


def plot_overlap_control(df: pd.DataFrame):
    """Fig 5.11: histograms of exact pairwise overlaps per archetype with max/min overlap lines."""
    archs = sorted(df["archetype"].unique())
    ncol = 3
    nrow = int(np.ceil(len(archs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(10, 3.0 * nrow), squeeze=False)
    for ax, a in zip(axes.ravel(), archs):
        g = df[df["archetype"] == a]
        v = np.clip(g["exact"].to_numpy(), 1e-12, None)
        ax.hist(np.log10(v), bins=30, color=PALETTE[3], alpha=0.85)
        ax.axvline(np.log10(g["max_overlap"].iloc[0]), color="k", ls="--", lw=1.2, label="max_overlap")
        ax.axvline(np.log10(g["min_overlap"].iloc[0]), color="grey", ls="--", lw=1.2, label="min_overlap")
        ax.set_title(f"{a}. {g['name'].iloc[0]}", fontsize=7)
        ax.set_xlabel("log10 exact pairwise overlap (< 1e-12 shown at −12)")
        ax.set_ylabel("pairs")
    for ax in axes.ravel()[len(archs):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Pairwise overlaps vs the archetype's max/min settings [{source_note('simulated')}]", fontsize=10)
    fig.tight_layout()
    return fig


def plot_benchmark(ours: pd.DataFrame, thesis: pd.DataFrame, metric: str = "AMI"):
    """Bars: our mean ± SE per archetype and algorithm, thesis values as black ticks (Table 5.2)."""
    algs = ["EM-GMM", "K-Means", "Spectral", "Hierarchical"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, kind in zip(axes, ("convex", "nonconvex")):
        o = ours[(ours.convexity == kind) & (ours.archetype != "avg")]
        archs = sorted(o["archetype"].unique(), key=int)
        x = np.arange(len(archs))
        w = 0.2
        for i, alg in enumerate(algs):
            g = o[o.algorithm == alg].set_index("archetype").reindex(archs)
            if g[metric].isna().all():
                continue
            ax.bar(x + (i - 1.5) * w, g[metric], w, yerr=g[f"{metric}_se"].fillna(0), color=PALETTE[i], label=alg,
                   capsize=2)
            t = thesis[(thesis.convexity == kind) & (thesis.algorithm == alg) & (thesis.metric == metric)]
            t = t.set_index("archetype").reindex(archs)
            ax.scatter(x + (i - 1.5) * w, t["value"], marker="_", color="k", s=80, zorder=3,
                       label="thesis" if i == 0 else None)
        ax.set_xticks(x)
        ax.set_xticklabels([f"arch. {a}" for a in archs])
        ax.set_title(f"{kind} data", fontsize=10)
        ax.set_ylabel(f"{metric} (mean ± SE)")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"Mock benchmark: our rerun ({source_note('simulated')}) vs thesis Table 5.2 "
                 f"[{source_note('transcription')}]", fontsize=10)
    fig.tight_layout()
    return fig


def plot_difficulty(curves: pd.DataFrame, kind: str):
    """Figs 5.9/5.10: mean AMI, ARI and silhouette vs max_overlap (log x), one line per dimension."""
    m = curves[curves.convexity == kind].groupby(["p", "max_overlap"])[["AMI", "ARI", "silhouette"]].mean().reset_index()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, col in zip(axes, ("AMI", "ARI", "silhouette")):
        for i, (p, g) in enumerate(m.groupby("p")):
            ax.plot(g["max_overlap"], g[col], "o-", color=PALETTE[i % len(PALETTE)], label=f"p = {p}", ms=4)
        ax.set_xscale("log")
        ax.set_xlabel("max_overlap (min = max/10)")
        ax.set_ylabel(f"mean {col}" + (" (Ward)" if col != "silhouette" else " of true labels"))
    axes[0].legend(fontsize=8)
    label = "convex" if kind == "convex" else "non-convex (distorted)"
    fig.suptitle(f"Overlap vs clustering difficulty, {label} clusters, 2 clusters [{source_note('simulated')}]",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_nongaussian(ng: pd.DataFrame, n_points: int):
    """App. 4D check: empirical minimax error per radial family at a nominal overlap (log y; zeros marked)."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    floor = 0.5 / n_points
    vals = np.maximum(ng["empirical"].to_numpy(), floor)
    ax.bar(ng["family"], 100 * vals, yerr=100 * ng["se"].fillna(0).to_numpy(), color=PALETTE[3], capsize=2)
    for x, v in enumerate(ng["empirical"]):
        if v <= 0:
            ax.text(x, 100 * floor * 1.3, "0", ha="center", fontsize=8)
    ax.axhline(100 * ng["nominal"].iloc[0], color="k", ls="--", lw=1, label=f"nominal {ng['nominal'].iloc[0]:.0%}")
    ax.set_yscale("log")
    ax.set_ylabel("empirical minimax error (%)")
    ax.set_xlabel("radial family")
    ax.legend()
    ax.set_title(f"Overlap along the LDA axis at a nominal {ng['nominal'].iloc[0]:.0%}, 2-D, per radial family "
                 f"[{source_note('simulated')}]", fontsize=10)
    plt.setp(ax.get_xticklabels(), rotation=40)
    fig.tight_layout()
    return fig


def plot_explorer_grid(panels: Sequence[dict], ncol: int):
    """Static explorer: a grid of 2-D data sets, each titled by its parameter values."""
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.5 * nrow), squeeze=False)
    for ax, pnl in zip(axes.ravel(), panels):
        _scatter(ax, pnl["X"][:, :2], pnl["y"], s=3)
        ax.set_title(pnl["title"], fontsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"Explorer grid: 2-D data sets from one archetype as parameters vary [{source_note('simulated')}]",
                 fontsize=10)
    fig.tight_layout()
    return fig
