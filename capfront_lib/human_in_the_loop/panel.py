"""The chapter's explorer: one configuration of Fail Fast, or Ask summarised (``explore``), a static grid for the
book (``explorer_grid``) and the ipywidgets panel for live readers (``make_panel``)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from capfront_lib.human_in_the_loop.analysis import reward_surface
from capfront_lib.human_in_the_loop.metrics import auarc
from capfront_lib.human_in_the_loop.plots import draw_explorer
from capfront_lib.human_in_the_loop.published import SHORT
from capfront_lib.human_in_the_loop.sim import knob_overrides, pair, simulate
from capfront_lib.human_in_the_loop.systems import PairData, ffa_curve, ffa_route, naive_mean

__all__ = ["explore", "explorer_grid", "make_panel"]


def explore(d: PairData, model: str, u: float, r: float, rates, lambda_E: float, lambda_L_per_min: float,
            lambda_A: float) -> dict:
    """Routing shares, A(r) curves, mean latencies (Ask / eq. 4.2 / actual), drag and reward of one configuration."""
    out = ffa_route(d, u, r)
    n = d.n
    passed = out["actions"] == 1
    rej = out["rejected_by_r"]
    shares = {"respond": out["n_respond"] / n, "pass_answered": float((passed & ~rej).sum()) / n,
              "pass_deferred": float(rej.sum()) / n, "fail_fast": out["n_fail_fast"] / n}
    ask = ffa_curve(d, 0.0, rates)
    ffa = ffa_curve(d, u, rates)
    rew = reward_surface(d, [u], [r], lambda_E, lambda_L_per_min, lambda_A)
    return {
        "model": model, "u": u, "r": r, "rates": np.asarray(rates), "shares": shares,
        "A_ask": ask["accuracy"], "A_ffa": ffa["accuracy"], "auarc_ask": auarc(ask["accuracy"]),
        "auarc_ffa": auarc(ffa["accuracy"]), "lat_ask": float(d.latency_r.mean()),
        "lat_naive": float(naive_mean(d.latency_nr.mean(), d.latency_r.mean(), u)), "lat_ffa": out["mean_latency"],
        "drag": out["drag_latency"], "reward": float(rew["R"][0, 0]), "accuracy": out["accuracy"],
    }


def explorer_grid(fig, model: str, n: int, seed: int, rates, base_overrides: Mapping, ptrue_values: Sequence[float],
                  coupling_values: Sequence[float], utilizations: Sequence[float] = (0.0, 0.5, 0.75)) -> list[dict]:
    """Static grid for the book: rows = Llama P(True) quality ρ, columns = M_r's trace-length/difficulty coupling
    ``b``; each panel shows E(r) (log) for some utilisations and prints the drag factor at the middle u (9 pt)."""
    from capfront_lib.human_in_the_loop.plots import FS, u_color

    axes = fig.subplots(len(ptrue_values), len(coupling_values), sharex=True, sharey=True, squeeze=False)
    summary = []
    x = 100 * np.asarray(rates)
    mid = [u for u in utilizations if u > 0][0]
    for i, rho in enumerate(ptrue_values):
        for j, b in enumerate(coupling_values):
            ov = _merge(base_overrides, knob_overrides(ptrue_quality=rho, token_difficulty_coupling={model: b}))
            d = pair(simulate(n, seed, ov), model)
            ax = axes[i, j]
            info = {"rho": rho, "b": b}
            for u in utilizations:
                c = ffa_curve(d, u, rates)
                e = 1 - c["accuracy"]
                ax.plot(x, 100 * np.where(e > 0, e, np.nan), lw=1.4, color=u_color(u, list(utilizations)),
                        label=f"u = {100 * u:.0f} %" + (" (Ask)" if u == 0 else ""))
                info[f"auarc_u{u:g}"] = auarc(c["accuracy"])
                if u > 0:
                    info[f"drag_u{u:g}"] = float(np.nanmean(c["drag_latency"]))
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.text(0.96, 0.94, f"drag {info[f'drag_u{mid:g}']:.2f}", transform=ax.transAxes, ha="right", va="top",
                    fontsize=FS, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1})
            if i == 0:
                ax.set_title(f"coupling b = {b:g}", fontsize=FS + 1)
            if j == 0:
                ax.set_ylabel(f"ρ = {rho:g}\nE(r) (%)")
            if i == len(ptrue_values) - 1:
                ax.set_xlabel("r (%)")
            summary.append(info)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=FS, bbox_to_anchor=(0.5, 0.0))
    return summary


def _merge(a: Mapping, b: Mapping) -> dict:
    """Merge simulator overrides, model by model for per-model mappings."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in a.items()}
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def make_panel(models: Sequence[str], n: int = 500, seed: int = 0, base_overrides: Mapping | None = None,
               rates=None, lambda_E: float = 100.0, lambda_L_per_min: float = 1.0, lambda_A: float = 5.0):
    """ipywidgets panel: sliders u (0–0.9), r (0–0.3), Llama P(True) quality ρ, trace-length coupling b of M_r;
    dropdown M_r; log-sliders λ_E, λ_L ($/min), λ_A. Redraws :func:`~capfront_lib.human_in_the_loop.plots.draw_explorer`."""
    import ipywidgets as w
    from IPython.display import display

    from capfront_lib.human_in_the_loop.metrics import rejection_grid

    rates = rejection_grid(0.3, 0.01) if rates is None else rates
    base = dict(base_overrides or {})
    su = w.FloatSlider(value=0.5, min=0.0, max=0.9, step=0.05, description="u")
    sr = w.FloatSlider(value=0.1, min=0.0, max=0.3, step=0.01, description="r")
    sq = w.FloatSlider(value=0.7, min=0.0, max=0.99, step=0.01, description="ρ P(True)")
    sb = w.FloatSlider(value=0.7, min=0.0, max=0.95, step=0.05, description="coupling b")
    dd = w.Dropdown(options=[(SHORT.get(m, m), m) for m in models], description="M_r")
    sE = w.FloatLogSlider(value=lambda_E, base=10, min=-2, max=4, step=0.1, description="λ_E ($)")
    sL = w.FloatLogSlider(value=max(lambda_L_per_min, 1e-3), base=10, min=-3, max=1, step=0.1, description="λ_L ($/min)")
    sA = w.FloatLogSlider(value=lambda_A, base=10, min=-2, max=3, step=0.1, description="λ_A ($)")
    out = w.Output()
    cache: dict = {}

    def data(m, rho, b):
        key = (m, round(rho, 3), round(b, 3))
        if key not in cache:
            ov = _merge(base, knob_overrides(ptrue_quality=rho, token_difficulty_coupling={m: b}))
            cache[key] = pair(simulate(n, seed, ov), m)
        return cache[key]

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            d = data(dd.value, sq.value, sb.value)
            fig = plt.figure(figsize=(11, 3.6))
            info = explore(d, dd.value, su.value, sr.value, rates, sE.value, sL.value, sA.value)
            draw_explorer(fig, info)
            fig.tight_layout()
            display(fig)
            plt.close(fig)
            print(f"A(r) = {info['accuracy']:.3f}; latency {info['lat_ffa']:.1f} s (naive {info['lat_naive']:.1f} s, "
                  f"Ask {info['lat_ask']:.1f} s); drag {info['drag']:.2f}; reward {info['reward']:.4g} $/query")

    for s in (su, sr, sq, sb, dd, sE, sL, sA):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([dd, su, sr]), w.HBox([sq, sb]), w.HBox([sE, sL, sA]), out])

