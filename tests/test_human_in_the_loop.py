"""Unit tests of capfront_lib.human_in_the_loop against independent references.

References: hand-worked examples, brute-force loops written here, closed forms, scipy / statsmodels, and the
published tables typed into this file from the thesis (ch. 4, Tables 4.1/4.2; App. 3C prices).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib.human_in_the_loop import metrics as M
from capfront_lib.human_in_the_loop import published as P
from capfront_lib.human_in_the_loop import systems as S

QWEN3, R1, O3, LLAMA = "qwen3-235b-a22b", "deepseek-r1-0528", "o3-2025-04-16", "llama-v3p1-405b-instruct"

# ------------------------------------------------------------------------------------------------ constants
TABLE_4_1 = {  # model: (error %, latency s, cost $, output tokens)
    QWEN3: (2.8, 125.9, 9.5e-3, 10800),
    R1: (5.8, 89.7, 7.9e-2, 9800),
    O3: (3.8, 67.6, 1.9e-2, 2200),
    LLAMA: (30.6, 12.4, 3.6e-3, 978),
}
TABLE_4_2 = {  # model: base, then (auarc, delta, dL, dC) for u = .5, .6, .75
    R1: (0.96, [(0.93, -2.8, -26.2, -35.7), (0.91, -5.4, -36.5, -45.8), (0.85, -11.3, -54.8, -64.1)]),
    QWEN3: (0.99, [(0.96, -3.4, -28.4, -2.1), (0.93, -6.2, -37.8, -11.6), (0.86, -12.6, -55.7, -29.7)]),
    O3: (0.96, [(0.94, -2.8, -13.4, -14.8), (0.91, -5.5, -23.2, -24.9), (0.85, -11.4, -47.5, -44.4)]),
}
PRICES = {QWEN3: (0.22, 0.88), R1: (3.00, 8.00), O3: (2.00, 8.00), LLAMA: (3.00, 3.00)}


def test_table_4_1_transcription():
    t = P.load_table_4_1()
    for m, (e, lat, cost, tok) in TABLE_4_1.items():
        assert t.loc[m, "error_rate"] == pytest.approx(e / 100, abs=1e-12)
        assert t.loc[m, "latency_s"] == pytest.approx(lat, abs=1e-12)
        assert t.loc[m, "cost_usd"] == pytest.approx(cost, abs=1e-15)
        assert t.loc[m, "output_tokens"] == pytest.approx(tok, abs=1e-9)
        assert t.loc[m, "role"] == ("M_nr" if m == LLAMA else "M_r")
    assert set(t.index) == set(TABLE_4_1)


def test_table_4_2_transcription():
    t = P.load_table_4_2()
    assert len(t) == 9
    for m, (base, cells) in TABLE_4_2.items():
        for u, cell in zip((0.5, 0.6, 0.75), cells):
            row = t[(t["model"] == m) & np.isclose(t["u"], u)]
            assert len(row) == 1
            got = row[["auarc", "delta_auarc_pct", "delta_latency_pct", "delta_cost_pct"]].to_numpy()[0]
            np.testing.assert_allclose(got, cell, atol=1e-12)
            assert row["base_auarc"].iloc[0] == base


def test_prices_of_table_3c():
    from capfront_lib.economic_evaluation.tables import load_prices

    p = load_prices().set_index("model")
    for m, (cin, cout) in PRICES.items():
        assert (p.loc[m, "price_in_per_mtok"], p.loc[m, "price_out_per_mtok"]) == (cin, cout)


# ------------------------------------------------------------------------------------------------ metrics
# Hand-worked 10-query example. Rejection order by longest trace: ids 1 and 3 tie at 9 tokens (id 1 first),
# then id 8 (8), id 4 (7), id 9 (6), ...
CORRECT = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1], float)
N_OUT = np.array([5, 9, 3, 9, 7, 1, 2, 4, 8, 6], float)
HAND_A = {0.0: 7 / 10, 0.1: 7 / 9, 0.2: 6 / 8, 0.3: 6 / 7, 0.4: 6 / 6}


def test_hand_example_accuracy_rejection():
    rates = np.array(list(HAND_A))
    curve = M.accuracy_rejection_curve(CORRECT, N_OUT, rates)
    np.testing.assert_allclose(curve, list(HAND_A.values()), atol=1e-12)
    assert M.auarc(curve) == pytest.approx(np.mean(list(HAND_A.values())), abs=1e-12)
    # the tie rule matters: reversing the ids rejects id 3 (correct) before id 1 (wrong) at r = 0.1
    rev = M.accuracy_rejection_curve(CORRECT, N_OUT, [0.1], ids=np.arange(10)[::-1])
    assert rev[0] == pytest.approx(6 / 9, abs=1e-12)
    mask = M.reject_top(N_OUT, 3)
    assert set(np.flatnonzero(mask)) == {1, 3, 8}
    assert M.conditional_accuracy(CORRECT, mask) == pytest.approx(6 / 7, abs=1e-12)


def test_rejection_grid_and_counts():
    g = M.rejection_grid(0.2, 0.005)
    assert g.size == 41 and g[0] == 0 and g[-1] == pytest.approx(0.2, abs=1e-12)
    assert M.count(500, 0.075) == 38  # 37.5 rounds half up
    assert M.count(500, 0.2) == 100
    with pytest.raises(ValueError, match="multiple"):
        M.rejection_grid(0.2, 0.03)
    with pytest.raises(ValueError, match="rates"):
        M.count(10, 1.5)


def test_auarc_is_plain_mean_on_grid():
    rng = np.random.default_rng(1)
    c = (rng.random(300) > 0.2).astype(float)
    s = rng.random(300)
    g = M.rejection_grid()
    curve = M.accuracy_rejection_curve(c, s, g)
    # brute force: sort by (-score, id) in plain Python and average over the grid
    order = sorted(range(300), key=lambda i: (-s[i], i))
    vals = []
    for r in g:
        k = math.floor(300 * r + 0.5 + 1e-9)
        keep = order[k:]
        vals.append(sum(c[i] for i in keep) / len(keep))
    np.testing.assert_allclose(curve, vals, atol=1e-12)
    assert M.auarc(curve) == pytest.approx(sum(vals) / 41, abs=1e-12)
    np.testing.assert_allclose(M.accuracy_rejection_curve_naive(c, s, g), vals, atol=1e-12)


def test_ask_references():
    rng = np.random.default_rng(2)
    n, e = 20_000, 0.06
    c = (rng.random(n) > e).astype(float)
    g = M.rejection_grid()
    assert M.accuracy_rejection_curve(c, rng.random(n), [0.0])[0] == pytest.approx(c.mean(), abs=1e-12)
    rand = M.auarc(M.accuracy_rejection_curve(c, rng.random(n), g))
    assert abs(rand - c.mean()) < 0.01
    informative = 1 - c + 0.8 * rng.random(n)  # errors tend to score higher
    tok = M.auarc(M.accuracy_rejection_curve(c, informative, g))
    orc = M.auarc(M.accuracy_rejection_curve(c, 1 - c, g))
    assert orc >= tok > rand
    n_err = int(n - c.sum())
    np.testing.assert_allclose(M.oracle_curve(n, n_err, g), M.accuracy_rejection_curve(c, 1 - c, g), atol=1e-12)


def test_selective_bounds_published_models():
    g = M.rejection_grid()
    b = M.selective_bounds(500, 14, g)
    assert b["random"] == pytest.approx(0.972, abs=1e-12)
    assert b["oracle"] == pytest.approx(0.998, abs=5e-4)
    assert M.selective_bounds(500, 153, g)["random"] == pytest.approx(0.694, abs=1e-12)


def test_local_linear_against_weighted_least_squares_and_statsmodels():
    from statsmodels.nonparametric.kernel_regression import KernelReg

    rng = np.random.default_rng(3)
    x = rng.normal(3.8, 0.3, 400)
    y = (rng.random(400) < 1 / (1 + np.exp(8 * (x - 4.2)))).astype(float)
    grid = np.linspace(3.3, 4.4, 7)
    h = 0.15
    ll = M.local_linear(x, y, grid, h)
    for j, x0 in enumerate(grid):
        w = np.exp(-0.5 * ((x - x0) / h) ** 2)
        coef = np.polyfit(x - x0, y, 1, w=np.sqrt(w))  # weighted LS via sqrt weights
        assert ll["mean"][j] == pytest.approx(coef[1], abs=1e-9)
        assert ll["n_eff"][j] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    kr = KernelReg(y, x, var_type="c", reg_type="ll", bw=[h])
    np.testing.assert_allclose(ll["mean"], kr.fit(grid)[0], atol=1e-8)
    p = np.clip(ll["mean"], 0, 1)
    np.testing.assert_allclose(ll["se"], np.sqrt(p * (1 - p) / ll["n_eff"]), atol=1e-14)


# ------------------------------------------------------------------------------------------------ systems
def _random_pair(n, rng, ties=False):
    n_out = rng.integers(1, 20, n).astype(float) if ties else rng.lognormal(8, 0.7, n)
    p = np.round(rng.random(n), 1) if ties else rng.random(n)
    return S.PairData.build(
        correct_r=(rng.random(n) > 0.1).astype(float), n_out_r=n_out, latency_r=rng.lognormal(4, 0.5, n),
        cost_r=rng.lognormal(-4, 0.5, n), correct_nr=(rng.random(n) > 0.3).astype(float), p_true=p,
        latency_nr=rng.lognormal(2.5, 0.3, n), cost_nr=rng.lognormal(-5.5, 0.3, n),
        query_id=rng.permutation(n) + 1000,
    )


def _brute_ffa(d, u, r):
    """Independent FFA: plain-Python sorting by (p_true, id) and (-n_out, id)."""
    n = d.n
    n_ff = min(math.floor(n * u * r + 0.5 + 1e-9), n - math.floor(n * (1 - u) + 0.5 + 1e-9))
    n_pass = math.floor(n * (1 - u) + 0.5 + 1e-9)
    by_conf = sorted(range(n), key=lambda i: (d.p_true[i], d.query_id[i]))
    ff, pas, resp = by_conf[:n_ff], by_conf[n_ff:n_ff + n_pass], by_conf[n_ff + n_pass:]
    k = math.floor(len(pas) * r + 0.5 + 1e-9)
    rej = set(sorted(pas, key=lambda i: (-d.n_out_r[i], d.query_id[i]))[:k])
    ans_r = [i for i in pas if i not in rej]
    correct = sum(d.correct_r[i] for i in ans_r) + sum(d.correct_nr[i] for i in resp)
    n_ans = len(ans_r) + len(resp)
    lat = [d.latency_nr[i] + (d.latency_r[i] if i in set(pas) else 0) for i in range(n)]
    return {"accuracy": correct / n_ans, "n_ff": len(ff), "n_pass": len(pas), "n_resp": len(resp), "k": k,
            "mean_latency": sum(lat) / n, "rej_rate": 1 - n_ans / n}


@pytest.mark.parametrize("ties", [False, True])
def test_ffa_matches_brute_force(ties):
    rng = np.random.default_rng(4)
    d = _random_pair(157, rng, ties)
    rates = M.rejection_grid()
    for u in (0.0, 0.3, 0.5, 0.6, 0.75, 0.9):
        cur = S.ffa_curve(d, u, rates)
        naive = S.ffa_curve_naive(d, u, rates)
        for key in ("accuracy", "mean_latency", "n_fail_fast", "n_pass", "drag_latency"):
            np.testing.assert_allclose(cur[key], naive[key], rtol=1e-12, atol=1e-12)
        for i, r in enumerate(rates[::8]):
            b = _brute_ffa(d, u, r)
            j = i * 8
            assert cur["accuracy"][j] == pytest.approx(b["accuracy"], abs=1e-12)
            assert cur["mean_latency"][j] == pytest.approx(b["mean_latency"], rel=1e-12)
            assert (cur["n_fail_fast"][j], cur["n_pass"][j], cur["n_rejected_by_r"][j]) == (b["n_ff"], b["n_pass"], b["k"])


def test_ffa_counts_and_thresholds():
    rng = np.random.default_rng(5)
    d = _random_pair(500, rng)
    grid = M.rejection_grid()
    for _ in range(25):
        u = float(rng.choice(np.round(np.arange(0, 0.951, 0.05), 2)))
        r = float(rng.choice(grid))
        out = S.ffa_route(d, u, r)
        n = d.n
        assert out["n_fail_fast"] == math.floor(n * u * r + 0.5 + 1e-9)
        assert out["n_pass"] == math.floor(n * (1 - u) + 0.5 + 1e-9)
        assert out["n_fail_fast"] + out["n_pass"] + out["n_respond"] == n
        assert out["n_rejected_by_r"] == math.floor(out["n_pass"] * r + 0.5 + 1e-9)
        assert abs(out["rejection_rate"] - r) <= 2 / n + 1e-12
        act = out["actions"]
        # eq. (4.1): fail-fast band below pass band below respond band in p_true
        for lo, hi in ((S.FAIL_FAST, S.PASS), (S.PASS, S.RESPOND)):
            if (act == lo).any() and (act == hi).any():
                assert d.p_true[act == lo].max() <= d.p_true[act == hi].min()
        # M_r rejects the longest traces among passed queries
        passed = act == S.PASS
        rej = out["rejected_by_r"]
        if rej.any() and (passed & ~rej).any():
            assert d.n_out_r[rej].min() >= d.n_out_r[passed & ~rej].max()
        # latency / cost identity: mean = mean(L_nr) + (n_pass/n) mean(L_r | pass)
        ident_L = d.latency_nr.mean() + out["n_pass"] / n * d.latency_r[passed].mean()
        ident_C = d.cost_nr.mean() + out["n_pass"] / n * d.cost_r[passed].mean()
        assert out["mean_latency"] == pytest.approx(ident_L, abs=1e-9)
        assert out["mean_cost"] == pytest.approx(ident_C, abs=1e-9)


def test_u0_is_exactly_ask():
    rng = np.random.default_rng(6)
    d = _random_pair(400, rng, ties=True)
    g = M.rejection_grid()
    ffa = S.ffa_curve(d, 0.0, g)
    ask = M.accuracy_rejection_curve(d.correct_r, d.n_out_r, g, ids=d.query_id)
    np.testing.assert_allclose(ffa["accuracy"], ask, atol=1e-15)
    for r in (0.0, 0.075, 0.2):
        a = S.ask_route(d, r)
        f = S.ffa_route(d, 0.0, r)
        assert a["accuracy"] == pytest.approx(f["accuracy"], abs=1e-15)
        assert np.array_equal(a["rejected"], f["rejected_by_r"])
    np.testing.assert_allclose(ffa["drag_latency"], 1.0, atol=1e-12)


def test_eq_4_2_and_implied_drag_inverse():
    # eq. (4.2) by hand: R1 at u = 0.5 -> 12.4 + 0.5 * 89.7 = 57.25 s, i.e. -36.18 %
    assert S.naive_mean(12.4, 89.7, 0.5) == pytest.approx(57.25, abs=1e-12)
    assert S.naive_delta_pct(89.7, 12.4, 0.5) == pytest.approx(100 * (57.25 - 89.7) / 89.7, abs=1e-12)
    for u in (0.3, 0.5, 0.75):
        d = S.naive_delta_pct(100.0, 10.0, u)
        assert S.implied_drag(d, 100.0, 10.0, u) == pytest.approx(1.0, abs=1e-12)
        # a drag of 1.3 gives mean = 10 + (1-u) * 1.3 * 100
        pct = 100 * ((10 + (1 - u) * 130) / 100 - 1)
        assert S.implied_drag(pct, 100.0, 10.0, u) == pytest.approx(1.3, abs=1e-12)
    assert S.relative_delta_pct(0.96, 0.93) == pytest.approx(-3.125, abs=1e-12)


def test_latency_by_confidence_bins_against_pandas():
    rng = np.random.default_rng(7)
    p = rng.random(1000)
    lat = 50 + 30 * (1 - p) + rng.normal(0, 5, 1000)
    got = S.latency_by_confidence(p, lat, 10)
    ref = pd.Series(lat).groupby(pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)).mean().to_numpy()
    np.testing.assert_allclose(got["mean_latency"].to_numpy(), ref, rtol=1e-12)
    assert got["n"].sum() == 1000


def test_accuracy_with_human():
    # 80 correct answers, 20 deferred, human errs on 10 % of them -> (80 + 18) / 110
    assert S.accuracy_with_human(80, 20, 110, 0.1) == pytest.approx(98 / 110, abs=1e-12)
    assert S.accuracy_with_human(80, 20, 110) == pytest.approx(100 / 110, abs=1e-12)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="correct"):
        M.accuracy_rejection_curve([1, 2, 0], [1, 2, 3], [0.1])
    with pytest.raises(ValueError, match="score"):
        M.accuracy_rejection_curve([1, 0, 1], [1, np.nan, 3], [0.1])
    with pytest.raises(ValueError, match="unique"):
        M.rejection_order([1, 2], ids=[5, 5])
    with pytest.raises(ValueError, match="u must"):
        S.ffa_counts(10, 1.2, 0.1)
    with pytest.raises(ValueError, match="p_true"):
        S.PairData.build(correct_r=[1, 0], n_out_r=[1, 2], correct_nr=[1, 1], p_true=[0.5, 1.5])
    with pytest.raises(ValueError, match="latency_r"):
        S.PairData.build(correct_r=[1, 0], n_out_r=[1, 2], correct_nr=[1, 1], p_true=[0.5, 0.5], latency_r=[-1, 2])
    with pytest.raises(ValueError, match="bandwidth"):
        M.local_linear([1, 2], [0, 1], [1.5], 0.0)
    with pytest.raises(ValueError, match="missing columns"):
        S.PairData.from_log(pd.DataFrame({"query_id": [1], "model": ["a"], "correct": [1]}), "a", "b")


# ------------------------------------------------------------------------------------------------ published
def test_published_drag_analysis():
    dt = P.drag_table()
    assert len(dt) == 9
    for col in ("D_L", "D_C"):
        assert ((dt[col] > 1.1) & (dt[col] < 1.6)).all(), dt[col]
    # naive savings (more negative change) exceed the reported ones in all 18 cells
    assert (dt["naive_dL_pct"] < dt["reported_dL_pct"]).all()
    assert (dt["naive_dC_pct"] < dt["reported_dC_pct"]).all()
    # spot value by hand: Qwen3 u=.75: ((1-0.557)*125.9 - 12.4) / (0.25*125.9)
    q = dt[(dt["model"] == QWEN3) & np.isclose(dt["u"], 0.75)].iloc[0]
    assert q["D_L"] == pytest.approx(((1 - 0.557) * 125.9 - 12.4) / (0.25 * 125.9), abs=1e-12)
    up = P.up_to_savings()
    assert (up["latency_saving_pct"], up["cost_saving_pct"]) == (37.8, 45.8)
    chk = P.relative_delta_check()
    assert (chk["abs_diff_pp"] <= 1.05).all()
    assert 1 - TABLE_4_1[LLAMA][0] / 100 == pytest.approx(0.694, abs=1e-12)
    assert P.batch_days(30, 1e6) == pytest.approx(3e7 / 86400, abs=1e-9)


# ------------------------------------------------------------------------------------------------ simulator
from capfront_lib.human_in_the_loop import analysis as AN  # noqa: E402
from capfront_lib.human_in_the_loop import sim as SIM  # noqa: E402

MR = (R1, QWEN3, O3)


def _off(models=MR, **extra):
    """Overrides that switch the trace-length/difficulty coupling and the error shift off for every M_r."""
    ov = SIM.knob_overrides(token_difficulty_coupling={m: 0.0 for m in models},
                            token_error_shift={m: 0.0 for m in models})
    ov.update(extra)
    return ov


def test_simulator_pinned_to_table_4_1():
    log = SIM.simulate(500, seed=3)
    for m, (e, lat, cost, tok) in TABLE_4_1.items():
        d = log[log["model"] == m]
        assert len(d) == 500
        assert int((1 - d["correct"]).sum()) == round(500 * e / 100)  # 14 / 29 / 19 / 153
        assert d["latency_s"].mean() == pytest.approx(lat, rel=1e-9)
        assert d["n_out"].mean() == pytest.approx(tok, rel=0.01)
        assert d["cost_usd"].mean() == pytest.approx(cost, rel=0.08)
        assert d["p_true"].notna().all() == (m == LLAMA)


def test_drag_switches_off_without_coupling():
    rates = M.rejection_grid(0.2, 0.05)
    # n = 200,000 rather than 20,000: with the frozen spread (Qwen3 log-sd 1.33, latency CV about 2.2) the sampling
    # error of E[L_r | pass] alone is about 2 % relative at n = 20,000
    log = SIM.simulate(200_000, seed=1, overrides=_off())
    for m in MR:
        d = SIM.pair(log, m)
        rho = stats.spearmanr(d.p_true, d.latency_r).statistic
        assert abs(rho) < 0.03, (m, rho)
        for u in (0.5, 0.6, 0.75):
            c = S.ffa_curve(d, u, rates)
            realised = 100 * (c["mean_latency"].mean() / d.latency_r.mean() - 1)
            naive = S.naive_delta_pct(d.latency_r.mean(), d.latency_nr.mean(), u)
            assert realised == pytest.approx(naive, rel=0.02), (m, u, realised, naive)


def test_drag_present_with_frozen_coupling():
    rates = M.rejection_grid()
    log = SIM.simulate(20_000, seed=2)
    for m in MR:
        d = SIM.pair(log, m)
        assert stats.spearmanr(d.p_true, d.latency_r).statistic < -0.1
        for u in (0.5, 0.6, 0.75):
            c = S.ffa_curve(d, u, rates)
            # drag recomputed independently from the routing masks
            masks = [S.ffa_route(d, u, r)["actions"] == S.PASS for r in rates[::10]]
            ref = np.mean([d.latency_r[mk].mean() / d.latency_r.mean() for mk in masks])
            assert np.nanmean(c["drag_latency"][::10]) == pytest.approx(ref, rel=1e-12)
            assert np.nanmean(c["drag_latency"]) > 1.05


def test_no_signal_control():
    rates = M.rejection_grid()
    ov = SIM.knob_overrides(error_difficulty_loading={m: 0.0 for m in MR}, token_error_shift={m: 0.0 for m in MR})
    log = SIM.simulate(20_000, seed=4, overrides=ov)
    for m in MR:
        d = SIM.pair(log, m)
        curve = M.accuracy_rejection_curve(d.correct_r, d.n_out_r, rates, ids=d.query_id)
        assert abs(M.auarc(curve) - curve[0]) < 0.003, m


def test_frozen_calibration_targets():
    """By construction (the overlay was tuned to these), not evidence: the frozen parameters hit spec §4.2's targets."""
    rates = M.rejection_grid()
    cal = AN.calibration_metrics([SIM.simulate(500, seed=s) for s in range(5)], rates)
    T = AN.CALIBRATION_TARGETS
    base = cal[cal["u"] == 0].set_index("model")
    for m, target in T["base_auarc"].items():
        assert abs(base.loc[m, "auarc"] - target) <= T["base_auarc_tol"], m
    assert base.loc[QWEN3, "E_7.5"] <= T["qwen3_error_at_7.5"]
    assert abs(base.loc[R1, "E_20"] - 0.03) <= 0.01
    assert base.loc[O3, "gain"] <= T["o3_gain_max"]
    ffa = cal[cal["u"] > 0].merge(P.load_table_4_2(), on=["model", "u"], suffixes=("", "_pub"))
    assert (abs(ffa["auarc"] - ffa["auarc_pub"]) <= T["ffa_auarc_tol"]).all()
    drag = ffa.merge(P.drag_table()[["model", "u", "D_L"]], on=["model", "u"], suffixes=("", "_pub"))
    ok = drag["model"] != O3
    assert (abs(drag.loc[ok, "D_L"] - drag.loc[ok, "D_L_pub"]) <= T["drag_tol"]).all()
    # o3's published drag is not monotone in u (1.37, 1.46, 1.37); only its mean over u is a target
    o = drag[~ok]
    assert abs(o["D_L"].mean() - o["D_L_pub"].mean()) <= T["drag_tol"]


def test_table_4_2_analogue_against_route_by_route():
    rates = M.rejection_grid(0.2, 0.05)
    log = SIM.simulate(300, seed=5)
    pairs = {m: SIM.pair(log, m) for m in MR}
    tab = AN.table_4_2_analogue(pairs, [0.5, 0.75], rates, report_rejection_rate=0.1)
    for _, row in tab.iterrows():
        d = pairs[row["model"]]
        outs = [S.ffa_route(d, row["u"], r) for r in rates]
        base = [S.ask_route(d, r) for r in rates]
        au = np.mean([o["accuracy"] for o in outs])
        b = np.mean([o["accuracy"] for o in base])
        assert row["auarc"] == pytest.approx(au, abs=1e-12)
        assert row["base_auarc"] == pytest.approx(b, abs=1e-12)
        assert row["delta_auarc_pct"] == pytest.approx(100 * (au - b) / b, abs=1e-9)
        dl = np.mean([o["mean_latency"] for o in outs]) / d.latency_r.mean() - 1
        assert row["dL_pct"] == pytest.approx(100 * dl, abs=1e-9)
        at = S.ffa_route(d, row["u"], 0.1)
        assert row["dC_pct_at_report"] == pytest.approx(100 * (at["mean_cost"] / d.cost_r.mean() - 1), abs=1e-9)


def test_reward_surface_by_hand():
    log = SIM.simulate(200, seed=6)
    d = SIM.pair(log, QWEN3)
    surf = AN.reward_surface(d, [0.0, 0.5], [0.0, 0.1], lambda_E=100.0, lambda_L_per_min=1.2, lambda_A=5.0)
    o = S.ffa_route(d, 0.5, 0.1)
    n_rej = d.n - o["n_answered"]
    hand = -(o["mean_cost"] + 1.2 / 60 * o["mean_latency"] + 100.0 * o["n_errors"] / d.n + 5.0 * n_rej / d.n)
    assert surf["R"][1, 1] == pytest.approx(hand, rel=1e-12)
    assert surf["best_R"] == pytest.approx(surf["R"].max(), abs=0)


def test_simulator_bad_knobs():
    with pytest.raises(ValueError, match="ptrue_quality"):
        SIM.knob_overrides(ptrue_quality=1.5)
    with pytest.raises(ValueError, match="token_difficulty_coupling"):
        SIM.knob_overrides(token_difficulty_coupling={QWEN3: 2.0})
    with pytest.raises(ValueError, match="mapping"):
        SIM.knob_overrides(token_error_shift=0.5)
    with pytest.raises(ValueError, match="n "):
        SIM.simulate(1)
    with pytest.raises(ValueError, match="unknown simulator parameter"):
        SIM.merge_params({"a": 1}, {"b": 2})


# ------------------------------------------------------------------------------------------------ public data
@pytest.mark.realdata
def test_real_data_ask_on_gsm8k(shared_data):
    from capfront_lib.human_in_the_loop import realdata as RD

    corr, chars, _ = RD.load_length_matrices(shared_data, "gsm8k")
    raw_c = pd.read_csv(shared_data / "ZeroEval" / "gsm8k_correct.csv", index_col="id")
    raw_l = pd.read_csv(shared_data / "ZeroEval" / "gsm8k_output_chars.csv", index_col="id")
    rates = M.rejection_grid()
    tab, curves = RD.ask_table(corr, chars, rates)
    for m in tab["model"][:6]:
        ok = raw_c[m].notna() & raw_l[m].notna()
        c, ln = raw_c.loc[ok, m].to_numpy(float), raw_l.loc[ok, m].to_numpy(float)
        row = tab[tab["model"] == m].iloc[0]
        assert curves[m][0] == pytest.approx(c.mean(), abs=1e-12)  # A(0) = 1 - error on answered items
        assert row["auarc_length"] <= row["auarc_oracle"] + 1e-12
        # r = 10 %: reject the longest outputs (ties by item position) -> exactly round(0.1 n) rejected
        k = math.floor(0.1 * c.size + 0.5)
        order = sorted(range(c.size), key=lambda i: (-ln[i], i))
        keep = order[k:]
        j = int(np.argmin(np.abs(rates - 0.1)))
        assert curves[m][j] == pytest.approx(c[keep].mean(), abs=1e-12)
        assert len(keep) == c.size - k
