"""Unit tests of capfront_lib.economic_evaluation against independent references.

References: hand-worked examples, closed forms derived here, brute-force loops and dense grids, scipy root
finding, Monte Carlo inside the test. Never numbers printed by the library.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

import capfront_lib.economic_evaluation as ee

LAM_E = np.logspace(-4, 4, 161)
LAM_L_MIN = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 10.0])


# ------------------------------------------------------------------------------------------- constants
def test_table_3c_prices_exact():
    p = ee.load_prices().set_index("model")
    expected = {
        "gpt-4.1-2025-04-14": (2.00, 8.00, "non-reasoning", "OpenAI"),
        "o3-2025-04-16": (2.00, 8.00, "reasoning", "OpenAI"),
        "deepseek-r1-0528": (3.00, 8.00, "reasoning", "Fireworks"),
        "qwen3-235b-a22b": (0.22, 0.88, "reasoning", "Fireworks"),
        "llama-v3p3-70b-instruct": (0.90, 0.90, "non-reasoning", "Fireworks"),
        "llama-v3p1-405b-instruct": (3.00, 3.00, "non-reasoning", "Fireworks"),
    }
    assert set(p.index) == set(expected)
    for m, (pin, pout, cls, prov) in expected.items():
        assert p.loc[m, "price_in_per_mtok"] == pin
        assert p.loc[m, "price_out_per_mtok"] == pout
        assert p.loc[m, "model_class"] == cls
        assert p.loc[m, "provider"] == prov


def test_table_4_1_anchors_exact():
    t = ee.load_model_table()
    expected = {
        "qwen3-235b-a22b": (0.028, 125.9, 9.5e-3, 10800, 14),
        "deepseek-r1-0528": (0.058, 89.7, 7.9e-2, 9800, 29),
        "o3-2025-04-16": (0.038, 67.6, 1.9e-2, 2200, 19),
        "llama-v3p1-405b-instruct": (0.306, 12.4, 3.6e-3, 978, 153),
    }
    for m, (e, lat, cost, tok, k) in expected.items():
        row = t.loc[m]
        assert row["status"] == "published"
        assert (row["error_rate"], row["latency_s"], row["cost_usd"], row["output_tokens"]) == (e, lat, cost, tok)
        assert row["n_errors"] == k == round(500 * e)
    assert set(t.loc[t["status"] == "placeholder", "model"]) == {"gpt-4.1-2025-04-14", "llama-v3p3-70b-instruct"}
    # placeholder cost = 220 in x price_in + tokens x price_out ($/M): GPT-4.1: 220*2 + 1000*8 = 8440 / 1e6
    assert t.loc["gpt-4.1-2025-04-14", "cost_usd"] == pytest.approx(8440e-6, abs=1e-15)
    assert t.loc["llama-v3p3-70b-instruct", "cost_usd"] == pytest.approx((220 * 0.9 + 900 * 0.9) / 1e6, abs=1e-15)


def test_cost_reconciliation_within_5_percent():
    t = ee.load_model_table(include_placeholders=False)
    rec = ee.token_cost(220, t["output_tokens"], t["price_in_per_mtok"], t["price_out_per_mtok"])
    rel = rec / t["cost_usd"] - 1
    assert np.all(np.abs(rel) <= 0.051)
    assert rel.loc["o3-2025-04-16"] == pytest.approx(18040 / 19000 - 1)


def test_placeholders_override_and_validation():
    t = ee.load_model_table({"gpt-4.1-2025-04-14": {"error_rate": 0.1, "output_tokens": 500, "latency_s": 5},
                             "llama-v3p3-70b-instruct": {"error_rate": 0.2, "output_tokens": 400, "latency_s": 4,
                                                         "cost_usd": 0.5}})
    assert t.loc["gpt-4.1-2025-04-14", "error_rate"] == 0.1
    assert t.loc["llama-v3p3-70b-instruct", "cost_usd"] == 0.5
    with pytest.raises(ValueError, match="error_rate"):
        ee.load_model_table({"gpt-4.1-2025-04-14": {"error_rate": 1.5, "output_tokens": 1, "latency_s": 1},
                             "llama-v3p3-70b-instruct": {"error_rate": 0.2, "output_tokens": 1, "latency_s": 1}})
    with pytest.raises(ValueError, match="unknown model"):
        ee.load_model_table({**ee.DEFAULT_PLACEHOLDERS, "foo": {"error_rate": 0.1}})
    assert len(ee.load_model_table(include_placeholders=False)) == 4


def test_per_minute_conversion():
    assert ee.per_minute_to_per_second(6.0) == pytest.approx(0.1)
    np.testing.assert_allclose(ee.per_minute_to_per_second([0, 60, 600]), [0, 1, 10])
    with pytest.raises(ValueError):
        ee.per_minute_to_per_second(-1)


# -------------------------------------------------------------------------------------------- rewards
def test_standalone_reward_hand_example():
    # C = $0.01, L = 30 s at $0.5/min = 1/120 $/s -> $0.25, error at $2 -> total 2.26
    r = ee.standalone_reward(0.01, 30.0, 1, lam_E=2.0, lam_L=0.5 / 60)
    assert abs(r - (-2.26)) < 1e-12
    assert abs(ee.standalone_reward(0.01, 30.0, 0, 2.0, 0.0) - (-0.01)) < 1e-12
    with pytest.raises(ValueError, match="error"):
        ee.standalone_reward(0.01, 1.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="lam_E"):
        ee.standalone_reward(0.01, 1.0, 1, -1.0)


def test_cascade_reward_hand_example():
    costs = np.array([[0.001, 0.01, 0.1], [0.001, 0.01, 0.1]])
    lats = np.array([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]])
    errs = np.array([[1, 1, 0], [0, 1, 1]])
    tau = np.array([2, 0])
    r = ee.cascade_reward(costs, lats, errs, tau, lam_E=5.0, lam_L=0.01)
    # query 0 answered by model 3: C = 0.111, L = 111 s -> 1.11, error 0 -> -1.221
    # query 1 answered by model 1: C = 0.001, L = 1 -> 0.01, error 0 -> -0.011
    assert np.max(np.abs(r - np.array([-1.221, -0.011]))) < 1e-12
    with pytest.raises(ValueError, match="tau"):
        ee.cascade_reward(costs, lats, errs, np.array([3, 0]), 1.0)


def test_router_reward_with_abstention_hand_example():
    costs = np.array([[0.002, 0.02], [0.002, 0.02], [0.002, 0.02]])
    lats = np.array([[2.0, 20.0]] * 3)
    errs = np.array([[1, 0], [1, 0], [0, 1]])
    choice = np.array([1, -1, 0])
    r = ee.router_reward(choice, costs, lats, errs, lam_E=10.0, lam_L=0.001, lam_A=3.0, c0=0.0001, l0=0.5)
    expected = np.array([
        -(0.0001 + 0.02 + 0.001 * 20.5 + 0.0),
        -(0.0001 + 0.001 * 0.5 + 3.0),
        -(0.0001 + 0.002 + 0.001 * 2.5 + 0.0),
    ])
    assert np.max(np.abs(r - expected)) < 1e-12


def test_general_reward_reduces_to_router_and_standalone():
    rng = np.random.default_rng(1)
    n = 50
    c, l = rng.uniform(0, 0.1, n), rng.uniform(0, 60, n)
    e, a = rng.integers(0, 2, n), rng.integers(0, 2, n)
    g = ee.general_reward(c, {"latency": l}, {"error": e, "abstain": a},
                          {"latency": 0.02, "error": 7.0, "abstain": 1.5})
    direct = -(c + 0.02 * l + 7.0 * e + 1.5 * a)
    assert np.max(np.abs(g - direct)) < 1e-12
    with pytest.raises(ValueError, match="no price"):
        ee.general_reward(c, {"latency": l}, {}, {})


def test_medical_price_of_error():
    assert abs(ee.medical_price_of_error() - 1000.0 / 3.0) < 1e-6
    # Bayes by hand: P(M|E) = P(E|M) P(M) / P(E) = (2/3)(1e-5)/(1e-2)
    assert ee.medical_price_of_error(1.0, 0.5, 0.01, 0.1) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="p_suit"):
        ee.medical_price_of_error(p_suit=2.0)


def test_wage_argument():
    # a 5-minute redo costs more than $0.20 once the wage exceeds $2.40/h
    assert ee.wage_price_of_error(2.40) == pytest.approx(0.20)
    assert ee.wage_price_of_error(2.0) < 0.20


# ------------------------------------------------------------------------------------------ crossovers
def _R(c, l, e, lE, lL):
    return -(c + lL * l + lE * e)


def test_pairwise_crossover_equals_numerical_root():
    rng = np.random.default_rng(2)
    for _ in range(50):
        ca, cb = rng.uniform(0.001, 0.1, 2)
        ea, eb = np.sort(rng.uniform(0, 0.5, 2))
        la, lb = rng.uniform(1, 100, 2)
        lL = rng.uniform(0, 0.2)
        x = ee.pairwise_crossover(ca, ea, cb, eb, la, lb, lL)
        f = lambda lam: _R(ca, la, ea, lam, lL) - _R(cb, lb, eb, lam, lL)
        if f(0.0) > 0:
            assert x == 0.0
            continue
        root = brentq(f, 0.0, 1e9, xtol=1e-14, rtol=1e-14)
        assert x == pytest.approx(root, rel=1e-9)


def test_published_anchor_crossovers():
    t = ee.load_model_table(include_placeholders=False)
    q, l4, o3, r1 = (t.loc[m] for m in (ee.QWEN3, ee.LLAMA405, ee.O3, ee.R1))
    assert abs(ee.pairwise_crossover(q.cost_usd, q.error_rate, l4.cost_usd, l4.error_rate) - 0.021223) < 1e-6
    assert ee.pairwise_crossover(o3.cost_usd, o3.error_rate, l4.cost_usd, l4.error_rate) == pytest.approx(0.0154 / 0.268)
    assert ee.pairwise_crossover(r1.cost_usd, r1.error_rate, l4.cost_usd, l4.error_rate) == pytest.approx(0.0754 / 0.248)
    # Qwen3 is cheaper and more accurate than o3 and R1: it beats them at every lam_E when lam_L = 0
    assert ee.pairwise_crossover(q.cost_usd, q.error_rate, o3.cost_usd, o3.error_rate) == 0.0
    assert np.isnan(ee.pairwise_crossover(o3.cost_usd, o3.error_rate, q.cost_usd, q.error_rate))


def test_grid_argmax_switches_within_one_step_of_crossover():
    t = ee.load_model_table(include_placeholders=False)
    R = ee.reward_grid(t, LAM_E, 0.0)[:, :, 0]
    best = t.index.to_numpy()[np.argmax(R, axis=0)]
    first_q = LAM_E[np.argmax(best == ee.QWEN3)]
    x = (0.0095 - 0.0036) / (0.306 - 0.028)  # Qwen3 overtakes Llama3.1 405B
    i = np.searchsorted(LAM_E, x)
    assert LAM_E[i - 1] < x <= first_q <= LAM_E[i]


def test_r1_never_optimal_and_dominated_by_o3():
    t = ee.load_model_table()
    lam_E = np.logspace(-4, 4, 161)
    lam_L = ee.per_minute_to_per_second(np.linspace(0, 10, 41))
    idx = np.argmax(ee.reward_grid(t, lam_E, lam_L), axis=0)
    assert ee.R1 not in set(t.index.to_numpy()[idx.ravel()])
    F = t[["error_rate", "cost_usd", "latency_s"]].to_numpy()
    assert ee.dominates(F[list(t.index).index(ee.O3)], F[list(t.index).index(ee.R1)])


def test_o3_qwen3_boundary_formula():
    t = ee.load_model_table()
    rng = np.random.default_rng(3)
    lE = 10 ** rng.uniform(-4, 4, 400)
    lL = rng.uniform(0, 10, 400) / 60
    R = ee.reward_grid(t, lE, lL)  # (m, E, L)
    io3, iq = list(t.index).index(ee.O3), list(t.index).index(ee.QWEN3)
    diff = R[io3] - R[iq]
    formula = lL[None, :] * 58.3 - (0.0095 + 0.010 * lE[:, None])
    np.testing.assert_allclose(diff, formula, rtol=1e-9, atol=1e-12)
    # boundary at lam_E = 100: lam_L = (0.0095 + 1.0) / 58.3 $/s = 1.039 $/min
    assert (0.0095 + 0.010 * 100) / 58.3 * 60 == pytest.approx(1.0396, abs=1e-3)


def test_category_crossover_closed_form():
    t = ee.load_model_table()
    r, nr = t[t.model_class == "reasoning"], t[t.model_class == "non-reasoning"]
    lL = 0.01
    f = lambda lam: (_R(r.cost_usd, r.latency_s, r.error_rate, lam, lL).mean()
                     - _R(nr.cost_usd, nr.latency_s, nr.error_rate, lam, lL).mean())
    root = brentq(f, 0.0, 1e6, xtol=1e-14, rtol=1e-14)
    assert ee.category_crossover(t, lL) == pytest.approx(root, rel=1e-9)
    assert ee.category_crossover(t, 0.0) == pytest.approx(0.1623, abs=5e-4)  # spec's ~$0.16 with placeholders


def test_optimal_intervals_match_dense_grid():
    rng = np.random.default_rng(4)
    for _ in range(20):
        k = rng.integers(2, 9)
        c, e = rng.uniform(0, 1, k), rng.uniform(0, 1, k)
        iv = ee.optimal_intervals(c, e)
        lam = np.logspace(-4, 4, 4001)
        dense = np.argmin(c[:, None] + lam[None, :] * e[:, None], axis=0)
        for j, l in enumerate(lam):
            m = [mm for mm, lo, hi in iv if lo <= l < hi]
            if any(np.isclose(l, [lo for _, lo, _ in iv[1:]], rtol=1e-9)):
                continue
            assert m == [dense[j]]
        # intervals are contiguous and cover [0, inf)
        assert iv[0][1] == 0.0 and iv[-1][2] == np.inf
        assert all(iv[i][2] == iv[i + 1][1] for i in range(len(iv) - 1))


def test_first_lambda_where_reasoning_published_four():
    t = ee.load_model_table(include_placeholders=False)
    assert ee.first_lambda_where(t, "model_class", "reasoning") == pytest.approx(0.0059 / 0.278, rel=1e-12)


# ------------------------------------------------------------------------------- comparative statics
def test_comparative_statics_standalone():
    t = ee.load_model_table()
    lE = np.logspace(-4, 4, 161)
    lL = ee.per_minute_to_per_second(np.linspace(0, 10, 51))
    R = ee.reward_grid(t, lE, lL)
    idx = np.argmax(R, axis=0)
    err = t["error_rate"].to_numpy()[idx]
    lat = t["latency_s"].to_numpy()[idx]
    assert np.all(np.diff(err, axis=0) <= 1e-15)  # error of theta* non-increasing in lam_E
    assert np.all(np.diff(lat, axis=1) <= 1e-12)  # latency non-increasing in lam_L
    V = R.max(axis=0)
    assert np.all(np.diff(V, axis=0) <= 1e-15) and np.all(np.diff(V, axis=1) <= 1e-15)
    # convexity on linear grids
    linE = np.linspace(0, 50, 201)
    Vl = ee.reward_grid(t, linE, 0.0).max(axis=0)[:, 0]
    assert np.all(np.diff(Vl, 2) >= -1e-12)
    VlL = ee.reward_grid(t, 10.0, np.linspace(0, 0.2, 201)).max(axis=0)[0]
    assert np.all(np.diff(VlL, 2) >= -1e-12)


def test_envelope_derivative_equals_minus_error():
    t = ee.load_model_table()
    iv = ee.optimal_intervals(t.cost_usd.to_numpy(), t.error_rate.to_numpy(), t.latency_s.to_numpy(), 0.005)
    for m, lo, hi in iv:
        mid = (lo + min(hi, lo + 10)) / 2 if np.isfinite(hi) else lo + 5
        h = 1e-6 * max(mid, 1e-3)
        Vp = ee.reward_grid(t, mid + h, 0.005).max()
        Vm = ee.reward_grid(t, mid - h, 0.005).max()
        assert (Vp - Vm) / (2 * h) == pytest.approx(-t.error_rate.iloc[m], rel=1e-6)


def test_uncertain_prices():
    t = ee.load_model_table()
    rng = np.random.default_rng(5)
    lE = 10 ** rng.uniform(-2, 3, 2000)
    args = (t.cost_usd.to_numpy(), t.latency_s.to_numpy(), t.error_rate.to_numpy())
    after = ee.expected_value_uncertain_prices(*args, lE, choose="after")
    before = ee.expected_value_uncertain_prices(*args, lE, choose="before")
    loop = np.mean([max(-(c + x * e) for c, e in zip(args[0], args[2])) for x in lE])
    assert after == pytest.approx(loop, rel=1e-12)
    assert before == pytest.approx(max(-(c + lE.mean() * e) for c, e in zip(args[0], args[2])), rel=1e-12)
    assert after >= before


# ------------------------------------------------------------------------------------------------ Pareto
def test_pareto_mask_bruteforce():
    rng = np.random.default_rng(6)
    F = np.round(rng.uniform(0, 1, (40, 3)), 1)  # ties on purpose
    mask = ee.pareto_mask(F)
    for j in range(len(F)):
        dominated = any(np.all(F[i] <= F[j]) and np.any(F[i] < F[j]) for i in range(len(F)))
        assert mask[j] == (not dominated)


def test_sweep_selects_only_pareto_points_and_hull_vertices():
    rng = np.random.default_rng(7)
    for _ in range(20):
        cost, err = rng.uniform(0, 1, 12), rng.uniform(0, 1, 12)
        lam = np.logspace(-6, 6, 20001)
        sel = set(np.unique(np.argmin(cost[:, None] + lam[None, :] * err[:, None], axis=0)))
        pm = ee.pareto_mask(np.c_[cost, err])
        assert all(pm[i] for i in sel)
        assert sel == set(ee.lower_convex_hull(cost, err).tolist())
        W = np.c_[np.ones_like(lam), lam]
        assert set(ee.selected_by_sweep(np.c_[cost, err], W).tolist()) == sel


def test_nonconvex_pareto_point_never_selected():
    # three Pareto-optimal models; the middle one lies above the segment joining the others
    cost, err = np.array([0.0, 0.6, 1.0]), np.array([1.0, 0.6, 0.0])
    assert ee.pareto_mask(np.c_[cost, err]).all()
    assert ee.lower_convex_hull(cost, err).tolist() == [0, 2]


def test_theorem4_proved_direction():
    rng = np.random.default_rng(8)
    for _ in range(50):
        P1 = rng.uniform(0, 1, (5, 2))
        P2 = P1 + rng.uniform(0, 0.3, (5, 2))  # system 2 is worse everywhere -> R1 >= R2 for all prices
        lam = np.logspace(-3, 3, 61)
        R1 = -(P1[:, :1] + lam[None] * P1[:, 1:]).min(axis=0)
        R2 = -(P2[:, :1] + lam[None] * P2[:, 1:]).min(axis=0)
        assert np.all(R1 >= R2)
        assert not ee.any_point_dominates(P2[ee.pareto_mask(P2)], P1[ee.pareto_mask(P1)])
    assert ee.any_point_dominates([[0, 0]], [[1, 1]]) and not ee.any_point_dominates([[1, 1]], [[1, 1]])


# ------------------------------------------------------------------------------------------ cascades
def _random_cascade(n, rng, rho=0.7):
    z = rng.standard_normal(n)
    es = (z + rng.standard_normal(n) > 0.8).astype(float)
    eb = (z + rng.standard_normal(n) > 2.0).astype(float)
    p = 1 / (1 + np.exp(-(rho * (-z) + rng.standard_normal(n))))
    return ee.CascadeData(p=np.round(p, 2), err_small=es, err_big=eb, cost_small=rng.uniform(0, 0.01, n),
                          cost_big=rng.uniform(0.005, 0.05, n), lat_small=rng.uniform(1, 20, n),
                          lat_big=rng.uniform(20, 200, n))


def test_theorem5_identity_random_binary_vectors():
    rng = np.random.default_rng(9)
    for _ in range(200):
        n = rng.integers(1, 60)
        d, es, eb = (rng.integers(0, 2, n) for _ in range(3))
        dec = ee.cascade_error_decomposition(d, es, eb)
        assert abs(dec["residual"]) < 1e-12
        direct = np.mean(np.where(d == 1, eb, es))
        assert abs(dec["e_cascade"] - direct) < 1e-12
        assert abs(dec["cer"] - np.cov(d, es, bias=True)[0, 1] if n > 1 else 0) < 1e-12


def test_theorem5_identity_and_oracle_bound_on_simulated_data():
    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 500, 0, levels=(5,), models=[ee.LLAMA405, ee.QWEN3])
    cd = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
    for q in np.linspace(0, 1, 41):
        out = ee.cascade_outcomes(cd, np.quantile(cd.p, q))
        dec = ee.cascade_error_decomposition(out["defer"], cd.err_small, cd.err_big)
        assert abs(dec["residual"]) < 1e-12
        assert dec["cer"] <= ee.cer_oracle_bound(dec["deferral_rate"], dec["e_small"]) + 1e-12
        # exact consequence: e_casc - e_big = E[(1-D)(E_s - E_b)]
        assert dec["e_cascade"] - dec["e_big"] == pytest.approx(
            np.mean((1 - out["defer"]) * (cd.err_small - cd.err_big)), abs=1e-12)


def test_oracle_bound_is_attained_by_deferring_errors_first():
    rng = np.random.default_rng(10)
    es = (rng.uniform(size=300) < 0.3).astype(float)
    for k in (0, 30, 90, 150, 299, 300):
        order = np.argsort(-es, kind="stable")
        d = np.zeros(300)
        d[order[:k]] = 1
        cer = ee.cascade_error_reduction(d, es)
        assert cer == pytest.approx(float(ee.cer_oracle_bound(k / 300, es.mean())), abs=1e-12)


def test_random_deferral_cer_near_zero():
    rng = np.random.default_rng(11)
    n = 5000
    es = (rng.uniform(size=n) < 0.3).astype(float)
    for q in (0.1, 0.5, 0.9):
        d = (rng.uniform(size=n) < q).astype(float)
        assert abs(ee.cascade_error_reduction(d, es)) < 4 / np.sqrt(n)


def test_candidate_thresholds_hand_example():
    levels, thr = ee.candidate_thresholds(np.array([0.0, 0.25, 0.5, 0.75, 1.0]))
    assert len(levels) == 41 and levels[1] == pytest.approx(0.025)
    np.testing.assert_allclose(thr, levels)  # linear interpolation of an evenly spaced sample
    with pytest.raises(ValueError, match="threshold_quantile_step"):
        ee.candidate_thresholds([0.1, 0.2], step=0.3)


def _naive_mean_reward(cd, t, lE, lL):
    out = ee.cascade_outcomes(cd, t)
    return float(np.mean(-(out["cost"] + lL * out["latency"] + lE * out["error"])))


def test_reward_curves_match_naive_loop():
    rng = np.random.default_rng(12)
    cd = _random_cascade(200, rng)
    thr = np.array([-1.0, 0.1, 0.3, 0.3, 0.55, 2.0])
    lE, lL = np.array([0.0, 0.3, 50.0]), np.array([0.0, 0.01])
    cur = ee.reward_curves(cd, thr, lE, lL)
    for i, t in enumerate(thr):
        for a, x in enumerate(lE):
            for b, y in enumerate(lL):
                assert cur["R"][i, a, b] == pytest.approx(_naive_mean_reward(cd, t, x, y), rel=1e-12, abs=1e-15)
        assert cur["deferral_rate"][i] == pytest.approx(np.mean(cd.p < t))


def test_threshold_selection_bruteforce_and_test_rewards():
    rng = np.random.default_rng(13)
    cd = _random_cascade(400, rng)
    tr, te = ee.split_indices(cd.n, 0.5, np.random.default_rng(0))
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == cd.n
    train, test = cd.subset(tr), cd.subset(te)
    lE = np.array([0.001, 0.05, 1.0, 100.0])
    lL = np.array([0.0, 0.5 / 60])
    res = ee.evaluate_cascade(train, test, lE, lL)
    cands = np.quantile(train.p, np.linspace(0, 1, 41))
    for a, x in enumerate(lE):
        for b, y in enumerate(lL):
            t = res["threshold"][a, b]
            assert np.any(np.isclose(t, cands, rtol=0, atol=0))
            brute = max(_naive_mean_reward(train, c, x, y) for c in cands)
            assert res["train_reward"][a, b] == pytest.approx(brute, rel=1e-12)
            assert _naive_mean_reward(train, t, x, y) == pytest.approx(brute, rel=1e-12)
            assert res["test_reward"][a, b] == pytest.approx(_naive_mean_reward(test, t, x, y), rel=1e-9)
            big = np.mean(-(test.cost_big + y * test.lat_big + x * test.err_big))
            assert res["big_test_reward"][a, b] == pytest.approx(big, rel=1e-12)


def test_threshold_ties_pick_lower_deferral():
    # all queries identical in outcome -> every threshold gives the same reward when the big model is free
    n = 10
    cd = ee.CascadeData(p=np.linspace(0, 1, n), err_small=np.zeros(n), err_big=np.zeros(n), cost_small=np.ones(n),
                        cost_big=np.zeros(n), lat_small=np.ones(n), lat_big=np.zeros(n))
    sel = ee.select_threshold(cd, [1.0], [0.0])
    assert sel["level"][0, 0] == 0.0  # q = 0 -> never defer


def test_critical_lambda_hand_example():
    lam = np.array([1, 2, 3, 4, 5.0])
    assert ee.critical_lambda(lam, [0, 1, 0, 1, 1], [1, 0, 1, 0, 0]) == 4.0
    assert ee.critical_lambda(lam, [1] * 5, [0] * 5) == 1.0
    assert ee.critical_lambda(lam, [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]) == np.inf


def test_cascade_data_validation():
    with pytest.raises(ValueError, match="err_small"):
        ee.CascadeData(p=[0.1], err_small=[2], err_big=[0], cost_small=[0], cost_big=[0], lat_small=[0], lat_big=[0])
    with pytest.raises(ValueError, match="cost_big"):
        ee.CascadeData(p=[0.1], err_small=[0], err_big=[0], cost_small=[0], cost_big=[-1], lat_small=[0], lat_big=[0])


# ------------------------------------------------------------------------------------------ simulator
def test_simulation_calibration_level5():
    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 500, 123)
    assert list(log.columns) == list(ee.LOG_COLUMNS)
    l5 = log[log.level == 5]
    counts = l5.groupby("model")["error"].sum()
    assert counts.loc[ee.QWEN3] == 14 and counts.loc[ee.R1] == 29
    assert counts.loc[ee.O3] == 19 and counts.loc[ee.LLAMA405] == 153
    means = l5.groupby("model")[["latency_s", "n_out", "cost_usd"]].mean()
    for m in ee.REASONING + (ee.LLAMA405,):
        assert means.loc[m, "latency_s"] == pytest.approx(t.loc[m, "latency_s"], rel=0.01)
        assert means.loc[m, "n_out"] == pytest.approx(t.loc[m, "output_tokens"], rel=0.01)
        assert means.loc[m, "cost_usd"] == pytest.approx(t.loc[m, "cost_usd"], rel=0.08)
    # independent cost recomputation from tokens and Table 3C prices
    pr = ee.load_prices().set_index("model")
    c = (l5.n_in * pr.loc[l5.model, "price_in_per_mtok"].to_numpy()
         + l5.n_out * pr.loc[l5.model, "price_out_per_mtok"].to_numpy()) / 1e6
    np.testing.assert_allclose(l5.cost_usd, c, rtol=1e-12)
    assert l5.loc[l5.model.isin(ee.REASONING), "p_true"].isna().all()
    assert l5.loc[~l5.model.isin(ee.REASONING), "p_true"].between(0, 1).all()
    assert (log.groupby(["level", "model"]).size() == 500).all()


def test_simulation_reproducible_and_seed_sensitive():
    t = ee.load_model_table()
    a = ee.simulate_outcomes(t, 50, 7)
    b = ee.simulate_outcomes(t, 50, np.random.default_rng(7))
    c = ee.simulate_outcomes(t, 50, 8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.latency_s, c.latency_s)


def test_token_growth_calibration():
    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 2000, 1)
    m = log.groupby(["model", "level"])["n_out"].mean().unstack()
    growth = m[5] / m[1]
    assert growth.max() / growth.min() <= 1.10
    base = m[1]
    assert base[list(ee.REASONING)].min() >= 2 * base[list(ee.NON_REASONING)].max()


def test_simulator_bad_input():
    t = ee.load_model_table()
    with pytest.raises(ValueError, match="n_per_level"):
        ee.simulate_outcomes(t, -3, 0)
    with pytest.raises(ValueError, match="unknown simulator parameters"):
        ee.simulate_outcomes(t, 10, 0, params={"nope": 1})
    with pytest.raises(ValueError, match="difficulty_loading"):
        ee.simulate_outcomes(t, 10, 0, params={"difficulty_loading": 1.5})


def test_mechanism_verification_quality_raises_cer_and_cascade_reward():
    t = ee.load_model_table()
    lE = np.logspace(-4, 4, 81)
    lL = ee.per_minute_to_per_second(LAM_L_MIN)
    out = {}
    for rho in (0.9, 0.5):
        log = ee.simulate_outcomes(t, 20_000, 42, levels=(5,), models=[ee.LLAMA405, ee.QWEN3],
                                   params={"verification_quality": {ee.LLAMA405: rho}})
        cd = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
        q = np.linspace(0.1, 0.9, 17)
        cer = [ee.cascade_error_reduction(ee.deferral(cd.p, np.quantile(cd.p, x)), cd.err_small) for x in q]
        tr, te = ee.split_indices(cd.n, 0.5, np.random.default_rng(0))
        res = ee.evaluate_cascade(cd.subset(tr), cd.subset(te), lE, lL)
        out[rho] = (np.array(cer), res)
    assert np.all(out[0.9][0] > out[0.5][0])
    R9, R5 = out[0.9][1]["test_reward"], out[0.5][1]["test_reward"]
    assert np.all(R9 >= R5 - 1e-3 * np.abs(R5))
    for j in range(len(lL)):
        c9 = ee.critical_lambda(lE, out[0.9][1]["big_test_reward"][:, j], R9[:, j])
        c5 = ee.critical_lambda(lE, out[0.5][1]["big_test_reward"][:, j], R5[:, j])
        assert c9 >= c5


def test_summarize_log_means_and_validation():
    df = pd.DataFrame({"model": ["a", "a", "b", "b"], "correct": [1, 0, 1, 1], "cost_usd": [1.0, 3.0, 0.5, 0.5],
                       "latency_s": [2.0, 4.0, 1.0, 3.0]})
    s = ee.summarize_log(df)
    assert s.loc["a", "error_rate"] == 0.5 and s.loc["a", "cost_usd"] == 2.0 and s.loc["b", "latency_s"] == 2.0
    with pytest.raises(ValueError, match="missing required columns"):
        ee.summarize_log(df.drop(columns="cost_usd"))
    with pytest.raises(ValueError, match="0/1"):
        ee.summarize_log(df.assign(correct=[1, 2, 0, 1]))
    with pytest.raises(ValueError, match="cost_usd"):
        ee.summarize_log(df.assign(cost_usd=[-1.0, 1, 1, 1]))


# ------------------------------------------------------------------------------ analysis helpers
def test_crossover_matrix_and_critical_class():
    t = ee.load_model_table(include_placeholders=False)
    M = ee.crossover_matrix(t, 0.0)
    assert M.loc[ee.QWEN3, ee.LLAMA405] == pytest.approx(0.0059 / 0.278)
    assert np.isnan(M.loc[ee.LLAMA405, ee.QWEN3])
    lam = np.array([1.0, 2, 3, 4])
    assert ee.critical_lambda_class(lam, np.array(["n", "reasoning", "n", "reasoning"])) == 4.0
    assert ee.critical_lambda_class(lam, np.array(["reasoning"] * 4)) == 1.0
    assert ee.critical_lambda_class(lam, np.array(["reasoning", "n", "n", "n"])) == np.inf


def test_random_deferral_cer_is_centered():
    rng = np.random.default_rng(14)
    es = (rng.uniform(size=400) < 0.3).astype(float)
    rc = ee.random_deferral_cer(es, [0.0, 0.2, 0.5, 1.0], 0, n_draws=4000)
    sd = np.sqrt(0.3 * 0.7 * 0.25 / 400)  # rough sd of one draw's CER at p_d = 0.5
    assert abs(rc[0]) < 1e-15 and abs(rc[-1]) < 1e-15
    assert np.all(np.abs(rc[1:3]) < 4 * sd / np.sqrt(4000) + 1e-12)


def test_cascade_analysis_split_and_curves():
    rng = np.random.default_rng(15)
    cd = _random_cascade(300, rng)
    a = ee.cascade_analysis(cd, np.logspace(-3, 3, 13), [0.0, 1.0], rng=1, n_split_repeats=3)
    assert len(np.intersect1d(a["train_idx"], a["test_idx"])) == 0
    assert len(a["train_idx"]) + len(a["test_idx"]) == 300
    assert a["critical_all_splits"].shape == (3, 2)
    assert np.all(np.abs(a["decomposition"].residual) < 1e-12)
    assert np.all(a["decomposition"].cer <= a["decomposition"].oracle_bound + 1e-12)
    # cost curve = mean small cost + mean of big cost over deferred queries, recomputed naively
    for _, row in a["curves"].iloc[::8].iterrows():
        D = cd.p < row.threshold
        assert row.cost == pytest.approx(np.mean(cd.cost_small + D * cd.cost_big), rel=1e-12)


def test_cascade_training_value_convex_in_prices():
    rng = np.random.default_rng(16)
    cd = _random_cascade(250, rng)
    lE = np.linspace(0, 5, 101)
    lL = np.linspace(0, 0.05, 101)
    sel_E = ee.select_threshold(cd, lE, [0.01])["train_reward"][:, 0]
    sel_L = ee.select_threshold(cd, [1.0], lL)["train_reward"][0]
    for v in (sel_E, sel_L):
        assert np.all(np.diff(v) <= 1e-12)
        assert np.all(np.diff(v, 2) >= -1e-12)
    # error of the chosen threshold on the training data is non-increasing in lam_E
    res = ee.select_threshold(cd, lE, [0.01])
    errs = [np.mean(ee.cascade_outcomes(cd, t)["error"]) for t in res["threshold"][:, 0]]
    assert np.all(np.diff(errs) <= 1e-12)


def test_level_means_and_evallog_frame(tmp_path):
    from capfront_lib.core import load_log

    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 30, 3, levels=(5,), models=[ee.LLAMA405, ee.QWEN3])
    lm = ee.level_means(log, 5)
    assert lm.loc[ee.QWEN3, "error_rate"] == pytest.approx(log[log.model == ee.QWEN3].error.mean())
    path = tmp_path / "log.csv"
    log.rename(columns={"p_true": "confidence"})[["query_id", "model", "correct", "cost_usd", "latency_s",
                                                   "confidence"]].to_csv(path, index=False)
    frame, notes = ee.frame_from_evallog(load_log(path, form="long", missing="keep_partial"))
    assert notes == []
    assert set(frame.columns) >= {"query_id", "model", "correct", "error", "cost_usd", "latency_s", "p_true"}
    cd = ee.cascade_data_from_log(frame, ee.LLAMA405, ee.QWEN3)
    assert cd.n == 30
    direct = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
    np.testing.assert_allclose(np.sort(cd.p), np.sort(direct.p))
    # a log without cost, latency and confidence: NaN / 0 s and one sentence per missing column, nothing raised
    thin = tmp_path / "thin.csv"
    log[["query_id", "model", "correct"]].to_csv(thin, index=False)
    frame, notes = ee.frame_from_evallog(load_log(thin, form="long"))
    assert frame.cost_usd.isna().all() and (frame.latency_s == 0).all() and frame.p_true.isna().all()
    assert len(notes) == 3 and any("cost_usd" in n for n in notes) and any("confidence" in n for n in notes)
    # graded scores are refused with the log named
    graded = tmp_path / "graded.csv"
    log[["query_id", "model"]].assign(correct=0.5).to_csv(graded, index=False)
    with pytest.raises(ValueError, match="graded.csv.*0/1"):
        ee.frame_from_evallog(load_log(graded, form="long", require_binary=False))


def test_verification_cost_added_and_token_cap():
    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 200, 4, levels=(5,), models=[ee.LLAMA405, ee.QWEN3, ee.LLAMA70],
                               params={"token_cap": {ee.LLAMA70: 1000}})
    a = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
    b = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3, include_verification_cost=True)
    s = log[(log.model == ee.LLAMA405)].set_index("query_id").sort_index()
    extra = ((s.n_in + s.n_out) * 3.0 + 1 * 3.0) / 1e6
    np.testing.assert_allclose(np.sort(b.cost_small - a.cost_small), np.sort(extra.to_numpy()), rtol=1e-12)
    l70 = log[log.model == ee.LLAMA70]
    assert l70.n_out.max() <= 1000
    assert (l70.loc[l70.truncated, "error"] == 1).all() and l70.truncated.any()


def test_explorer_draws_and_panel_builds():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from capfront_lib.economic_evaluation.panel import draw_explorer, make_panel

    t = ee.load_model_table()
    log = ee.simulate_outcomes(t, 100, 5, levels=(5,), models=[ee.LLAMA405, ee.QWEN3])
    cd = ee.cascade_data_from_log(log, ee.LLAMA405, ee.QWEN3)
    tr, te = ee.split_indices(cd.n, 0.5, np.random.default_rng(0))
    cas = {"Llama3.1 405B": (cd.subset(tr), cd.subset(te))}
    fig = plt.figure()
    info = draw_explorer(fig, t, cas, lam_E=100.0, lam_L_per_min=0.0, lam_A=1.0, small="Llama3.1 405B")
    assert info["optimal"] == "abstain"  # every model's expected loss exceeds $1 at lam_E = $100
    info = draw_explorer(fig, t, cas, lam_E=100.0, lam_L_per_min=0.0, lam_A=1000.0, small="Llama3.1 405B")
    assert info["optimal"] == ee.QWEN3
    plt.close(fig)
    panel = make_panel(t, cas)
    assert len(panel.children) == 3


def test_gsm8k_real_cascade(shared_data):
    from capfront_lib.economic_evaluation.realdata import gsm8k_cascade_data

    cd, info = gsm8k_cascade_data(shared_data)
    raw = pd.read_csv(shared_data / "ZeroEval" / "gsm8k_correct.csv", dtype={"id": str}).set_index("id")
    both = raw[[info["small"], info["big"]]].dropna()
    assert info["n_items"] == len(both)
    assert info["acc_small"] == pytest.approx(both[info["small"]].mean())
    for q in np.linspace(0.05, 0.95, 19):
        D = ee.deferral(cd.p, np.quantile(cd.p, q))
        dec = ee.cascade_error_decomposition(D, cd.err_small, cd.err_big)
        assert abs(dec["residual"]) < 1e-12
        assert dec["cer"] <= ee.cer_oracle_bound(dec["deferral_rate"], dec["e_small"]) + 1e-12


def test_with_abstention_option():
    t = ee.load_model_table()
    ext = ee.with_abstention(t, 5.0)
    R = ee.reward_grid(ext, [0.01, 1e4], [0.0, 0.1])
    np.testing.assert_allclose(R[-1], -5.0)
    best = ext.index.to_numpy()[ee.optimal_choice(R)]
    assert best[1, 0] == "abstain" and best[0, 0] != "abstain"
    # abstention starts exactly where the best model's expected loss reaches lam_A (lam_L = 0)
    x = ee.first_lambda_where(ext, "model_class", "abstain", 0.0)
    assert x == pytest.approx((5.0 - 0.0095) / 0.028, rel=1e-12)


def test_switch_interval_decides_only_refutations():
    """A lower bound on the six-model switch price refutes "switch <= x" when it exceeds x and decides nothing
    otherwise (hand-worked: bounds 0.02 and 0.005 against the abstract's $0.01 read as <= $0.015)."""
    from capfront_lib.core.claims import decide, parse_entry
    from capfront_lib.economic_evaluation import published as pub

    spec = parse_entry({"id": "x", "location": ["Abstract"], "claim": "c", "paper_value": "$0.01", "rule": "bound",
                        "expect": "<=", "target": 0.01, "tolerance": 0.005, "tolerance_why": "t",
                        "method": "transcription"})
    assert pub.switch_interval(0.02) == (0.02, pub.THESIS_PRICE_GRID_MAX)
    assert decide(spec, 0.02, pub.switch_interval(0.02)).verdict == "differs"
    assert decide(spec, 0.005, pub.switch_interval(0.005)).verdict == "inconclusive"
    # an assumption that settles the switch below the claim (upper end) reproduces it
    assert decide(spec, 0.005, pub.switch_interval(0.005, 0.012)).verdict == "reproduced"
    # an upper end below the bound collapses to the bound
    assert pub.switch_interval(3.0, 1.0) == (3.0, 3.0)
    with pytest.raises(ValueError):
        pub.switch_interval(float("nan"))
