"""Unit tests of capfront_lib.markov_copula_cascades against independent references.

References: closed forms, statsmodels' Gumbel copula, scipy, brute-force loops and Monte Carlo written
inside the tests.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from capfront_lib.markov_copula_cascades import gof, model as M, simulate as S, tuning as T
from capfront_lib.markov_copula_cascades.experiments import sub_cascades

REF = S.REFERENCE_MARGINALS
REF_COSTS = np.array([0.1, 0.2, 0.9, 3.0, 6.0])


# ---------------------------------------------------------------- 1. transforms
def test_one_sided_transform_values():
    xi = M.xi_one_sided(np.log([0.5, 0.99]))
    assert xi[0] == pytest.approx(math.log(2), rel=1e-12)
    assert xi[1] == pytest.approx(math.log(100), rel=1e-12)
    assert np.isinf(M.xi_one_sided(np.array([0.0])))[0]
    tiny = M.xi_one_sided(np.array([-1e-12]))[0]
    assert np.isfinite(tiny) and tiny == pytest.approx(-math.log(1e-12), rel=1e-6)  # ~27.63


def test_two_sided_transform_monotone_and_odd():
    xi = M.xi_two_sided(np.log([0.5, 0.75, 0.25]))
    assert xi[0] == pytest.approx(0.0, abs=1e-15)
    assert xi[1] == pytest.approx(math.log(2), rel=1e-12)
    assert xi[2] == pytest.approx(-math.log(2), rel=1e-12)
    p = np.linspace(0.001, 0.999, 999)
    x = M.xi_two_sided(np.log(p))
    assert np.all(np.diff(x) > 0)
    np.testing.assert_allclose(M.xi_two_sided(np.log1p(-p)), -x, rtol=1e-9, atol=1e-12)
    # inverse used by the simulator
    np.testing.assert_allclose(np.exp(M.inverse_two_sided(x)), p, rtol=1e-10)
    assert M.xi_two_sided(np.array([0.0]))[0] == np.inf
    assert M.xi_two_sided(np.array([-np.inf]))[0] == -np.inf


def test_infinities_replaced_with_train_constants():
    train = np.array([-np.inf, -1.0, 0.5, 2.0, np.inf])
    out, b = M.replace_infinite(train)
    assert b == (-1.0, 2.0)
    np.testing.assert_array_equal(out, [-1.0, -1.0, 0.5, 2.0, 2.0])
    test, b2 = M.replace_infinite(np.array([np.inf, -np.inf, 7.0]), b)
    assert b2 == b
    np.testing.assert_array_equal(test, [2.0, -1.0, 7.0])


def test_transform_bad_input():
    with pytest.raises(ValueError, match="log-probabilities"):
        M.xi_one_sided(np.array([0.1]))
    with pytest.raises(ValueError, match="transform"):
        M.transform_confidence(np.array([-0.1]), "three_sided")


def test_calibrator_recovers_logistic_truth():
    rng = np.random.default_rng(1)
    xi = rng.normal(0, 1.5, 20000)
    y = (rng.uniform(size=xi.size) < 1 / (1 + np.exp(-(0.3 + 1.7 * xi)))).astype(int)
    cal = M.fit_calibrator(M.inverse_two_sided(xi), y, "two_sided")
    assert cal.b0 == pytest.approx(0.3, abs=0.08)
    assert cal.b1 == pytest.approx(1.7, abs=0.1)
    assert not cal.penalised


def test_calibrator_separable_falls_back_to_penalty():
    lp = np.log(np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]))
    y = np.array([0, 0, 0, 1, 1, 1])
    cal = M.fit_calibrator(lp, y, "two_sided")
    assert cal.penalised
    assert np.all(np.isfinite(cal.predict(lp)))


# ---------------------------------------------------------------- 2. ECE
def test_ece_hand_worked_example():
    conf = np.arange(1, 21) * 0.05
    y = np.tile([0, 1], 10)
    # 20 distinct points, decile bins hold consecutive pairs; mean y = 0.5, mean conf = 0.075 + 0.1 b
    expected = sum(0.1 * abs(0.5 - (0.075 + 0.1 * b)) for b in range(10))
    assert expected == pytest.approx(0.25, abs=1e-12)
    assert M.expected_calibration_error(conf, y) == pytest.approx(expected, abs=1e-12)


def test_ece_zero_when_bins_match():
    # ten confidence levels b/10 with ten points each; b of the ten labels are 1
    conf = np.repeat(np.arange(10) / 10.0, 10)
    y = np.concatenate([np.r_[np.ones(b), np.zeros(10 - b)] for b in range(10)])
    assert M.expected_calibration_error(conf, y) == pytest.approx(0.0, abs=1e-12)


def test_ece_calibrated_large_sample_and_ties():
    rng = np.random.default_rng(2)
    phi = rng.beta(2, 2, 200_000)
    y = rng.uniform(size=phi.size) < phi
    assert M.expected_calibration_error(phi, y) < 0.01
    tied = np.r_[np.full(500, 0.9), rng.uniform(0, 0.5, 500)]
    yt = rng.uniform(size=tied.size) < tied
    val = M.expected_calibration_error(tied, yt)
    assert np.isfinite(val) and 0 <= val <= 1


# ---------------------------------------------------------------- 3. marginal
def test_marginal_point_masses_counted_exactly():
    rng = np.random.default_rng(3)
    x = np.r_[np.full(30, 0.2), rng.uniform(0.25, 0.85, 240), np.full(30, 0.9)]
    m = M.fit_marginal(x)
    assert (m.phi_min, m.phi_max) == (0.2, 0.9)
    assert m.w_min == pytest.approx(30 / 300, abs=1e-15)
    assert m.w_max == pytest.approx(30 / 300, abs=1e-15)
    assert float(m.cdf(np.array(0.2)) - m.cdf_left(np.array(0.2))) == pytest.approx(0.1, abs=1e-12)
    assert float(m.cdf(np.array(0.9)) - m.cdf_left(np.array(0.9))) == pytest.approx(0.1, abs=1e-12)
    u = np.linspace(0.11, 0.89, 50)
    np.testing.assert_allclose(m.cdf(m.ppf(u)), u, atol=1e-8)


def test_marginal_em_recovers_mixture_cdf():
    rng = np.random.default_rng(4)
    n = 5000
    comp = rng.uniform(size=n) < 0.35
    z = np.where(comp, rng.beta(2, 6, n), rng.beta(7, 2, n))
    lo, hi = 0.1, 0.95
    x = lo + (hi - lo) * z
    m = M.fit_marginal(x)
    grid = np.linspace(lo, hi, 2001)
    zz = (grid - lo) / (hi - lo)
    true_cdf = 0.35 * stats.beta.cdf(zz, 2, 6) + 0.65 * stats.beta.cdf(zz, 7, 2)
    assert np.max(np.abs(m.cdf(grid) - true_cdf)) < 0.02


def test_beta_m_step_matches_scipy_fit():
    rng = np.random.default_rng(41)
    z = rng.beta(2.5, 4.0, 5000)
    a, b = M._weighted_beta_mle(float(np.log(z).mean()), float(np.log1p(-z).mean()), (2.0, 5.0))
    ra, rb = stats.beta.fit(z, floc=0, fscale=1)[:2]
    assert a == pytest.approx(ra, rel=1e-5) and b == pytest.approx(rb, rel=1e-5)


def test_marginal_sampler_matches_cdf():
    m = M.MixedBetaMarginal(0.1, 0.9, 0.1, 0.2, 0.4, 2, 5, 5, 2)
    x = m.rvs(20000, np.random.default_rng(5))
    assert np.mean(x == 0.1) == pytest.approx(0.1, abs=0.01)
    assert np.mean(x == 0.9) == pytest.approx(0.2, abs=0.01)
    assert x.mean() == pytest.approx(m.mean(), abs=0.005)


def test_marginal_bad_input():
    with pytest.raises(ValueError, match="phi_max"):
        M.MixedBetaMarginal(0.5, 0.4, 0, 0, 0.5, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="constant"):
        M.fit_marginal(np.full(10, 0.3))


# ---------------------------------------------------------------- 4. Gumbel
def test_gumbel_identities_and_statsmodels():
    from statsmodels.distributions.copula.api import GumbelCopula

    u = np.linspace(0.01, 0.99, 25)
    for th in (1.0, 1.7, 3.0):
        np.testing.assert_allclose(M.gumbel_cdf(u, 1.0, th), u, atol=1e-12)
        np.testing.assert_allclose(M.gumbel_cdf(1.0, u, th), u, atol=1e-12)
        uu, vv = np.meshgrid(u, u)
        assert np.all(M.gumbel_cdf(uu, vv, th) <= np.minimum(uu, vv) + 1e-15)
    np.testing.assert_allclose(M.gumbel_cdf(uu, vv, 1.0), uu * vv, atol=1e-12)
    ref = GumbelCopula(theta=2.3).cdf(np.column_stack([uu.ravel(), vv.ravel()]))
    np.testing.assert_allclose(M.gumbel_cdf(uu.ravel(), vv.ravel(), 2.3), ref, rtol=1e-10)


def test_gumbel_h_is_derivative_and_inverse():
    u = np.array([0.1, 0.4, 0.8])
    v = np.array([0.3, 0.5, 0.9])
    th = 2.2
    eps = 1e-6
    num = (M.gumbel_cdf(u + eps, v, th) - M.gumbel_cdf(u - eps, v, th)) / (2 * eps)
    np.testing.assert_allclose(M.gumbel_h(u, v, th), num, rtol=1e-6)
    w = np.array([0.05, 0.5, 0.97])
    np.testing.assert_allclose(M.gumbel_h(u, M.gumbel_h_inverse(u, w, th), th), w, atol=1e-10)


def test_gumbel_sampler_tau_and_kendall_distribution():
    rng = np.random.default_rng(6)
    uv = M.gumbel_sample(5000, 2.0, rng)
    assert abs(stats.kendalltau(uv[:, 0], uv[:, 1]).statistic - 0.5) < 0.03
    uv = M.gumbel_sample(20000, 2.0, rng)
    c = np.sort(M.gumbel_cdf(uv[:, 0], uv[:, 1], 2.0))
    t = np.linspace(0.001, 0.999, 999)
    ecdf = np.searchsorted(c, t, side="right") / c.size
    assert np.max(np.abs(ecdf - (t - t * np.log(t) / 2.0))) < 0.02
    np.testing.assert_allclose(M.kendall_distribution(t, 2.0), t - t * np.log(t) / 2.0)


def test_theta_from_tau_and_fit():
    assert M.theta_from_tau(-0.2) == 1.0
    assert M.theta_from_tau(0.0) == 1.0
    assert M.theta_from_tau(0.5) == pytest.approx(2.0)
    rng = np.random.default_rng(7)
    for th in (1.3, 2.0, 2.4):
        uv = M.gumbel_sample(300, th, rng)
        assert abs(M.fit_gumbel_theta(uv[:, 0], uv[:, 1]) - th) < 0.5
    x = np.arange(50.0)
    assert M.fit_gumbel_theta(x, -x) == 1.0
    with pytest.raises(ValueError, match="theta"):
        M.gumbel_cdf(0.5, 0.5, 0.5)


# ---------------------------------------------------------------- 5. Proposition 2 vs Monte Carlo
def _true_model(margs, thetas_adjacent, costs):
    k = len(margs)
    th = np.ones((k, k))
    for i, t in enumerate(thetas_adjacent):
        th[i, i + 1] = th[i + 1, i] = t
    return M.CascadeModel(margs, th, costs, u_grid=801)


def _mc_route(phi, costs, thresholds):
    """Independent Monte Carlo: loop over the cascade with explicit masks (labels replaced by Phi)."""
    n, k = phi.shape
    pending = np.ones(n, bool)
    p = 0.0
    c = 0.0
    cum = 0.0
    for i in range(k):
        cum += costs[i]
        ans = pending & (phi[:, i] > thresholds[i]) if i < k - 1 else pending.copy()
        p += phi[ans, i].sum()
        c += ans.sum() * cum
        pending &= ~ans
    return p / n, c / n


def _chain_uniforms(n, thetas, rng):
    """D-vine sample by vectorised bisection on the h-function (independent of the Newton inverse)."""
    u = np.empty((n, len(thetas) + 1))
    u[:, 0] = rng.uniform(size=n)
    for i, th in enumerate(thetas):
        w = rng.uniform(size=n)
        lo, hi = np.zeros(n), np.ones(n)
        for _ in range(34):
            mid = 0.5 * (lo + hi)
            below = M.gumbel_h(u[:, i], mid, th) < w
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        u[:, i + 1] = 0.5 * (lo + hi)
    return u


def test_prop2_exact_for_two_models_dependent():
    from statsmodels.distributions.copula.api import GumbelCopula

    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF[:2]]
    mdl = _true_model(margs, [1.6], REF_COSTS[:2])
    uv = GumbelCopula(theta=1.6).rvs(300_000, rng=np.random.default_rng(8))
    phi = np.column_stack([margs[0].ppf(uv[:, 0]), margs[1].ppf(uv[:, 1])])
    for t in (0.4, 0.6, 0.8):
        p_m, c_m = mdl.evaluate([0, 1], np.array([t]))
        p_mc, c_mc = _mc_route(phi, REF_COSTS[:2], [t])
        assert abs(p_m - p_mc) <= 0.004
        assert abs(c_m - c_mc) / c_mc <= 0.005


def test_prop2_exact_for_independent_five_models():
    rng = np.random.default_rng(9)
    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF]
    mdl = _true_model(margs, [1.0] * 4, REF_COSTS)
    n = 300_000
    phi = np.column_stack([m.ppf(rng.uniform(size=n)) for m in margs])
    th = np.array([0.6, 0.7, 0.75, 0.8])
    p_m, c_m = mdl.evaluate(range(5), th)
    p_mc, c_mc = _mc_route(phi, REF_COSTS, th)
    assert abs(p_m - p_mc) <= 0.004
    assert abs(c_m - c_mc) / c_mc <= 0.005


def test_prop2_uses_markov_factorisation_on_dvine():
    rng = np.random.default_rng(10)
    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF[:4]]
    mdl = _true_model(margs, S.REFERENCE_THETAS[:3], REF_COSTS[:4])
    u = _chain_uniforms(300_000, S.REFERENCE_THETAS[:3], rng)
    phi = np.column_stack([margs[j].ppf(u[:, j]) for j in range(4)])
    th = np.array([0.7, 0.8, 0.85])
    p_m, _ = mdl.evaluate(range(4), th)
    p_mc, _ = _mc_route(phi, REF_COSTS[:4], th)
    # event-level Markov approximation is biased upwards for a variable-level chain (spec 1.5)
    assert 0.003 <= p_m - p_mc <= 0.02


def test_prop2_work_linear_in_k():
    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF]
    mdl = _true_model(margs, S.REFERENCE_THETAS, REF_COSTS)
    counts = []
    for k in range(2, 6):
        mdl.copula_evaluations = 0
        mdl.evaluate(range(k), np.full(k - 1, 0.6))
        counts.append(mdl.copula_evaluations)
    assert np.all(np.diff(counts) == counts[1] - counts[0]) and counts[1] > counts[0]


def test_cascade_model_bad_input():
    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF[:3]]
    mdl = _true_model(margs, [1.5, 1.5], REF_COSTS[:3])
    with pytest.raises(ValueError, match="columns"):
        mdl.evaluate([0, 1, 2], np.array([0.5]))
    with pytest.raises(ValueError, match="distinct"):
        mdl.evaluate([0, 0], np.array([0.5]))
    with pytest.raises(ValueError, match="costs"):
        M.CascadeModel(margs, np.ones((3, 3)), np.array([1.0, -1.0, 2.0]))


# ---------------------------------------------------------------- 6. optimiser
def test_rt_beats_random_search_and_sweeps_cost_down():
    rng = np.random.default_rng(11)
    margs = [M.MixedBetaMarginal.from_preset(r) for r in REF[:3]]
    mdl = _true_model(margs, [1.6, 2.0], REF_COSTS[:3])
    curve = T.tune_rt(mdl, [0, 1, 2], infill_q=None, evaluator="algorithm1")
    box = np.array(mdl.box([0, 1, 2]))
    rand = box[:, 0] + (box[:, 1] - box[:, 0]) * rng.uniform(size=(2000, 2))
    pr, cr = mdl.evaluate([0, 1, 2], rand)
    for lam, x in zip(curve.lambdas, curve.thresholds):
        p, c = mdl.evaluate([0, 1, 2], x)
        assert (1 - p) + lam * c <= np.min((1 - pr) + lam * cr) + 1e-3
    costs = curve.model_cost
    assert np.all(np.diff(costs) <= 0.01 * costs[:-1])
    assert costs[-1] <= 1.25 * REF_COSTS[0] or curve.lambdas.size == 4 + 24


def test_infill_closes_gaps():
    rng = np.random.default_rng(12)
    truth = S.Truth.from_params(REF[:3], [1.6, 2.0])
    data = S.simulate(truth, 300, rng)
    mdl = M.fit_cascade_model(data.phi, data.cost.mean(axis=0))
    curve = T.tune_rt(mdl, [0, 1, 2], infill_q=0.1, phi_train=data.phi, evaluator="algorithm1")
    for a, b in zip(curve.thresholds[:-1], curve.thresholds[1:]):
        for j in range(2):
            lo, hi = sorted((a[j], b[j]))
            mass = np.mean((data.phi[:, j] > lo) & (data.phi[:, j] < hi))
            assert mass <= 0.1 + 1e-12


def test_bo_finds_near_optimal_thresholds_two_models():
    rng = np.random.default_rng(23)
    truth = S.Truth.from_params(REF[:2], [1.6])
    d = S.simulate(truth, 300, rng)
    curve = T.tune_bo(d.phi, d.phi, d.cost, rng, max_iter=8, infill_q=None, max_steps=6)
    # brute force over every distinct training threshold (the empirical objective only changes there)
    cand = np.unique(d.phi[:, 0])[:, None]
    acc, mc = T.route(d.phi, d.phi, d.cost, cand)
    for lam, x in zip(curve.lambdas, curve.thresholds):
        a, c = T.route(d.phi, d.phi, d.cost, x[None, :])
        assert (1 - a[0]) + lam * c[0] <= np.min((1 - acc) + lam * mc) + 0.01
    assert len(curve.n_iters) == curve.lambdas.size and min(curve.n_iters) >= 1


# ---------------------------------------------------------------- 7. grid search, routing
def _brute_route(phi, lab, cost, th):
    n, k = phi.shape
    acc = tot = 0.0
    for q in range(n):
        c = 0.0
        for i in range(k):
            c += cost[q, i]
            if i == k - 1 or phi[q, i] > th[i]:
                acc += lab[q, i]
                tot += c
                break
    return acc / n, tot / n


def test_route_and_grid_scores_match_brute_force():
    rng = np.random.default_rng(13)
    phi = rng.uniform(size=(40, 4))
    lab = rng.uniform(size=(40, 4))
    cost = rng.uniform(1, 2, size=(40, 4))
    th, p, c = T.grid_scores(phi, lab, cost, np.array([0.2, 0.5, 0.8]))
    assert th.shape == (27, 3)
    for r in range(th.shape[0]):
        bp, bc = _brute_route(phi, lab, cost, th[r])
        assert p[r] == pytest.approx(bp, abs=1e-12) and c[r] == pytest.approx(bc, abs=1e-12)
    a, mc = T.route(phi, lab, cost, th)
    np.testing.assert_allclose(a, p, atol=1e-12)
    np.testing.assert_allclose(mc, c, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_grid_candidate_count(k):
    rng = np.random.default_rng(14)
    phi = rng.uniform(size=(60, k))
    th, p, c = T.grid_scores(phi, phi, np.ones((60, k)), T.grid_levels(40))
    assert th.shape == (40 ** (k - 1), k - 1) and p.size == 40 ** (k - 1)


def test_grid_search_pareto_and_label_switch():
    rng = np.random.default_rng(15)
    truth = S.Truth.from_params(REF[:3], [1.6, 2.0])
    d = S.simulate(truth, 300, rng)
    soft = T.grid_search(d.phi, d.phi, d.cost)
    hard = T.grid_search(d.phi, d.y, d.cost)
    p, c = soft.model_p, soft.model_cost
    for i, j in itertools.permutations(range(p.size), 2):
        assert not (p[j] > p[i] and c[j] < c[i])
    assert not np.array_equal(soft.thresholds, hard.thresholds) or not np.allclose(soft.model_p, hard.model_p)


def test_pareto_front_against_quadratic_definition():
    rng = np.random.default_rng(16)
    p = rng.uniform(size=300).round(2)
    c = rng.uniform(size=300).round(2)
    keep = set(T.pareto_front(p, c).tolist())
    for i in range(300):
        dominated = np.any((p >= p[i]) & (c <= c[i]) & ((p > p[i]) | (c < c[i])))
        if dominated:
            assert i not in keep
    assert len(keep) >= 1


# ---------------------------------------------------------------- 8. AUC
def test_auc_constant_linear_and_clipping():
    a, b = T.auc_pair(np.array([0.0, 1.0]), np.array([0.3, 0.3]), np.array([0.0, 1.0]), np.array([0.2, 0.2]))
    assert (a, b) == (pytest.approx(0.3), pytest.approx(0.2))
    x = np.linspace(0, 2, 7)
    a, b = T.auc_pair(x, 1 - 0.25 * x, np.array([0.5, 1.5]), np.array([0.6, 0.6]))
    # common range [0.5, 1.5]: mean of 1 - x/4 over it = 1 - 1/4 = 0.75
    assert a == pytest.approx(0.75, abs=1e-12) and b == pytest.approx(0.6)
    assert T.pct_change(0.29, 0.30) < 0 < T.pct_change(0.31, 0.30)
    assert math.isnan(T.auc_pair(np.array([0, 1.0]), np.array([1, 1.0]), np.array([2, 3.0]), np.array([1, 1.0]))[0])


# ---------------------------------------------------------------- 9. goodness of fit
def test_copula_cvm_separates_correct_from_survival():
    rng = np.random.default_rng(17)
    good, bad = [], []
    for _ in range(10):
        uv = M.gumbel_sample(1000, 2.0, rng)
        good.append(gof.copula_cvm(uv[:, 0], uv[:, 1])[0])
        bad.append(gof.copula_cvm(1 - uv[:, 0], 1 - uv[:, 1])[0])
    assert np.mean(good) < 0.002
    assert np.mean(bad) > 0.005


def test_copula_bootstrap_p_under_null():
    rng = np.random.default_rng(18)
    rej = 0
    for _ in range(20):
        uv = M.gumbel_sample(200, 1.8, rng)
        rej += gof.copula_gof(uv[:, 0], uv[:, 1], rng, n_boot=40)["p"] < 0.05
    assert rej / 20 <= 0.2


def test_copula_bootstrap_p_under_null_with_train_fit():
    rng = np.random.default_rng(24)
    rej = 0
    for _ in range(15):
        fit = M.gumbel_sample(100, 2.0, rng)
        uv = M.gumbel_sample(200, 2.0, rng)
        rej += gof.copula_gof(uv[:, 0], uv[:, 1], rng, n_boot=30, x_fit=fit[:, 0], y_fit=fit[:, 1])["p"] < 0.05
    assert rej / 15 <= 0.2


def test_marginal_cvm_correct_vs_wrong_family():
    rng = np.random.default_rng(19)
    truth = M.MixedBetaMarginal(0.05, 0.95, 0.0, 0.0, 0.4, 2, 5, 6, 2)
    fitted = M.fit_marginal(truth.rvs(300, rng))
    test = truth.rvs(1000, rng)
    wrong = M.MixedBetaMarginal(0.05, 0.95, 0.0, 0.0, 1.0, 1, 1, 1, 1)  # uniform
    assert gof.marginal_sqrt_cvm(test, fitted) < 0.5 * gof.marginal_sqrt_cvm(test, wrong)


def test_conditional_tau_masks_and_threshold():
    rng = np.random.default_rng(25)
    uv = M.gumbel_sample(400, 2.0, rng)
    y = np.column_stack([np.r_[np.ones(300), np.zeros(100)], np.r_[np.ones(300), np.zeros(100)]]).astype(int)
    r = gof.conditional_tau(uv[:, 0], uv[:, 1], y[:, 0], y[:, 1], min_n=150)
    assert r["n_both_correct"] == 300 and r["n_both_wrong"] == 100
    assert r["tau_both_correct"] == pytest.approx(stats.kendalltau(uv[:300, 0], uv[:300, 1]).statistic)
    assert math.isnan(r["tau_both_wrong"])


def test_sigma_tau_closed_form():
    assert gof.sigma_tau(50) == pytest.approx(math.sqrt(2 * 105 / (9 * 50 * 49)))
    assert gof.sigma_tau(50) <= 0.1


# ---------------------------------------------------------------- simulator
def test_simulator_margins_dependence_and_costs():
    rng = np.random.default_rng(20)
    truth = S.Truth.from_params(REF[:3], [1.6, 2.4])
    d = S.simulate(truth, 20000, rng)
    for j in range(3):
        assert stats.kstest(d.phi[:, j], truth.marginals[j].cdf).statistic < 0.015
    tau01 = stats.kendalltau(d.phi[:, 0], d.phi[:, 1]).statistic
    assert tau01 == pytest.approx(1 - 1 / 1.6, abs=0.02)
    assert d.y.mean(axis=0) == pytest.approx(d.phi.mean(axis=0), abs=0.015)
    np.testing.assert_allclose(d.cost.mean(axis=0), truth.mean_costs, rtol=0.01)
    ind = S.simulate(S.Truth.from_params(REF[:3], [1.6, 2.4], kind="independent"), 5000, rng)
    assert abs(stats.kendalltau(ind.phi[:, 0], ind.phi[:, 1]).statistic) < 0.03


def test_simulator_raw_confidences_and_certainty():
    rng = np.random.default_rng(21)
    truth = S.Truth.from_params(REF[:2], [2.0])
    d = S.simulate(truth, 2000, rng, miscal_a=[0.5, -0.3], miscal_b=[2.0, 0.7], cert_rate=[0.0, 0.25])
    assert np.mean(d.log_p[:, 1] == 0.0) == pytest.approx(0.25, abs=1e-3)
    # exact inversion where not certain: logit Phi = a + b xi
    xi = M.xi_two_sided(d.log_p[:, 0])
    np.testing.assert_allclose(0.5 + 2.0 * xi, np.log(d.phi[:, 0] / (1 - d.phi[:, 0])), atol=1e-8)


def test_balanced_subsample_and_sub_cascades():
    rng = np.random.default_rng(22)
    y = (rng.uniform(size=(300, 5)) < 0.6).astype(int)
    idx = S.balanced_subsample(y, 30, rng)
    assert 10 <= idx.size <= 30 and np.unique(idx).size == idx.size
    for j in range(5):
        assert 0 < y[idx, j].sum() < idx.size
    cas = sub_cascades(5)
    assert len(cas) == 26
    assert [sum(len(c) == k for c in cas) for k in range(2, 6)] == [10, 10, 5, 1]


def test_truth_bad_input():
    with pytest.raises(ValueError, match="true_thetas"):
        S.Truth.from_params(REF[:3], [1.5])
    with pytest.raises(ValueError, match="theta"):
        S.Truth.from_params(REF[:2], [0.5])
    with pytest.raises(ValueError, match="truth"):
        S.Truth.from_params(REF[:2], [1.5], kind="clayton")


# ---------------------------------------------------------------- 5b. tabulated Algorithm 1 vs the reference path
def _model_with_point_masses():
    margs = [M.MixedBetaMarginal(0.05, 0.95, 0.06, 0.03, 0.5, 2, 5, 5, 2),
             M.MixedBetaMarginal(0.05, 0.97, 0.0, 0.08, 0.4, 2, 4, 6, 2),
             M.MixedBetaMarginal(0.10, 0.98, 0.04, 0.0, 0.3, 2, 3, 7, 2),
             M.MixedBetaMarginal(0.10, 0.99, 0.02, 0.05, 0.3, 2, 3, 8, 1.5),
             M.MixedBetaMarginal(0.15, 0.995, 0.0, 0.0, 0.2, 2, 2, 9, 1.5)]
    th = np.array([[1.0, 1.6, 1.3, 1.0, 1.2], [1.6, 1.0, 2.0, 1.7, 1.5], [1.3, 2.0, 1.0, 2.4, 1.9],
                   [1.0, 1.7, 2.4, 1.0, 2.0], [1.2, 1.5, 1.9, 2.0, 1.0]])
    return M.CascadeModel(margs, th, REF_COSTS, u_grid=801)


@pytest.mark.parametrize("cascade", [(0, 1), (0, 2, 4), (1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3, 4), (0, 3, 4)])
def test_tabulated_algorithm1_matches_reference_path(cascade):
    """The all-positions-at-once tabulated path equals the per-row quadrature path, incl. point masses,
    an independent pair (theta = 1), thresholds outside [phi_min, phi_max] and at the point masses."""
    mdl = _model_with_point_masses()
    rng = np.random.default_rng(len(cascade) * 7 + cascade[-1])
    k = len(cascade)
    lo = np.array([mdl.marginals[i].phi_min for i in cascade[:-1]])
    hi = np.array([mdl.marginals[i].phi_max for i in cascade[:-1]])
    th = lo - 0.05 + (hi - lo + 0.1) * rng.uniform(size=(400, k - 1))
    th[:5] = lo  # at the lower point mass
    th[5:10] = hi
    mdl.tabulate = True
    p1, c1 = mdl.evaluate(cascade, th)
    mdl.tabulate = False
    p0, c0 = mdl.evaluate(cascade, th)
    assert np.all(np.isfinite(p1)) and np.all(np.isfinite(c1))
    assert np.max(np.abs(p1 - p0)) < 1e-6
    assert np.max(np.abs(c1 - c0) / c0) < 1e-10
    # a scalar row returns floats, as before
    assert isinstance(mdl.evaluate(cascade, th[20]), tuple) and isinstance(mdl.evaluate(cascade, th[20])[0], float)


def test_tabulated_path_cold_cache_and_a_grid():
    mdl = _model_with_point_masses()
    th = np.array([[0.5, 0.6, 0.7, 0.8]])
    p_fine = mdl.evaluate(range(5), th)[0]
    mdl.a_grid = 17
    mdl.clear_cache()
    p_coarse = mdl.evaluate(range(5), th)[0]
    assert p_coarse != p_fine and abs(p_coarse - p_fine) < 1e-3  # the table is rebuilt at the new size
    with pytest.raises(ValueError, match="a_grid"):
        M.CascadeModel(mdl.marginals, mdl.theta, REF_COSTS, a_grid=4)


def test_compare_cascade_with_exact_chain_and_summary():
    import pandas as pd

    from capfront_lib.markov_copula_cascades import experiments as X
    from capfront_lib.markov_copula_cascades.chain import ChainEvaluator

    rng = np.random.default_rng(5)
    truth = S.Truth.from_params(REF[:3], S.REFERENCE_THETAS[:2])
    tr = S.simulate(truth, 300, rng)
    te = S.simulate(truth, 3000, rng)
    mdl = M.fit_cascade_model(tr.phi, tr.cost.mean(axis=0))
    sweep = dict(max_steps=10)
    rows = []
    for cas in ([0, 1], [0, 1, 2]):
        row, curves = X.compare_cascade(cas, mdl, tr.phi, tr.y, tr.cost, te.phi, te.y, te.cost, rng, sweep,
                                        chain=ChainEvaluator(mdl, 100))
        assert {"RT", "RT-exact", "GS-soft", "GS-hard"} <= set(curves)
        a_x, a_g = T.auc_pair(*curves["RT-exact"], *curves["GS-soft"])
        assert row["pctx_GS-soft"] == pytest.approx(100 * (a_x - a_g) / a_g)
        # each RT variant keeps the baseline AUC of its own common cost range
        a_r, a_gr = T.auc_pair(*curves["RT"], *curves["GS-soft"])
        assert (row["auc_RT_vs_GS-soft"], row["auc_GS-soft"]) == pytest.approx((a_r, a_gr))
        assert (row["auc_RTx_vs_GS-soft"], row["auc_GS-soft_vs_RTx"]) == pytest.approx((a_x, a_g))
        row["regime"] = "n_train"
        rows.append(row)
    df = pd.DataFrame(rows)
    sx = X.summarize_gains(df, ["GS-soft"], "RT-exact").set_index("k")
    assert sx.loc["all", "mean_pct"] == pytest.approx(df["pctx_GS-soft"].mean())
    assert (sx["method"] == "RT-exact").all()
    # k = 2: Algorithm 1 is exact, so both RT variants tune the same objective
    assert rows[0]["pct_GS-soft"] == pytest.approx(rows[0]["pctx_GS-soft"], abs=0.3)
    with pytest.raises(ValueError, match="method"):
        X.summarize_gains(df, ["GS-soft"], "RT-fast")
