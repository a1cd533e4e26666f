"""Speed of the human-in-the-loop hot paths against naive references, measured side by side.

Run: ``python benchmarks/human_in_the_loop.py [n]`` (default n = 20,000 queries, the spec's large-sample size).

* accuracy-rejection curve: one sort + cumulative sum vs a full rejection per rate;
* Fail Fast, or Ask over the rate grid: shared sort + argpartition per rate vs a full re-routing per rate;
* local linear smoother: one vectorised pass over the grid vs a weighted least-squares fit per grid point.
Each pair is checked for equal results before timing.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from capfront_lib.human_in_the_loop import metrics as mt
from capfront_lib.human_in_the_loop import sim
from capfront_lib.human_in_the_loop import systems as sy
from _timing import best_of as _best_of


def best_of(fn, repeat: int = 3) -> float:
    return _best_of(fn, repeat)[0]



def local_linear_loop(x, y, grid, h):
    out = []
    for x0 in grid:
        w = np.exp(-0.5 * ((x - x0) / h) ** 2)
        out.append(np.polyfit(x - x0, y, 1, w=np.sqrt(w))[1])
    return np.array(out)


def main(n: int = 20_000) -> None:
    rates = mt.rejection_grid()
    log = sim.simulate(n, seed=0)
    d = sim.pair(log, "deepseek-r1-0528")
    rows = []

    fast = mt.accuracy_rejection_curve(d.correct_r, d.n_out_r, rates, ids=d.tie_key)
    slow = mt.accuracy_rejection_curve_naive(d.correct_r, d.n_out_r, rates, ids=d.tie_key)
    assert np.allclose(fast, slow, atol=1e-12)
    rows.append(("A(r) curve, 41 rates", best_of(lambda: mt.accuracy_rejection_curve(d.correct_r, d.n_out_r, rates, ids=d.tie_key)),
                 best_of(lambda: mt.accuracy_rejection_curve_naive(d.correct_r, d.n_out_r, rates, ids=d.tie_key), 1)))

    a = sy.ffa_curve(d, 0.6, rates)
    b = sy.ffa_curve_naive(d, 0.6, rates)
    for k in ("accuracy", "mean_latency", "drag_latency"):
        assert np.allclose(a[k], b[k], rtol=1e-12, atol=1e-12)
    rows.append(("FFA curve u=0.6, 41 rates", best_of(lambda: sy.ffa_curve(d, 0.6, rates)),
                 best_of(lambda: sy.ffa_curve_naive(d, 0.6, rates), 1)))

    x = np.log10(d.n_out_r)
    grid = np.linspace(x.min(), x.max(), 60)
    f1 = mt.local_linear(x, d.correct_r, grid, 0.15)["mean"]
    f2 = local_linear_loop(x, d.correct_r, grid, 0.15)
    assert np.allclose(f1, f2, atol=1e-8)
    rows.append(("local linear, 60 grid points", best_of(lambda: mt.local_linear(x, d.correct_r, grid, 0.15)),
                 best_of(lambda: local_linear_loop(x, d.correct_r, grid, 0.15), 1)))

    print(f"n = {n:,} simulated queries (DeepSeek R1 behind Llama3.1 405B)")
    print(f"{'path':32s} {'ours (s)':>10s} {'naive (s)':>10s} {'ratio':>8s}")
    for name, ours, naive in rows:
        print(f"{name:32s} {ours:10.4f} {naive:10.4f} {naive / ours:8.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
