"""Figures of the human-in-the-loop chapter (drawing only; every number comes from the other modules).

Book rules: figures at most 7.2 in wide (110 dpi), text at least 9 pt, at most three panels per row; the data
source is named in each figure's caption (the notebook), so panel titles stay short.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from capfront_lib.core.plotting import PALETTE
from capfront_lib.human_in_the_loop.published import SHORT

__all__ = ["FS", "WIDTH", "model_color", "short", "plot_llr", "plot_ask_curves", "plot_latency_drag",
           "plot_error_curves", "plot_reward_heatmap", "draw_explorer", "plot_drag_bars", "u_color", "absent_figure"]

FS = 9  # smallest font size (points)
WIDTH = 7.2  # largest figure width (inches)
_COLORS = {"qwen3-235b-a22b": PALETTE[0], "deepseek-r1-0528": PALETTE[2], "o3-2025-04-16": PALETTE[1],
           "llama-v3p1-405b-instruct": PALETTE[3]}


def model_color(m: str, i: int = 0) -> str:
    """One colour per model (the paper's four keep theirs; others follow the palette)."""
    return _COLORS.get(m, PALETTE[(i + 4) % len(PALETTE)])


def short(m: str) -> str:
    """Short display name of a model id."""
    return SHORT.get(m, m)


def u_color(u: float, us: Sequence[float]) -> str:
    """Black for Ask (u = 0), a viridis shade for the utilisations of Fail Fast, or Ask."""
    us = sorted(us)
    if u == 0:
        return "k"
    k = us.index(u)
    return plt.get_cmap("viridis")(0.1 + 0.75 * k / max(1, len(us) - 1))


def plot_llr(ax, x, correct, grid, fit: Mapping[str, np.ndarray], model: str, xlabel: str = "output tokens (log scale)",
             color: str | None = None) -> None:
    """Fig. 4.3 analogue: local linear regression of correctness on log10(length), ±1σ band, rug of errors."""
    col = color or model_color(model)
    gx = 10 ** np.asarray(grid)
    ax.plot(gx, fit["mean"], color=col, lw=2)
    ax.fill_between(gx, fit["mean"] - fit["se"], fit["mean"] + fit["se"], color=col, alpha=0.25, lw=0)
    wrong = np.asarray(correct) == 0
    xv = 10 ** np.asarray(x)
    ax.plot(xv[wrong], np.full(wrong.sum(), -0.03), "|", color="k", ms=8, alpha=0.6)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-0.06, 1.04)
    ax.set_xlabel(xlabel)
    ax.set_title(short(model), fontsize=FS + 1)


def plot_ask_curves(ax, rates, curves: Mapping[str, np.ndarray], n_errors: Mapping[str, int], n: Mapping[str, int],
                    refs: bool = True, legend: bool = True) -> None:
    """Fig. 4.4 analogue: A(r) per model (solid) with random rejection (dotted, ``1 - e``) and the oracle that
    rejects errors first (dashed)."""
    from capfront_lib.human_in_the_loop.metrics import oracle_curve

    x = 100 * np.asarray(rates)
    for i, (m, a) in enumerate(curves.items()):
        col = model_color(m, i)
        ax.plot(x, 100 * np.asarray(a), color=col, lw=2, label=short(m))
        if refs:
            e = n_errors[m] / n[m]
            ax.plot(x, np.full_like(x, 100 * (1 - e)), color=col, ls=":", lw=1.2)
            ax.plot(x, 100 * oracle_curve(n[m], n_errors[m], rates), color=col, ls="--", lw=0.9, alpha=0.7)
    ax.set_xlabel("rejection rate r (% of queries deferred)")
    ax.set_ylabel("accuracy on answered queries A(r) (%)")
    if legend:
        if refs:
            ax.plot([], [], "k:", lw=1.2, label="random rejection")
            ax.plot([], [], "k--", lw=0.9, label="oracle")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=FS)


def plot_latency_drag(ax, bins: pd.DataFrame, u: float, r: float, mean_all: float, mean_pass: float, model: str,
                      legend: bool = False) -> None:
    """Fig. 4.2 analogue: mean M_r latency per decile of M_nr's confidence; fail-fast and respond zones shaded,
    with the mean latency over all queries (dotted) and over the passed ones (solid)."""
    col = model_color(model)
    width = (bins["bin_hi"] - bins["bin_lo"]) * 100
    ax.bar(100 * bins["bin_lo"], bins["mean_latency"], width=width, align="edge", color=col, alpha=0.6,
           edgecolor="white")
    ff, resp = 100 * u * r, 100 * (1 - u * (1 - r))
    ax.axvspan(0, ff, color="0.3", alpha=0.3, lw=0, label="fail fast")
    ax.axvspan(resp, 100, color="0.6", alpha=0.3, lw=0, label="respond")
    ax.axhline(mean_all, color="k", ls=":", lw=1.4, label="mean over all queries")
    ax.axhline(mean_pass, color="k", ls="-", lw=1.4, label="mean over passed queries")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Llama3.1 405B P(True) percentile (%)")
    ax.set_title(short(model), fontsize=FS + 1)
    if legend:
        ax.legend(loc="upper right", fontsize=FS)


def plot_error_curves(ax, rates, curves: Mapping[float, np.ndarray], baseline_error: float, model: str) -> None:
    """Fig. 4.5 analogue: E(r) on a log scale for each utilisation u; dashed grey line = M_r's baseline error.
    An error of exactly 0 (nothing wrong among the answered) is marked at the bottom edge."""
    x = 100 * np.asarray(rates)
    us = sorted(curves)
    for u in us:
        e = np.asarray(curves[u], float)
        col = u_color(u, us)
        ax.plot(x, 100 * np.where(e > 0, e, np.nan), color=col, lw=2 if u == 0 else 1.4,
                label=f"u = {100 * u:.0f} %" + (" (Ask)" if u == 0 else ""))
        zero = e <= 0
        if zero.any():
            ax.plot(x[zero], np.full(zero.sum(), 0.1), "v", color=col, ms=4)
    ax.axhline(100 * baseline_error, color="0.5", ls="--", lw=1, label="baseline error of M_r")
    ax.set_yscale("log")
    ax.set_xlabel("rejection rate r (%)")
    ax.set_title(short(model), fontsize=FS + 1)


def plot_drag_bars(ax, published: pd.DataFrame, simulated: pd.DataFrame, sd: pd.DataFrame | None = None,
                   sim_label: str = "simulated") -> None:
    """Implied drag factors D_L from Tables 4.1 + 4.2 (grey) next to the run's (mean ± sd over data sets when
    ``sd`` is given), per (M_r, u). ``simulated``/``sd`` need columns ``model``, ``u``, ``D_L``."""
    labels = [f"{short(m).split()[0]}\n{u:g}" for m, u in zip(published["model"], published["u"])]
    x = np.arange(len(labels))
    keys = list(zip(published["model"], published["u"]))
    ax.bar(x - 0.2, published["D_L"], 0.4, color="0.6", label="implied by Tables 4.1 + 4.2")
    sim = simulated.set_index(["model", "u"]).reindex(keys)["D_L"].to_numpy()
    err = None if sd is None else sd.set_index(["model", "u"]).reindex(keys)["D_L"].to_numpy()
    ax.bar(x + 0.2, sim, 0.4, color=PALETTE[0], yerr=err, capsize=3, label=sim_label)
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set_xticks(x, labels)
    ax.set_xlabel("reasoning model and utilisation u")
    ax.set_ylabel(r"drag $D_L$")
    ax.set_ylim(0.8, None)
    ax.legend(fontsize=FS, loc="upper left", ncol=2)


def plot_reward_heatmap(ax, surface: Mapping[str, np.ndarray], model: str, vmin: float | None = None):
    """Economic lens: expected reward R(u, r) minus its maximum ($/query) over utilisation and rejection rate;
    the optimum starred. Returns the mappable (one colour bar for several panels)."""
    R = surface["R"] - surface["best_R"]
    u, r = surface["u"], surface["r"]
    im = ax.pcolormesh(100 * r, 100 * u, R, shading="nearest", cmap="viridis", vmin=vmin, vmax=0.0)
    ax.plot(100 * surface["best_r"], 100 * surface["best_u"], "r*", ms=13)
    ax.set_xlabel("rejection rate r (%)")
    ax.set_title(short(model), fontsize=FS + 1)
    return im


def draw_explorer(fig, info: Mapping, source: str = "simulated"):
    """Three panels for one configuration (see :func:`capfront_lib.human_in_the_loop.panel.explore`): routing
    shares, A(r) for FFA vs Ask with the chosen r marked, mean latency Ask / naive eq. (4.2) / actual."""
    axes = fig.subplots(1, 3)
    sh = info["shares"]
    names = ["respond", "pass → answered", "pass → human", "fail fast → human"]
    vals = [sh["respond"], sh["pass_answered"], sh["pass_deferred"], sh["fail_fast"]]
    cols = [PALETTE[2], PALETTE[0], PALETTE[1], "0.3"]
    left = 0.0
    for nm, v, c in zip(names, vals, cols):
        axes[0].barh([0], [100 * v], left=[left], color=c, label=f"{nm} {100 * v:.1f} %")
        left += 100 * v
    axes[0].set_yticks([])
    axes[0].set_xlabel("share of queries (%)")
    axes[0].legend(fontsize=FS, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    axes[0].set_title(f"routing at u = {info['u']:.2f}, r = {info['r']:.2f}", fontsize=FS + 1)
    x = 100 * np.asarray(info["rates"])
    axes[1].plot(x, 100 * info["A_ask"], color="k", label="Ask (u = 0)")
    axes[1].plot(x, 100 * info["A_ffa"], color=PALETTE[0], label=f"FFA (u = {info['u']:.2f})")
    axes[1].axvline(100 * info["r"], color="0.5", ls=":")
    axes[1].set_xlabel("rejection rate r (%)")
    axes[1].set_ylabel("A(r) (%)")
    axes[1].legend(fontsize=FS)
    axes[1].set_title(f"AUARC {info['auarc_ffa']:.3f} vs Ask {info['auarc_ask']:.3f}", fontsize=FS + 1)
    lat = [info["lat_ask"], info["lat_naive"], info["lat_ffa"]]
    axes[2].bar(["Ask", "naive\n(eq. 4.2)", "actual\nFFA"], lat, color=["k", "0.6", PALETTE[0]])
    axes[2].set_ylabel("mean latency per query (s)")
    axes[2].set_title(f"drag {info['drag']:.2f}; R = {info['reward']:.3g} \\$/query", fontsize=FS + 1)
    fig.suptitle(f"{short(info['model'])} [{source}]", fontsize=FS + 1)
    return axes


def absent_figure(message: str, width: float = WIDTH):
    """A one-line figure stating why a figure could not be drawn in this run (keeps the numbered figure honest)."""
    fig, ax = plt.subplots(figsize=(width, 0.9))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=FS + 1, wrap=True)
    return fig
