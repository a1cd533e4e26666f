"""Figures of the economic-evaluation chapter (drawing only; numbers come from the other submodules)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from capfront_lib.core.plotting import PALETTE, source_note
from capfront_lib.economic_evaluation import reward as rw


def model_colors(table: pd.DataFrame) -> dict[str, str]:
    """One fixed colour per model (Table 3C order)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(table.index)}


def _label(table, m):
    name = table.loc[m, "display_name"] if "display_name" in table.columns else m
    return f"{name}*" if table.loc[m].get("status", "") == "placeholder" else str(name)


def plot_pareto(ax, table: pd.DataFrame, *, x: str = "cost_usd", y: str = "error_rate", source: str = "transcription"):
    """Error vs cost with the Pareto front, the lower convex hull and the models a price sweep selects (Thm 3)."""
    cols = model_colors(table)
    X, Y = table[x].to_numpy(float), table[y].to_numpy(float)
    pm = rw.pareto_mask(np.c_[X, Y])
    hull = rw.lower_convex_hull(X, Y)
    order = np.argsort(X[pm])
    ax.step(X[pm][order], Y[pm][order], where="post", color="0.6", ls=":", label="Pareto front (staircase)")
    ax.plot(X[hull], Y[hull], color="k", lw=1.2, label="lower convex hull")
    for i, m in enumerate(table.index):
        ax.scatter(X[i], Y[i], s=60, color=cols[m], zorder=3, edgecolor="k" if pm[i] else "none")
        ax.annotate(_label(table, m), (X[i], Y[i]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.scatter(X[hull], Y[hull], s=180, facecolor="none", edgecolor="k", lw=1.5, zorder=4,
               label="selected by a $\\lambda_E$ sweep")
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per query (\\$, log scale)" if x == "cost_usd" else x)
    ax.set_ylabel("error rate" if y == "error_rate" else y)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Error vs cost, level-5 MATH\n[{source_note(source)}; * = assumed placeholder]")


def plot_model_bars(axes, table: pd.DataFrame, sim_means: pd.DataFrame | None = None):
    """Fig. 3.2 analogue: error, mean cost (log) and mean latency per model; simulated means as markers."""
    cols = model_colors(table)
    names = [_label(table, m) for m in table.index]
    x = np.arange(len(table))
    for ax, col, lab, log in zip(axes, ("error_rate", "cost_usd", "latency_s"),
                                 ("error rate", "mean cost per query ($)", "mean latency (s)"), (False, True, False)):
        bars = ax.bar(x, table[col], color=[cols[m] for m in table.index])
        for b, c in zip(bars, table.model_class):
            if c == "reasoning":
                b.set_hatch("//")
                b.set_edgecolor("white")
        if sim_means is not None and col in sim_means.columns:
            ax.scatter(x, sim_means.reindex(table.index)[col], color="k", marker="_", s=200, zorder=3,
                       label="simulated mean")
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(lab)
        if log:
            ax.set_yscale("log")
    if sim_means is not None:
        axes[0].legend()


def plot_tokens_by_level(axes, tokens: pd.DataFrame, table: pd.DataFrame):
    """Fig. .14 analogue: mean output tokens by level (log y) and relative to level 1."""
    cols = model_colors(table)
    for m in tokens.index:
        ls = "-" if table.loc[m, "model_class"] == "reasoning" else "--"
        axes[0].plot(tokens.columns, tokens.loc[m], ls, marker="o", color=cols[m], label=_label(table, m))
        axes[1].plot(tokens.columns, tokens.loc[m] / tokens.loc[m].iloc[0], ls, marker="o", color=cols[m])
    axes[0].set_yscale("log")
    axes[0].set_ylabel("mean output tokens (log)")
    axes[1].set_ylabel("relative to level 1")
    for ax in axes:
        ax.set_xlabel("MATH difficulty level")
        ax.set_xticks(list(tokens.columns))
    axes[0].legend(fontsize=7)


def plot_reward_curves(ax, table: pd.DataFrame, lam_E: np.ndarray, R: np.ndarray, *,
                       category_crossover: float | None = None, switch: float | None = None):
    """Fig. 3.3 analogue: ``-log10(-R(lam_E))`` at ``lam_L = 0``; thin lines per model, bold category averages."""
    cols = model_colors(table)
    for i, m in enumerate(table.index):
        ls = "-" if table.loc[m, "model_class"] == "reasoning" else "--"
        ax.plot(lam_E, rw.log_reward_transform(R[i]), ls, lw=0.9, color=cols[m], label=_label(table, m))
    for cls, c, ls in (("reasoning", "k", "-"), ("non-reasoning", "0.45", "--")):
        sel = (table.model_class == cls).to_numpy()
        if sel.any():
            ax.plot(lam_E, rw.log_reward_transform(R[sel].mean(axis=0)), ls, lw=3, color=c, label=f"{cls} (average R)")
    if category_crossover is not None and np.isfinite(category_crossover):
        ax.axvline(category_crossover, color="k", lw=0.8, ls="-.")
        ax.annotate(f"category crossover \\${category_crossover:.3g}", (category_crossover, 0.95),
                    xycoords=("data", "axes fraction"), fontsize=8, ha="left")
    if switch is not None and np.isfinite(switch):
        ax.axvline(switch, color="tab:red", lw=0.8, ls=":")
        ax.annotate(f"best-vs-best switch \\${switch:.3g}", (switch, 0.88), xycoords=("data", "axes fraction"),
                    fontsize=8, ha="right", color="tab:red")
    ax.set_xscale("log")
    ax.set_xlabel("price of error $\\lambda_E$ (\\$ per error, log)")
    ax.set_ylabel("$-\\log_{10}(-R)$  (higher = better)")
    ax.legend(fontsize=7, ncol=2, loc="lower left")


def plot_optimal_map(ax, table: pd.DataFrame, lam_E: np.ndarray, lam_L_per_min: Sequence[float], best: np.ndarray):
    """Fig. 3.4 analogue: optimal model over (``lam_E``, ``lam_L``); reasoning models hatched."""
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
    for r, c in zip(*np.nonzero(reasoning)):
        ax.add_patch(plt.Rectangle((xedges[c], yedges[r]), xedges[c + 1] - xedges[c], 1.0, fill=False,
                                   hatch="//", lw=0, edgecolor="white"))
    ax.set_yticks(np.arange(len(lLm)), [f"{v:g}" for v in lLm])
    ax.set_xlabel("$\\log_{10}$ price of error $\\lambda_E$ (\\$)")
    ax.set_ylabel("price of latency $\\lambda_L$ (\\$/min)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cols[m]) for m in ids if (best == ids.index(m)).any()]
    labels = [_label(table, m) for m in ids if (best == ids.index(m)).any()]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="0.6", hatch="//", edgecolor="white"))
    labels.append("reasoning model")
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_cascade_advantage(ax, lam_E, res: Mapping[str, np.ndarray], lam_L_per_min, title: str):
    """Fig. 3.5 analogue: test-set ``R_cascade - R_big`` vs ``lam_E`` for each ``lam_L`` (symlog y)."""
    for j, v in enumerate(lam_L_per_min):
        ax.plot(lam_E, res["test_reward"][:, j] - res["big_test_reward"][:, j], label=f"$\\lambda_L$={v:g} \\$/min")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("price of error $\\lambda_E$ (\\$)")
    ax.set_ylabel("$R_{cascade} - R_{big}$ (\\$/query, test)")
    ax.set_title(title, fontsize=9)


def plot_cer_panels(axes, curves: Mapping[str, pd.DataFrame], decomps: Mapping[str, pd.DataFrame],
                    random_cer: Mapping[str, np.ndarray] | None = None, colors: Mapping[str, str] | None = None):
    """Fig. 3.6 analogue: (a) CER vs deferral rate with the oracle bound and random baseline, (b) mean cost,
    (c) mean latency of the cascade vs deferral rate."""
    for k, (name, cur) in enumerate(curves.items()):
        c = (colors or {}).get(name, PALETTE[k % len(PALETTE)])
        dec = decomps[name]
        axes[0].plot(dec.deferral_rate, dec.cer, "-o", ms=2.5, color=c, label=name)
        axes[0].plot(dec.deferral_rate, dec.oracle_bound, ":", color=c, lw=1)
        if random_cer is not None and name in random_cer:
            axes[0].plot(dec.deferral_rate, random_cer[name], "--", color=c, lw=0.8, alpha=0.7)
        axes[1].plot(cur.deferral_rate, cur.cost, "-", color=c, label=name)
        axes[2].plot(cur.deferral_rate, cur.latency, "-", color=c, label=name)
    axes[0].set_ylabel("CER = Cov($1_D$, $1_{err}^{small}$)")
    axes[0].plot([], [], "k:", label="oracle bound")
    axes[0].plot([], [], "k--", lw=0.8, label="random deferral")
    axes[0].legend(fontsize=7)
    axes[1].set_ylabel("cascade mean cost (\\$/query)")
    axes[2].set_ylabel("cascade mean latency (s)")
    for ax in axes:
        ax.set_xlabel("deferral rate $p_d$")


def plot_reward_breakdown(ax, table: pd.DataFrame, lam_E: float, lam_L_per_min: float, lam_A: float | None = None):
    """Stacked bars of ``-R`` per model: cost, ``lam_L L``, ``lam_E e``; the optimal option outlined.
    With ``lam_A`` given, an "abstain" option (cost ``lam_A``, e.g. human review) is added (eq. 3.9)."""
    lL = lam_L_per_min / 60.0
    names = [_label(table, m) for m in table.index]
    c = table.cost_usd.to_numpy(float)
    l = lL * table.latency_s.to_numpy(float)
    e = lam_E * table.error_rate.to_numpy(float)
    a = np.zeros(len(c))
    if lam_A is not None:
        names.append("abstain")
        c, l, e, a = (np.r_[v, 0.0] for v in (c, l, e, a))
        a[-1] = lam_A
    total = c + l + e + a
    x = np.arange(len(total))
    ax.bar(x, c, color="#1b6ca8", label="cost")
    ax.bar(x, l, bottom=c, color="#edae49", label="$\\lambda_L\\,L$")
    ax.bar(x, e, bottom=c + l, color="#d1495b", label="$\\lambda_E\\,e$")
    if lam_A is not None:
        ax.bar(x, a, bottom=c + l + e, color="#66a182", label="$\\lambda_A$ (abstain)")
    k = int(np.argmin(total))
    ax.bar(x[k], total[k], fill=False, edgecolor="k", lw=2)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("$-R$ (\\$/query, log)")
    ax.set_title(f"$\\lambda_E$=\\${lam_E:g}, $\\lambda_L$=\\${lam_L_per_min:g}/min", fontsize=8)
    return k
