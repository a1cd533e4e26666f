"""Tests of the exact Markov-chain evaluation (capfront_lib.markov_copula_cascades.chain).

References, each computed independently of the chain's cell-mass recursion: Proposition 2 /
Algorithm 1 (CascadeModel.evaluate) where it is exact (k = 2, independent models), Monte Carlo on the
simulator's Gumbel D-vine, one- and two-dimensional quadratures of the k = 3 / k = 4 terms written
here from the h-function, a finer grid, and a per-query routing loop for the cost standard error.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from capfront_lib.markov_copula_cascades import experiments as X, model as M, simulate as S
from capfront_lib.markov_copula_cascades.chain import ChainEvaluator

MC_N = 400_000
#: |P_chain(400 cells) - P_chain(3200 cells)| <= 2.9e-6 and relative cost <= 1.8e-5 measured at k = 3..5
#: on this test's threshold rows; the allowances below are ~3-7x that.
DISC_P, DISC_C = 2e-5, 5e-5


@pytest.fixture(scope="module")
def truth() -> S.Truth:
    return S.Truth.from_params(S.REFERENCE_MARGINALS, S.REFERENCE_THETAS)


def _chain_model(truth: S.Truth) -> M.CascadeModel:
    """True marginals, true adjacent thetas (the full cascades 0..k-1 only use adjacent pairs)."""
    k = truth.k
    th = np.ones((k, k))
    for i in range(k - 1):
        th[i, i + 1] = th[i + 1, i] = truth.thetas[i]
    return M.CascadeModel(list(truth.marginals), th, truth.mean_costs)


@pytest.fixture(scope="module")
def ref_model(truth) -> M.CascadeModel:
    return _chain_model(truth)


@pytest.fixture(scope="module", params=["numba", "numpy"])
def chain(ref_model, request) -> ChainEvaluator:
    """Both back-ends: the compiled kernel and the vectorised numpy reference face the same checks."""
    return ChainEvaluator(ref_model, backend=request.param)


@pytest.fixture(scope="module")
def mc_phi(truth) -> np.ndarray:
    return S.simulate(truth, MC_N, np.random.default_rng(2024)).phi


def _rows(truth: S.Truth, k: int, m: int, rng: np.random.Generator, lo: float = 0.2, hi: float = 0.8) -> np.ndarray:
    qs = rng.uniform(lo, hi, size=(m, k - 1))
    return np.column_stack([truth.marginals[j].ppf(qs[:, j]) for j in range(k - 1)])


# ---------------------------------------------------------------- 1. k = 2: Algorithm 1 is exact
def test_k2_matches_algorithm1_reference_truth(truth, ref_model, chain):
    for i in range(truth.k - 1):
        m = truth.marginals[i]
        t = np.concatenate([[m.phi_min, m.phi_max, 1.0], m.ppf(np.linspace(0.03, 0.97, 11))])[:, None]
        p, c = chain.evaluate([i, i + 1], t)
        p_a, c_a = ref_model.evaluate([i, i + 1], t)
        np.testing.assert_allclose(p, p_a, rtol=0, atol=2e-5)  # measured <= 2.5e-6
        np.testing.assert_allclose(c, c_a, rtol=1e-6)
    p1, c1 = chain.evaluate([0, 1], [0.5])
    assert isinstance(p1, float) and isinstance(c1, float)
    assert p1 == pytest.approx(float(chain.evaluate([0, 1], [[0.5]])[0][0]), abs=1e-15)


def test_k2_with_point_masses_matches_algorithm1():
    margs = [M.MixedBetaMarginal(0.1, 0.9, 0.12, 0.08, 0.5, 2, 5, 5, 2),
             M.MixedBetaMarginal(0.05, 0.97, 0.05, 0.2, 0.4, 0.7, 3, 6, 0.8),
             M.MixedBetaMarginal(0.2, 0.99, 0.0, 0.3, 0.3, 2, 3, 7, 2)]
    th = np.array([[1, 2.2, 1.5], [2.2, 1, 1.8], [1.5, 1.8, 1]])
    cm = M.CascadeModel(margs, th, np.array([1.0, 3.0, 10.0]))
    ev = ChainEvaluator(cm)
    for cas in ([0, 1], [1, 2], [0, 2], [2, 0]):
        m = margs[cas[0]]
        # phi_min: only the point mass defers (a = w_min); phi_max: everything defers
        t = np.array([m.phi_min, m.phi_min + 1e-3, 0.3, 0.5, 0.7, 0.85, m.phi_max - 1e-3, m.phi_max, 0.0])[:, None]
        p, c = ev.evaluate(cas, t)
        p_a, c_a = cm.evaluate(cas, t)
        np.testing.assert_allclose(p, p_a, rtol=0, atol=2e-5)  # measured <= 2.3e-6
        np.testing.assert_allclose(c, c_a, rtol=1e-6)
        pa, _ = ev.answer_probabilities(cas, t)
        assert pa[0, 0] == pytest.approx(1 - m.w_min, abs=1e-12)
        assert pa[7, 0] == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- 2. independent models
def test_independent_truth_equals_algorithm1():
    ti = S.Truth.from_params(S.REFERENCE_MARGINALS, [1, 1, 1, 1], kind="independent")
    cm = X.true_model(ti, ti.mean_costs)
    ev = ChainEvaluator(cm)
    rng = np.random.default_rng(5)
    for k in (3, 4, 5):
        t = _rows(ti, k, 6, rng, 0.05, 0.95)
        p, c = ev.evaluate(list(range(k)), t)
        p_a, c_a = cm.evaluate(list(range(k)), t)
        np.testing.assert_allclose(p, p_a, rtol=0, atol=5e-6)  # measured <= 6.2e-7 (quadratures of Q)
        np.testing.assert_allclose(c, c_a, rtol=1e-9)


# ---------------------------------------------------------------- 3. Monte Carlo on the Gumbel D-vine
def _mc_cost_se(phi: np.ndarray, costs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Standard error of the Monte Carlo mean cost per threshold row (own routing loop)."""
    k = t.shape[1] + 1
    cum = np.cumsum(costs[:k])
    out = []
    for row in t:
        idx = np.full(phi.shape[0], k - 1)
        for i in range(k - 2, -1, -1):
            idx = np.where(phi[:, i] > row[i], i, idx)
        out.append(cum[idx].std() / np.sqrt(phi.shape[0]))
    return np.asarray(out)


def test_monte_carlo_k3_to_k5_and_algorithm1_bias(truth, ref_model, chain, mc_phi):
    rng = np.random.default_rng(7)
    se_p = np.sqrt(0.25 / MC_N)
    alg1_beyond = []
    for k in (3, 4, 5):
        cas = list(range(k))
        t = _rows(truth, k, 5, rng)
        p, c = chain.evaluate(cas, t)
        p_mc, c_mc = X.monte_carlo_cascade(mc_phi, truth.mean_costs, cas, t)
        se_c = _mc_cost_se(mc_phi, truth.mean_costs, t)
        assert np.all(np.abs(p - p_mc) <= 4 * se_p + DISC_P), (k, p - p_mc)
        assert np.all(np.abs(c - c_mc) <= 4 * se_c + DISC_C * c_mc), (k, c / c_mc - 1)
        assert np.all(np.abs(c / c_mc - 1) < 0.01)
        p_a, c_a = ref_model.evaluate(cas, t)
        # Algorithm 1's event-Markov bias is outside the MC band and larger than the chain's error
        beyond = max(np.max(np.abs(p_a - p_mc)) - 4 * se_p, np.max(np.abs(c_a - c_mc) - 4 * se_c))
        alg1_beyond.append(beyond > 0 and np.max(np.abs(p_a - p_mc)) > np.max(np.abs(p - p_mc)))
    assert any(alg1_beyond)


def test_k3_k4_against_h_function_quadrature(truth, chain):
    """Noise-free check: E[Phi_3 1{U1<=a1, U2<=a2}] = int_0^a2 P(U1<=a1|U2=v) E[Phi_3|U2=v] dv and
    P(U1<=a1, U2<=a2, U3<=a3) = int_0^a2 P(U1<=a1|U2=v) P(U3<=a3|U2=v) dv (Markov in the variables)."""
    mg = truth.marginals
    t1, t2 = truth.thetas[:2]
    x, wq = np.polynomial.legendre.leggauss(200)
    m3 = mg[2]
    ph = m3.phi_min + (x + 1) / 2 * (m3.phi_max - m3.phi_min)
    wph = wq / 2 * (m3.phi_max - m3.phi_min)
    f3 = m3.cdf(ph)

    def mean3(v: float) -> float:  # E[Phi_3 | U_2 = v] = phi_max - int P(Phi_3 <= phi | U_2 = v) dphi
        return m3.phi_max - M.gumbel_h(np.full_like(f3, v), f3, t2) @ wph

    for row in ([0.4, 0.6, 0.5], [0.7, 0.3, 0.8], [0.55, 0.75, 0.35]):
        t = np.array(row)
        a1, a2, a3 = (float(mg[j].cdf(t[j])) for j in range(3))
        pts = [a1] if a1 < a2 else None
        h1 = lambda v: float(M.gumbel_h(np.array(v), np.array(a1), t1))  # noqa: E731 (symmetric copula)
        c3 = integrate.quad(lambda v: h1(v) * mean3(v), 0, a2, points=pts, epsabs=1e-11, limit=200)[0]
        d3 = integrate.quad(lambda v: h1(v) * float(M.gumbel_h(np.array(v), np.array(a3), t2)), 0, a2,
                            points=pts, epsabs=1e-12, limit=200)[0]
        _, pc = chain.answer_probabilities([0, 1, 2], t[None, :2])
        pa4, _ = chain.answer_probabilities([0, 1, 2, 3], t[None, :])
        assert pc[0, 2] == pytest.approx(c3, abs=1e-5)  # measured <= 1.3e-6
        assert pa4[0, 3] == pytest.approx(d3, abs=1e-5)  # measured <= 1.7e-6


# ---------------------------------------------------------------- 4. grid convergence and continuity
def test_grid_convergence(truth, ref_model):
    t = _rows(truth, 5, 5, np.random.default_rng(11))
    p_ref, c_ref = ChainEvaluator(ref_model, 1600).evaluate(range(5), t)
    errs = []
    for n in (100, 200, 400):
        p, c = ChainEvaluator(ref_model, n).evaluate(range(5), t)
        errs.append(max(np.max(np.abs(p - p_ref)), np.max(np.abs(c / c_ref - 1))))
    assert errs[0] > errs[1] > errs[2]  # measured 1.8e-4, 6.0e-5, 1.5e-5 (relative cost dominates)
    assert errs[2] < 5e-5


def test_continuity_and_mass_balance(truth, chain):
    edge = chain.edges[173]  # a_1 exactly on a cell edge, then just below / above it
    t0 = float(truth.marginals[0].ppf(np.array([edge]))[0])
    ts = np.array([[t0 - 1e-9, 0.6, 0.7], [t0, 0.6, 0.7], [t0 + 1e-9, 0.6, 0.7]])
    p, c = chain.evaluate(range(4), ts)
    assert np.ptp(p) < 1e-8 and np.ptp(c) < 1e-6
    t = _rows(truth, 5, 20, np.random.default_rng(3), 0.0, 1.0)
    pa, pc = chain.answer_probabilities(range(5), t)
    np.testing.assert_allclose(pa.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(pa >= 0) and np.all((pc >= 0) & (pc <= pa))


# ---------------------------------------------------------------- 5. input validation
def test_input_validation(ref_model, chain):
    for bad in (5, 0, 10_001, 2.5, "400", True):
        with pytest.raises(ValueError, match="n_cells"):
            ChainEvaluator(ref_model, bad)
    with pytest.raises(ValueError, match="cascade must list >= 2 distinct"):
        chain.evaluate([0], np.zeros((1, 0)))
    with pytest.raises(ValueError, match="cascade must list >= 2 distinct"):
        chain.evaluate([0, 0, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="cascade must list >= 2 distinct"):
        chain.evaluate([0, 7], [0.5])
    with pytest.raises(ValueError, match="thresholds need 2 columns for a cascade of length 3, got 1"):
        chain.evaluate([0, 1, 2], np.full((4, 1), 0.5))
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        chain.evaluate([0, 1], np.zeros((2, 2, 1)))
