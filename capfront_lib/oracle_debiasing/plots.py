"""Figures of the chapter (drawing only; every number comes from the computation modules).

Sizes follow the book's figure rules: at most 7.2 in wide at 110 dpi, text at least 9 pt, at most three panels
per row. Titles are short; the data label (simulated / analytic / transcription / public data / your log) is in
each figure's caption in the notebook.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE
from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing import theory as th

__all__ = ["bias_figure", "fig3_figure", "bias_grid_figure", "decay_figure", "debias_curve_figure", "debias_error_figure",
           "frontier_figure", "kshot_figure", "reliability_figure", "entropy_figure", "published_figure", "real_figure",
           "draw_bias_panel", "draw_frontier_panel", "WIDTH"]

WIDTH = 7.2  # inches: the widest figure the book shows at >= 70 % of its natural size
FS = 9  # smallest font size (pt)


def draw_bias_panel(ax, L: int, p: float, G_max: int, *, mc=None, gaussian=True, legend=True):
    """One panel: exact Bernoulli bias vs G (log-log) with optional MC dots and Gaussian overlays."""
    from capfront_lib.oracle_debiasing.pipeline import G_grid

    G = G_grid(int(G_max))
    b = th.bernoulli_bias_curve(G, np.array(p), int(L))
    ax.loglog(G, np.where(b > 0, b, np.nan), color=PALETTE[0], lw=2, label="exact Bernoulli (10), corrected")
    if gaussian and L > 1 and 0 < p < 1:
        sd = np.sqrt(p * (1 - p))
        ax.loglog(G, th.gaussian_bias_exact(G, L, sd), "--", color=PALETTE[1], lw=1.2, label=r"Gaussian $e_L\sigma/\sqrt{G}$")
        ax.loglog(G, th.gaussian_bias_asymptotic(G, L, sd), ":", color=PALETTE[2], lw=1.5, label="paper's asymptotic form (7)")
    if mc is not None and len(mc):
        ax.errorbar(mc["G"], mc["mc_bias"], yerr=2 * mc["se"], fmt="o", ms=4, color="k", label="Monte Carlo ±2 SE")
    ax.set_xlabel("generations G")
    ax.set_ylabel("bias of naive oracle")
    if legend:
        ax.legend(fontsize=FS)


def bias_figure(anat: dict):
    """Fig. 2 analogue: exact bias curves per L (one panel each) plus a local-slope panel, two panels per row; a
    spare panel (odd count) holds the legend."""
    Ls = list(anat["curves"])
    n = len(Ls) + 1
    rows = (n + 1) // 2
    foot = 0.0 if n % 2 else 1.5  # room for a legend below the panels when no panel is spare
    fig, axes = plt.subplots(rows, 2, figsize=(WIDTH, 3.0 * rows + foot), squeeze=False)
    axes = axes.ravel()
    G = anat["G"]
    inner = [j for j, p in enumerate(anat["p"]) if 0 < p < 1]
    cmap = plt.get_cmap("viridis")
    colour = {j: cmap(0.9 * k / max(len(inner) - 1, 1)) for k, j in enumerate(inner)}
    mid = inner[len(inner) // 2] if inner else 0
    for ax, L in zip(axes, Ls):
        for j in inner:
            p, col = anat["p"][j], colour[j]
            b = anat["curves"][L][:, j]
            ax.loglog(G, np.where(b > 0, b, np.nan), color=col, lw=1.8, label=f"p = {p:.1f}")
            ax.loglog(G, anat["gauss_exact"][L][:, j], "--", color=col, lw=0.8)
            mc = anat["mc"]
            m = mc[(mc.L == L) & np.isclose(mc.p, p)]
            ax.errorbar(m["G"], m["mc_bias"].clip(lower=1e-5), yerr=2 * m["se"], fmt="o", ms=3, color=col)
        ax.loglog(G, anat["gauss_asym"][L][:, mid], ":", color="k", lw=1.4)
        ax.set_xlabel("generations G")
        ax.set_ylabel("E O_biased − O_true")
        ax.set_title(f"L = {L} models")
    ax = axes[len(Ls)]
    styles = ["-", "--", ":"]
    for i, L in enumerate(Ls):
        for j in inner:
            b = anat["curves"][L][:, j]
            ok = b > 0
            if ok.sum() < 2:
                continue
            ax.semilogx(G[ok], th.local_slope(G[ok], b[ok]), color=colour[j], ls=styles[i % 3], lw=1.2)
    ax.axhline(0.5, color="k", lw=0.8)
    ax.set_ylim(-0.1, 1.2)
    ax.set_xlabel("generations G")
    ax.set_ylabel("local slope −dlog bias/dlog G")
    ax.set_title("local decay exponent")
    # legend: colours = p, line styles = what is drawn
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour[j], lw=2, label=f"p = {anat['p'][j]:.1f}") for j in inner]
    handles += [Line2D([], [], color="grey", lw=1.8, label="exact (10), corrected"),
                Line2D([], [], color="grey", marker="o", ls="", ms=4, label="Monte Carlo ±2 SE"),
                Line2D([], [], color="grey", ls="--", lw=0.8, label=r"Gaussian $e_L\sigma/\sqrt{G}$"),
                Line2D([], [], color="k", ls=":", lw=1.4, label=f"(7) at p = {anat['p'][mid]:.1f}")]
    handles += [Line2D([], [], color="grey", ls=styles[i % 3], lw=1.2, label=f"slope, L = {L}") for i, L in enumerate(Ls)]
    if n < axes.size:
        leg_ax = axes[n]
        leg_ax.axis("off")
        leg_ax.legend(handles=handles, loc="center", fontsize=FS, ncol=2)
        for extra in axes[n + 1:]:
            extra.set_visible(False)
    else:
        fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=FS, frameon=False)
        fig.tight_layout(rect=(0, foot / (3.0 * rows + foot), 1, 1))
        return fig
    fig.tight_layout()
    return fig


def bias_grid_figure(L_values=(2, 5, 21), p_values=(0.1, 0.5, 0.9), G_max: int = 1000):
    """Static explorer grid: exact bias and Gaussian overlays for a few (L, p); shared axes, one legend."""
    fig, axes = plt.subplots(len(L_values), len(p_values), figsize=(WIDTH, 2.3 * len(L_values) + 0.6), sharex=True, sharey=True)
    for i, L in enumerate(L_values):
        for j, p in enumerate(p_values):
            ax = axes[i, j]
            draw_bias_panel(ax, L, p, G_max, legend=False)
            ax.set_title(f"L = {L}, p = {p}", fontsize=FS + 1)
            ax.set_xlabel("G" if i == len(L_values) - 1 else "")
            ax.set_ylabel("bias" if j == 0 else "")
            ax.set_xticks([1, 10, 100, 1000])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=FS, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def fig3_figure(close: dict):
    """Fig. 3 close-up: (11)/(12) fitted on G <= 10, extrapolated to large G, against the exact curve."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.semilogx(close["G_eval"], close["y_exact"], color="k", lw=2, label="exact E O_biased(G)")
    ax.plot(close["G_fit"], close["y_fit"], "o", color="k", ms=4, label="fitted points, G ≤ 10")
    names = {"11": "(11), λ free", "11(lambda=.5)": "(11), λ = 0.5", "12": "(12)"}
    for i, (name, f) in enumerate(close["fits"].items()):
        ax.semilogx(close["G_eval"], f.predict(close["G_eval"]), "--", color=PALETTE[i + 1],
                    label=f"{names.get(name, name)}: limit {f.a_inf:.3f}")
    ax.axhline(close["truth"], color=PALETTE[4], lw=1, label=f"O_true = p = {close['truth']}")
    ax.set_xlabel("generations G")
    ax.set_ylabel("expected naive oracle")
    ax.legend(fontsize=FS, loc="lower left")
    fig.tight_layout()
    return fig


def decay_figure(corr_curves: dict, hetero: dict):
    """Appendix A: (left) bias vs G for identical models with correlated rounds; (right) a heterogeneous world's
    exact bias vs G against a G^-1/2 reference."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    ax = axes[0]
    for i, (rho, (G, b)) in enumerate(sorted(corr_curves.items())):
        ax.loglog(G, b, "o-", ms=3, color=PALETTE[i], label=f"correlation {rho:g}")
    G = np.asarray(next(iter(corr_curves.values()))[0], dtype=float)
    ref = next(iter(corr_curves.values()))[1][0] * (G / G[0]) ** -0.5
    ax.loglog(G, ref, ":", color="k", lw=1, label="slope −1/2")
    ax.set_xlabel("generations G")
    ax.set_ylabel("bias")
    ax.set_title("identical models, L = 10, p = 0.5")
    ax.legend(fontsize=FS)
    ax = axes[1]
    Gh, bh = hetero["G"], hetero["bias"]
    ax.loglog(Gh, bh, "o-", ms=3, color=PALETTE[3], label="simulated world (exact)")
    ax.loglog(Gh, bh[0] * (np.asarray(Gh, float) / Gh[0]) ** -0.5, ":", color="k", lw=1, label="slope −1/2")
    ax.loglog(Gh, bh[0] * (np.asarray(Gh, float) / Gh[0]) ** -1.0, "--", color="grey", lw=1, label="slope −1")
    ax.set_xlabel("generations G")
    ax.set_title("heterogeneous models")
    ax.legend(fontsize=FS)
    fig.tight_layout()
    return fig


def debias_curve_figure(r, G_ext: int = 1000):
    """Subsampling curve O_sub(G') of one simulated world with the (11)/(12) fits and every estimate."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2))
    ax.semilogx(r.G_primes, r.curve, "o", color="k", ms=5, label="O_sub(G'), exact")
    Gx = np.unique(np.round(np.logspace(0, np.log10(G_ext), 80)))
    ax.semilogx(Gx, r.fit11_half.predict(Gx), "--", color=PALETTE[1], label=f"(11), λ = 0.5 → {r.fit11_half.a_inf:.3f}")
    ax.semilogx(Gx, r.fit12.predict(Gx), "-.", color=PALETTE[2], label=f"(12) → {r.fit12.a_inf:.3f}")
    ax.axhline(r.o_true, color=PALETTE[4], lw=2, label=f"O_true = {r.o_true:.3f}")
    ax.axhline(r.o_split, color="grey", lw=1, ls=":", label=f"split bracket {r.o_split:.3f}")
    if np.isfinite(r.o_pgm):
        ax.axhline(r.o_pgm, color=PALETTE[5], lw=1.2, label=f"PGM, latent topics {r.o_pgm:.3f}")
    if np.isfinite(r.o_pgm_known):
        ax.axhline(r.o_pgm_known, color=PALETTE[3], lw=1.2, ls="--", label=f"PGM, known topics {r.o_pgm_known:.3f}")
    ax.set_xlabel("generations G' (beyond the data: extrapolation)")
    ax.set_ylabel("oracle quality")
    ax.legend(fontsize=FS, loc="upper right", ncol=2)
    fig.tight_layout()
    return fig


def debias_error_figure(rows: pd.DataFrame):
    """Error against the known truth per estimator and world (dots) with the mean (bar)."""
    keys = [("o_biased", "naive"), ("o_split", "split"), ("o_extrap11", "(11) λ=.5"),
            ("o_extrap11_free", "(11) free"), ("o_extrap12", "(12)"), ("o_pgm", "PGM"), ("o_pgm_known", "PGM known")]
    keys = [(k, l) for k, l in keys if rows[k].notna().any()]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    for i, (k, lab) in enumerate(keys):
        e = (rows[k] - rows["o_true"]).dropna()
        ax.bar(i, e.mean(), color=PALETTE[i % len(PALETTE)], alpha=0.35)
        ax.plot(np.full(e.size, i), e, "o", color=PALETTE[i % len(PALETTE)], ms=4)
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(range(len(keys)), [l for _, l in keys])
    ax.set_ylabel("estimate − O_true")
    fig.tight_layout()
    return fig


def draw_frontier_panel(ax, bundle: dict, alpha: float | None = None, legend=True):
    """Frontiers (true, naive, PGM, extrapolation) with single models and the SOTA star."""
    styles = {"true": ("k", "-", "true (known μ)"), "naive": (PALETTE[1], "--", "naive (sample means)"),
              "pgm": (PALETTE[5], "-.", "debiased: PGM"), "extrap": (PALETTE[2], ":", "debiased: extrapolation (12)")}
    for name, f in bundle["fronts"].items():
        col, ls, lab = styles[name]
        ax.plot(f.cost * 100, f.quality, ls, color=col, lw=2 if name == "true" else 1.6, label=lab)
        if alpha is not None and f.alpha is not None and f.slope.size:
            # segment i is taken iff alpha > alpha_seg[i]; alpha_seg increases along the frontier
            idx = min(int(np.searchsorted(f.alpha, alpha, side="left")), f.cost.size - 1)
            ax.plot(f.cost[idx] * 100, f.quality[idx], "o", color=col, ms=7)
    ax.scatter(bundle["model_c"] * 100, bundle["model_q"], color="grey", s=25, zorder=3, label="single models")
    S = bundle["sota"]
    ax.scatter([bundle["model_c"][S] * 100], [bundle["model_q"][S]], marker="*", s=220, color=PALETTE[0], zorder=4, label="SOTA")
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per prompt (US cents)")
    ax.set_ylabel("mean quality")
    if legend:
        ax.legend(fontsize=FS, loc="lower right")


def frontier_figure(bundle: dict):
    fig, ax = plt.subplots(figsize=(WIDTH, 4.4))
    draw_frontier_panel(ax, bundle)
    fig.tight_layout()
    return fig


def kshot_figure(tab: pd.DataFrame, o_true: float, o_biased: float):
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.plot(tab["k"], tab["any_model_data"], "o-", color=PALETTE[0], label="any-model form, from data")
    if "eq23_truth" in tab:
        ax.plot(tab["k"], tab["eq23_truth"], "-", color="k", lw=1, label="(23) from the true π")
    if "eq23_pgm" in tab:
        ax.plot(tab["k"], tab["eq23_pgm"], "-", color=PALETTE[5], lw=1, label="(23) from the PGM's π̂")
    ax.plot(tab["k"], tab["printed_22"], "--", color=PALETTE[1], label="printed (22): route, then k samples")
    ax.axhline(o_true, color=PALETTE[4], lw=1, ls=":", label="router oracle O_true")
    ax.axhline(o_biased, color="grey", lw=1, ls=":", label="naive O_biased")
    ax.set_xlabel("k (every model sampled k times; perfect, free judge)")
    ax.set_ylabel("posthoc oracle quality")
    ax.legend(fontsize=FS, ncol=2, loc="center right")
    fig.tight_layout()
    return fig


def reliability_figure(rel_sim: pd.DataFrame, t3: pd.DataFrame):
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    ax = axes[0]
    ax.scatter(rel_sim["quality"], rel_sim["reliability"], label="observed (24)")
    if "reliability_expected" in rel_sim:
        ax.scatter(rel_sim["quality"], rel_sim["reliability_expected"], marker="x", label="exact expectation")
    ax.set_xlabel("model quality")
    ax.set_ylabel("reliability (24)")
    ax.set_title("simulated world")
    ax.legend(fontsize=FS)
    ax = axes[1]
    body = t3[t3["model"] != "Average"]
    ax.scatter(body["quality"], body["reliability_pct"], color=PALETTE[1])
    ax.set_xlabel("model quality")
    ax.set_ylabel("reliability (%)")
    ax.set_title("paper's Table 3")
    fig.tight_layout()
    return fig


def entropy_figure(sweep: dict, K: int):
    """Uplift vs entropy (top, full width) and theta(s) at three steps (bottom row)."""
    up = sweep["uplift"]
    H = sweep["H"]
    fig = plt.figure(figsize=(WIDTH, 5.4))
    gs = fig.add_gridspec(2, 3, height_ratios=[2.0, 1.0])
    ax = fig.add_subplot(gs[0, :])
    m = up.mean(axis=0)
    lo, hi = np.quantile(up, [0.1, 0.9], axis=0) if up.shape[0] > 2 else (up.min(0), up.max(0))
    ax.fill_between(H, lo, hi, color=PALETTE[0], alpha=0.25, label="10-90 % of seeds" if up.shape[0] > 2 else "seed range")
    ax.plot(H, m, "o-", color=PALETTE[0], label=f"mean over {up.shape[0]} seeds")
    ax.set_xlabel("topic entropy H (nats), eq. (27)")
    ax.set_ylabel("oracle uplift (26)")
    ax.legend(fontsize=FS, loc="upper left")
    idx = np.linspace(0, len(sweep["s"]) - 1, 3).round().astype(int)
    for i, j in enumerate(idx):
        a = fig.add_subplot(gs[1, i])
        a.bar(np.arange(K), est.topic_probs(sweep["s"][j], K), color=PALETTE[3], width=1.0)
        a.set_title(f"θ(s = {sweep['s'][j]:.1f}), H = {H[j]:.2f}", fontsize=FS)
        a.set_ylim(0, 1)
        a.set_xlabel("topic", fontsize=FS)
        a.tick_params(labelsize=FS)
        if i == 0:
            a.set_ylabel("θ", fontsize=FS)
    fig.tight_layout()
    return fig


def published_figure(rows: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(WIDTH * 0.8, 4.0))
    for i, (pr, rc, lab) in enumerate([("t1_err_red_printed", "t1_err_red_recomputed", "Table 1 error reduction"),
                                        ("t2_saving_printed", "t2_saving_recomputed", "Table 2 cost saving"),
                                        ("t4_err_red_printed", "t4_err_red_recomputed", "Table 4 (k = 1)"),
                                        ("t5_err_red_printed", "t5_err_red_recomputed", "Table 5 (k = 10)")]):
        ax.scatter(rows[pr], rows[rc], s=18, color=PALETTE[i], label=lab)
    ax.plot([0, 100], [0, 100], color="k", lw=0.8)
    ax.set_xlabel("printed value (%)")
    ax.set_ylabel("recomputed from the columns (%)")
    ax.legend(fontsize=FS)
    fig.tight_layout()
    return fig


def real_figure(summaries: dict):
    """Per log: the cross-fitted best single model and category router (when categories exist), O_biased(1) and,
    for a simulated world, the true router oracle; the grey bar is the bracket on the router oracle."""
    names = list(summaries)
    fig, ax = plt.subplots(figsize=(WIDTH, 1.0 + 0.9 * len(names)))
    for i, name in enumerate(names):
        r = summaries[name]
        y = len(names) - 1 - i
        lower = max(r["best_single_crossfit"], r.get("category_router", -np.inf))
        ax.plot([lower, r["o_biased"]], [y, y], "-", color="grey", lw=6, alpha=0.35)
        ax.plot(r["best_single_crossfit"], y, "o", color=PALETTE[0], ms=8, label="best single model (cross-fitted)" if i == 0 else None)
        if "category_router" in r:
            ax.plot(r["category_router"], y, "s", color=PALETTE[3], ms=8,
                    label="category router (cross-fitted)" if "category router (cross-fitted)" not in ax.get_legend_handles_labels()[1] else None)
        ax.plot(r["o_biased"], y, "^", color=PALETTE[1], ms=8, label="any model right, O_biased(1)" if i == 0 else None)
        if "truth" in r:
            ax.plot(r["truth"], y, "D", color="k", ms=7, label="true router oracle (simulated only)")
    ax.set_yticks(range(len(names)), names[::-1])
    ax.set_xlabel("share of queries answered correctly")
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.legend(fontsize=FS, loc="lower left", ncol=1)
    fig.tight_layout()
    return fig
