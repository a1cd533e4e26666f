"""Figures of the economic-evaluation chapter (drawing only; numbers come from the other submodules).

Book rules: figures at most 7.2 in wide (110 dpi), text at least 9 pt, at most three panels per row. Models whose
numbers are *assumed* (``status == "placeholder"``) are drawn hollow or hatched and labelled with ``*``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.ticker import NullFormatter

from capfront_lib.core.plotting import PALETTE
from capfront_lib.economic_evaluation import reward as rw
from capfront_lib.economic_evaluation.tables import GPT41, LLAMA70, LLAMA405, MODELS, O3, QWEN3, R1

FS = 9  # smallest font size on a figure (points)
WIDTH = 7.2  # largest figure width (inches)

#: one colour per model of the paper, whatever table a figure draws
FIXED_COLORS = {QWEN3: PALETTE[0], O3: PALETTE[1], R1: PALETTE[2], LLAMA405: PALETTE[3], LLAMA70: PALETTE[4],
                GPT41: PALETTE[5], "abstain": PALETTE[6]}
#: label offsets (points) and alignment for models whose points sit close together
_OFFSETS = {QWEN3: (-6, -4, "right", "top"), O3: (5, 3, "left", "bottom"), R1: (0, 8, "center", "bottom")}


def tex_safe(text: str) -> str:
    """Escape dollar signs so that matplotlib does not read them as mathtext delimiters."""
    return str(text).replace("$", r"\$")


def model_colors(table: pd.DataFrame) -> dict[str, str]:
    """One fixed colour per model: the paper's models keep theirs in every figure; others follow in order."""
    spare = [c for c in PALETTE if c not in FIXED_COLORS.values()] or PALETTE
    out, k = {}, 0
    for m in table.index:
        if m in FIXED_COLORS:
            out[m] = FIXED_COLORS[m]
        else:
            out[m] = spare[k % len(spare)] if m not in MODELS else PALETTE[k % len(PALETTE)]
            k += 1
    return out


def no_minor_labels(ax) -> None:
    """Log axes: label only the decades (minor labels such as 4 × 10⁻³ overlap)."""
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def label(table: pd.DataFrame, m: str) -> str:
    """Display name, with ``*`` for assumed (placeholder) rows."""
    name = table.loc[m, "display_name"] if "display_name" in table.columns else m
    return f"{name}*" if str(table.loc[m].get("status", "")) == "placeholder" else str(name)


def _assumed(table: pd.DataFrame, m: str) -> bool:
    return str(table.loc[m].get("status", "")) == "placeholder"


def plot_pareto(ax, table: pd.DataFrame, *, x: str = "cost_usd", y: str = "error_rate", xlabel: str | None = None,
                legend: bool = True) -> None:
    """Error vs cost: Pareto-optimal models outlined, the lower convex hull (what a price sweep can select,
    Theorem 3 on a finite menu) as a line, assumed models hollow."""
    cols = model_colors(table)
    X, Y = table[x].to_numpy(float), table[y].to_numpy(float)
    pm = rw.pareto_mask(np.c_[X, Y])
    hull = rw.lower_convex_hull(X, Y)
    ax.plot(X[hull], Y[hull], color="k", lw=1.2, label="lower convex hull", zorder=2)
    for i, m in enumerate(table.index):
        hollow = _assumed(table, m)
        ax.scatter(X[i], Y[i], s=70, zorder=3, facecolor="white" if hollow else cols[m], edgecolor=cols[m], lw=1.8)
        if pm[i]:
            ax.scatter(X[i], Y[i], s=170, zorder=3, facecolor="none", edgecolor="k", lw=1.2)
        dx, dy, ha, va = _OFFSETS.get(m, (6, 3, "left", "bottom"))
        ax.annotate(label(table, m), (X[i], Y[i]), textcoords="offset points", xytext=(dx, dy), fontsize=FS,
                    ha=ha, va=va)
    ax.scatter([], [], s=170, facecolor="none", edgecolor="k", lw=1.2, label="Pareto-optimal")
    ax.set_xscale("log")
    no_minor_labels(ax)
    ax.margins(x=0.25, y=0.12)
    ax.set_xlabel(xlabel or (r"mean cost per query (\$, log scale)" if x == "cost_usd" else x))
    ax.set_ylabel("error rate" if y == "error_rate" else y)
    if legend:
        ax.legend(loc="center right", fontsize=FS)


def plot_metric_bars(axes, table: pd.DataFrame) -> None:
    """Fig. 3.2 analogue: horizontal bars of error rate, mean cost (log) and mean latency per model (one row,
    shared model axis); reasoning models solid, non-reasoning light, assumed models hatched."""
    cols = model_colors(table)
    y = np.arange(len(table))[::-1]
    names = [label(table, m) for m in table.index]
    spec = (("error_rate", "error rate", False), ("cost_usd", r"cost per query (\$, log)", True),
            ("latency_s", "latency per query (s)", False))
    for ax, (col, lab, log) in zip(axes, spec):
        for yi, m in zip(y, table.index):
            ax.barh(yi, table.loc[m, col], color=cols[m], alpha=1.0 if table.loc[m, "model_class"] == "reasoning" else 0.55,
                    hatch="///" if _assumed(table, m) else None, edgecolor="white" if _assumed(table, m) else None)
        ax.set_xlabel(lab)
        if log:
            ax.set_xscale("log")
            no_minor_labels(ax)
        ax.set_yticks(y, names if ax is axes[0] else [""] * len(names))
        ax.grid(axis="y", visible=False)


def plot_reward_curves(ax, table: pd.DataFrame, lam_E: np.ndarray, R: np.ndarray, *,
                       marks: Mapping[str, float] | None = None) -> None:
    """Fig. 3.3 analogue: ``-log10(-R(lam_E))`` at ``lam_L = 0``; thin lines per model, bold category averages
    (average R, then transform); vertical lines at the prices in ``marks`` (label -> price)."""
    cols = model_colors(table)
    for i, m in enumerate(table.index):
        ls = "-" if table.loc[m, "model_class"] == "reasoning" else "--"
        ax.plot(lam_E, rw.log_reward_transform(R[i]), ls, lw=1.0, color=cols[m], label=label(table, m))
    for cls, c, ls in (("reasoning", "k", "-"), ("non-reasoning", "0.45", "--")):
        sel = (table.model_class == cls).to_numpy()
        if sel.any():
            ax.plot(lam_E, rw.log_reward_transform(R[sel].mean(axis=0)), ls, lw=3, color=c, label=f"{cls} (average R)")
    for k, (name, v) in enumerate((marks or {}).items()):
        if v is not None and np.isfinite(v):
            ax.axvline(v, color=("tab:red", "k", "0.4")[k % 3], lw=1.0, ls=(":", "-.", "--")[k % 3], label=name)
    ax.set_xscale("log")
    no_minor_labels(ax)
    ax.set_xlabel(r"price of error $\lambda_E$ (\$ per error, log scale)")
    ax.set_ylabel(r"$-\log_{10}(-R)$  (higher is better)")
    ax.legend(fontsize=FS, ncol=2, loc="lower left")


def plot_optimal_map(ax, table: pd.DataFrame, lam_E: np.ndarray, lam_L_per_min: Sequence[float], best: np.ndarray,
                     legend_loc: str = "right") -> None:
    """Fig. 3.4 analogue: optimal option over (``lam_E``, ``lam_L``); reasoning models hatched."""
    cols = model_colors(table)
    ids = list(table.index)
    cmap = ListedColormap([cols[m] for m in ids])
    lLm = np.asarray(lam_L_per_min, float)
    yedges = np.arange(len(lLm) + 1) - 0.5
    le = np.log10(lam_E)
    dx = np.diff(le).mean() if len(le) > 1 else 1.0
    xedges = np.r_[le - dx / 2, le[-1] + dx / 2]
    ax.pcolormesh(xedges, yedges, best.T, cmap=cmap, vmin=-0.5, vmax=len(ids) - 0.5, shading="flat")
    reasoning = table.model_class.to_numpy()[best.T] == "reasoning"
    for r in range(reasoning.shape[0]):
        c = 0
        while c < reasoning.shape[1]:  # one hatched rectangle per run of reasoning cells
            if reasoning[r, c]:
                c0 = c
                while c < reasoning.shape[1] and reasoning[r, c] and best.T[r, c] == best.T[r, c0]:
                    c += 1
                ax.add_patch(plt.Rectangle((xedges[c0], yedges[r]), xedges[c] - xedges[c0], 1.0, fill=False,
                                           hatch="//", lw=0, edgecolor="white"))
            else:
                c += 1
    ax.set_yticks(np.arange(len(lLm)), [f"{v:g}" for v in lLm])
    ax.set_xlabel(r"$\log_{10}$ price of error $\lambda_E$ (\$)")
    ax.set_ylabel(r"$\lambda_L$ (\$/min)")
    ax.grid(False)
    shown = [m for m in ids if (best == ids.index(m)).any()]
    handles = [plt.Rectangle((0, 0), 1, 1, color=cols[m]) for m in shown]
    labels = [label(table, m) for m in shown]
    if reasoning.any():
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="0.6", hatch="//", edgecolor="white"))
        labels.append("reasoning model")
    if legend_loc == "right":
        ax.legend(handles, labels, fontsize=FS, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(handles, labels, fontsize=FS, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)


def plot_cascade_advantage(ax, lam_E, res: Mapping[str, np.ndarray], lam_L_per_min, title: str) -> None:
    """Fig. 3.5 analogue: test-set ``R_cascade - R_big`` vs ``lam_E`` for each ``lam_L`` (symlog y)."""
    for j, v in enumerate(lam_L_per_min):
        ax.plot(lam_E, res["test_reward"][:, j] - res["big_test_reward"][:, j], label=tex_safe(f"{v:g} $/min"))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_yticks([-100, -1, -0.01, 0, 0.01, 1, 100], ["−100", "−1", "−0.01", "0", "0.01", "1", "100"])
    ax.set_xticks([1e-4, 1e-2, 1, 1e2, 1e4])
    no_minor_labels(ax)
    ax.set_xlabel(r"$\lambda_E$ (\$)")
    ax.set_title(tex_safe(title), fontsize=FS + 1)


def plot_cer_panels(axes, curves: Mapping[str, pd.DataFrame], decomps: Mapping[str, pd.DataFrame],
                    random_cer: Mapping[str, np.ndarray] | None = None, colors: Mapping[str, str] | None = None) -> None:
    """Fig. 3.6 analogue: (a) CER vs deferral rate with the oracle bound and random baseline, (b) mean cost,
    (c) mean latency of the cascade vs deferral rate."""
    for k, (name, cur) in enumerate(curves.items()):
        c = (colors or {}).get(name, PALETTE[k % len(PALETTE)])
        dec = decomps[name]
        axes[0].plot(dec.deferral_rate, dec.cer, "-", color=c, label=name)
        axes[0].plot(dec.deferral_rate, dec.oracle_bound, ":", color=c, lw=1)
        if random_cer is not None and name in random_cer:
            axes[0].plot(dec.deferral_rate, random_cer[name], "--", color=c, lw=0.8, alpha=0.7)
        axes[1].plot(cur.deferral_rate, cur.cost * 1e3, "-", color=c, label=name)
        axes[2].plot(cur.deferral_rate, cur.latency, "-", color=c, label=name)
    axes[0].plot([], [], "k:", lw=1, label="oracle bound")
    axes[0].plot([], [], "k--", lw=0.8, label="random deferral")
    axes[0].set_title("(a) CER", fontsize=FS + 1)
    axes[1].set_title(r"(b) cost (10⁻³ \$/query)", fontsize=FS + 1)
    axes[2].set_title("(c) latency (s)", fontsize=FS + 1)
    for ax in axes:
        ax.set_xlabel("deferral rate $p_d$")


def plot_reward_breakdown(ax, table: pd.DataFrame, lam_E: float, lam_L_per_min: float, lam_A: float | None = None,
                          names: bool = True) -> int:
    """Horizontal stacked bars of ``-R`` per option: cost, ``lam_L L``, ``lam_E e`` (and ``lam_A`` for an
    *abstain* option, eq. 3.9); the optimal option outlined. Returns its index."""
    lL = lam_L_per_min / 60.0
    labels_ = [label(table, m) for m in table.index]
    c = table.cost_usd.to_numpy(float)
    l = lL * table.latency_s.to_numpy(float)
    e = lam_E * table.error_rate.to_numpy(float)
    a = np.zeros(len(c))
    if lam_A is not None:
        labels_.append("abstain")
        c, l, e, a = (np.r_[v, 0.0] for v in (c, l, e, a))
        a[-1] = lam_A
    total = c + l + e + a
    y = np.arange(len(total))[::-1]
    ax.barh(y, c, color="#1b6ca8", label="cost")
    ax.barh(y, l, left=c, color="#edae49", label=r"$\lambda_L L$")
    ax.barh(y, e, left=c + l, color="#d1495b", label=r"$\lambda_E e$")
    if lam_A is not None:
        ax.barh(y, a, left=c + l + e, color="#66a182", label=r"$\lambda_A$")
    k = int(np.argmin(total))
    ax.barh(y[k], total[k], fill=False, edgecolor="k", lw=2)
    ax.set_yticks(y, labels_ if names else [""] * len(labels_))
    ax.set_xscale("log")
    no_minor_labels(ax)
    ax.grid(axis="y", visible=False)
    return k


def absent_figure(message: str, width: float = WIDTH):
    """A one-line figure stating why a figure could not be drawn in this run (e.g. the public data are absent),
    so that the page's numbered figure says so instead of breaking the build."""
    fig, ax = plt.subplots(figsize=(width, 0.9))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=FS + 1, wrap=True)
    return fig
