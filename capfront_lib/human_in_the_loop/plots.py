"""Figures of the human-in-the-loop chapter (drawing only; every number comes from the other modules)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE, source_note, titled
from capfront_lib.human_in_the_loop.published import SHORT

__all__ = ["model_color", "plot_llr", "plot_ask_curves", "plot_latency_drag", "plot_error_curves",
           "plot_reward_heatmap", "draw_explorer", "plot_drag_bars"]

_COLORS = {"qwen3-235b-a22b": PALETTE[0], "deepseek-r1-0528": PALETTE[1], "o3-2025-04-16": PALETTE[3],
           "llama-v3p1-405b-instruct": PALETTE[2]}
_U_COLORS = plt.get_cmap("viridis")


def model_color(m: str, i: int = 0) -> str:
    return _COLORS.get(m, PALETTE[i % len(PALETTE)])


def _name(m: str) -> str:
    return SHORT.get(m, m)


def plot_llr(ax, x, correct, grid, fit: Mapping[str, np.ndarray], model: str, source: str = "simulated",
             xlabel: str = "output tokens (log scale)", base10: bool = True):
    """Fig. 4.3 analogue: local linear regression of correctness on log10(length), ±1σ band, rug of errors."""
    col = model_color(model)
    gx = 10 ** np.asarray(grid) if base10 else np.asarray(grid)
    ax.plot(gx, fit["mean"], color=col, lw=2)
    ax.fill_between(gx, fit["mean"] - fit["se"], fit["mean"] + fit["se"], color=col, alpha=0.25, lw=0)
    wrong = np.asarray(correct) == 0
    xv = 10 ** np.asarray(x) if base10 else np.asarray(x)
    ax.plot(xv[wrong], np.full(wrong.sum(), -0.03), "|", color="k", ms=8, alpha=0.6, label="wrong answers")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-0.06, 1.04)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("P(correct)")
    titled(ax, _name(model), source)


def plot_ask_curves(ax, rates, curves: Mapping[str, np.ndarray], n_errors: Mapping[str, int], n: Mapping[str, int],
                    source: str = "simulated", annotate: Sequence[float] = (0.075, 0.20), refs: bool = True,
                    title: str = "Ask: accuracy on non-deferred queries"):
    """Fig. 4.4 analogue: A(r) per model with random (1 − e) and oracle references; A annotated at some rates."""
    from capfront_lib.human_in_the_loop.metrics import oracle_curve

    x = 100 * np.asarray(rates)
    for i, (m, a) in enumerate(curves.items()):
        col = model_color(m, i)
        ax.plot(x, 100 * a, color=col, lw=2, label=_name(m))
        if refs:
            e = n_errors[m] / n[m]
            ax.plot(x, np.full_like(x, 100 * (1 - e)), color=col, ls=":", lw=1)
            ax.plot(x, 100 * oracle_curve(n[m], n_errors[m], rates), color=col, ls="--", lw=0.8, alpha=0.6)
        for r in annotate:
            j = int(np.argmin(np.abs(np.asarray(rates) - r)))
            ax.annotate(f"{100 * a[j]:.1f}", (x[j], 100 * a[j]), textcoords="offset points", xytext=(0, 5),
                        ha="center", fontsize=7, color=col)
    ax.set_xlabel("rejection rate r (% of queries deferred to the human)")
    ax.set_ylabel("conditional accuracy A(r) (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8,
              title="solid: by length\ndotted: random\ndashed: oracle" if refs else None, title_fontsize=7)
    titled(ax, title, source)


def plot_latency_drag(ax, bins: pd.DataFrame, u: float, r: float, mean_all: float, mean_pass: float, rho: float,
                      model: str, source: str = "simulated"):
    """Fig. 4.2 analogue: mean M_r latency per decile of M_nr confidence; fail-fast and respond zones shaded."""
    col = model_color(model)
    width = (bins["bin_hi"] - bins["bin_lo"]) * 100
    ax.bar(100 * bins["bin_lo"], bins["mean_latency"], width=width, align="edge", color=col, alpha=0.55,
           edgecolor="white")
    ff, resp = 100 * u * r, 100 * (1 - u * (1 - r))
    ax.axvspan(0, ff, color="0.3", alpha=0.25, lw=0, label=f"fail fast (< {ff:.1f} %)")
    ax.axvspan(resp, 100, color="0.6", alpha=0.25, lw=0, label=f"respond (> {resp:.0f} %)")
    ax.axhline(mean_all, color="k", ls=":", lw=1.2, label=f"E[L_r] = {mean_all:.0f} s")
    ax.axhline(mean_pass, color="k", ls="-", lw=1.2, label=f"E[L_r | pass] = {mean_pass:.0f} s")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Llama3.1 405B P(True) percentile (%)")
    ax.set_ylabel(f"mean {_name(model)} latency (s)")
    ax.legend(loc="upper right", fontsize=7)
    titled(ax, f"{_name(model)}: u = {u:.2f}, r = {r:.2f}, Spearman ρ = {rho:.2f}", source)


def plot_error_curves(ax, rates, curves: Mapping[float, np.ndarray], baseline_error: float, model: str,
                      source: str = "simulated"):
    """Fig. 4.5 analogue: E(r) on a log scale for each utilisation u; dashed line = M_r's baseline error."""
    x = 100 * np.asarray(rates)
    us = sorted(curves)
    for k, u in enumerate(us):
        e = np.asarray(curves[u], float)
        col = "k" if u == 0 else _U_COLORS(0.15 + 0.75 * k / max(1, len(us) - 1))
        ax.plot(x, 100 * np.where(e > 0, e, np.nan), color=col, lw=2 if u == 0 else 1.4,
                label=f"u = {100 * u:.0f} %" + (" (Ask)" if u == 0 else ""))
        zero = e <= 0
        if zero.any():
            ax.plot(x[zero], np.full(zero.sum(), 0.1), "v", color=col, ms=4)
    ax.axhline(100 * baseline_error, color="0.5", ls="--", lw=1, label="M_r baseline error")
    ax.set_yscale("log")
    ax.set_xlabel("overall rejection rate r (%)")
    ax.set_ylabel("error on answered queries E(r) (%, log)")
    ax.legend(fontsize=7, loc="lower left")
    titled(ax, _name(model), source)


def plot_drag_bars(ax, published: pd.DataFrame, simulated: pd.DataFrame, sd: pd.DataFrame | None = None,
                   sim_label: str = "simulated"):
    """Implied drag factors D_L from Table 4.2 (transcription) next to simulated ones (mean ± sd over data sets if
    ``sd`` is given), per (M_r, u). ``simulated``/``sd`` need columns ``model``, ``u``, ``D_L``."""
    labels = [f"{_name(m)}\nu={u:g}" for m, u in zip(published["model"], published["u"])]
    x = np.arange(len(labels))
    keys = list(zip(published["model"], published["u"]))
    ax.bar(x - 0.2, published["D_L"], 0.4, color="0.55", label=f"published ({source_note('transcription')})")
    sim = simulated.set_index(["model", "u"]).reindex(keys)["D_L"].to_numpy()
    err = None if sd is None else sd.set_index(["model", "u"]).reindex(keys)["D_L"].to_numpy()
    ax.bar(x + 0.2, sim, 0.4, color=PALETTE[0], yerr=err, capsize=3, label=sim_label)
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("latency drag D_L = E[L_r | pass] / E[L_r]")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Latency drag: no drag would be D_L = 1")


def plot_reward_heatmap(ax, surface: Mapping[str, np.ndarray], model: str, prices: str, source: str = "simulated"):
    """Economic lens: expected reward R(u, r) ($/query) over utilisation and rejection rate, optimum marked."""
    R = surface["R"]
    u, r = surface["u"], surface["r"]
    im = ax.pcolormesh(100 * r, 100 * u, R, shading="nearest", cmap="viridis")
    ax.plot(100 * surface["best_r"], 100 * surface["best_u"], "r*", ms=14, label=f"optimum R = {surface['best_R']:.3g} $")
    ax.set_xlabel("rejection rate r (%)")
    ax.set_ylabel("utilisation u of Llama3.1 405B (%)")
    ax.legend(loc="upper right", fontsize=8)
    plt.colorbar(im, ax=ax, label="expected reward ($ per query)")
    titled(ax, f"{_name(model)}: {prices}", source)


def draw_explorer(fig, info: Mapping, source: str = "simulated"):
    """Three panels for one configuration (see :func:`capfront_lib.human_in_the_loop.panel.explore`):
    routing shares, A(r) for FFA vs Ask with the chosen r marked, mean latency Ask / naive eq. (4.2) / actual."""
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
    axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    axes[0].set_title(f"routing at u = {info['u']:.2f}, r = {info['r']:.2f}")
    x = 100 * np.asarray(info["rates"])
    axes[1].plot(x, 100 * info["A_ask"], color="k", label="Ask (u = 0)")
    axes[1].plot(x, 100 * info["A_ffa"], color=PALETTE[0], label=f"FFA (u = {info['u']:.2f})")
    axes[1].axvline(100 * info["r"], color="0.5", ls=":")
    axes[1].set_xlabel("rejection rate r (%)")
    axes[1].set_ylabel("A(r) (%)")
    axes[1].legend(fontsize=7)
    axes[1].set_title(f"AUARC {info['auarc_ffa']:.3f} vs Ask {info['auarc_ask']:.3f}")
    lat = [info["lat_ask"], info["lat_naive"], info["lat_ffa"]]
    axes[2].bar(["Ask", "naive\n(eq. 4.2)", "actual\nFFA"], lat, color=["k", "0.6", PALETTE[0]])
    axes[2].set_ylabel("mean latency per query (s)")
    axes[2].set_title(f"drag D_L = {info['drag']:.2f}; R = {info['reward']:.3g} $/query")
    fig.suptitle(f"{_name(info['model'])} [{source_note(source)}]", fontsize=10)
    return axes
