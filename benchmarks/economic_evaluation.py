"""Speed of the economic_evaluation hot paths vs naive references (run: python benchmarks/economic_evaluation.py).

1. Cascade reward at all thresholds x prices: sorted cumulative sums (``reward_curves``) vs a loop that
   recomputes per-query outcomes for each (threshold, lam_E, lam_L).
2. Threshold selection + test evaluation over the Fig. 3.5 grid (``evaluate_cascade``) vs the same loop.
3. Optimal model over a price grid: broadcast ``reward_grid`` vs Python loops.
Each pair is checked for equal results before timings are printed.
"""

from __future__ import annotations

import time

import numpy as np

import capfront_lib.economic_evaluation as ee
from _timing import best_of as timeit


def naive_curves(cd, thr, lE, lL):
    R = np.empty((len(thr), len(lE), len(lL)))
    for i, t in enumerate(thr):
        for a, x in enumerate(lE):
            for b, y in enumerate(lL):
                D = cd.p < t
                cost = cd.cost_small + D * cd.cost_big
                lat = cd.lat_small + D * cd.lat_big
                err = np.where(D, cd.err_big, cd.err_small)
                R[i, a, b] = np.mean(-(cost + y * lat + x * err))
    return R


def main():
    table = ee.load_model_table()
    log = ee.simulate_outcomes(table, 500, 0, levels=(5,))
    cd = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
    _, thr = ee.candidate_thresholds(cd.p)
    lE = np.logspace(-4, 4, 41)
    lL = ee.per_minute_to_per_second([0, 0.5, 1, 2, 5, 10])

    t_fast, fast = timeit(lambda: ee.reward_curves(cd, thr, lE, lL)["R"])
    t_slow, slow = timeit(lambda: naive_curves(cd, thr, lE, lL), repeat=1)
    assert np.allclose(fast, slow, rtol=1e-12, atol=1e-15)
    print(f"reward curves (41 thresholds x {len(lE)} lam_E x {len(lL)} lam_L, n={cd.n}): "
          f"cumsum {t_fast * 1e3:.2f} ms, naive loop {t_slow * 1e3:.1f} ms, ratio {t_slow / t_fast:.0f}x")

    tr, te = ee.split_indices(cd.n, 0.5, np.random.default_rng(0))
    train, test = cd.subset(tr), cd.subset(te)
    t_fast, res = timeit(lambda: ee.evaluate_cascade(train, test, lE, lL))

    def naive_eval():
        out = np.empty((len(lE), len(lL)))
        _, cands = ee.candidate_thresholds(train.p)
        Rtr = naive_curves(train, cands, lE, lL)
        for a in range(len(lE)):
            for b in range(len(lL)):
                i = int(np.argmax(Rtr[:, a, b]))
                out[a, b] = naive_curves(test, [cands[i]], [lE[a]], [lL[b]])[0, 0, 0]
        return out

    t_slow, slow = timeit(naive_eval, repeat=1)
    # ties may pick different thresholds with identical training reward; compare where unique
    agree = np.isclose(res["test_reward"], slow, rtol=1e-9).mean()
    print(f"threshold selection + test evaluation: vectorised {t_fast * 1e3:.2f} ms, naive {t_slow * 1e3:.1f} ms, "
          f"ratio {t_slow / t_fast:.0f}x (test rewards agree on {agree:.0%} of cells; the rest are training ties)")

    # test evaluation at the chosen thresholds: per-threshold means then rewards (O(n_E n_L)) vs the previous
    # implementation, which priced every chosen threshold at every price and kept the diagonal (O(n_E^2 n_L^2))
    lE3, lL3 = np.logspace(-4, 4, 161), ee.per_minute_to_per_second([0, 0.5, 1, 2, 5, 10])
    t_fast, res3 = timeit(lambda: ee.evaluate_cascade(train, test, lE3, lL3))

    def previous_eval():
        thr3 = ee.select_threshold(train, lE3, lL3)["threshold"]
        te = ee.reward_curves(test, thr3.ravel(), lE3, lL3)
        flat = np.arange(thr3.size).reshape(thr3.shape)
        a_idx, b_idx = np.meshgrid(np.arange(len(lE3)), np.arange(len(lL3)), indexing="ij")
        return te["R"][flat, a_idx, b_idx]

    t_slow, prev = timeit(previous_eval, repeat=3)
    assert np.allclose(res3["test_reward"], prev, rtol=1e-12, atol=1e-15)
    print(f"cascade test evaluation on the chapter's grid (161 lam_E x 6 lam_L): per-threshold means "
          f"{t_fast * 1e3:.2f} ms, previous full tensor {t_slow * 1e3:.1f} ms, ratio {t_slow / t_fast:.0f}x")

    lE2 = np.logspace(-4, 4, 161)
    lL2 = np.linspace(0, 10, 101) / 60
    t_fast, best = timeit(lambda: ee.optimal_choice(ee.reward_grid(table, lE2, lL2)))
    c, l, e = (table[k].to_numpy() for k in ("cost_usd", "latency_s", "error_rate"))

    def naive_grid():
        out = np.empty((len(lE2), len(lL2)), dtype=int)
        for a, x in enumerate(lE2):
            for b, y in enumerate(lL2):
                out[a, b] = max(range(len(c)), key=lambda m: -(c[m] + y * l[m] + x * e[m]))
        return out

    t_slow, slow = timeit(naive_grid, repeat=1)
    assert (best == slow).all()
    print(f"optimal-model grid (6 models x 161 x 101 prices): broadcast {t_fast * 1e3:.2f} ms, "
          f"loops {t_slow * 1e3:.1f} ms, ratio {t_slow / t_fast:.0f}x")


if __name__ == "__main__":
    main()
