"""Figures of the co-failure chapter (F1–F10 of the spec). Functions take computed arrays/frames and draw;
no computation beyond trivial reshaping lives here. Every title names the data source."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import PALETTE, source_note, titled

__all__ = ["certificate_map", "rho_vs_beta", "forest", "pool_curve_plot", "theory_panel", "triplet_plot",
           "selfmoa_plot", "lp_plot", "cascade_plot", "audit_plot", "explorer_grid"]


def certificate_map(cert: pd.DataFrame, overhead: float, source_label: str):
    """F1: beta with CP interval, point gain G and certified bound U per pool, with the overhead line."""
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(cert) + 1.8))
    y = np.arange(len(cert))[::-1]
    ax.errorbar(cert["beta"], y + 0.2, xerr=[cert["beta"] - cert["beta_lo2"], cert["beta_hi2"] - cert["beta"]],
                fmt="o", color=PALETTE[1], label=r"$\hat\beta$ (all-wrong rate), 95% CP")
    ax.plot(cert["G"], y, "s", color=PALETTE[0], label=r"point oracle gain $G$")
    ax.plot(cert["U"], y - 0.2, "D", color=PALETTE[3], label=r"certified max gain $U$ (95%)")
    ax.axvline(overhead, color="grey", ls="--", lw=1, label=f"overhead = {overhead:g}")
    ax.set_yticks(y, cert["pool"])
    ax.set_xlabel("fraction of queries")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"F1. Ceiling and certificate per pool\n[{source_label}]")
    fig.tight_layout()
    return fig


def rho_vs_beta(sub_rho, sub_beta, curve_rho, curve_beta, points: dict, beta_obs: float, source: str):
    """F2: subset cloud of (rbar_k, beta_k), single-factor beta_sf(rho) curve, Pearson / tetrachoric calibration points."""
    fig, ax = plt.subplots()
    ax.scatter(sub_rho, np.maximum(sub_beta, 1e-6), s=8, alpha=0.35, color=PALETTE[6], label="random model subsets (own thresholds)")
    ax.plot(curve_rho, curve_beta, color=PALETTE[0], label=r"single-factor $\beta_{sf}(t,\rho)$, full pool")
    mk = {"Pearson": ("v", PALETTE[1]), "tetrachoric": ("o", PALETTE[3]), "implied": ("*", PALETTE[2])}
    for name, (r, b) in points.items():
        m, c = mk.get(name, ("x", "k"))
        ax.plot([r], [b], m, color=c, ms=10, label=f"{name} ρ = {r:.3f}")
    ax.axhline(beta_obs, color=PALETTE[1], ls=":", label=rf"observed $\hat\beta$ = {beta_obs:.4f}")
    ax.set_yscale("log")
    ax.set_xlabel(r"base correlation $\rho$ (mean over pairs)")
    ax.set_ylabel("all-wrong probability")
    ax.legend(fontsize=8)
    titled(ax, "F2. Correlation vs all-wrong rate", source)
    fig.tight_layout()
    return fig


def forest(rows: pd.DataFrame, beta: float, ci, source: str):
    """F3: observed beta vs each model's prediction (log scale) with intervals where available."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    lo = rows["lo"].fillna(rows["value"])
    hi = rows["hi"].fillna(rows["value"])
    ax.errorbar(rows["value"], y, xerr=[rows["value"] - lo, hi - rows["value"]], fmt="o", color=PALETTE[0])
    ax.axvspan(ci[0], ci[1], color=PALETTE[1], alpha=0.15, label="observed 95% CP")
    ax.axvline(beta, color=PALETTE[1], label=rf"observed $\hat\beta$ = {beta:.4f}")
    ax.set_yticks(y, rows["label"])
    ax.set_xscale("log")
    ax.set_xlabel("all-wrong probability (log scale)")
    ax.legend(fontsize=8, loc="upper left")
    titled(ax, "F3. Observed vs predicted all-wrong rate", source)
    fig.tight_layout()
    return fig


def pool_curve_plot(pc: pd.DataFrame, truth: pd.DataFrame | None, source: str):
    """F4: underpricing ratio vs pool size k: median band over subsets with a tail, ratio of means, and the truth."""
    fig, ax = plt.subplots()
    ax.fill_between(pc["k"], pc["ratio_p05"], pc["ratio_p95"], color=PALETTE[0], alpha=0.2, label="5–95% over subsets with a tail")
    ax.plot(pc["k"], pc["median_ratio"], "o-", color=PALETTE[0], label="median (paper's statistic)")
    ax.plot(pc["k"], pc["ratio_of_means"], "s-", color=PALETTE[3], label="ratio of means (primary)")
    if truth is not None:
        ax.plot(truth["k"], truth["ratio"], "k--", label="population truth (simulator)")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xlabel("pool size k (models)")
    ax.set_ylabel(r"$\hat\beta_k / \beta_{sf,k}$ (tetrachoric)")
    ax.legend(fontsize=8)
    titled(ax, "F4. Underpricing grows with pool size", source)
    fig.tight_layout()
    return fig


def theory_panel(ms, atom_tet, atom_pear, clay: dict, frechet: dict):
    """F5: Prop. 2 ratio vs m (tetrachoric and Pearson calibration) with Clayton controls; Prop. 3 Fréchet range."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.plot(ms, atom_tet, color=PALETTE[1], label="common-shock atom, tetrachoric")
    ax.plot(ms, atom_pear, color=PALETTE[1], ls="--", label="common-shock atom, Pearson")
    for i, (lab, (rt, rp)) in enumerate(clay.items()):
        ax.plot(ms, rt, color=PALETTE[3 + i], label=f"Clayton {lab}, tetrachoric")
        ax.plot(ms, rp, color=PALETTE[3 + i], ls="--", label=f"Clayton {lab}, Pearson")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("pool size m")
    ax.set_ylabel(r"$\beta(m)/\beta_{sf}(m)$")
    ax.legend(fontsize=7)
    ax.set_title(f"F5a. Prop. 2: the atom, not tail dependence\n[{source_note('analytic')}]")
    ax = axes[1]
    b = frechet["beta"]
    for j in range(4):
        ax.plot(b, frechet["q"][:, j], label=f"q{j} = P({j} errors)")
    ax.axvline(frechet["gauss"], color="k", ls=":", label=f"Gaussian copula {frechet['gauss']:.4f}")
    ax.axvline(frechet["clayton"], color=PALETTE[4], ls=":", label=f"Clayton {frechet['clayton']:.4f}")
    ax.axvline(frechet["shock"], color=PALETTE[1], ls=":", label=f"common shock {frechet['shock']:.4f}")
    ax.set_xlabel(r"all-wrong rate $\beta$ of the triple")
    ax.set_ylabel("probability")
    ax.legend(fontsize=7)
    ax.set_title(f"F5b. Prop. 3: same pairwise law (a = {frechet['a']}, b = {frechet['b']}), any β\n[{source_note('analytic')}]")
    fig.tight_layout()
    return fig


def triplet_plot(tab: dict, reg: dict, source: str):
    """F6: triplet vote gain vs mean pairwise phi with the OLS line and its jackknife CI."""
    fig, ax = plt.subplots()
    ax.scatter(tab["rho"], tab["gain"], s=5, alpha=0.3, color=PALETTE[0], label="triplets")
    x = np.linspace(tab["rho"].min(), tab["rho"].max(), 50)
    hbar = tab["headroom"].mean()
    ax.plot(x, reg["b0"] + reg["b_rho"] * x + reg["b_head"] * hbar, color=PALETTE[1],
            label=f"OLS slope {reg['b_rho']:+.3f}, jackknife 95% [{reg['ci_jack'][0]:+.3f}, {reg['ci_jack'][1]:+.3f}]")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(r"mean pairwise Pearson $\phi$ of the triplet")
    ax.set_ylabel("majority-vote gain over the triplet's best (accuracy)")
    ax.legend(fontsize=8)
    titled(ax, "F6. Triplet majority vote vs correlation", source)
    fig.tight_layout()
    return fig


def selfmoa_plot(sm: dict, source: str):
    """F7: Self-MoA vs heterogeneous fusion at matched quality against k, with the paired bootstrap CI of the difference."""
    c = pd.DataFrame(sm["curves"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(c["k"], c["selfmoa"], "o-", label=f"Self-MoA (ρ_intra = {sm['rho_intra']:.2f})")
    axes[0].plot(c["k"], c["hetero"], "s-", label=f"heterogeneous (ρ_inter = {sm['rho_inter']:.2f})")
    axes[0].set_xlabel("ensemble size k")
    axes[0].set_ylabel("vote accuracy")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"F7a. Matched-quality fusion\n[{source_note(source)}]")
    axes[1].errorbar(c["k"], c["diff"], yerr=[c["diff"] - c["lo"], c["hi"] - c["diff"]], fmt="o")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_xlabel("ensemble size k")
    axes[1].set_ylabel("Hetero − Self-MoA (95% paired bootstrap)")
    axes[1].set_title(f"F7b. Difference\n[{source_note(source)}]")
    fig.tight_layout()
    return fig


def lp_plot(curve: dict, single_cost, single_acc, oracle: tuple, lp_pts, source: str, unit: str):
    """F8: value curve V(B) (upper concave hull) with its slopes lambda_B, single models and the oracle point."""
    fig, ax = plt.subplots()
    ax.plot(curve["cost"], curve["value"], "-", color=PALETTE[0], label="V(B), exact hull")
    for i, s in enumerate(curve["slopes"][: min(len(curve["slopes"]), 6)]):
        xm = 0.5 * (curve["cost"][i] + curve["cost"][i + 1])
        ym = 0.5 * (curve["value"][i] + curve["value"][i + 1])
        ax.annotate(f"λ={s:.3g}", (xm, ym), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.scatter(single_cost, single_acc, s=14, color=PALETTE[6], label="single models")
    ax.plot([oracle[0]], [oracle[1]], "*", ms=12, color=PALETTE[1], label="cheapest-correct oracle (1 − β)")
    if lp_pts is not None and len(lp_pts):
        ax.plot(lp_pts[:, 0], lp_pts[:, 1], "x", color="k", label="linprog (HiGHS) checks")
    ax.set_xscale("log")
    ax.set_xlabel(f"budget B ({unit}, log scale)")
    ax.set_ylabel("routed accuracy V(B)")
    ax.legend(fontsize=8)
    titled(ax, "F8. Prop. 4: budget-constrained routing", source)
    fig.tight_layout()
    return fig


def cascade_plot(df: pd.DataFrame, a_L: float, source: str):
    """F9: cascade advantage over random mixing vs verifier AUC, with the exact line a_L(1-a_L)(AUC - 1/2)."""
    fig, ax = plt.subplots()
    ax.scatter(df["auc"], df["int_A1"], s=18, color=PALETTE[0], label=r"$\int_0^1 A_1(\gamma)d\gamma$ (runs)")
    ax.scatter(df["auc"], df["max_A"], s=18, marker="^", color=PALETTE[3], label=r"$\max_\gamma A(\gamma)$ (runs)")
    x = np.linspace(min(0.45, df["auc"].min()), max(1.0, df["auc"].max()), 50)
    ax.plot(x, a_L * (1 - a_L) * (x - 0.5), "k--", label=r"$a_L(1-a_L)(\mathrm{AUC}-1/2)$")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("verifier AUC of the cheap model's score")
    ax.set_ylabel("advantage over random mixing (accuracy)")
    ax.legend(fontsize=8)
    titled(ax, "F9. Prop. 8: cascade advantage collapses with AUC", source)
    fig.tight_layout()
    return fig


def audit_plot(Y_allwrong_preds: np.ndarray, gold, tab: pd.DataFrame, consensus: float, source: str):
    """F10: heatmap of answers on all-wrong items (models x items, colour = answer, gold marked) and modal-share bars."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    P = np.asarray(Y_allwrong_preds, float)
    axes[0].imshow(P, aspect="auto", cmap="tab10", interpolation="nearest")
    axes[0].set_xlabel("all-wrong item")
    axes[0].set_ylabel("model")
    axes[0].set_title(f"F10a. Answers on all-wrong items (colour = answer)\n[{source_note(source)}]")
    s = tab.sort_values("modal_share", ascending=False)
    col = [PALETTE[1] if f else PALETTE[0] for f in s["suspect"]]
    axes[1].bar(np.arange(len(s)), s["modal_share"], color=col)
    axes[1].axhline(consensus, color="k", ls="--", lw=1, label=f"flag threshold {consensus:g}")
    axes[1].set_xlabel("all-wrong item (sorted)")
    axes[1].set_ylabel("share of models giving the modal answer")
    axes[1].legend(fontsize=8)
    axes[1].set_title(f"F10b. Consensus against the gold label\n[{source_note(source)}]")
    fig.tight_layout()
    return fig


def explorer_grid(grid: list[dict]):
    """Static explorer: Prop. 2 ratio vs m for a grid of (omega, a0) under both calibrations."""
    omegas = sorted({g["omega"] for g in grid})
    a0s = sorted({g["a0"] for g in grid})
    fig, axes = plt.subplots(len(omegas), len(a0s), figsize=(3.2 * len(a0s), 2.6 * len(omegas)), sharex=True, squeeze=False)
    for g in grid:
        ax = axes[omegas.index(g["omega"])][a0s.index(g["a0"])]
        ax.plot(g["m"], g["ratio_tet"], color=PALETTE[3], label="tetrachoric")
        ax.plot(g["m"], g["ratio_pear"], color=PALETTE[1], ls="--", label="Pearson")
        ax.set_yscale("log")
        ax.set_title(f"ω = {g['omega']:g}, a0 = {g['a0']:g}", fontsize=9)
        if g["omega"] == omegas[-1]:
            ax.set_xlabel("pool size m")
        if g["a0"] == a0s[0]:
            ax.set_ylabel(r"$\beta/\beta_{sf}$")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Explorer grid: Prop. 2 underpricing ratio [{source_note('analytic')}]", fontsize=11)
    fig.tight_layout()
    return fig
