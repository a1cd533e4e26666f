"""The quick run of the co_failure_ceiling notebook: results.json checked against independent
recomputations from the simulated matrix it wrote (numpy/scipy only), and the claims ledger."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

STEM = "co_failure_ceiling"


@pytest.fixture(scope="module")
def run(quick_results):
    res, claims, nb = quick_results(STEM)
    Y = pd.read_csv(Path(nb).resolve().parents[2] / "results" / STEM / "sim_pool.csv", index_col="id").to_numpy(float).T \
        if (Path(nb).resolve().parents[2] / "results" / STEM / "sim_pool.csv").is_file() else None
    return res, claims, Y


def _sim(run):
    res, claims, Y = run
    if res["source"] != "simulated" or Y is None:
        pytest.skip("quick run is not the simulated default")
    return res, Y


def test_pool_summary_independent(run):
    res, Y = _sim(run)
    m, n = Y.shape
    col = Y.sum(0)
    K = int(np.sum(col == 0))
    acc = Y.mean(1)
    b = int(np.argmax(acc))
    assert (res["m"], res["n"], res["K"]) == (m, n, K)
    assert abs(res["beta"] - K / n) < 1e-15 and abs(res["a_sb"] - acc.max()) < 1e-15
    assert abs(res["oracle"] - np.mean(col >= 1)) < 1e-15
    assert res["n_resolvable"] == int(np.sum((Y[b] == 0) & (col >= 1)))
    assert abs(res["gain"] * n - res["n_resolvable"]) < 1e-8


def test_certificate_independent(run):
    res, Y = _sim(run)
    m, n = Y.shape
    K = res["K"]
    lo = 0.0 if K == 0 else stats.beta.ppf(0.025, K, n - K + 1)
    hi = stats.beta.ppf(0.975, K + 1, n - K)
    assert abs(res["beta_ci"][0] - lo) < 1e-12 and abs(res["beta_ci"][1] - hi) < 1e-12
    asb_lo = max(stats.beta.ppf(0.025 / m, c, n - c + 1) for c in Y.sum(1))
    assert abs(res["U"] - ((1 - lo) - asb_lo)) < 1e-12


def test_pearson_and_ratio(run):
    res, Y = _sim(run)
    iu = np.triu_indices(Y.shape[0], 1)
    assert abs(res["phibar"] - np.corrcoef(1 - Y)[iu].mean()) < 1e-10
    # the single-factor prediction is recomputed by Monte Carlo with the run's thresholds and rbar
    rng = np.random.default_rng(0)
    t = stats.norm.ppf(1 - Y.mean(1))
    N = 400_000
    X = np.sqrt(res["rbar"]) * rng.standard_normal((N, 1)) + np.sqrt(1 - res["rbar"]) * rng.standard_normal((N, len(t)))
    p = np.mean(np.all(X < t, axis=1))
    assert abs(p - res["beta_sf"]) < 4 * np.sqrt(p * (1 - p) / N)
    assert res["ratio_boot90"][0] <= res["ratio_sf"] <= res["ratio_boot90"][1]
    assert res["pool_ratio_of_means"][0] == pytest.approx(1.0, abs=1e-8)


def test_analytic_numbers(run):
    res = run[0]
    assert abs(res["prop2_R53_tet"] / 1.30e5 - 1) < 0.01 and abs(res["prop2_R53_pearson"] / 8.36e6 - 1) < 0.01
    assert abs(res["cert_math500_rev_U"] - 0.048) < 5e-4 and abs(res["cert_math500_v1_U"] - 0.211) < 5e-4
    assert abs(res["maj_floor"] - 0.20351) < 1e-5 and res["size_c01"] == 3 and res["size_c001"] == 10
    assert res["cascade_identity_maxerr"] < 1e-12
    assert res["lp_max_abs_diff"] < 1e-8 and abs(res["lp_V_cmin"] - res["lp_cheapest_acc"]) < 1e-12


def test_public_section(run, shared_data):
    res = run[0]
    if "public" not in res:
        pytest.skip("the quick run had no CAPFRONT_DATA_DIR, so no public section")
    mm = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", index_col="id").dropna().to_numpy(float).T
    pm = res["public"]["mmlu_all"]
    assert pm["K"] == int(np.sum(mm.sum(0) == 0)) == 528 and pm["n"] == mm.shape[1]
    iu = np.triu_indices(mm.shape[0], 1)
    assert abs(pm["phibar"] - np.corrcoef(1 - mm)[iu].mean()) < 1e-10
    assert pm["audit_flagged"] == 281 and pm["audit_70"] == 147 and pm["audit_unanimous"] == 8
    g = res["public"]["gsm8k_default"]
    assert (g["n_models"], g["n_queries"], g["n_all_wrong"]) == (41, 1319, 5)


def test_claims_ledger(run):
    claims = run[1]
    assert {"cp_intervals", "cert_rev_math500", "prop2_atom_R53", "math_tail", "audit"} <= set(claims.claim_id)
    assert claims.claim_id.is_unique and (claims.chapter == STEM).all()
    assert (claims.loc[claims.verdict != "not-checkable", "our_value"].str.len() > 0).all()


def test_headline_json(run, quick_results):
    res, claims, nb = quick_results(STEM)
    h = json.loads((Path(nb).resolve().parents[2] / "results" / STEM / "headline.json").read_text())
    for k in ("m", "n", "K", "beta", "beta_ci", "U", "regime", "rbar", "beta_sf", "ratio_sf"):
        assert k in h and h[k] == res[k]


@pytest.mark.paper
def test_gsm8k_notebook_run(shared_data, tmp_path):
    """The notebook on the public GSM8K matrix with the coverage rule off reproduces K = 2, n = 681 (spec §5 item 17)."""
    from capfront_lib import runner

    p = shared_data / "ZeroEval" / "gsm8k_correct.csv"
    if not p.is_file():
        pytest.skip(f"{p} absent")
    runner.run_chapter(STEM, [("outcomes_path", str(p)), ("min_model_coverage", "0.0"), ("real_data", "off")],
                       output=tmp_path / "nb.ipynb", results_dir=tmp_path)
    res = json.loads((tmp_path / "results.json").read_text())
    Y = pd.read_csv(p, index_col="id").dropna().to_numpy(float).T
    assert (res["m"], res["n"], res["K"]) == (42, 681, 2) == (Y.shape[0], Y.shape[1], int(np.sum(Y.sum(0) == 0)))
    assert res["n_resolvable"] == 18 and abs(res["U"] - 0.056) < 5e-4
