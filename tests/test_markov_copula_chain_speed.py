"""The compiled chain kernel and the analytic gradients of the exact cascade evaluation (issue 18).

References, independent of the code under test:
- the numba back-end against the vectorised numpy recursion (the reference implementation of the same
  discretisation, batched BLAS products instead of per-row loops) on random models, including point
  masses at phi_min / phi_max, independent pairs (theta = 1), strong dependence and thresholds on the
  point masses, outside the support and on cell edges;
- the adjoint gradients against central finite differences of the numpy recursion's VALUES;
- Rational Tuning with analytic gradients against the same tuner with finite differences (objective of
  the solutions, evaluated by the numpy reference).
Monte Carlo checks of both back-ends are in tests/test_markov_copula_chain.py (fixture ``chain``).
"""

from __future__ import annotations

import numpy as np
import pytest

from capfront_lib.markov_copula_cascades import model as M, simulate as S, tuning as T
from capfront_lib.markov_copula_cascades.chain import ChainEvaluator, numba_available

pytestmark = pytest.mark.skipif(not numba_available(), reason="numba not installed")

TOL = 1e-9


def _random_marginal(rng: np.random.Generator, point_masses: bool) -> M.MixedBetaMarginal:
    lo = float(rng.uniform(0.0, 0.3))
    hi = float(rng.uniform(0.7, 1.0))
    w_min, w_max = (float(rng.uniform(0.0, 0.2)), float(rng.uniform(0.0, 0.2))) if point_masses else (0.0, 0.0)
    a1, b1, a2, b2 = (float(v) for v in rng.uniform(0.5, 6.0, size=4))
    return M.MixedBetaMarginal(lo, hi, w_min, w_max, float(rng.uniform(0.0, 1.0)), a1, b1, a2, b2)


def _random_model(rng: np.random.Generator, k: int) -> M.CascadeModel:
    """k marginals (about half with point masses) and pairwise thetas drawn from {1, weak, strong}."""
    margs = [_random_marginal(rng, point_masses=bool(rng.integers(2))) for _ in range(k)]
    th = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            th[i, j] = th[j, i] = rng.choice([1.0, float(rng.uniform(1.0, 1.5)), float(rng.uniform(1.5, 8.0))])
    return M.CascadeModel(margs, th, np.sort(rng.uniform(0.5, 20.0, size=k)))


def _threshold_rows(rng: np.random.Generator, model: M.CascadeModel, cas: list[int], n_cells: int, m: int) -> np.ndarray:
    """Random rows plus edge cases: every threshold at phi_min, at phi_max, outside the support, and
    thresholds whose u-value is (up to the inverse) a cell edge."""
    mg = [model.marginals[i] for i in cas[:-1]]
    lo = np.array([g.phi_min for g in mg])
    hi = np.array([g.phi_max for g in mg])
    rows = [lo + (hi - lo) * rng.uniform(-0.05, 1.05, size=(m, len(mg))), lo[None], hi[None], (lo - 0.1)[None],
            (hi + 0.1)[None], np.full((1, len(mg)), 0.5)]
    edge = np.linspace(0, 1, n_cells + 1)[rng.integers(1, n_cells, size=len(mg))]
    rows.append(np.array([[float(g.ppf(np.array([u]))[0]) for g, u in zip(mg, edge)]]))
    return np.vstack(rows)


@pytest.mark.parametrize("seed", range(6))
def test_numba_equals_numpy_on_random_models(seed):
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(2, 6))
    model = _random_model(rng, k)
    n_cells = int(rng.choice([10, 37, 200]))
    nb = ChainEvaluator(model, n_cells, backend="numba")
    npy = ChainEvaluator(model, n_cells, backend="numpy")
    for cas in (list(range(k)), list(rng.permutation(k))[: max(2, k - 1)]):
        t = _threshold_rows(rng, model, cas, n_cells, 25)
        p1, c1 = nb.evaluate(cas, t)
        p0, c0 = npy.evaluate(cas, t)
        np.testing.assert_allclose(p1, p0, rtol=0, atol=TOL)
        np.testing.assert_allclose(c1, c0, rtol=TOL, atol=0)
        a1, q1 = nb.answer_probabilities(cas, t)
        a0, q0 = npy.answer_probabilities(cas, t)
        np.testing.assert_allclose(a1, a0, rtol=0, atol=TOL)
        np.testing.assert_allclose(q1, q0, rtol=0, atol=TOL)
        np.testing.assert_allclose(a1.sum(axis=1), 1.0, atol=1e-12)  # mass balance, every row


def test_point_masses_and_independence_edge_cases():
    """Hand-checkable rows: a threshold at phi_max defers everything, at phi_min only the point mass."""
    margs = [M.MixedBetaMarginal(0.1, 0.9, 0.12, 0.08, 0.5, 2, 5, 5, 2),
             M.MixedBetaMarginal(0.05, 0.97, 0.05, 0.2, 0.4, 0.7, 3, 6, 0.8),
             M.MixedBetaMarginal(0.2, 0.99, 0.0, 0.3, 0.3, 2, 3, 7, 2)]
    for th01 in (1.0, 3.0):
        th = np.array([[1, th01, 1.5], [th01, 1, 1.0], [1.5, 1.0, 1]])
        cm = M.CascadeModel(margs, th, np.array([1.0, 3.0, 10.0]))
        nb, npy = ChainEvaluator(cm, 50, backend="numba"), ChainEvaluator(cm, 50, backend="numpy")
        t = np.array([[0.1, 0.3], [0.9, 0.5], [0.9, 0.97], [0.1, 0.05], [0.5, 0.5]])
        a1, _ = nb.answer_probabilities([0, 1, 2], t)
        a0, _ = npy.answer_probabilities([0, 1, 2], t)
        np.testing.assert_allclose(a1, a0, rtol=0, atol=TOL)
        assert a1[0, 0] == pytest.approx(1 - 0.12, abs=1e-12)  # phi_min: only w_min defers
        assert a1[1, 0] == pytest.approx(0.0, abs=1e-12) and a1[2, 0] == pytest.approx(0.0, abs=1e-12)
        assert a1[2, 1] == pytest.approx(0.0, abs=1e-12)  # both at phi_max: the last model answers all
        assert a1[2, 2] == pytest.approx(1.0, abs=1e-12)


def test_non_contiguous_and_single_row_inputs():
    rng = np.random.default_rng(3)
    model = _random_model(rng, 4)
    nb = ChainEvaluator(model, 40, backend="numba")
    t = _threshold_rows(rng, model, [0, 1, 2, 3], 40, 10)
    tf = np.asfortranarray(t)
    wide = np.hstack([t, t])[:, ::2]  # a strided view with the same values
    np.testing.assert_array_equal(nb.evaluate([0, 1, 2, 3], tf)[0], nb.evaluate([0, 1, 2, 3], t)[0])
    assert wide.shape == t.shape
    p, c = nb.evaluate(range(4), t[3])
    assert isinstance(p, float) and p == pytest.approx(nb.evaluate([0, 1, 2, 3], t[3:4])[0][0], abs=1e-15)
    p, c, dp, dc = nb.evaluate_grad((0, 1, 2, 3), t[0])
    assert isinstance(p, float) and dp.shape == (3,) and dc.shape == (3,)


def _interior_rows(rng, model, cas, n_cells, m):
    """Rows inside (phi_min, phi_max) whose u-values stay 1e-3 cells away from every cell edge, so that a
    central difference with a 1e-7 step does not straddle a kink of the piecewise-smooth value."""
    out = []
    mg = [model.marginals[i] for i in cas[:-1]]
    while len(out) < m:
        q = rng.uniform(0.05, 0.95, size=len(mg))
        row = np.array([float(g.ppf(np.array([u]))[0]) for g, u in zip(mg, q)])
        a = np.array([float(g.cdf(np.array([x]))[0]) for g, x in zip(mg, row)])
        frac = (a * n_cells) % 1.0
        inside = all(g.phi_min + 1e-4 < x < g.phi_max - 1e-4 for g, x in zip(mg, row))
        if inside and np.all((frac > 1e-3) & (frac < 1 - 1e-3)):
            out.append(row)
    return np.array(out)


@pytest.mark.parametrize("seed", range(4))
def test_adjoint_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(200 + seed)
    k = int(rng.integers(2, 6))
    model = _random_model(rng, k)
    n_cells = 60
    nb = ChainEvaluator(model, n_cells, backend="numba")
    npy = ChainEvaluator(model, n_cells, backend="numpy")
    cas = list(range(k))
    t = _interior_rows(rng, model, cas, n_cells, 4)
    p, c, dp, dc = nb.evaluate_grad(cas, t)
    p0, c0, dp0, dc0 = npy.evaluate_grad(cas, t)
    np.testing.assert_allclose(dp, dp0, rtol=1e-9, atol=1e-12)  # the two back-ends' adjoints
    np.testing.assert_allclose(dc, dc0, rtol=1e-9, atol=1e-9)
    pv, cv = npy.evaluate(cas, t)
    np.testing.assert_allclose(p, pv, rtol=0, atol=TOL)
    np.testing.assert_allclose(c, cv, rtol=TOL)
    h = 1e-7
    for d in range(k - 1):
        e = np.zeros(k - 1)
        e[d] = h
        pp, cp = npy.evaluate(cas, t + e)
        pm, cm = npy.evaluate(cas, t - e)
        fd_p, fd_c = (pp - pm) / (2 * h), (cp - cm) / (2 * h)
        # central differences of values of size ~1 (P) and ~10 (cost): round-off ~1e-9 / h
        np.testing.assert_allclose(dp[:, d], fd_p, rtol=1e-4, atol=2e-7)
        np.testing.assert_allclose(dc[:, d], fd_c, rtol=1e-4, atol=2e-6 * np.abs(cv).max())


def test_gradient_is_zero_for_thresholds_outside_the_support():
    rng = np.random.default_rng(9)
    model = _random_model(rng, 3)
    nb = ChainEvaluator(model, 30)
    lo = model.marginals[0].phi_min
    hi = model.marginals[0].phi_max
    _, _, dp, dc = nb.evaluate_grad([0, 1, 2], np.array([[lo - 0.05, 0.5], [hi + 0.05, 0.5]]))
    assert np.all(dp[:, 0] == 0) and np.all(dc[:, 0] == 0)


@pytest.fixture(scope="module")
def fitted():
    truth = S.Truth.from_params(S.REFERENCE_MARGINALS, S.REFERENCE_THETAS)
    rng = np.random.default_rng(0)
    train = S.simulate(truth, 300, rng)
    return M.fit_cascade_model(train.phi, train.cost.mean(axis=0)), train


def test_tuning_with_analytic_gradients_matches_finite_differences(fitted):
    """Analytic-gradient Rational Tuning (numba, ftol 1e-6) against finite differences on the numpy
    reference (scipy's ftol): per lambda the objectives of the solutions (evaluated by the reference) agree
    to the model's accuracy at most lambdas (the objective is not convex: a different path may end in
    another local optimum), and the two curves' test AUCs agree within 0.5 %."""
    model, train = fitted
    truth = S.Truth.from_params(S.REFERENCE_MARGINALS, S.REFERENCE_THETAS)
    test = S.simulate(truth, 20000, np.random.default_rng(1))
    cas = [0, 1, 2, 3]
    ref = ChainEvaluator(model, 100, backend="numpy")
    a = T.tune_rt(model, cas, evaluator=ChainEvaluator(model, 100), infill_q=None)  # rows = sweep solutions
    f = T.tune_rt(model, cas, evaluator=ref, gradient="fd", infill_q=None)
    n = min(len(a.lambdas), len(f.lambdas))
    np.testing.assert_allclose(a.lambdas[:n], f.lambdas[:n])

    pa, ca = ref.evaluate(cas, a.thresholds[:n])
    pf, cf = ref.evaluate(cas, f.thresholds[:n])
    gap = ((1 - pa) + a.lambdas[:n] * ca) - ((1 - pf) + f.lambdas[:n] * cf)
    assert np.mean(np.abs(gap) < 5e-5) >= 0.75, gap
    acc_a, cost_a = T.route(test.phi[:, cas], test.y[:, cas], test.cost[:, cas], a.thresholds)
    acc_f, cost_f = T.route(test.phi[:, cas], test.y[:, cas], test.cost[:, cas], f.thresholds)
    auc_a, auc_f = T.auc_pair(cost_a, 1 - acc_a, cost_f, 1 - acc_f)
    assert abs(T.pct_change(auc_a, auc_f)) < 0.5
    assert a.n_evals < f.n_evals / 3  # one value + gradient per L-BFGS-B evaluation instead of k rows


def test_tune_rt_argument_checks(fitted):
    model, _ = fitted
    with pytest.raises(ValueError, match="gradient='analytic' needs an evaluator with evaluate_grad"):
        T.tune_rt(model, [0, 1], gradient="analytic", evaluator="algorithm1")
    with pytest.raises(ValueError, match="gradient must be"):
        T.tune_rt(model, [0, 1], gradient="exact")
    with pytest.raises(ValueError, match="ftol must be in"):
        T.tune_rt(model, [0, 1], ftol=0.0)
    with pytest.raises(ValueError, match="backend must be one of"):
        ChainEvaluator(model, 50, backend="cuda")


def test_named_evaluators(fitted):
    """evaluator="exact" (the default) is the chain evaluation on EXACT_CELLS cells (one evaluator per model,
    reused); "algorithm1" and None are Algorithm 1."""
    model, train = fitted
    cas = [0, 1, 2]
    x = T.tune_rt(model, cas, evaluator="exact", infill_q=None)
    y = T.tune_rt(model, cas, evaluator=ChainEvaluator(model, T.EXACT_CELLS), infill_q=None)
    np.testing.assert_allclose(x.thresholds, y.thresholds, rtol=0, atol=1e-12)
    assert T.exact_evaluator(model) is T.exact_evaluator(model)
    a = T.tune_rt(model, cas, evaluator="algorithm1", infill_q=None)
    b = T.tune_rt(model, cas, evaluator=None, infill_q=None)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    d = T.tune_rt(model, cas, infill_q=None)  # the default is RT-exact
    np.testing.assert_array_equal(d.thresholds, x.thresholds)
    with pytest.raises(ValueError, match="evaluator must be 'exact', 'algorithm1'"):
        T.tune_rt(model, cas, evaluator="chain")
