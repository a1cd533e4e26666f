"""ipywidgets explorer of the co-failure chapter: certificate calculator, Prop. 2 explorer, Prop. 3 slider,
pool-size explorer. Shown live via ``capfront_lib.core.env.show_interactive(make_panel)``; the book shows
the static grid instead."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from capfront_lib.cofailure import pool, theory
from capfront_lib.cofailure.copula import beta_sf

__all__ = ["make_panel"]


def make_panel(Y=None, S=None, seed: int = 0):
    """Build the tabbed ipywidgets panel (optionally with a pool for the pool-size explorer)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    # certificate calculator
    K = W.IntText(value=17, description="K (all wrong)")
    n = W.IntText(value=330, description="n queries")
    best = W.IntText(value=276, description="best correct")
    m = W.IntText(value=67, description="m models")
    delta = W.FloatSlider(value=0.05, min=0.01, max=0.3, step=0.01, description="delta")
    overhead = W.FloatSlider(value=0.02, min=0.0, max=0.2, step=0.005, description="overhead")
    out1 = W.Output()

    def upd1(*_):
        out1.clear_output()
        with out1:
            try:
                c = pool.certificate_bound(K.value, n.value, [best.value] + [0] * (m.value - 1), delta.value)
                lo, hi = pool.cp_interval(K.value, n.value, delta.value)
                g = (1 - K.value / n.value) - best.value / n.value
                print(f"beta = {K.value / n.value:.4f}  CP [{lo:.4f}, {hi:.4f}]   point gain G = {g:.4f}")
                print(f"beta_lo = {c['beta_lo']:.4f}, asb_lo = {c['asb_lo']:.4f}  ->  U = {c['U']:.4f}")
                print("no policy in the class can pay" if c["U"] < overhead.value else "a policy could still pay (U >= overhead)")
            except ValueError as e:
                print(f"invalid input: {e}")

    for w in (K, n, best, m, delta, overhead):
        w.observe(upd1, "value")
    upd1()
    tab1 = W.VBox([W.HBox([K, n]), W.HBox([best, m]), delta, overhead, out1])

    # Prop. 2 explorer
    om = W.FloatSlider(value=0.05, min=0.0, max=0.3, step=0.01, description="omega")
    a0 = W.FloatSlider(value=0.40, min=0.05, max=0.8, step=0.01, description="a0")
    mmax = W.IntSlider(value=53, min=3, max=100, description="max m")
    cal = W.Dropdown(options=["tetrachoric", "pearson"], value="tetrachoric", description="calibration")
    th = W.FloatSlider(value=2.0, min=0.2, max=8.0, step=0.1, description="Clayton θ")
    out2 = W.Output()

    def upd2(*_):
        out2.clear_output(wait=True)
        with out2:
            ms = np.unique(np.linspace(2, mmax.value, 25).astype(int))
            r = theory.shock_ratio(max(om.value, 1e-6), a0.value, ms, cal.value)
            alpha = theory.shock_marginals(max(om.value, 1e-6), a0.value)["alpha"]
            cl = [theory.clayton_exchangeable(alpha, th.value, int(k)) for k in ms]
            rho = cl[0]["r_tet"] if cal.value == "tetrachoric" else cl[0]["phi"]
            t = float(ndtri(alpha))
            rc = [c["beta"] / beta_sf(np.full(int(k), t), rho) for c, k in zip(cl, ms)]
            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.plot(ms, r["ratio"], label="common-shock atom")
            ax.plot(ms, rc, label=f"Clayton θ = {th.value:g}")
            ax.axhline(1, color="grey", lw=0.8)
            ax.set_yscale("log")
            ax.set_xlabel("pool size m")
            ax.set_ylabel("β / β_sf")
            ax.legend()
            plt.show()

    for w in (om, a0, mmax, cal, th):
        w.observe(upd2, "value")
    upd2()
    tab2 = W.VBox([W.HBox([om, a0]), W.HBox([mmax, cal]), th, out2])

    # Prop. 3 slider
    a = 0.3
    b = 0.15
    lo, hi, q = theory.frechet_class(a, b)
    beta = W.FloatSlider(value=lo, min=lo, max=hi, step=(hi - lo) / 50, description="β", readout_format=".3f")
    out3 = W.Output()

    def upd3(*_):
        out3.clear_output()
        with out3:
            qq = q(beta.value)
            mg = theory.triple_margins(qq)
            print(f"q = ({', '.join(f'{x:.3f}' for x in qq)})   P(i wrong) = {mg['p1']:.3f}, P(i, j wrong) = {mg['p2']:.3f}")
            print(f"all-wrong beta = {mg['beta']:.3f}: the pairwise table never moves (Prop. 3)")

    beta.observe(upd3, "value")
    upd3()
    tab3 = W.VBox([beta, out3])
    tabs = [tab1, tab2, tab3]
    titles = ["certificate", "Prop. 2", "Prop. 3"]

    if Y is not None and S is not None:
        from capfront_lib.cofailure.analysis import pool_curve

        k = W.IntSlider(value=min(10, len(Y)), min=2, max=len(Y), description="pool size k")
        reps = W.IntSlider(value=50, min=10, max=300, step=10, description="subsets")
        out4 = W.Output()

        def upd4(*_):
            out4.clear_output()
            with out4:
                pc = pool_curve(Y, S, [k.value], reps.value, np.random.default_rng(seed))
                print(pc.round(4).to_string(index=False))

        k.observe(upd4, "value")
        reps.observe(upd4, "value")
        upd4()
        tabs.append(W.VBox([k, reps, out4]))
        titles.append("pool size")
    panel = W.Tab(children=tabs)
    for i, t in enumerate(titles):
        panel.set_title(i, t)
    return panel
