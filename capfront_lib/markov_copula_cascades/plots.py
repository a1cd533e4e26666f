"""Figures of the Rational Tuning chapter and the interactive explorer (drawing only, no estimation)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.core.plotting import source_note

from .model import CascadeModel, MixedBetaMarginal, gumbel_sample

METHOD_STYLE = {
    "RT": dict(color="#1b6ca8", lw=2.0),
    "GS-soft": dict(color="#d1495b", lw=1.3, ls="--"),
    "GS-hard": dict(color="#edae49", lw=1.3, ls="-."),
    "BO": dict(color="#66a182", lw=1.3, ls=":"),
    "oracle": dict(color="#2e4057", lw=1.0, ls=(0, (1, 1))),
    "RT-exact": dict(color="#00798c", lw=2.0, ls=(0, (5, 1))),
    "oracle-exact": dict(color="#7a7a7a", lw=1.0, ls=(0, (3, 1, 1, 1))),
}


def _grid(n: int, height: float = 2.5, width: float = 7.2):
    """A figure with n panels, at most three per row, 7.2 in wide; unused axes are hidden."""
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def fig_marginals(phi_test: np.ndarray, marginals: Sequence[MixedBetaMarginal], names: Sequence[str], bins: int = 30,
                  data: str = "simulated", min_mass: float = 0.01):
    """F1 (Fig. 2.4): test histogram of calibrated confidence, fitted density, hatched point masses."""
    k = len(marginals)
    fig, axes = _grid(k, 2.6)
    for j, ax in enumerate(axes):
        m = marginals[j]
        edges = np.linspace(m.phi_min, m.phi_max, bins + 1)
        x = np.clip(phi_test[:, j], m.phi_min, m.phi_max)
        ax.hist(x, bins=edges, density=True, color="#cfd8e3", edgecolor="white", label="test data")
        g = np.linspace(m.phi_min, m.phi_max, 400)[1:-1]
        ax.plot(g, m.pdf_continuous(g), color="#1b6ca8", lw=1.5, label="fitted (train)")
        w = edges[1] - edges[0]
        drawn = False
        for loc, mass, left in ((m.phi_min, m.w_min, edges[0]), (m.phi_max, m.w_max, edges[-2])):
            if mass > min_mass:  # a continuous signal has w = 1/n at each extreme: not a point mass worth drawing
                ax.bar(left, mass / w, width=w, align="edge", fill=False, hatch="///", edgecolor="#d1495b",
                       label=f"point mass {mass:.2f}")
                drawn = True
        ax.set_title(names[j], fontsize=9)
        ax.set_xlabel("calibrated confidence Φ")
        if j % 3 == 0:
            ax.set_ylabel("density")
        if j == 0 or drawn:
            ax.legend(loc="upper left", fontsize=9)
    fig.suptitle(f"Fitted marginals vs test histograms [{data}]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_copula_scatter(pairs: Sequence[tuple[np.ndarray, np.ndarray, float, str]], rng: np.random.Generator,
                       data: str = "simulated"):
    """F2 (Figs. 2.2/2.3): pseudo-observations of a model pair vs a sample from the fitted Gumbel copula (<= 3 pairs)."""
    pairs = list(pairs)[:3]
    fig, axes = _grid(len(pairs), 2.9)
    for ax, (x, y, theta, label) in zip(axes, pairs):
        n = len(x)
        u = (np.argsort(np.argsort(x)) + 1) / (n + 1)
        v = (np.argsort(np.argsort(y)) + 1) / (n + 1)
        s = gumbel_sample(n, theta, rng)
        ax.scatter(s[:, 0], s[:, 1], s=4, alpha=0.35, color="#edae49", label="fitted Gumbel")
        ax.scatter(u, v, s=4, alpha=0.6, color="#1b6ca8", label="data (ranks)")
        ax.set_title(f"{label}: τ̂ = {1 - 1 / theta:.2f}, θ̂ = {theta:.2f}", fontsize=9)
        ax.set_xlabel("rank of first model / (n+1)")
        ax.set_ylabel("rank of next model / (n+1)")
        ax.set_aspect("equal")
    axes[0].legend(loc="upper left", fontsize=9, markerscale=3)
    fig.suptitle(f"Neighbouring models: data vs fitted copula [{data}]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_tau_heatmap(tau: np.ndarray, names: Sequence[str], title: str, data: str = "simulated"):
    """F3 (Fig. 2.1): Kendall's tau between every pair of models."""
    fig, ax = plt.subplots(figsize=(4.6, 3.9))
    im = ax.imshow(tau, vmin=0, vmax=1, cmap="Blues")
    k = tau.shape[0]
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{tau[i, j]:.2f}", ha="center", va="center", fontsize=9, color="white" if tau[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(k), names, fontsize=9)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="Kendall's $\\tau$")
    ax.set_title(f"{title}\n[{data}]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_prop2(df: pd.DataFrame):
    """F4: Proposition 2 with true parameters minus Monte Carlo, per cascade length, per dependence truth."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4))
    truths = list(df["truth"].unique())
    width = 0.8 / max(len(truths), 1)
    for t_i, truth in enumerate(truths):
        g = df[df["truth"] == truth]
        for ax, col, scale in ((axes[0], "dP", 100.0), (axes[1], "dC_rel", 100.0)):
            ks = sorted(g["k"].unique())
            for k in ks:
                vals = g[g["k"] == k][col].to_numpy() * scale
                x = k + (t_i - (len(truths) - 1) / 2) * width
                ax.scatter(np.full(vals.size, x) + np.random.default_rng(0).uniform(-0.05, 0.05, vals.size), vals, s=10,
                           color=["#1b6ca8", "#d1495b", "#66a182"][t_i % 3], alpha=0.7, label=truth if k == ks[0] else None)
    if "dP_chain" in df and df["dP_chain"].notna().any():
        g = df[df["truth"] == truths[0]]
        for ax, col in ((axes[0], "dP_chain"), (axes[1], "dC_rel_chain")):
            for k in sorted(g["k"].unique()):
                vals = g[g["k"] == k][col].to_numpy() * 100.0
                x = k + 0.42
                ax.scatter(np.full(vals.size, x), vals, s=14, marker="x", color="black",
                           label="exact chain evaluation" if k == sorted(g["k"].unique())[0] else None)
    axes[0].set_ylabel("P(correct): model − MC (pp)")
    axes[1].set_ylabel("E[cost]: (model − MC)/MC (%)")
    for ax in axes:
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("cascade length k")
        ax.set_xticks(sorted(df["k"].unique()))
    axes[0].legend(fontsize=9)
    fig.suptitle("Algorithm 1 with true parameters minus Monte Carlo [simulated]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_error_cost(curves: dict, title: str, auc_band: tuple[float, float] | None = None, data: str = "simulated"):
    """F5 (Fig. 2.5): test error vs expected cost per method; the shaded band is the common AUC range."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, (cost, err) in curves.items():
        o = np.argsort(cost)
        ax.plot(cost[o], err[o], marker="o", ms=2.5, label=name, **METHOD_STYLE.get(name, {}))
    if auc_band is not None:
        ax.axvspan(*auc_band, color="grey", alpha=0.12, label="common cost range (AUC)")
    ax.set_xlabel("expected cost ($ per million queries)")
    ax.set_ylabel("test error rate")
    ax.legend(fontsize=9)
    ax.set_title(f"{title}\n[{data}]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_gains(summary: pd.DataFrame, regimes: Sequence[str], baselines: Sequence[str]):
    """F6 (Figs. 2.6/2.7): mean %Delta AUC of RT vs each baseline by cascade length, +-1 SEM; filled if p < 0.05."""
    fig, axes = plt.subplots(1, len(regimes), figsize=(7.2, 3.5), sharey=True)
    for ax, regime in zip(np.atleast_1d(axes), regimes):
        g = summary[(summary["regime"] == regime) & summary["k"].str.isdigit()]
        for b_i, base in enumerate(baselines):
            gb = g[g["baseline"] == base]
            if gb.empty:
                continue
            ks = gb["k"].astype(int).to_numpy()
            x = ks + (b_i - 1) * 0.08
            col = METHOD_STYLE.get(base, {}).get("color", None)
            ax.errorbar(x, gb["mean_pct"], yerr=gb["sem"].fillna(0), fmt="none", ecolor=col, capsize=3)
            for xi, yi, p in zip(x, gb["mean_pct"], gb["p_signed_rank"]):
                ax.scatter(xi, yi, s=36, edgecolor=col, facecolor=col if (p == p and p < 0.05) else "white", zorder=3)
            ax.plot(x, gb["mean_pct"], color=col, lw=1, label=f"vs {base}")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("cascade length k")
        ax.set_title({"n_train": "n_train training queries", "n_train_low": "low-sample regime"}.get(regime, regime), fontsize=10)
        ax.set_xticks(sorted(set(g["k"].astype(int))) if not g.empty else [])
    np.atleast_1d(axes)[0].set_ylabel("%Δ AUC of RT (< 0: RT better)")
    np.atleast_1d(axes)[0].legend(fontsize=9)
    fig.suptitle("RT vs baselines by cascade length, mean ± SEM [simulated]", fontsize=10)
    fig.tight_layout()
    return fig


def fig_sensitivity(df: pd.DataFrame, base: str = "GS-soft"):
    """Fig. 2.8: per-cascade %Delta AUC vs mean marginal sqrt(CvM) and mean copula sqrt(n)CvM, coloured by k."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.3), sharey=True)
    col = f"pct_{base}"
    for ax, x, label in ((axes[0], "mean_marginal_cvm", "mean marginal √CvM"),
                         (axes[1], "mean_copula_cvm", "mean copula √n·CvM")):
        for regime, marker in (("n_train", "o"), ("n_train_low", "^")):
            g = df[df["regime"] == regime]
            sc = ax.scatter(g[x], g[col], c=g["k"], cmap="viridis", vmin=2, vmax=max(3, int(df["k"].max())), marker=marker,
                            s=22, alpha=0.8, label=regime.replace("_", " "))
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(label)
    axes[0].set_ylabel(f"%Δ AUC of RT vs {base}")
    axes[0].legend(fontsize=9)
    fig.colorbar(sc, ax=axes, label="cascade length k")
    fig.suptitle("RT's gain vs model misfit, one point per cascade and replicate [simulated]", fontsize=10)
    return fig


def fig_runtime(rt: pd.DataFrame):
    """F7 (Fig. 2.9): seconds for a full error-cost curve vs k (semilog) and vs resolution (log-log).

    Naive grid-search times that were extrapolated (not measured) are drawn with open markers."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.9))
    gk = rt[rt["study"] == "k"]
    gr = rt[rt["study"] == "resolution"]
    ax = axes[0]
    ax.semilogy(gk["k"], gk["rt_seconds"], "o-", color=METHOD_STYLE["RT"]["color"], label="RT")
    if "rtx_seconds" in gk:
        ax.semilogy(gk["k"], gk["rtx_seconds"], "D-", color=METHOD_STYLE["RT-exact"]["color"], label="RT-exact")
    ax.semilogy(gk["k"], gk["gs_seconds"], "s--", color=METHOD_STYLE["GS-soft"]["color"], label="GS, factorised")
    if "gs_naive_seconds" in gk:
        meas = gk["gs_naive_measured"].astype(bool).to_numpy()
        ax.semilogy(gk["k"], gk["gs_naive_seconds"], ":", color="#8d6a9f")
        ax.semilogy(gk["k"][meas], gk["gs_naive_seconds"][meas], "^", color="#8d6a9f", label="GS, naive (measured)")
        if (~meas).any():
            ax.semilogy(gk["k"][~meas], gk["gs_naive_seconds"][~meas], "^", mfc="white", color="#8d6a9f",
                        label="GS, naive (extrapolated)")
    ax.set_xlabel("cascade length k")
    ax.set_ylabel("seconds per curve")
    ax.set_xticks(gk["k"])
    ax.set_title("vs cascade length (40 levels)", fontsize=10)
    ax = axes[1]
    ax.loglog(gr["rt_lambdas"], gr["rt_seconds"], "o-", color=METHOD_STYLE["RT"]["color"])
    ax.loglog(gr["levels"], gr["gs_seconds"], "s--", color=METHOD_STYLE["GS-soft"]["color"])
    ax.set_xlabel("λ values (RT) / grid levels (GS)")
    ax.set_ylabel("seconds per curve")
    ax.set_title(f"vs resolution (k = {int(gr['k'].iloc[0])})" if len(gr) else "vs resolution", fontsize=10)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ticks = sorted(set(int(v) for v in np.r_[gr["rt_lambdas"], gr["levels"]]))
    ax.set_xticks(ticks[:: max(1, len(ticks) // 5)])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle("Time for a full error–cost curve [simulated; this machine]", fontsize=10)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def fig_reliability(phi_hat: np.ndarray, y: np.ndarray, names: Sequence[str], cond: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    grid: np.ndarray, data: str = "simulated"):
    """F8 (App. 2E): decile reliability diagram and conditional accuracy P(correct | Phi >= phi) with +-1 sigma."""
    k = phi_hat.shape[1]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.5))
    for j in range(k):
        c = phi_hat[:, j]
        edges = np.percentile(c, np.linspace(0, 100, 11))
        edges[-1] = np.nextafter(edges[-1], np.inf)
        idx = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, 9)
        n_b = np.bincount(idx, minlength=10)
        nz = n_b > 0
        mc = np.bincount(idx, weights=c, minlength=10)[nz] / n_b[nz]
        my = np.bincount(idx, weights=y[:, j], minlength=10)[nz] / n_b[nz]
        axes[0].plot(mc, my, "o-", ms=3, label=names[j])
        acc, se, n = cond[j]
        ok = n >= 20
        axes[1].plot(grid[ok], acc[ok], lw=1.2, label=names[j])
        axes[1].fill_between(grid[ok], (acc - se)[ok], (acc + se)[ok], alpha=0.15)
    for ax in axes:
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    axes[0].set_xlabel("mean confidence in decile bin")
    axes[0].set_ylabel("fraction correct in bin")
    axes[0].set_title("reliability (10 adaptive bins)", fontsize=9)
    axes[1].set_xlabel("confidence threshold φ")
    axes[1].set_ylabel("P(correct | Φ ≥ φ)")
    axes[1].set_title("conditional accuracy (±1σ)", fontsize=9)
    axes[0].legend(fontsize=9)
    fig.suptitle(f"Test-set calibration after fitting on train [{data}]", fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# Explorer: how copula dependence moves the error-cost trade-off of a two-model cascade
# ----------------------------------------------------------------------------------------------


def explorer_curve(marginals: Sequence[MixedBetaMarginal], costs: Sequence[float], theta: float, n_points: int = 200,
                   u_grid: int = 401) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds, error and expected cost of a two-model cascade under a Gumbel(theta) dependence (Prop. 2)."""
    th = np.array([[1.0, theta], [theta, 1.0]])
    model = CascadeModel(list(marginals), th, np.asarray(costs, float), u_grid=u_grid)
    m0 = marginals[0]
    phis = np.linspace(m0.phi_min + 1e-3, m0.phi_max - 1e-3, n_points)
    p, c = model.evaluate([0, 1], phis[:, None])
    return phis, 1 - p, c


def draw_explorer(ax, marginals, costs, theta: float, lam: float) -> None:
    """One explorer panel: error-cost curve as the threshold moves, the optimum for lambda, and independence."""
    phis, err, cost = explorer_curve(marginals, costs, theta)
    _, err1, cost1 = explorer_curve(marginals, costs, 1.0)
    ax.plot(cost1, err1, color="grey", lw=1, ls="--", label="independent (θ = 1)")
    ax.plot(cost, err, color="#1b6ca8", lw=1.8, label=f"θ = {theta:.2f}")
    j = int(np.argmin(err + lam * cost))
    ax.scatter(cost[j], err[j], color="#d1495b", zorder=3, label=f"optimum, φ₁ = {phis[j]:.2f}")
    ax.set_xlabel("expected cost per query")
    ax.set_ylabel("error 1 − P(correct)")
    ax.legend(fontsize=9)


def explorer_grid(marginals, costs, thetas: Sequence[float], lam: float):
    """Static explorer: one panel per copula theta (what the widget shows, for the rendered book), two per row."""
    n = len(thetas)
    nrows = int(np.ceil(n / 2))
    fig, axes = plt.subplots(nrows, 2, figsize=(7.2, 2.9 * nrows), sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, th in zip(axes.flat, thetas):
        draw_explorer(ax, marginals, costs, th, lam)
        ax.set_title(f"θ = {th:g} (τ = {1 - 1 / th:.2f})", fontsize=10)
    fig.suptitle(f"Two-model cascade, λ = {lam:g} [analytic, Prop. 2]", fontsize=10)
    fig.tight_layout()
    return fig


def explorer_panel(marginals, costs):
    """ipywidgets panel: sliders for the Gumbel theta and lambda of a two-model cascade."""
    import ipywidgets as widgets

    def show(theta: float = 2.0, lam: float = 0.05) -> None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        draw_explorer(ax, marginals, costs, theta, lam)
        ax.set_title(f"two-model cascade [{source_note('analytic')}]", fontsize=10)
        plt.show()

    return widgets.interactive(show, theta=widgets.FloatSlider(value=2.0, min=1.0, max=6.0, step=0.1, description="θ"),
                               lam=widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=0, description="λ"))
