"""Figures of the co-failure chapter. Functions take computed arrays/frames and draw; no computation beyond
trivial reshaping lives here. Figures are at most 7.2 in wide (the book's 110 dpi style), text >= 9 pt, at
most three panels per row; each title ends with the data label, and the notebook shows them as numbered
MyST figures (``core.book.figure``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE

__all__ = ["certificate_map", "coverage_plot", "rho_vs_beta", "forest", "pool_curve_plot", "prop2_panel", "frechet_plot",
           "public_ratios", "regime_plot", "triplet_plot", "selfmoa_plot", "lp_plot", "cascade_plot", "audit_plot",
           "explorer_grid", "WIDTH"]

WIDTH = 7.2  # inches: the book's text column at 110 dpi
FS = 9       # smallest text size (pt)


def _title(ax, title: str, label: str) -> None:
    ax.set_title(f"{title}\n[{label}]", fontsize=10)


def certificate_map(cert: pd.DataFrame, overhead: float, label: str):
    """beta with its CP interval, point gain G and certified bound U per pool, with the overhead line."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.34 * len(cert) + 1.7))
    y = np.arange(len(cert))[::-1]
    ax.errorbar(cert["beta"], y + 0.22, xerr=[cert["beta"] - cert["beta_lo2"], cert["beta_hi2"] - cert["beta"]],
                fmt="o", ms=4, color=PALETTE[1], label=r"$\hat\beta$ with 95% CP interval")
    ax.plot(cert["G"], y, "s", ms=4, color=PALETTE[0], label=r"point oracle gain $G$")
    ax.plot(cert["U"], y - 0.22, "D", ms=4, color=PALETTE[3], label=r"certified maximum gain $U$")
    ax.axvline(overhead, color="grey", ls="--", lw=1, label=f"overhead {overhead:g}")
    ax.set_yticks(y, cert["pool"], fontsize=FS)
    ax.set_xlabel("fraction of queries")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.10 - 0.6 / max(len(cert), 1)), ncol=2, fontsize=FS)
    ax.set_title("All-wrong rate, oracle gain and certificate per pool", fontsize=10)
    fig.tight_layout()
    return fig


def coverage_plot(rows: list[dict], level: float = 0.95):
    """Coverage of the sound certificate and of v1's form per simulated scenario, with CP intervals."""
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    y = np.arange(len(rows))[::-1]
    for k, (key, ci, col, lab) in enumerate((("coverage_rev", "ci_rev", PALETTE[3], "sound form (lower bounds, rev)"),
                                             ("coverage_v1", "ci_v1", PALETTE[1], "v1's form (upper bound on $a_{sb}$)"))):
        v = np.array([r[key] for r in rows])
        lo = np.array([r[ci][0] for r in rows])
        hi = np.array([r[ci][1] for r in rows])
        ax.errorbar(v, y + (0.12 if k == 0 else -0.12), xerr=[v - lo, hi - v], fmt="o", ms=5, color=col, label=lab)
    ax.axvline(level, color="grey", ls="--", lw=1, label=f"nominal {level:g}")
    ax.set_yticks(y, [r["scenario"] for r in rows], fontsize=FS)
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel(r"share of simulated pools with true gain $\leq U$")
    ax.legend(fontsize=FS, loc="center")
    _title(ax, "Coverage of the certificate", "simulated")
    fig.tight_layout()
    return fig


def rho_vs_beta(sub_rho, sub_beta, curve_rho, curve_beta, points: dict, beta_obs: float, label: str):
    """Subset cloud of (rbar_k, beta_k), the single-factor curve beta_sf(rho) and the calibration points."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0))
    ax.scatter(sub_rho, np.maximum(sub_beta, 1e-6), s=8, alpha=0.35, color=PALETTE[6], label="random model subsets")
    ax.plot(curve_rho, curve_beta, color=PALETTE[0], label=r"single factor $\beta_{sf}(t,\rho)$, full pool")
    mk = {"Pearson": ("v", PALETTE[1]), "tetrachoric": ("o", PALETTE[3]), "implied": ("*", PALETTE[2])}
    for name, (r, b) in points.items():
        m, c = mk.get(name, ("x", "k"))
        ax.plot([r], [b], m, color=c, ms=9, label=f"{name} ρ = {r:.3f}")
    ax.axhline(beta_obs, color=PALETTE[1], ls=":", label=r"observed $\hat\beta$")
    ax.set_yscale("log")
    ax.set_xlabel(r"base correlation $\rho$ (mean over pairs)")
    ax.set_ylabel("all-wrong probability")
    ax.legend(fontsize=FS, loc="lower right")
    _title(ax, "Correlation against the all-wrong rate", label)
    fig.tight_layout()
    return fig


def forest(rows: pd.DataFrame, beta: float, ci, label: str, title: str = "Observed and predicted all-wrong rate", ax=None):
    """Observed beta (band) against each model's prediction (log scale) with intervals where available."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    lo = rows["lo"].fillna(rows["value"]).to_numpy(float)
    hi = rows["hi"].fillna(rows["value"]).to_numpy(float)
    v = rows["value"].to_numpy(float)
    ax.errorbar(v, y, xerr=[v - lo, hi - v], fmt="o", ms=5, color=PALETTE[0])
    ax.axvspan(ci[0], ci[1], color=PALETTE[1], alpha=0.15, label="observed, 95% CP")
    ax.axvline(beta, color=PALETTE[1], label=r"observed $\hat\beta$")
    ax.set_yticks(y, rows["label"], fontsize=FS)
    ax.set_xscale("log")
    ax.set_xlabel("all-wrong probability (log scale)")
    ax.legend(fontsize=FS, loc="lower right")
    _title(ax, title, label)
    if own:
        fig.tight_layout()
        return fig
    return ax


def pool_curve_plot(pc: pd.DataFrame, truth: pd.DataFrame | None, label: str):
    """Underpricing ratio against pool size k: median band over subsets with a tail, ratio of means, the truth."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.fill_between(pc["k"], pc["ratio_p05"], pc["ratio_p95"], color=PALETTE[0], alpha=0.2, label="5–95% over subsets with a tail")
    ax.plot(pc["k"], pc["median_ratio"], "o-", color=PALETTE[0], label="median (the paper's statistic)")
    ax.plot(pc["k"], pc["ratio_of_means"], "s-", color=PALETTE[3], label="ratio of means (this chapter)")
    if truth is not None:
        ax.plot(truth["k"], truth["ratio"], "k--", label="population truth of the simulator")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xlabel("pool size k (models)")
    ax.set_ylabel(r"$\hat\beta_k / \beta_{sf,k}$ (tetrachoric)")
    ax.legend(fontsize=FS)
    _title(ax, "Underpricing against pool size", label)
    fig.tight_layout()
    return fig


def prop2_panel(ms, atom_tet, atom_pear, clay: dict):
    """Prop. 2: underpricing ratio against m for the common-shock atom and for Clayton, under both calibrations."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), sharey=True)
    ax = axes[0]
    ax.plot(ms, atom_tet, color=PALETTE[1], label="tetrachoric")
    ax.plot(ms, atom_pear, color=PALETTE[1], ls="--", label="Pearson")
    ax.set_title("common-shock atom (ω 0.05)", fontsize=10)
    ax = axes[1]
    for i, (lab, (rt, rp)) in enumerate(clay.items()):
        ax.plot(ms, rt, color=PALETTE[3 + i], label=f"{lab}, tetrachoric")
        ax.plot(ms, rp, color=PALETTE[3 + i], ls="--", label=f"{lab}, Pearson")
    ax.set_title("Clayton, no atom", fontsize=10)
    for ax in axes:
        ax.axhline(1, color="grey", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("pool size m")
        ax.legend(fontsize=FS, loc="upper left")
    axes[0].set_ylabel(r"$\beta(m)/\beta_{sf}(m)$")
    fig.suptitle("Prop. 2: the atom, not tail dependence, drives the underpricing [analytic]", fontsize=10)
    fig.tight_layout()
    return fig


def frechet_plot(frechet: dict):
    """Prop. 3: the exchangeable triples with one pairwise law, as beta moves through its Fréchet range."""
    fig, ax = plt.subplots(figsize=(WIDTH - 0.4, 3.2))
    b = frechet["beta"]
    for j in range(4):
        ax.plot(b, frechet["q"][:, j], label=f"P({j} errors)")
    for key, col, ls, name in (("gauss", "k", ":", "Gaussian copula"), ("clayton", PALETTE[5], "--", "Clayton"),
                               ("shock", PALETTE[1], "-.", "common shock")):
        ax.axvline(frechet[key], color=col, ls=ls, lw=1.3, label=f"{name}: β = {frechet[key]:.4f}")
    ax.set_xlabel(r"all-wrong rate $\beta$ of the triple")
    ax.set_ylabel("probability")
    ax.legend(fontsize=FS, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f"Prop. 3: P(wrong) = {frechet['a']:g}, P(both wrong) = {frechet['b']:g} for every pair", fontsize=10)
    fig.tight_layout()
    return fig


def public_ratios(frames: dict, label: str):
    """Observed over predicted all-wrong rate on the public pools (one panel each), log scale, 90% bootstrap bars."""
    fig, axes = plt.subplots(1, len(frames), figsize=(WIDTH, 3.6), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, (name, df) in zip(axes, frames.items()):
        y = np.arange(len(df))[::-1]
        v = df["ratio"].to_numpy(float)
        lo = df["lo"].fillna(df["ratio"]).to_numpy(float)
        hi = df["hi"].fillna(df["ratio"]).to_numpy(float)
        ax.errorbar(v, y, xerr=[v - lo, hi - v], fmt="o", ms=5, color=PALETTE[0])
        ax.axvline(1, color="grey", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(y, df["model"], fontsize=FS)
        ax.set_xlabel(r"$\hat\beta$ / predicted (log)")
        ax.set_title(name, fontsize=10)
    fig.suptitle(f"Underpricing ratio by model of the tail [{label}]", fontsize=10)
    fig.tight_layout()
    return fig


def regime_plot(rows: pd.DataFrame, tau: float):
    """Co-failure share s = beta/(1 - a_sb) with CP intervals per pool, with the regime threshold tau."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.36 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    col = [PALETTE[3] if "public" in s else PALETTE[1] if "v1" in s else PALETTE[0] for s in rows["source"]]
    for yy, r, c in zip(y, rows.itertuples(), col):
        ax.errorbar([r.s], [yy], xerr=[[r.s - r.lo], [r.hi - r.s]], fmt="o", ms=5, color=c)
    ax.axvline(tau, color="grey", ls="--", lw=1, label=f"τ = {tau:g}")
    ax.set_yticks(y, rows["pool"], fontsize=FS)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(r"co-failure share $s = \beta/(1-a_{sb})$ with 95% CP interval")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=c, label=t) for c, t in
               ((PALETTE[3], "public data"), (PALETTE[1], "v1's counts"), (PALETTE[0], "revision's counts"))]
    handles.append(Line2D([], [], color="grey", ls="--", label=f"τ = {tau:g}"))
    ax.legend(handles=handles, fontsize=FS, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.5 / max(len(rows), 1)), ncol=4)
    ax.set_title("Ceiling-bound (right of τ) or realizability-bound (left)", fontsize=10)
    fig.tight_layout()
    return fig


def triplet_plot(studies: dict):
    """Triplet vote gain against mean pairwise phi, one panel per pool, with the OLS line (headroom at its mean)."""
    k = len(studies)
    fig, axes = plt.subplots(1, k, figsize=(WIDTH, 3.6), squeeze=False)
    for ax, (name, st) in zip(axes[0], studies.items()):
        tab, reg = st["tab"], st["reg"]
        ax.scatter(tab["rho"], tab["gain"], s=4, alpha=0.25, color=PALETTE[0])
        x = np.linspace(tab["rho"].min(), tab["rho"].max(), 50)
        ax.plot(x, reg["b0"] + reg["b_rho"] * x + reg["b_head"] * tab["headroom"].mean(), color=PALETTE[1])
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(r"mean pairwise $\phi$")
        ax.set_title(f"{name}\nslope {reg['b_rho']:+.2f} [{reg['ci_jack'][0]:+.2f}, {reg['ci_jack'][1]:+.2f}]", fontsize=FS)
        ax.tick_params(labelsize=FS)
    axes[0][0].set_ylabel("vote gain over the best member")
    fig.tight_layout()
    return fig


def selfmoa_plot(sm: dict):
    """Self-MoA vs heterogeneous fusion at matched quality against k, and the paired-bootstrap difference."""
    c = pd.DataFrame(sm["curves"])
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    axes[0].plot(c["k"], c["selfmoa"], "o-", label=f"Self-MoA (ρ {sm['rho_intra']:.2f})")
    axes[0].plot(c["k"], c["hetero"], "s-", label=f"heterogeneous (ρ {sm['rho_inter']:.2f})")
    axes[0].set_xlabel("ensemble size k")
    axes[0].set_ylabel("vote accuracy")
    axes[0].legend(fontsize=FS)
    _title(axes[0], "Matched-quality fusion", "simulated")
    axes[1].errorbar(c["k"], c["diff"], yerr=[c["diff"] - c["lo"], c["hi"] - c["diff"]], fmt="o")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_xlabel("ensemble size k")
    axes[1].set_ylabel("heterogeneous − Self-MoA")
    _title(axes[1], "Difference, 95% paired bootstrap", "simulated")
    fig.tight_layout()
    return fig


def lp_plot(curve: dict, single_cost, single_acc, oracle: tuple, lp_pts, label: str, unit: str):
    """Value curve V(B) (upper concave hull) with its slopes lambda_B, single models and the oracle point."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.9))
    ax.plot(curve["cost"], curve["value"], "-", color=PALETTE[0], label="V(B), exact hull")
    ax.scatter(single_cost, single_acc, s=14, color=PALETTE[6], label="single models")
    ax.plot([oracle[0]], [oracle[1]], "*", ms=12, color=PALETTE[1], label="cheapest-correct oracle, 1 − β")
    if lp_pts is not None and len(lp_pts):
        ax.plot(lp_pts[:, 0], lp_pts[:, 1], "x", color="k", label="linprog (HiGHS) checks")
    ax.set_xscale("log")
    ax.set_xlabel(f"budget B ({unit}, log scale)")
    ax.set_ylabel("routed accuracy V(B)")
    ax.legend(fontsize=FS, loc="lower right")
    _title(ax, "Budget-constrained routing (Prop. 4)", label)
    fig.tight_layout()
    return fig


def cascade_plot(runs: dict):
    """Cascade advantage over random mixing against verifier AUC with the exact line, one panel per data set."""
    k = len(runs)
    fig, axes = plt.subplots(1, k, figsize=(WIDTH, 3.5), squeeze=False, sharey=False)
    for ax, (name, (df, a_L)) in zip(axes[0], runs.items()):
        ax.scatter(df["auc"], df["int_A1"], s=16, color=PALETTE[0], label=r"$\int A_1\,d\gamma$ (runs)")
        ax.scatter(df["auc"], df["max_A"], s=16, marker="^", color=PALETTE[3], label=r"$\max_\gamma A$ (runs)")
        x = np.linspace(min(0.45, df["auc"].min()), max(0.75, df["auc"].max()), 50)
        ax.plot(x, a_L * (1 - a_L) * (x - 0.5), "k--", label=r"$a_L(1-a_L)(\mathrm{AUC}-\frac{1}{2})$")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("verifier AUC")
        ax.set_title(name, fontsize=10)
    axes[0][0].set_ylabel("advantage over random mixing")
    axes[0][0].legend(fontsize=FS, loc="upper left")
    fig.tight_layout()
    return fig


def audit_plot(codes: np.ndarray, tab: pd.DataFrame, consensus: float, label: str):
    """Answers on all-wrong items (models x items, colour = answer) and the modal-answer shares with the flag line."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2), gridspec_kw={"width_ratios": [3, 2]})
    axes[0].imshow(np.asarray(codes, float), aspect="auto", cmap="tab10", interpolation="nearest")
    axes[0].set_xlabel("all-wrong item")
    axes[0].set_ylabel("model")
    axes[0].set_title("Answers (colour = answer)", fontsize=10)
    s = tab.sort_values("modal_share", ascending=False)
    col = [PALETTE[1] if f else PALETTE[0] for f in s["suspect"]]
    axes[1].bar(np.arange(len(s)), s["modal_share"], color=col, width=1.0)
    axes[1].axhline(consensus, color="k", ls="--", lw=1, label=f"flag at {consensus:g}")
    axes[1].set_xlabel("all-wrong item (sorted)")
    axes[1].set_ylabel("modal-answer share")
    axes[1].legend(fontsize=FS)
    axes[1].set_title("Consensus against gold", fontsize=10)
    fig.tight_layout()
    return fig


def explorer_grid(grid: list[dict]):
    """Static explorer: Prop. 2 ratio against m for a 3 x 3 grid of (omega, a0) under both calibrations."""
    omegas = sorted({g["omega"] for g in grid})
    a0s = sorted({g["a0"] for g in grid})
    fig, axes = plt.subplots(len(omegas), len(a0s), figsize=(WIDTH, 2.1 * len(omegas) + 0.6), sharex=True, squeeze=False)
    for g in grid:
        ax = axes[omegas.index(g["omega"])][a0s.index(g["a0"])]
        ax.plot(g["m"], g["ratio_tet"], color=PALETTE[3], label="tetrachoric")
        ax.plot(g["m"], g["ratio_pear"], color=PALETTE[1], ls="--", label="Pearson")
        ax.set_yscale("log")
        ax.set_title(f"ω = {g['omega']:g}, a0 = {g['a0']:g}", fontsize=FS)
        ax.tick_params(labelsize=FS)
        if g["omega"] == omegas[-1]:
            ax.set_xlabel("pool size m", fontsize=FS)
        if g["a0"] == a0s[0]:
            ax.set_ylabel(r"$\beta/\beta_{sf}$", fontsize=FS)
    axes[0][0].legend(fontsize=FS)
    fig.suptitle("Prop. 2 underpricing ratio [analytic]", fontsize=10)
    fig.tight_layout()
    return fig
