"""Unit tests of the published-number checks, the theorem checks and the parameter schema (economic_evaluation).

Every expectation is an independent computation: hand-worked numbers from the thesis's tables, brute force on
dense grids, or constructed counterexamples. No notebook run is needed.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import capfront_lib.economic_evaluation as ee
from capfront_lib.core.params import ParameterError
from capfront_lib.economic_evaluation import published, theory
from capfront_lib.economic_evaluation.params import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
# Table 4.1 typed in independently: model -> (error, latency, cost, tokens, class)
PUB = {
    "qwen3-235b-a22b": (0.028, 125.9, 0.0095, 10800, "reasoning"),
    "deepseek-r1-0528": (0.058, 89.7, 0.079, 9800, "reasoning"),
    "o3-2025-04-16": (0.038, 67.6, 0.019, 2200, "reasoning"),
    "llama-v3p1-405b-instruct": (0.306, 12.4, 0.0036, 978, "non-reasoning"),
}


def _brute_switch(menu: dict, lam_L: float, grid=np.logspace(-4, 4, 200_001)) -> float:
    """First grid price of error at which a reasoning model has the highest reward (dense brute force)."""
    names = list(menu)
    R = np.array([[-(c + lam_L * l + g * e) for g in grid] for (e, l, c, _t, _k) in (menu[m] for m in names)])
    best = np.argmax(R, axis=0)
    cls = np.array([menu[m][4] for m in names])
    hit = np.flatnonzero(cls[best] == "reasoning")
    return float(grid[hit[0]]) if hit.size else float("nan")


# ---------------------------------------------------------------------------------------------- published
def test_half_unit_hand_examples():
    assert ee.half_unit("2.8") == pytest.approx(0.05)
    assert ee.half_unit("9.5e-3") == pytest.approx(5e-5)
    assert ee.half_unit("10.8K") == pytest.approx(50.0)
    assert ee.half_unit("978") == pytest.approx(0.5)
    with pytest.raises(ValueError):
        ee.half_unit("n/a")


def test_switch_points_match_brute_force():
    t = published.published_table()
    b = published.reasoning_switch_bounds(t, [0.0, 1.0, 10.0]).set_index("lam_L_per_min")
    for m in (0.0, 1.0, 10.0):
        brute = _brute_switch(PUB, m / 60, grid=np.logspace(-3, 3, 60_001))
        assert b.switch_lower_bound[m] == pytest.approx(brute, rel=2.5e-4)  # grid step 0.023 % in log
    # closed forms: Qwen3 overtakes 405B at (0.0095 - 0.0036) / (0.306 - 0.028); o3 at $10/min
    assert b.switch_lower_bound[0.0] == pytest.approx(0.0059 / 0.278, rel=1e-12)
    assert b.switch_lower_bound[10.0] == pytest.approx((0.019 + 67.6 / 6 - 0.0036 - 12.4 / 6) / (0.306 - 0.038), rel=1e-12)
    assert b.first_reasoning_model[10.0] == "o3-2025-04-16"


def test_adding_nonreasoning_models_never_lowers_the_switch():
    """The lower-bound argument: more non-reasoning models can only raise the reasoning switch point."""
    rng = np.random.default_rng(7)
    base = published.published_table()
    for lam_L in (0.0, 5 / 60):
        s0 = published.reasoning_switch(base, lam_L)
        for _ in range(40):
            extra = base.iloc[[3]].copy()  # a row shaped like Llama3.1 405B
            extra.index = ["extra"]
            extra["error_rate"] = rng.uniform(0.04, 0.9)
            extra["cost_usd"] = rng.uniform(1e-4, 0.02)
            extra["latency_s"] = rng.uniform(1, 40)
            import pandas as pd

            s1 = published.reasoning_switch(pd.concat([base, extra]), lam_L)
            assert np.isnan(s1) or s1 >= s0 - 1e-15


def test_most_accurate_switch_and_error_threshold():
    t = published.published_table()
    m, lam = published.most_accurate_switch(t)
    assert m == "qwen3-235b-a22b" and lam == pytest.approx(0.0059 / 0.278, rel=1e-12)
    thr = published.error_threshold_for_unpublished(t, 1.0)
    assert thr == pytest.approx(0.028 + 0.0095)
    # a model just above the threshold loses at $1, one below wins (zero cost and latency: the best case for it)
    for e, loses in ((thr + 1e-6, True), (thr - 1e-3, False)):
        assert (-(0.0 + 1.0 * e) < -(0.0095 + 1.0 * 0.028)) == loses


def test_prompt_length_intervals_hand_worked():
    iv = published.prompt_length_intervals()
    r = iv.loc["llama-v3p1-405b-instruct"]
    assert r.n_in_lo == pytest.approx((0.00355 - 978.5 * 3e-6) / 3e-6)
    assert r.n_in_hi == pytest.approx((0.00365 - 977.5 * 3e-6) / 3e-6)
    o3 = iv.loc["o3-2025-04-16"]
    assert o3.n_in_lo == pytest.approx((0.0185 - 2250 * 8e-6) / 2e-6)
    assert iv.consistent.all() and not iv.consistent_with_ptrue.any()
    # no common prompt length: o3's lower end exceeds Llama3.1 405B's upper end
    assert iv.n_in_lo.max() > iv.n_in_hi.min()


def test_ratios_and_ranges():
    t = published.published_table()
    r = published.ratios_to(t)
    assert r.cost_ratio.min() == pytest.approx(0.0095 / 0.0036)
    assert r.latency_ratio.max() == pytest.approx(125.9 / 12.4)
    assert r.token_ratio.min() == pytest.approx(2200 / 978)
    assert published.costs_in_range(t, 0.005, 0.15) and not published.costs_in_range(t, 0.01, 0.1)
    assert published.wage_for_price_of_error(0.2, 5) == pytest.approx(2.4)
    assert published.minimum_wage_task_cost(5) == pytest.approx(7.25 / 12)
    assert published.dominated_everywhere(t, "deepseek-r1-0528", "o3-2025-04-16")
    assert not published.dominated_everywhere(t, "qwen3-235b-a22b", "o3-2025-04-16")


def test_pareto_single_best_counts_and_ties():
    t = published.published_table()
    res = published.pareto_single_best(t, np.logspace(-4, 4, 81), [0.5, 1.0])
    assert (res["n_pareto_2d"], res["n_pareto_3d"], res["n_ties"]) == (2, 3, 0) and res["holds"]
    # a grid price exactly at the Qwen3 / Llama3.1 405B crossover (latency priced at 0) is a tie
    tie = published.pareto_single_best(t.assign(latency_s=1.0), [0.0059 / 0.278], [1.0])
    assert tie["n_ties"] == 1 and not tie["holds"]


# ---------------------------------------------------------------------------------------------- theorem 3
def test_optimal_is_pareto_and_nonconvex_point_never_supported():
    rng = np.random.default_rng(0)
    for _ in range(30):
        F = rng.uniform(0, 1, (6, 3))
        W = np.c_[np.ones(200), rng.uniform(0.01, 10, (200, 2))]
        chosen = set(np.argmin(F @ W.T, axis=0))
        dominated = {i for i in range(6) for j in range(6) if j != i and np.all(F[j] <= F[i]) and np.any(F[j] < F[i])}
        assert not (chosen & dominated)
        assert theory.optimal_is_pareto(F, W)
    # finite menu: (0.6, 0.6) is Pareto-optimal among {(0,1), (1,0), (0.6,0.6)} but above the hull -> no price
    F = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.6]])
    w, tval = theory.supporting_prices(F, F[2])
    assert tval <= 1e-9
    w, tval = theory.supporting_prices(F, F[0])
    assert tval > 0 and np.all(F[0] @ w <= F @ w + 1e-12)


def test_dominated_in_hull_hand_examples():
    F = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert theory.dominated_in_hull(F, [0.5, 0.5]) == pytest.approx(0.0, abs=1e-9)  # on the front
    assert theory.dominated_in_hull(F, [0.8, 0.8]) == pytest.approx(0.6, abs=1e-9)  # (0.5,0.5) improves by 0.3+0.3
    res = theory.mixture_surjectivity(np.array([[0.0036, 0.306], [0.0095, 0.028], [0.019, 0.038]]), 100, 0)
    assert res["holds"] and res["n_pareto"] >= 10


# ---------------------------------------------------------------------------------------------- theorem 4
def test_envelope_geq_matches_dense_grid():
    rng = np.random.default_rng(1)
    lam = np.r_[0.0, np.logspace(-4, 4, 20_001)]
    agree = 0
    for _ in range(150):
        A, B = rng.uniform(0, 1, (3, 2)), rng.uniform(0, 1, (3, 2))
        gA = np.min(A[:, :1] + lam[None, :] * A[:, 1:], axis=0)
        gB = np.min(B[:, :1] + lam[None, :] * B[:, 1:], axis=0)
        brute = bool(np.all(gA <= gB + 1e-12)) and A[:, 1].min() <= B[:, 1].min() + 1e-12
        agree += theory.envelope_geq(A, B) == brute
    assert agree == 150


def _front_points(F, n=400):
    """Dense sample of the Pareto front of conv(F) in 2-D (points on lower-hull edges)."""
    v = ee.lower_convex_hull(F[:, 0], F[:, 1])
    P = F[v]
    if len(P) == 1:
        return P
    t = np.linspace(0, 1, n)[:, None]
    return np.vstack([P[i] + t * (P[i + 1] - P[i]) for i in range(len(P) - 1)])


def test_front_dominates_matches_sampling():
    rng = np.random.default_rng(2)
    for _ in range(80):
        A, B = rng.uniform(0, 1, (3, 2)), rng.uniform(0, 1, (3, 2))
        pa, pb = _front_points(A), _front_points(B)
        le = (pa[:, None, :] <= pb[None, :, :] + 1e-12).all(axis=2)
        lt = (pa[:, None, :] < pb[None, :, :] - 1e-6).any(axis=2)
        brute = bool((le & lt).any())
        if brute:  # sampling finds a dominating pair -> the LP must find one too
            assert theory.front_dominates(A, B)
    # a point that dominates the whole front of B
    assert theory.front_dominates(np.array([[0.0, 0.0]]), np.array([[0.5, 1.0], [1.0, 0.5]]))
    assert not theory.front_dominates(np.array([[2.0, 2.0]]), np.array([[0.5, 1.0], [1.0, 0.5]]))


def test_theorem4_both_statements():
    res = theory.theorem4_check(n_pairs=60, rng=3)
    assert res["n_pairs"] == 60 and res["proved_holds"] and not res["printed_holds"] and res["n_printed_fail"] > 0
    # the check can fail: drop the premise R_1 >= R_2 and the proved statement breaks
    S1, S2 = np.array([[0.5, 0.5]]), np.array([[0.2, 0.2]])
    assert not theory.envelope_geq(S1, S2) and theory.front_dominates(S2, S1)


def test_theorem5_residual_is_rounding_only():
    assert theory.theorem5_residual(100, rng=4) < 1e-12


# ---------------------------------------------------------------------------------------------- parameters
def _notebook_parameters() -> dict:
    text = (ROOT / "notebooks" / "economic_evaluation.md").read_text()
    cell = text.split(":tags: [parameters]", 1)[1].split("```", 1)[0]
    out = {}
    for node in ast.parse(cell).body:
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_schema_names_equal_parameters_cell_and_defaults_validate():
    params = _notebook_parameters()
    assert list(params) == SCHEMA.names
    SCHEMA.validate(params)


@pytest.mark.parametrize("name, value, match", [
    ("n_queries", -5, "n_queries"),
    ("seed", -1, "seed"),
    ("lambda_A", math.nan, "lambda_A"),
    ("real_data", "bogus", "real_data"),
    ("lambda_E_max", 1e-5, "lambda_E_max"),
    ("verification_quality", [0.5, 0.9], "verification_quality"),
    ("placeholder_gpt41", [1.5, 1000.0, 12.0], "placeholder_gpt41"),
    ("small_models", ["qwen3-235b-a22b"], "big_model"),
    ("outcomes_path", "/nonexistent/log.csv", "outcomes_path"),
])
def test_schema_refuses_bad_values_in_one_line(name, value, match):
    params = _notebook_parameters()
    params[name] = value
    with pytest.raises(ParameterError, match=match) as err:
        SCHEMA.validate(params)
    assert "\n" not in str(err.value)


def test_schema_resource_guard():
    params = _notebook_parameters()
    params["n_lambda_E"] = 100_000
    params["n_split_repeats"] = 1000
    with pytest.raises(ParameterError, match="price-grid cells"):
        SCHEMA.validate(params)
    params = _notebook_parameters()
    params["n_queries"] = 1_000_000
    with pytest.raises(ParameterError, match="simulated rows"):
        SCHEMA.validate(params)
