"""ipywidgets explorer of the chapter (shown only in live kernels via core.env.show_interactive)."""

from __future__ import annotations

import numpy as np

__all__ = ["explorer_panel"]


def explorer_panel(bundle: dict | None = None, kshot_tab=None, sweep: dict | None = None, K: int | None = None):
    """A Tab of explorers: bias (L, p, log G_max, MC toggle, Gaussian overlay), frontier (alpha marker and
    routing shares), posthoc (k) and entropy (s). Panels whose data are not given are left out."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from capfront_lib.oracle_debiasing import estimators as est
    from capfront_lib.oracle_debiasing import frontier as fr
    from capfront_lib.oracle_debiasing import plots

    tabs, titles = [], []

    def bias_view(L, p, log_G_max, monte_carlo, gaussian):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        mc = None
        if monte_carlo:
            import pandas as pd

            rng = np.random.default_rng(0)
            rows = []
            for g in [x for x in (1, 2, 5, 10, 20, 50, 100, 200, 500) if x <= 10**log_G_max]:
                m = rng.binomial(g, p, size=(4000, L)).max(axis=1) / g
                rows.append({"G": g, "mc_bias": m.mean() - p, "se": m.std(ddof=1) / np.sqrt(m.size)})
            mc = pd.DataFrame(rows)
        plots.draw_bias_panel(ax, L, p, int(10**log_G_max), mc=mc, gaussian=gaussian)
        ax.set_title(f"bias of the naive oracle, L={L}, p={p:.2f}")
        plt.show()

    tabs.append(W.interactive(bias_view, L=W.IntSlider(value=10, min=1, max=50), p=W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05),
                              log_G_max=W.FloatSlider(value=3.0, min=1.0, max=4.0, step=0.5, description="log10 G_max"),
                              monte_carlo=W.Checkbox(value=False, description="Monte Carlo"),
                              gaussian=W.Checkbox(value=True, description="Gaussian overlays")))
    titles.append("bias")

    if bundle is not None:
        def frontier_view(alpha):
            fig, ax = plt.subplots(figsize=(6.8, 4.3))
            plots.draw_frontier_panel(ax, bundle, alpha=alpha)
            ax.set_title(f"alpha = {alpha:.2f} (markers: routed point on each frontier)")
            plt.show()
            R_Q, R_C = bundle["R_Q"], bundle["R_C"]
            lam = 0.0 if alpha >= 1 else (1 - alpha) * R_Q / (alpha * R_C) if alpha > 0 else np.inf
            w = bundle.get("world")
            if w is not None:
                ch = fr.route(w.pi, w.muC, lam if lam > 0 else 1e-12)
                share = np.bincount(ch, minlength=w.pi.shape[1]) / w.pi.shape[0]
                print("true-frontier routing shares: " + ", ".join(f"model {i}: {s:.2f}" for i, s in enumerate(share)))

        tabs.append(W.interactive(frontier_view, alpha=W.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.01)))
        titles.append("frontier")

    if kshot_tab is not None:
        def kshot_view(k):
            row = kshot_tab[kshot_tab["k"] == k].iloc[0]
            print(f"k={k}: any-model posthoc oracle {row['any_model_data']:.3f}, printed (22) {row['printed_22']:.3f}"
                  + (f", cost {row['cost_usd'] * 100:.3f} cents per prompt" if "cost_usd" in row else ""))

        tabs.append(W.interactive(kshot_view, k=W.IntSlider(value=1, min=1, max=int(kshot_tab["k"].max()))))
        titles.append("posthoc")

    if sweep is not None and K is not None:
        def entropy_view(i):
            fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
            th_ = est.topic_probs(sweep["s"][i], K)
            axes[0].bar(np.arange(K), th_)
            axes[0].set_xlabel("topic")
            axes[0].set_ylabel("theta")
            axes[1].plot(sweep["H"], sweep["uplift"].mean(0), "o-")
            axes[1].plot(sweep["H"][i], sweep["uplift"].mean(0)[i], "o", ms=12, color="red")
            axes[1].set_xlabel("entropy H")
            axes[1].set_ylabel("uplift")
            fig.suptitle(f"s = {sweep['s'][i]:.2f}")
            plt.show()

        tabs.append(W.interactive(entropy_view, i=W.IntSlider(value=0, min=0, max=len(sweep["s"]) - 1, description="step of s")))
        titles.append("entropy")

    tab = W.Tab(children=tabs)
    for i, t in enumerate(titles):
        tab.set_title(i, t)
    return tab
