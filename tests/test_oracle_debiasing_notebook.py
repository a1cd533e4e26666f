"""Checks of the quick run's results.json / claims.csv against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

STEM = "oracle_debiasing"
REQUIRED = ["o_true", "o_biased", "o_split", "o_extrap11", "o_extrap12", "o_pgm", "o_pgm_known", "frontier_true", "frontier_naive",
            "frontier_pgm", "frontier_extrap", "sota", "err_red_alpha1", "saving_matched_q", "err_red_matched_c", "kshot",
            "reliability", "entropy_sweep", "published_checks"]


@pytest.fixture(scope="module")
def run(quick_results):
    return quick_results(STEM)


def test_all_keys_present_and_finite(run):
    res, claims, _ = run
    for k in REQUIRED:
        assert k in res, k
        v = res[k]
        if isinstance(v, float):
            assert math.isfinite(v), k
    assert res["frontier_pgm"] is not None


def test_bias_table_matches_spec_reference_values(run):
    # reference values of the exact Bernoulli bias printed in the chapter spec (computed independently)
    res, _, _ = run
    bt = pd.DataFrame(res["bias_table"]).set_index(["L", "p"])
    ref = {(2, 0.5): {"G=1": 0.2500, "G=10": 0.0881, "G=100": 0.0282}, (10, 0.5): {"G=1": 0.4990, "G=10": 0.2382, "G=100": 0.0768},
           (10, 0.9): {"G=1": 0.1000, "G=10": 0.0986, "G=100": 0.0435}, (10, 0.1): {"G=10": 0.1609, "G=100": 0.0481}}
    for key, cols in ref.items():
        for col, val in cols.items():
            assert bt.loc[key, col] == pytest.approx(val, abs=6e-5), (key, col)
    assert res["bias_mc_max_abs_z"] < 4.5


def test_direction_and_brackets(run):
    res, _, _ = run
    ps = pd.DataFrame(res["per_seed"])
    assert (ps["o_biased"] > ps["o_true"]).all()
    for k in ("o_split", "o_extrap11", "o_extrap12"):
        assert (ps[k] < ps["o_biased"]).all(), k
    # the naive oracle of each world is at least its best single model
    assert (ps["o_biased"] >= ps["best_single"]).all()
    assert res["o_split"] < res["o_true"]


def test_frontier_ends(run):
    res, _, _ = run
    assert res["frontier_naive"]["end_quality"] == pytest.approx(res["world0"]["o_biased"], abs=1e-12)
    assert res["frontier_true"]["end_quality"] == pytest.approx(res["world0"]["o_true"], abs=1e-12)
    # the naive frontier is optimistic in both coordinates at alpha = 1 here
    assert res["frontier_naive"]["end_cost_usd"] < res["frontier_true"]["end_cost_usd"]
    s = res["sota"]
    for name in ("true", "naive"):
        f = res[f"frontier_{name}"]
        # independent recomputation of Table 1's metric from the end point and the SOTA
        assert f["err_red_alpha1"] == pytest.approx((f["end_quality"] - s["quality"]) / (1 - s["quality"]), abs=1e-12)


def test_kshot_consistency(run):
    res, _, _ = run
    k = pd.DataFrame(res["kshot"])
    assert np.all(np.diff(k["any_model_data"]) >= -1e-12)
    assert k["printed_22"].iloc[0] == pytest.approx(res["world0"]["o_biased"], abs=1e-12)
    # at k = G every generation is seen: share of prompts with any success
    if int(k["k"].iloc[-1]) == res["world0"]["G"]:
        assert k["any_model_data"].iloc[-1] == pytest.approx(res["world0"]["any_success_share"], abs=1e-12)
    assert np.allclose(k["cost_usd"] / k["k"], k["cost_usd"].iloc[0], rtol=1e-12)


def test_entropy_sweep(run):
    res, _, _ = run
    e = res["entropy_sweep"]
    assert e["mean_uplift"][-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(e["mean_uplift"]) <= 0.003)
    assert stats.spearmanr(e["H"], e["mean_uplift"])[0] >= 0.95
    assert e["H"][0] == pytest.approx(math.log(e["K"]), abs=1e-12)


def test_published_checks_independent(run):
    res, _, _ = run
    from capfront_lib.oracle_debiasing.published import data_path

    t1 = pd.read_csv(data_path() / "table1.csv")
    body = t1[t1.benchmark != "Average"]
    mean_ratio = (100 * (body.otrue_quality_pct - body.sota_quality_pct) / (100 - body.sota_quality_pct)).mean()
    assert res["published_checks"]["t1_mean_err_red_recomputed"] == pytest.approx(mean_ratio, abs=1e-9)
    assert abs(mean_ratio - 53.7) < 0.5
    t6 = pd.read_csv(data_path() / "table6.csv")
    b6 = t6[t6.benchmark != "Average"]
    cb = (100 * (b6.otrue_cost - b6.obiased_cost) / b6.otrue_cost).mean()
    assert res["published_checks"]["t6_cost_bias_mean_pct"] == pytest.approx(cb, abs=1e-9)


def test_claims_ledger(run):
    _, claims, _ = run
    assert {"t1-err-red-54", "t2-saving-85", "t5-kshot-82", "eq10", "decay-rate", "entropy", "per-benchmark"} <= set(claims.claim_id)
    assert set(claims.verdict) <= {"reproduced", "direction-only", "differs", "not-checkable"}
    row = claims.set_index("claim_id").loc["eq10"]
    assert row.verdict == "differs"


def test_pgm_functional_above_plugin(run):
    # (1/N) sum_n E_q max_l pi_nl >= (1/N) sum_n max_l E_q pi_nl (Jensen), independent of the fit's quality
    res, _, _ = run
    f = res["o_pgm_functional_world0"]
    ps = pd.DataFrame(res["per_seed"])
    assert f is not None and f[1] <= f[0] <= f[2]
    assert f[0] >= ps["o_pgm"].iloc[0] - 1e-9


def test_cost_estimates_vs_truth(run):
    """Section 'Debiasing cost': the LogNormal cost PGM and the two-way least squares both pool L*G costs per
    prompt, so their RMS log error (~.6/sqrt(60) = .08 in theory) must be far below the sample mean's (~.21)."""
    res, _, _ = run
    t = res["cost_estimate_table"]
    naive, ls, pgm = (t[k]["rms_log_error"] for k in ("sample mean (naive)", "two-way least squares on log C",
                                                      "LogNormal PGM (PyMC, ADVI)"))
    G, L = res["world0"]["G"], res["world0"]["L"]
    sd = 0.6  # the quick profile's cost_noise_sd
    assert naive == pytest.approx(math.sqrt(math.expm1(sd**2) / G), rel=0.25)
    for v in (ls, pgm):
        assert v <= 1.4 * sd / math.sqrt(L * G) and v <= 0.5 * naive
    assert abs(t["LogNormal PGM (PyMC, ADVI)"]["mean_log_error"]) <= 0.04
    assert res["cost_bias_table"]["pgm"]["cost_usd"] > 0
