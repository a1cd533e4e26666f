"""Checks of the quick run of notebooks/markov_copula_cascades.md against independent computations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

STEM = "markov_copula_cascades"
DATA = Path(__file__).resolve().parents[1] / "data" / STEM
# notebook defaults (quick profile) of the ground truth
MARGINALS = [[0.05, 0.95, 0.5, 2, 5, 5, 2], [0.05, 0.97, 0.4, 2, 4, 6, 2]]
THETA01 = 1.6
PRICES = [0.1, 0.1]


@pytest.fixture(scope="module")
def run(quick_results):
    return quick_results(STEM)


def _finite(obj):
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def test_results_keys_and_finite(run):
    res, claims, nb = run
    for key in ("theta_hat_adjacent", "ece", "marginal_gof", "copula_gof", "prop2", "prop2_k2_dvine", "example_cascade",
                "gains", "runtime", "paper_arithmetic", "markov_check", "tau_matrix_test"):
        assert key in res, key
    for key in ("theta_hat_adjacent", "ece", "marginal_gof", "prop2_k2_dvine", "paper_arithmetic", "runtime"):
        assert _finite(res[key]), key


def test_theta_hat_close_to_truth(run):
    res, _, _ = run
    assert np.all(np.abs(np.array(res["theta_hat_adjacent"]) - np.array(res["theta_true_adjacent"])) <= 0.5)


def _mixture_ppf(row, u):
    lo, hi, pi, a1, b1, a2, b2 = row
    z = np.linspace(0, 1, 20001)
    cdf = pi * stats.beta.cdf(z, a1, b1) + (1 - pi) * stats.beta.cdf(z, a2, b2)
    return lo + (hi - lo) * np.interp(u, cdf, z)


def test_prop2_two_models_against_independent_monte_carlo(run):
    from statsmodels.distributions.copula.api import GumbelCopula

    res, _, _ = run
    p = res["prop2_k2_dvine"]
    uv = GumbelCopula(theta=THETA01).rvs(300_000, rng=np.random.default_rng(99))
    phi0 = _mixture_ppf(MARGINALS[0], uv[:, 0])
    phi1 = _mixture_ppf(MARGINALS[1], uv[:, 1])
    c0, c1 = p["costs"]
    assert c0 == pytest.approx(PRICES[0] * 305) and c1 == pytest.approx(PRICES[1] * 305)
    for t, pm, cm in zip(p["thresholds"], p["P_model"], p["C_model"]):
        first = phi0 > t
        p_mc = np.mean(np.where(first, phi0, phi1))
        c_mc = np.mean(np.where(first, c0, c0 + c1))
        assert abs(pm - p_mc) <= 0.004
        assert abs(cm - c_mc) / c_mc <= 0.005


def test_prop2_bias_grows_for_chain_not_for_independence(run):
    res, _, _ = run
    tab = pd.DataFrame(res["prop2"]["table"]).set_index(["truth", "k"])
    kmax = int(tab.index.get_level_values("k").max())
    assert tab.loc[("independent", kmax), "max_abs_dP"] < 0.01
    assert tab.loc[("dvine_gumbel", kmax), "mean_dP"] > tab.loc[("dvine_gumbel", 2), "mean_dP"] - 0.002


def test_paper_arithmetic_against_csv(run):
    res, _, _ = run
    pa = res["paper_arithmetic"]
    t22 = pd.read_csv(DATA / "table_2_2.csv")
    avg = t22[t22.model == "Average"]["pct_delta"].mean()
    assert pa["ece_mean_printed_average_delta"] == pytest.approx(avg, abs=1e-9)
    assert pa["ece_mean_all_cells_delta"] == pytest.approx(t22[t22.model != "Average"]["pct_delta"].mean(), abs=1e-9)
    t5 = pd.read_csv(DATA / "table_2_5.csv")
    t5 = t5[t5.model != "Average"]
    assert pa["table_2_5_rejections"] == [int((t5.p < 0.05).sum()), len(t5)]
    t24 = pd.read_csv(DATA / "table_2_4.csv")
    t24 = t24[t24.benchmark != "Average"]
    assert pa["table_2_4_rejections"]["llama"] == int(t24[t24.group == "llama"].n_rej.sum())
    assert pa["grid_sizes"]["5"] == 40**4
    assert pa["sigma_tau_50"] == pytest.approx(math.sqrt(2 * 105 / (9 * 50 * 49)))


def test_copula_gof_separates_truths(run):
    res, _, _ = run
    g = res["copula_gof"]
    assert g["dvine_survival_gumbel"]["mean_stat"] > g["dvine_gumbel"]["mean_stat"]


def test_ece_transform_helps_on_simulated_raw_signal(run):
    res, _, _ = run
    e = res["ece"]
    assert e["mean_ece"] < e["mean_ece_tf"]
    assert all(0 <= v <= 1 for v in e["per_model_ece"])


def test_runtime_grid_counts(run):
    res, _, _ = run
    rt = pd.DataFrame(res["runtime"])
    k = rt[rt.study == "k"]
    assert (k["gs_evals"] == 40 ** (k["k"] - 1)).all()
    r = rt[rt.study == "resolution"]
    assert (r["gs_evals"] == r["levels"] ** (r["k"] - 1)).all()


def test_claims_ledger(run):
    _, claims, _ = run
    assert len(claims) >= 10
    assert claims["claim_id"].is_unique
    assert set(claims["verdict"]) <= {"reproduced", "direction-only", "differs", "not-checkable"}
    row = claims.set_index("claim_id").loc["table_2_6_rejections"]
    assert row["verdict"] == "reproduced"


def test_exact_chain_evaluation_agrees_with_monte_carlo(run):
    """The exact recursion of the true model matches the notebook's Monte Carlo within its noise, Algorithm 1 does not."""
    res, _, _ = run
    pc = res["prop2_chain"]
    se = res["prop2"]["mc_se_P"]
    assert pc["max_abs_dP"] <= 4 * se + 1e-4
    assert pc["max_abs_dP"] < pc["max_abs_dP_alg1"]
    assert pc["max_abs_dC_rel"] < pc["max_abs_dC_rel_alg1"]


def test_rt_exact_rows_and_summary(run):
    res, _, _ = run
    ex = res["example_cascade"]
    assert ex["pct_RT-exact_vs_GS-soft"] == pytest.approx(
        100 * (ex["auc_RTx_vs_GS-soft"] - ex["auc_GS-soft_vs_RTx"]) / ex["auc_GS-soft_vs_RTx"], rel=1e-9)
    assert ex["pct_GS-soft"] == pytest.approx(100 * (ex["auc_RT_vs_GS-soft"] - ex["auc_GS-soft"]) / ex["auc_GS-soft"], rel=1e-9)
    gx = pd.DataFrame(res["gains_exact"])
    assert set(gx["method"]) == {"RT-exact"} and {"n_train", "n_train_low"} <= set(gx["regime"])
