"""Interactive explorer (ipywidgets): prices of error, latency and abstention -> optimal model and cascade."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation import cascade as cc
from capfront_lib.economic_evaluation import plots as pl


def draw_explorer(fig, table: pd.DataFrame, cascades: Mapping[str, tuple[cc.CascadeData, cc.CascadeData]],
                  lam_E: float, lam_L_per_min: float, lam_A: float, small: str, step: float = 0.025) -> dict:
    """Draw the explorer on ``fig``: (left) stacked ``-R`` bars incl. abstention, optimal outlined;
    (right) the cascade's training reward over deferral rate, chosen threshold, and its test reward vs M_big.
    ``cascades`` maps small-model label -> (train, test) data. Returns the numbers shown."""
    fig.clf()
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    k = pl.plot_reward_breakdown(ax1, table, lam_E, lam_L_per_min, lam_A)
    # optimal option (models + abstention) over the price grid, current prices marked
    from capfront_lib.economic_evaluation import reward as rw

    ext = rw.with_abstention(table, lam_A)
    gE, gL = np.logspace(-4, 4, 81), [0.0, 0.5, 1.0, 2.0, 5.0, 10.0]
    best = rw.optimal_choice(rw.reward_grid(ext, gE, rw.per_minute_to_per_second(gL)))
    pl.plot_optimal_map(ax3, ext, gE, gL, best)
    ax3.plot(np.log10(lam_E), np.interp(lam_L_per_min, gL, np.arange(len(gL))), "k*", ms=14)
    ax3.set_title(f"optimal option incl. abstention at \\${lam_A:g}", fontsize=8)
    lL = lam_L_per_min / 60.0
    train, test = cascades[small]
    levels, thr = cc.candidate_thresholds(train.p, step)
    cur = cc.reward_curves(train, thr, [lam_E], [lL])
    res = cc.evaluate_cascade(train, test, [lam_E], [lL], step)
    ax2.plot(cur["deferral_rate"], cur["R"][:, 0, 0], "-o", ms=3, label="training reward")
    i = int(res["level"][0, 0] / step + 0.5)
    ax2.scatter(cur["deferral_rate"][i], cur["R"][i, 0, 0], s=120, facecolor="none", edgecolor="k", zorder=3,
                label=f"chosen t* (q={res['level'][0, 0]:.3f})")
    ax2.axhline(res["big_test_reward"][0, 0], color="tab:red", ls="--", label="M_big alone (test)")
    ax2.axhline(res["test_reward"][0, 0], color="k", ls=":", label="cascade at t* (test)")
    ax2.set_xlabel("deferral rate")
    ax2.set_ylabel("mean reward R (\\$/query)")
    ax2.set_title(f"cascade {small} -> big [simulated]", fontsize=8)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    names = list(table.index) + ["abstain"]
    return {"optimal": names[k], "cascade_test": float(res["test_reward"][0, 0]),
            "big_test": float(res["big_test_reward"][0, 0])}


def make_panel(table: pd.DataFrame, cascades: Mapping[str, tuple[cc.CascadeData, cc.CascadeData]],
               step: float = 0.025):
    """ipywidgets panel: log-sliders for ``lam_E`` ($1e-4..1e4) and ``lam_A``, a slider for ``lam_L``
    (0..10 $/min) and a dropdown of small models; redraws :func:`draw_explorer`."""
    import ipywidgets as w
    from IPython.display import display

    sE = w.FloatLogSlider(value=1.0, base=10, min=-4, max=4, step=0.1, description="λ_E ($)")
    sL = w.FloatSlider(value=0.5, min=0.0, max=10.0, step=0.1, description="λ_L ($/min)")
    sA = w.FloatLogSlider(value=10.0, base=10, min=-3, max=4, step=0.1, description="λ_A ($)")
    dd = w.Dropdown(options=list(cascades), description="M_small")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plt.figure(figsize=(15, 4))
            info = draw_explorer(fig, table, cascades, sE.value, sL.value, sA.value, dd.value, step)
            display(fig)
            plt.close(fig)
            print(f"optimal option: {info['optimal']}; cascade test reward {info['cascade_test']:.4g} vs "
                  f"M_big {info['big_test']:.4g} $/query")

    for s in (sE, sL, sA, dd):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([sE, sL]), w.HBox([sA, dd]), out])
