"""Figures of the chapter (drawing only; every number comes from the computation modules)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE, source_note
from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing import theory as th

__all__ = ["bias_figure", "fig3_figure", "bias_grid_figure", "debias_curve_figure", "debias_error_figure",
           "frontier_figure", "kshot_figure", "reliability_figure", "entropy_figure", "published_figure",
           "draw_bias_panel", "draw_frontier_panel"]


def _title(ax, text, source):
    ax.set_title(f"{text}\n[{source_note(source)}]")


def draw_bias_panel(ax, L: int, p: float, G_max: int, *, mc=None, gaussian=True, legend=True):
    """One panel: exact Bernoulli bias vs G (log-log) with optional MC dots and Gaussian overlays."""
    from capfront_lib.oracle_debiasing.pipeline import G_grid

    G = G_grid(int(G_max))
    b = th.bernoulli_bias_curve(G, np.array(p), int(L))
    ax.loglog(G, np.where(b > 0, b, np.nan), color=PALETTE[0], lw=2, label="exact Bernoulli, eq. (10) corrected")
    if gaussian and L > 1 and 0 < p < 1:
        sd = np.sqrt(p * (1 - p))
        ax.loglog(G, th.gaussian_bias_exact(G, L, sd), "--", color=PALETTE[1], lw=1.2, label=r"Gaussian exact $e_L\sigma/\sqrt{G}$")
        ax.loglog(G, th.gaussian_bias_asymptotic(G, L, sd), ":", color=PALETTE[2], lw=1.5, label=r"paper's asymptotic form (7)")
    if mc is not None and len(mc):
        ax.errorbar(mc["G"], mc["mc_bias"], yerr=2 * mc["se"], fmt="o", ms=4, color="k", label="Monte Carlo ±2 SE")
    ax.set_xlabel("generations per prompt G")
    ax.set_ylabel("bias of naive oracle")
    if legend:
        ax.legend(fontsize=7)


def bias_figure(anat: dict, slopes_G: np.ndarray | None = None):
    """Fig. 2 analogue: exact bias curves per L (one panel each) plus a local-slope panel."""
    Ls = list(anat["curves"])
    fig, axes = plt.subplots(1, len(Ls) + 1, figsize=(4.2 * (len(Ls) + 1), 4.0))
    G = anat["G"]
    for ax, L in zip(axes, Ls):
        for j, p in enumerate(anat["p"]):
            col = PALETTE[j % len(PALETTE)]
            b = anat["curves"][L][:, j]
            ax.loglog(G, np.where(b > 0, b, np.nan), color=col, lw=1.8, label=f"p={p:.1f}")
            ax.loglog(G, anat["gauss_exact"][L][:, j], "--", color=col, lw=0.8)
            mc = anat["mc"]
            m = mc[(mc.L == L) & np.isclose(mc.p, p)]
            if not 0 < p < 1:
                continue
            ax.errorbar(m["G"], m["mc_bias"].clip(lower=1e-5), yerr=2 * m["se"], fmt="o", ms=3, color=col)
        ax.loglog(G, anat["gauss_asym"][L][:, list(anat["p"]).index(anat["p"][len(anat["p"]) // 2])], ":", color="k", lw=1.2,
                  label=f"(7) at p={anat['p'][len(anat['p']) // 2]:.1f}")
        ax.set_xlabel("generations per prompt G")
        ax.set_ylabel("E O_biased - O_true")
        _title(ax, f"L = {L}: lines exact, dots MC, dashed $e_L$", "simulated")
        ax.legend(fontsize=7, ncol=2)
    ax = axes[-1]
    for L in Ls:
        for j, p in enumerate(anat["p"]):
            b = anat["curves"][L][:, j]
            ok = b > 0
            if ok.sum() < 2:  # p = 0 or 1: no bias, no slope
                continue
            s = th.local_slope(G[ok], b[ok])
            ax.semilogx(G[ok], s, color=PALETTE[j % len(PALETTE)], ls="-" if L == Ls[0] else "--", lw=1.2)
    ax.axhline(0.5, color="k", lw=0.8)
    ax.set_ylim(-0.1, 1.2)
    ax.set_xlabel("generations per prompt G")
    ax.set_ylabel("local slope -dlog bias/dlog G")
    _title(ax, f"local slope (solid L={Ls[0]}, dashed L={Ls[-1]})", "analytic")
    fig.tight_layout()
    return fig


def bias_grid_figure(L_values=(2, 5, 21), p_values=(0.1, 0.5, 0.9), G_max: int = 1000):
    """Static explorer grid: exact bias and Gaussian overlays for a few (L, p)."""
    fig, axes = plt.subplots(len(L_values), len(p_values), figsize=(3.3 * len(p_values), 2.7 * len(L_values)), sharex=True)
    for i, L in enumerate(L_values):
        for j, p in enumerate(p_values):
            ax = axes[i, j]
            draw_bias_panel(ax, L, p, G_max, legend=(i == 0 and j == 0))
            ax.set_title(f"L={L}, p={p}", fontsize=9)
            if i < len(L_values) - 1:
                ax.set_xlabel("")
            if j > 0:
                ax.set_ylabel("")
    fig.suptitle(f"Explorer grid: bias of the naive oracle [{source_note('analytic')}]", fontsize=11)
    fig.tight_layout()
    return fig


def fig3_figure(close: dict, L: int, p: float):
    """Fig. 3 close-up: (11)/(12) fitted on G <= 10, extrapolated to large G, against the exact curve."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogx(close["G_eval"], close["y_exact"], color="k", lw=2, label="exact E O_biased(G)")
    ax.plot(close["G_fit"], close["y_fit"], "o", color="k", ms=4, label="fitted points G <= 10")
    for i, (name, f) in enumerate(close["fits"].items()):
        ax.semilogx(close["G_eval"], f.predict(close["G_eval"]), "--", color=PALETTE[i + 1],
                    label=f"eq. {name}: a_inf={f.a_inf:.3f}")
    ax.axhline(close["truth"], color=PALETTE[4], lw=1, label=f"O_true = p = {close['truth']}")
    ax.set_xlabel("generations per prompt G")
    ax.set_ylabel("expected naive oracle")
    _title(ax, f"Fitting on G <= 10 and extrapolating, L={L}, p={p}", "analytic")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def debias_curve_figure(r, G_ext: int = 1000):
    """Subsampling curve O_sub(G') of one simulated world with the (11)/(12) fits and every estimate."""
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    ax.semilogx(r.G_primes, r.curve, "o", color="k", ms=5, label="O_sub(G'), exact hypergeometric")
    Gx = np.unique(np.round(np.logspace(0, np.log10(G_ext), 80)))
    ax.semilogx(Gx, r.fit11_half.predict(Gx), "--", color=PALETTE[1], label=f"(11) lambda=.5 -> {r.fit11_half.a_inf:.3f}")
    ax.semilogx(Gx, r.fit12.predict(Gx), "-.", color=PALETTE[2], label=f"(12) free -> {r.fit12.a_inf:.3f}")
    ax.axhline(r.o_true, color=PALETTE[4], lw=2, label=f"O_true (known) = {r.o_true:.3f}")
    ax.axhline(r.o_split, color="grey", lw=1, ls=":", label=f"split-sample bracket = {r.o_split:.3f}")
    if np.isfinite(r.o_pgm):
        ax.axhline(r.o_pgm, color=PALETTE[5], lw=1.2, label=f"PGM latent topics = {r.o_pgm:.3f}")
    if np.isfinite(r.o_pgm_known):
        ax.axhline(r.o_pgm_known, color=PALETTE[3], lw=1.2, ls="--", label=f"PGM known topics = {r.o_pgm_known:.3f}")
    ax.set_xlabel("generations G' (subsample size; beyond 10 = extrapolation)")
    ax.set_ylabel("oracle quality (share correct)")
    _title(ax, "Naive oracle vs debiased oracles vs truth, one world", "simulated")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def debias_error_figure(rows: pd.DataFrame):
    """Error against the known truth per estimator and seed (dots) with the mean (bar)."""
    keys = [("o_biased", "naive (5)"), ("o_split", "split bracket"), ("o_extrap11", "(11) lambda=.5"),
            ("o_extrap11_free", "(11) free"), ("o_extrap12", "(12) free"), ("o_pgm", "PGM latent"), ("o_pgm_known", "PGM known")]
    keys = [(k, l) for k, l in keys if rows[k].notna().any()]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for i, (k, lab) in enumerate(keys):
        e = (rows[k] - rows["o_true"]).dropna()
        ax.bar(i, e.mean(), color=PALETTE[i % len(PALETTE)], alpha=0.35)
        ax.plot(np.full(e.size, i), e, "o", color=PALETTE[i % len(PALETTE)], ms=4)
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(range(len(keys)), [l for _, l in keys], rotation=20)
    ax.set_ylabel("estimate - O_true")
    _title(ax, f"Error of each oracle estimator ({len(rows)} seeds; bars = mean)", "simulated")
    fig.tight_layout()
    return fig


def draw_frontier_panel(ax, bundle: dict, alpha: float | None = None, legend=True):
    """Frontiers (true, naive, PGM, extrapolation) with single models and the SOTA star."""
    styles = {"true": ("k", "-", "true (known mu)"), "naive": (PALETTE[1], "--", "naive (sample means)"),
              "pgm": (PALETTE[5], "-.", "debiased: PGM"), "extrap": (PALETTE[2], ":", "debiased: extrapolation (12)")}
    for name, f in bundle["fronts"].items():
        col, ls, lab = styles[name]
        ax.plot(f.cost * 100, f.quality, ls, color=col, lw=2 if name == "true" else 1.6, label=lab)
        if alpha is not None and f.alpha is not None and f.slope.size:
            # segment i is taken iff alpha > alpha_seg[i]; alpha_seg increases along the frontier
            idx = min(int(np.searchsorted(f.alpha, alpha, side="left")), f.cost.size - 1)
            ax.plot(f.cost[idx] * 100, f.quality[idx], "o", color=col, ms=7)
    ax.scatter(bundle["model_c"] * 100, bundle["model_q"], color="grey", s=25, zorder=3, label="single models (sample means)")
    S = bundle["sota"]
    ax.scatter([bundle["model_c"][S] * 100], [bundle["model_q"][S]], marker="*", s=220, color=PALETTE[0], zorder=4, label="SOTA")
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per prompt (US cents)")
    ax.set_ylabel("mean quality (share correct)")
    if legend:
        ax.legend(fontsize=7, loc="lower right")


def frontier_figure(bundle: dict):
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    draw_frontier_panel(ax, bundle)
    m = bundle["metrics"]["true"]
    ax.annotate(f"true frontier: SOTA quality at {100 * m['saving_matched_q']:.0f}% lower cost;\n"
                f"error reduction at SOTA cost {100 * m['err_red_matched_c']:.0f}%",
                xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=8)
    _title(ax, "Capability Frontier of one world (eqs. 19-21)", "simulated")
    fig.tight_layout()
    return fig


def kshot_figure(tab: pd.DataFrame, o_true: float, o_biased: float):
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(tab["k"], tab["any_model_data"], "o-", color=PALETTE[0], label="any-model form from data (unbiased for 23)")
    if "eq23_truth" in tab:
        ax.plot(tab["k"], tab["eq23_truth"], "-", color="k", lw=1, label="(23) from the true pi")
    if "eq23_pgm" in tab:
        ax.plot(tab["k"], tab["eq23_pgm"], "-", color=PALETTE[5], lw=1, label="(23) from PGM pihat")
    ax.plot(tab["k"], tab["printed_22"], "--", color=PALETTE[1], label="printed (22): route, then k samples")
    ax.axhline(o_true, color=PALETTE[4], lw=1, ls=":", label="router oracle O_true")
    ax.axhline(o_biased, color="grey", lw=1, ls=":", label="naive O_biased")
    ax.set_xlabel("k (all models sampled k times; perfect free judge)")
    ax.set_ylabel("posthoc oracle quality")
    _title(ax, "Posthoc k-shot oracle (eqs. 22-23)", "simulated")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def reliability_figure(rel_sim: pd.DataFrame, t3: pd.DataFrame):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    ax.scatter(rel_sim["quality"], rel_sim["reliability"], label="observed (24)")
    if "reliability_expected" in rel_sim:
        ax.scatter(rel_sim["quality"], rel_sim["reliability_expected"], marker="x", label="exact expectation")
    ax.set_xlabel("model quality")
    ax.set_ylabel("reliability (24)")
    ax.legend(fontsize=8)
    _title(ax, "Reliability vs quality, one world", "simulated")
    ax = axes[1]
    body = t3[t3["model"] != "Average"]
    ax.scatter(body["quality"], body["reliability_pct"])
    ax.set_xlabel("model quality (avg over benchmarks)")
    ax.set_ylabel("reliability (%)")
    _title(ax, "Table 3 of the paper (22 rows)", "transcription")
    fig.tight_layout()
    return fig


def entropy_figure(sweep: dict, K: int):
    up = sweep["uplift"]
    H = sweep["H"]
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_axes([0.07, 0.13, 0.5, 0.72])
    m = up.mean(axis=0)
    lo, hi = np.quantile(up, [0.1, 0.9], axis=0) if up.shape[0] > 2 else (up.min(0), up.max(0))
    ax.fill_between(H, lo, hi, color=PALETTE[0], alpha=0.25, label="seed band (10-90%)" if up.shape[0] > 2 else "seed range")
    ax.plot(H, m, "o-", color=PALETTE[0], label=f"mean over {up.shape[0]} seeds")
    ax.set_xlabel("topic entropy H (nats), eq. (27)")
    ax.set_ylabel("oracle uplift (26)")
    ax.legend(fontsize=8)
    _title(ax, "Uplift vs topic entropy (Appendix G design)", "simulated")
    idx = np.linspace(0, len(sweep["s"]) - 1, 4).round().astype(int)
    for i, j in enumerate(idx):
        a = fig.add_axes([0.65 + (i % 2) * 0.17, 0.55 - (i // 2) * 0.42, 0.14, 0.3])
        a.bar(np.arange(K), est.topic_probs(sweep["s"][j], K), color=PALETTE[3], width=1.0)
        a.set_title(f"theta(s={sweep['s'][j]:.1f}), H={H[j]:.2f}", fontsize=7)
        a.set_ylim(0, 1)
        a.tick_params(labelsize=6)
        a.set_xlabel("topic", fontsize=6)
    return fig


def published_figure(rows: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (pr, rc, lab) in enumerate([("t1_err_red_printed", "t1_err_red_recomputed", "Table 1 error reduction"),
                                        ("t2_saving_printed", "t2_saving_recomputed", "Table 2 saving"),
                                        ("t4_err_red_printed", "t4_err_red_recomputed", "Table 4 (k=1)"),
                                        ("t5_err_red_printed", "t5_err_red_recomputed", "Table 5 (k=10)")]):
        ax.scatter(rows[pr], rows[rc], s=18, color=PALETTE[i], label=lab)
    ax.plot([0, 100], [0, 100], color="k", lw=0.8)
    ax.set_xlabel("printed value (%)")
    ax.set_ylabel("recomputed from the table's columns (%)")
    ax.legend(fontsize=8)
    _title(ax, "Published ratios vs recomputation", "transcription")
    fig.tight_layout()
    return fig
