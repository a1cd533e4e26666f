"""Checks of the quick run's results.json / claims.csv / executed notebook against independent computations."""

from __future__ import annotations

import base64
import io
import math
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib.core.claims import load_registry

STEM = "oracle_debiasing"
REQUIRED = ["o_true", "o_biased", "o_split", "o_extrap11", "o_extrap12", "o_pgm", "o_pgm_known", "frontier_true", "frontier_naive",
            "frontier_pgm", "frontier_extrap", "sota", "err_red_alpha1", "saving_matched_q", "err_red_matched_c", "kshot",
            "reliability", "entropy_sweep", "published_checks", "data_source", "appendix_a", "verdict_counts"]


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
    assert res["data_sources"]["worlds"] == "simulated"


def test_every_registry_claim_has_one_row_and_no_row_is_unregistered(run):
    _, claims, _ = run
    reg = load_registry(STEM)
    assert sorted(claims.claim_id) == sorted(reg.ids)
    assert claims.claim_id.is_unique
    assert set(claims.verdict) <= {"reproduced", "direction-only", "differs", "inconclusive", "not-checkable"}
    # statistical rows carry their interval (or were skipped with a reason)
    for spec in reg.claims:
        row = claims.set_index("claim_id").loc[spec.id]
        if spec.statistical and row.our_value:
            assert row.ci_low != "" and row.ci_high != "", spec.id
    # the PGM claim cannot be concluded from one world at the quick profile
    assert claims.set_index("claim_id").loc["eq18-pgm", "verdict"] == "inconclusive"


def test_verdict_counts_agree_with_rows(run):
    res, claims, _ = run
    assert res["verdict_counts"] == {v: int((claims.verdict == v).sum()) for v in res["verdict_counts"]}
    assert res["claims_profile"] == "quick"


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


def test_naive_positive_row_equals_independent_t_interval(run):
    res, claims, _ = run
    ps = pd.DataFrame(res["per_seed"])
    e = ps["o_biased"] - ps["o_true"]
    half = stats.t.ppf(0.975, len(e) - 1) * e.std(ddof=1) / math.sqrt(len(e))
    row = claims.set_index("claim_id").loc["naive-positive"]
    assert float(row.ci_low) == pytest.approx(e.mean() - half, rel=1e-9)
    assert float(row.ci_high) == pytest.approx(e.mean() + half, rel=1e-9)
    assert (e > 0).all()


def test_direction_and_brackets(run):
    res, _, _ = run
    ps = pd.DataFrame(res["per_seed"])
    assert (ps["o_biased"] > ps["o_true"]).all()
    for k in ("o_split", "o_extrap11", "o_extrap12"):
        assert (ps[k] < ps["o_biased"]).all(), k
    assert (ps["o_biased"] >= ps["best_single"]).all()
    assert res["o_split"] < res["o_true"]


def test_frontier_ends(run):
    res, _, _ = run
    assert res["frontier_naive"]["end_quality"] == pytest.approx(res["world0"]["o_biased"], abs=1e-12)
    assert res["frontier_true"]["end_quality"] == pytest.approx(res["world0"]["o_true"], abs=1e-12)
    assert res["frontier_naive"]["end_cost_usd"] < res["frontier_true"]["end_cost_usd"]
    s = res["sota"]
    for name in ("true", "naive"):
        f = res[f"frontier_{name}"]
        assert f["err_red_alpha1"] == pytest.approx((f["end_quality"] - s["quality"]) / (1 - s["quality"]), abs=1e-12)


def test_kshot_consistency(run):
    res, _, _ = run
    k = pd.DataFrame(res["kshot"])
    assert np.all(np.diff(k["any_model_data"]) >= -1e-12)
    assert k["printed_22"].iloc[0] == pytest.approx(res["world0"]["o_biased"], abs=1e-12)
    if int(k["k"].iloc[-1]) == res["world0"]["G"]:
        assert k["any_model_data"].iloc[-1] == pytest.approx(res["world0"]["any_success_share"], abs=1e-12)
    assert np.allclose(k["cost_usd"] / k["k"], k["cost_usd"].iloc[0], rtol=1e-12)


def test_entropy_sweep(run):
    res, _, _ = run
    e = res["entropy_sweep"]
    assert e["mean_uplift"][-1] == pytest.approx(0.0, abs=1e-12)
    assert stats.spearmanr(e["H"], e["mean_uplift"])[0] == pytest.approx(e["spearman"], abs=1e-12)
    assert e["H"][0] == pytest.approx(math.log(e["K"]), abs=1e-12)


def test_published_checks_independent(run):
    res, _, _ = run
    from capfront_lib.oracle_debiasing.published import tables_dir

    t1 = pd.read_csv(tables_dir() / "table1.csv")
    body = t1[t1.benchmark != "Average"]
    mean_ratio = (100 * (body.otrue_quality_pct - body.sota_quality_pct) / (100 - body.sota_quality_pct)).mean()
    assert res["published_checks"]["t1_mean_err_red_recomputed"] == pytest.approx(mean_ratio, abs=1e-9)
    t6 = pd.read_csv(tables_dir() / "table6.csv")
    b6 = t6[t6.benchmark != "Average"]
    cb = (100 * (b6.otrue_cost - b6.obiased_cost) / b6.otrue_cost).mean()
    assert res["published_checks"]["t6_cost_bias_mean_pct"] == pytest.approx(cb, abs=1e-9)


def test_pgm_functional_above_plugin(run):
    res, _, _ = run
    f = res["o_pgm_functional_world0"]
    ps = pd.DataFrame(res["per_seed"])
    assert f is not None and f[1] <= f[0] <= f[2]
    assert f[0] >= ps["o_pgm"].iloc[0] - 1e-9


def test_cost_estimates_vs_truth(run):
    """The LogNormal cost PGM and the two-way least squares both pool L*G costs per prompt, so their RMS log
    error (~.6/sqrt(60) = .08 in theory) must be far below the sample mean's (~.21)."""
    res, _, _ = run
    t = res["cost_estimate_table"]
    naive, ls, pgm = (t[k]["rms_log_error"] for k in ("sample mean (naive)", "two-way least squares on log C",
                                                      "LogNormal PGM (PyMC, ADVI)"))
    G, L = res["world0"]["G"], res["world0"]["L"]
    sd = 0.6  # the quick profile's cost_noise_sd
    assert naive == pytest.approx(math.sqrt(math.expm1(sd**2) / G), rel=0.25)
    for v in (ls, pgm):
        assert v <= 1.4 * sd / math.sqrt(L * G) and v <= 0.5 * naive


@pytest.mark.realdata
def test_real_data_runs_by_default_on_public_matrices(run, shared_data):
    res, claims, _ = run
    assert res["data_source"] == "public data"
    assert any(k.startswith("MMLU-Pro") for k in res["real_data"]) and any(k.startswith("GSM8K") for k in res["real_data"])
    row = claims.set_index("claim_id").loc["abs-specialization"]
    assert row.method == "public-data" and row.our_value
    mm = next(v for k, v in res["real_data"].items() if k.startswith("MMLU-Pro"))
    wide = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", index_col="id").dropna()
    assert mm["n_queries"] == len(wide)
    assert mm["o_biased"] == pytest.approx(float((wide.max(axis=1) == 1).mean()), abs=1e-12)
    assert mm["sota_accuracy"] == pytest.approx(float(wide.mean().max()), abs=1e-12)


def _cells(nb_path):
    return nbformat.read(nb_path, as_version=4).cells


def test_page_code_policy(run):
    """Readers see no glue/ledger/figure plumbing; imports are shown in the first visible code cell."""
    _, _, nb_path = run
    visible = [c for c in _cells(nb_path) if c.cell_type == "code"
               and not {"remove-cell", "remove-input", "parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    assert visible and "import numpy as np" in visible[0].source
    for c in visible:
        assert not re.search(r"\b(glue|glue_all|figure|record|ledger\.|write_results)\(", c.source), c.source[:80]


def test_glued_figures_fit_the_column(run):
    """Every glued figure is at most 7.2 in wide at 110 dpi (792 px)."""
    from PIL import Image

    _, _, nb_path = run
    widths = []
    for c in _cells(nb_path):
        for out in c.get("outputs", []):
            data = out.get("data", {})
            for key, val in data.items():
                if key.endswith("image/png"):
                    widths.append(Image.open(io.BytesIO(base64.b64decode(val))).size[0])
    assert len(widths) >= 12
    assert max(widths) <= 800, widths


def test_chapter_runs_on_your_log(tmp_path):
    """End to end on a small long log written here (6 generations, costs, categories): the real-data section runs
    on it, labels it "your log", and measures the specialisation claim on it."""
    from capfront_lib import runner
    from capfront_lib.oracle_debiasing import simulate as sim

    w = sim.simulate_world(np.random.default_rng(5), 80, 3, 2, 6)
    rows = [{"query_id": f"q{n}", "model": f"m{l}", "generation": g, "correct": int(w.Q[n, l, g]), "cost_usd": w.C[n, l, g],
             "category": f"t{w.T[n]}"} for n in range(80) for l in range(3) for g in range(6)]
    log = tmp_path / "my_log.csv"
    pd.DataFrame(rows).to_csv(log, index=False)
    small = {"n_seeds": 2, "n_prompts": 60, "n_models": 3, "n_topics": 2, "pgm_seeds": 0, "mc_reps": 200, "corr_draws": 20,
             "subsample_B": 10, "n_frontier_lambdas": 4, "entropy_steps": 4, "entropy_seeds": 2, "entropy_N": 50,
             "bias_G_max": 50, "bias_L_list": [2], "bias_p_list": [0.5], "public_data": False, "outcomes_path": str(log)}
    out = runner.run_chapter(STEM, [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in small.items()],
                             results_dir=tmp_path / "res", output=tmp_path / "nb.ipynb")
    import json

    res = json.loads((tmp_path / "res" / "results.json").read_text())
    claims = pd.read_csv(tmp_path / "res" / "claims.csv", dtype=str, keep_default_na=False).set_index("claim_id")
    assert res["data_source"] == "your log"
    assert list(res["real_data"]) == ["your log (my_log.csv)"]
    r = res["real_data"]["your log (my_log.csv)"]
    phibar = w.s / 6
    assert r["o_biased"] == pytest.approx(float(phibar.max(axis=1).mean()), abs=1e-12)
    assert claims.loc["abs-specialization", "method"] == "your-log"
    assert claims.loc["eq18-pgm", "verdict"] == "inconclusive"
    assert out["seconds"] > 0
