"""Speed of the Rational Tuning chapter's hot paths, with ratios against reference methods in the same run.

    python benchmarks/markov_copula_cascades.py [--quick]

1. Full error-cost curve vs cascade length k = 2..5: Rational Tuning (RT, Algorithm 1 tabulated, timed from
   a cold start) and RT-exact (the same fitted model evaluated by the exact chain recursion, 200 cells, a
   fresh evaluator so its quadratures and copula matrices are built inside the timing; compiled kernel and
   analytic gradients, the library default) vs 40-level grid search, both our factorised scorer and the
   naive one (route every training query for every candidate; for large grids timed on a prefix of
   candidates and extrapolated linearly, as printed), with test AUCs.
1b. RT-exact at k = 5, what helps (issue 18): numpy reference vs numba kernel, finite-difference vs
   analytic (adjoint) gradients, scipy's L-BFGS-B tolerance vs 1e-6; equality of the two back-ends; the
   numba compile cost cold (empty cache, in a subprocess) and warm (loaded from the on-disk cache).
2. Grid scoring: factorised matrix-product scorer vs naive routing on the same candidates (ratio, equal values).
3. Proposition 2 / Algorithm 1 evaluation time vs k (should grow linearly) and per batched row.
4. Gumbel conditional inversion: Newton (library) vs bisection (reference), same accuracy.
5. Empirical Kendall values of the copula goodness-of-fit test: Fenwick tree (library) vs comparison matrix.
Timings are wall-clock on this machine and vary with load; ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from capfront_lib.markov_copula_cascades import experiments as X
from capfront_lib.markov_copula_cascades import model as M
from capfront_lib.markov_copula_cascades import simulate as S
from capfront_lib.markov_copula_cascades import tuning as T
from capfront_lib.markov_copula_cascades.chain import ChainEvaluator

from _timing import best_of


def cold_rt(model, cas, phi_train):
    """Rational Tuning from a cold model: the tables of Algorithm 1 are rebuilt inside the timing."""
    model.clear_cache()
    return T.tune_rt(model, cas, phi_train=phi_train, evaluator="algorithm1")


def exact_ablation(model, cas, train, test, c_gs, e_gs, t_naive) -> None:
    """RT-exact variants at one k: back-end x gradient x stopping tolerance, plus back-end equality."""
    variants = [("numpy, finite differences, scipy ftol (the previous method)", "numpy", "fd", T.FTOL_SCIPY),
                ("numba, finite differences, scipy ftol", "numba", "fd", T.FTOL_SCIPY),
                ("numba, analytic gradient, scipy ftol", "numba", "analytic", T.FTOL_SCIPY),
                ("numba, analytic gradient, ftol 1e-6 (default)", "numba", "analytic", T.FTOL_ANALYTIC)]
    print(f"   {'variant':<60} {'s':>7} {'naive/x':>8} {'evals':>6} {'%dAUC':>6}")
    curves = {}
    for name, backend, grad, ftol in variants:
        reps = 1 if backend == "numpy" else 3
        t, cv = best_of(lambda: T.tune_rt(model, cas, phi_train=train.phi[:, cas], gradient=grad, ftol=ftol,
                                          evaluator=ChainEvaluator(model, 200, backend=backend)), reps)
        c_x, e_x = X.curve_on_test(cv, test.phi, test.y, test.cost, cas)
        a_x, a_g = T.auc_pair(c_x, e_x, c_gs, e_gs)
        curves[name] = cv
        print(f"   {name:<60} {t:7.3f} {t_naive / t:8.0f} {cv.n_evals:6d} {T.pct_change(a_x, a_g):+6.2f}")
    ev = ChainEvaluator(model, 200)
    ev.evaluate(cas, curves[variants[-1][0]].thresholds)
    t_warm, _ = best_of(lambda: T.tune_rt(model, cas, phi_train=train.phi[:, cas], evaluator=ev), 3)
    print(f"   {'default, evaluator reused (set-up excluded)':<60} {t_warm:7.3f} {t_naive / t_warm:8.0f}")
    # same numbers: numba vs numpy back-end on the curve's thresholds and on random box points
    box = np.array(model.box(cas))
    pts = np.vstack([curves[variants[-1][0]].thresholds,
                     box[:, 0] + (box[:, 1] - box[:, 0]) * np.random.default_rng(1).uniform(size=(200, len(cas) - 1))])
    nb, npy = ChainEvaluator(model, 200, backend="numba"), ChainEvaluator(model, 200, backend="numpy")
    (p1, c1), (p0, c0) = nb.evaluate(cas, pts), npy.evaluate(cas, pts)
    t_nb, _ = best_of(lambda: nb.evaluate(cas, pts[:1]), 200)
    t_np, _ = best_of(lambda: npy.evaluate(cas, pts[:1]), 50)
    t_g, _ = best_of(lambda: nb.evaluate_grad(cas, pts[0]), 200)
    print(f"   numba vs numpy back-end on {len(pts)} threshold rows: max |dP| {np.abs(p1 - p0).max():.1e}, "
          f"max |dcost| / cost {np.abs(c1 / c0 - 1).max():.1e}")
    print(f"   per call, one row: numpy {t_np * 1e3:.3f} ms, numba {t_nb * 1e3:.3f} ms ({t_np / t_nb:.1f}x), "
          f"numba value + gradient {t_g * 1e3:.3f} ms (finite differences: {len(cas)} rows)")
    cold, warm = numba_compile_seconds()
    print(f"   numba compile (cache=True): cold {cold:.1f} s (empty cache, once per machine/checkout), "
          f"warm {warm:.2f} s (loaded from the cache, once per process)")


_COMPILE_SNIPPET = """
import time, numpy as np
from capfront_lib.markov_copula_cascades import model as M, simulate as S
from capfront_lib.markov_copula_cascades.chain import ChainEvaluator
truth = S.Truth.from_params(S.REFERENCE_MARGINALS, S.REFERENCE_THETAS)
ev = ChainEvaluator(M.CascadeModel(list(truth.marginals), np.full((5, 5), 2.0), truth.mean_costs), 20)
t0 = time.perf_counter()
ev.evaluate([0, 1, 2], np.full((2, 2), 0.5)); ev.evaluate_grad([0, 1, 2], np.full(2, 0.5))
print(time.perf_counter() - t0)
"""


def numba_compile_seconds() -> tuple[float, float]:
    """Seconds of the first evaluate + evaluate_grad in a new process: empty numba cache, then warm cache."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        out = [float(subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, check=True, capture_output=True,
                                    text=True).stdout.split()[-1]) for _ in range(2)]
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="k up to 4 and smaller samples")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    truth = S.Truth.from_params(S.REFERENCE_MARGINALS, S.REFERENCE_THETAS)
    train = S.simulate(truth, 300, rng)
    test = S.simulate(truth, 20000 if not args.quick else 5000, rng)
    model = M.fit_cascade_model(train.phi, train.cost.mean(axis=0))
    ks = [2, 3, 4] if args.quick else [2, 3, 4, 5]

    print("1. full error-cost curve (train n=300, test n=%d); RT = Algorithm 1 (thesis), RT-x = exact chain evaluation" % test.n)
    print(f"{'k':>2} {'RT s':>7} {'RT-x s':>7} {'GS s':>7} {'naive GS s':>11} {'naive/RT':>9} {'naive/RT-x':>10} {'GS/RT':>6} "
          f"{'AUC RT':>7} {'AUC RT-x':>8} {'AUC GS':>7} {'%dAUC':>6} {'%dAUC-x':>7}")
    for k in ks:
        cas = list(range(k))
        t_rt, rt = best_of(lambda: cold_rt(model, cas, train.phi[:, cas]), 3)
        t_x, rx = best_of(lambda: T.tune_rt(model, cas, phi_train=train.phi[:, cas], evaluator=ChainEvaluator(model, 200)), 3)
        t_gs, gs = best_of(lambda: T.grid_search(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], 40), 1)
        t_naive, _ = X.naive_grid_seconds(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], 40, max_candidates=20000)
        c_rt, e_rt = X.curve_on_test(rt, test.phi, test.y, test.cost, cas)
        c_x, e_x = X.curve_on_test(rx, test.phi, test.y, test.cost, cas)
        c_gs, e_gs = X.curve_on_test(gs, test.phi, test.y, test.cost, cas)
        a_rt, a_gs = T.auc_pair(c_rt, e_rt, c_gs, e_gs)
        a_x, a_gs2 = T.auc_pair(c_x, e_x, c_gs, e_gs)
        extrap = "*" if 40 ** (k - 1) > 20000 else " "
        print(f"{k:>2} {t_rt:7.3f} {t_x:7.3f} {t_gs:7.3f} {t_naive:10.2f}{extrap} {t_naive / t_rt:9.1f} {t_naive / t_x:10.1f} "
              f"{t_gs / t_rt:6.2f} {a_rt:7.4f} {a_x:8.4f} {a_gs:7.4f} {T.pct_change(a_rt, a_gs):+6.2f} {T.pct_change(a_x, a_gs2):+7.2f}")
    print("   * naive time extrapolated linearly from the first 20,000 of 40^(k-1) candidates")
    print(f"   => k = {k}: naive grid search / RT-exact = {t_naive / t_x:.0f}x (target >= 100); "
          f"RT-exact test AUC vs grid search {T.pct_change(a_x, a_gs2):+.2f}% (target within +-1%)")

    print(f"\n1b. RT-exact at k = {k}, what helps (fresh evaluator each run, set-up inside; best of 3; "
          f"naive grid search {t_naive:.2f} s in the same run)")
    exact_ablation(model, cas, train, test, c_gs, e_gs, t_naive)

    print("\n2. grid scoring on the same candidates: factorised vs naive routing (k=3, 1,600 candidates)")
    cas = [0, 1, 2]
    lev = T.grid_levels(40)
    t_f, (th, p, c) = best_of(lambda: T.grid_scores(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], lev), 3)
    t_n, (acc, mc) = best_of(lambda: T.route(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], th), 3)
    print(f"   factorised {t_f * 1e3:.2f} ms, naive {t_n * 1e3:.2f} ms, ratio {t_n / t_f:.1f}x, "
          f"max |diff| P {np.abs(acc - p).max():.1e}, cost {np.abs(mc - c).max():.1e}")

    print("\n3. Algorithm 1: time per call vs k, tabulated all-positions-at-once path vs the reference path")
    print("   (reference: one position at a time, trapezoid over the phi-grid recomputed for every row)")
    for rows in (5, 200):
        base = None
        for k in [2, 3, 4, 5]:
            th = np.tile(np.linspace(0.5, 0.8, k - 1), (rows, 1))
            model.tabulate = True
            model.evaluate(range(k), th)  # build the tables outside the timing
            t, (p1, c1) = best_of(lambda: model.evaluate(range(k), th), 20)
            model.tabulate = False
            t_ref, (p0, c0) = best_of(lambda: model.evaluate(range(k), th), 5)
            model.tabulate = True
            base = base or t
            print(f"   {rows:>3} rows, k={k}: {t * 1e3:.3f} ms per call (ratio to k=2 {t / base:.2f}); reference "
                  f"{t_ref * 1e3:.2f} ms, ratio {t_ref / t:.1f}x, max |dP| {np.abs(p1 - p0).max():.1e}, "
                  f"max rel dC {np.abs(c1 / c0 - 1).max():.1e}")

    print("\n4. Gumbel conditional inversion, n=200,000, theta=2")
    u = rng.uniform(size=200_000)
    w = rng.uniform(size=200_000)
    t_new, v_new = best_of(lambda: M.gumbel_h_inverse(u, w, 2.0), 3)

    def bisect():
        lo, hi = np.zeros_like(u), np.ones_like(u)
        for _ in range(50):
            m = 0.5 * (lo + hi)
            below = M.gumbel_h(u, m, 2.0) < w
            lo, hi = np.where(below, m, lo), np.where(below, hi, m)
        return 0.5 * (lo + hi)

    t_bis, v_bis = best_of(bisect, 1)
    print(f"   Newton {t_new * 1e3:.1f} ms, bisection {t_bis * 1e3:.1f} ms, ratio {t_bis / t_new:.1f}x, max |diff| {np.abs(v_new - v_bis).max():.1e}")

    from capfront_lib.markov_copula_cascades import gof

    print("\n5. empirical Kendall values (one copula CvM statistic), n = 1,000 and 5,000 pairs")
    for n in (1000, 5000):
        u, v = gof.pseudo_observations(*M.gumbel_sample(n, 2.0, rng).T)
        gof.empirical_kendall_values(u, v)  # compile outside the timing
        t_f, a = best_of(lambda: gof.empirical_kendall_values(u, v), 5)
        t_r, b = best_of(lambda: gof.empirical_kendall_values_reference(u, v), 3)
        print(f"   n={n}: Fenwick {t_f * 1e3:.2f} ms, comparison matrix {t_r * 1e3:.1f} ms, ratio {t_r / t_f:.0f}x, equal: {np.array_equal(a, b)}")


if __name__ == "__main__":
    main()
