"""Checks of the inference_dynamics quick run (results.json, claims.csv) against independent computations.

Run alone with ``CAPFRONT_TEST_CHAPTERS=inference_dynamics pytest tests/test_inference_dynamics_notebook.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capfront_lib.inference_dynamics import make_routing_world
from capfront_lib.inference_dynamics.paper import table1_path

STEM = "inference_dynamics"
# the notebook's quick defaults for the synthetic world (parameters cell)
QUICK_WORLD = dict(n_models=6, n_knowledge=12, n_capabilities=8, n_index=3000, n_eval=1500, n_bench_index=6,
                   n_bench_eval=3, max_k_tags=3, max_c_tags=3, aptitude_design="gaussian", specialisation=1.0,
                   unseen_frac=0.1, text_noise=0.2)


@pytest.fixture(scope="module")
def run(quick_results):
    return quick_results(STEM)


def test_claims_ledger_shape(run):
    res, claims, _ = run
    assert list(claims.columns) == ["chapter", "claim_id", "claim", "paper_value", "our_value", "method", "verdict", "reason"]
    assert claims["claim_id"].is_unique
    assert (claims["chapter"] == STEM).all()
    rows = claims.set_index("claim_id")
    # the printed mixed average is not the mean of its cells: must be flagged
    assert rows.loc["T1-mixed-avg", "verdict"] == "differs"
    assert rows.loc["T1-gain-best-single", "verdict"] == "differs"
    assert rows.loc["livebench-coding", "verdict"] == "not-checkable"
    assert len(claims) >= 10


def test_paper_table_numbers_match_independent_recomputation(run):
    res, _, _ = run
    t = pd.read_csv(table1_path()).set_index("method")
    cells = t[["mmlu_pro", "gpqa", "biggenbench", "livebench"]]
    s = res["paper_table1"]
    assert s["mixed_avg_recomputed"] == pytest.approx(cells.loc["InferenceDynamics (mixed)"].mean(), abs=1e-12)
    singles = cells[t["group"] == "single"]
    assert s["best_single_avg_recomputed"] == pytest.approx(singles.mean(axis=1).max(), abs=1e-12)
    assert s["random_expected_avg"] == pytest.approx(singles.to_numpy().mean(), abs=1e-12)
    assert s["gain_printed_avgs"] == pytest.approx(74.55 - 73.33, abs=1e-9)


def test_hand_example(run):
    res, _, _ = run
    h = res["hand_example"]
    assert h["max_abs_error"] < 1e-12
    assert h["choices_BA_AB_C"] == [1, 0, 1]
    assert h["KS_BA"] == pytest.approx([59 / 189, 22 / 63], abs=1e-12)
    assert h["KS_AB"] == pytest.approx([88 / 189, 20 / 63], abs=1e-12)


def test_synthetic_singles_and_baselines_independent(run):
    res, _, _ = run
    if res["profile"] != "quick":
        pytest.skip("checks are written for the quick profile")
    w = make_routing_world(res["seed"], **QUICK_WORLD)
    me = w.mask("eval")
    Ye = w.Y[me]
    bench = w.queries["benchmark"][me].to_numpy()
    per_bench = pd.DataFrame(Ye, columns=w.models).groupby(bench).mean()  # benchmark x model
    macro = per_bench.mean(axis=0)
    tab = res["synthetic"]["table_seed0"]
    for m in w.models:
        assert tab[m]["avg"] == pytest.approx(macro[m], abs=1e-12)
    assert tab["Best single (hindsight)"]["avg"] == pytest.approx(macro.max(), abs=1e-12)
    assert tab["Random (expected)"]["avg"] == pytest.approx(macro.mean(), abs=1e-12)
    oracle = pd.Series(Ye.max(axis=1)).groupby(bench).mean().mean()
    assert tab["Oracle (hindsight)"]["avg"] == pytest.approx(oracle, abs=1e-12)
    bayes = pd.Series(Ye[np.arange(len(Ye)), np.argmax(w.P[me], axis=1)]).groupby(bench).mean().mean()
    assert tab["Oracle (Bayes)"]["avg"] == pytest.approx(bayes, abs=1e-12)
    # every router row lies between the worst single model and the hindsight oracle
    for row in ("Routing by Knowledge", "Routing by Capability", "InferenceDynamics (mixed)", "Mixed, alpha=0"):
        assert macro.min() - 1e-12 <= tab[row]["avg"] <= oracle + 1e-12


def test_sweep_consistency(run):
    res, _, _ = run
    sw = res["synthetic_sweep"]
    acc, pr = np.array(sw["accuracy"]), np.array(sw["performance_ratio"])
    best = res["synthetic"]["table_seed0"][sw["best_single"]]["avg"]
    np.testing.assert_allclose(pr, 100 * acc / best, rtol=1e-12)
    # beta = 0 row is the mixed router of the Table-1 analog
    assert acc[0] == pytest.approx(res["synthetic"]["table_seed0"]["InferenceDynamics (mixed)"]["avg"], abs=1e-12)
    # cost ratio is non-increasing in beta up to tiny tie effects (upper-envelope property, summed over queries)
    cr = np.array(sw["cost_ratio"])
    assert np.all(np.diff(cr) <= 1e-9)


def test_dynamic_pool_flags(run):
    res, _, _ = run
    d = res["dynamic_pool_synthetic"]
    assert d["old_profiles_unchanged"] and d["decisions_old_or_new"]
    assert d["router"][0] == pytest.approx(d["best_in_pool"][0], abs=1e-15)


def test_noise_curve_endpoints(run):
    res, _, _ = run
    g = res["tag_noise_curve"]["gain_mean"]
    assert g[0] > 0.01  # clean tags: a real gain in the gaussian world
    assert abs(g[-1]) < 0.02  # random tags: no gain
    assert g[0] == pytest.approx(res["synthetic"]["gain_mean"], abs=1e-12)


def test_real_data_numbers(run, shared_data):
    res, _, _ = run
    if not res["real_data"]:
        pytest.skip("the quick run had no public data (CAPFRONT_DATA_DIR unset)")
    rm = res["real_main"]
    if rm["split"] != "by_source":
        pytest.skip("check written for the by_source split")
    items = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_items.csv", dtype={"id": str}).set_index("id")
    corr = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", dtype={"id": str}).set_index("id")
    pool = list(rm["prices"])
    sub = corr[pool].dropna()
    src = items.loc[sub.index, "src"].str.split("-").str[0]
    ev = src.isin(["stemez", "theoremQA", "scibench"])
    cat = items.loc[sub.index, "category"][ev]
    macro = sub[ev].groupby(cat).mean().mean(axis=0)
    assert rm["best_single"] == macro.idxmax()
    assert rm["best_single_avg"] == pytest.approx(macro.max(), abs=1e-12)
    assert rm["random_expected_avg"] == pytest.approx(macro.mean(), abs=1e-12)
    oracle = sub[ev].max(axis=1).groupby(cat).mean().mean()
    assert rm["oracle_avg"] == pytest.approx(oracle, abs=1e-12)
    assert rm["dynamic_pool"]["old_profiles_unchanged"] and rm["dynamic_pool"]["decisions_old_or_new"]
    real = res["real"][f"mmlu_{rm['split']}"]
    assert real["ci_low"] <= real["diff"] <= real["ci_high"]
    assert real["diff"] == pytest.approx(rm["mixed_avg"] - rm["best_single_avg"], abs=1e-12)


def test_real_heldout_categories_against_groupby(run, shared_data):
    """Held-out whole categories: every fold's baselines recomputed with pandas groupby on the public matrix."""
    res, claims, _ = run
    if not res["real_data"]:
        pytest.skip("the quick run had no public data (CAPFRONT_DATA_DIR unset)")
    hc = res["real_heldout_categories"]
    items = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_items.csv", dtype={"id": str}).set_index("id")
    corr = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", dtype={"id": str}).set_index("id")
    pools = hc["pools"]
    main_pool = list(res["real_main"]["prices"])
    assert pools["pool"]["pool"] == main_pool
    for name, v in pools.items():
        sub = corr[v["pool"]].dropna()
        cat = items.loc[sub.index, "category"]
        percat = sub.groupby(cat).mean()  # category x model accuracy
        assert len(percat) == 14
        folds = v["folds"]
        assert len(folds) == hc["n_category_folds"] == len(v["per_fold"])
        flat = [c for f in folds for c in f]
        assert sorted(flat) == sorted(percat.index)  # the folds partition the 14 categories
        fold_model = {}
        for f, row in zip(folds, v["per_fold"]):
            inf = cat.isin(f)
            macro = percat.loc[f].mean(axis=0)
            assert row["categories"] == " + ".join(f)
            assert row["n_eval"] == int(inf.sum())
            assert row["best_single"] == macro.idxmax(), (name, f)
            assert row["best_single_avg"] == pytest.approx(macro.max(), abs=1e-12)
            assert row["random_expected_avg"] == pytest.approx(macro.mean(), abs=1e-12)
            assert row["oracle_avg"] == pytest.approx(sub[inf].max(axis=1).groupby(cat[inf]).mean().mean(), abs=1e-12)
            assert row["diff"] == pytest.approx(row["mixed_avg"] - row["best_single_avg"], abs=1e-12)
            assert row["ci_low"] <= row["diff"] <= row["ci_high"]
            assert 0.0 <= row["share_all_other"] <= 1.0
            if row["top_routed_share"] == 1.0:  # the whole fold went to one model: the router's accuracy is that model's
                assert row["mixed_avg"] == pytest.approx(macro[row["top_routed"]], abs=1e-12)
                fold_model.update({c: row["top_routed"] for c in f})
        po = v["pooled"]
        overall = percat.mean(axis=0)
        assert po["covers_all_items"] and po["n_eval"] == len(sub)
        assert po["best_single"] == overall.idxmax()
        assert po["best_single_avg"] == pytest.approx(overall.max(), abs=1e-12)
        assert po["diff"] == pytest.approx(po["router_avg"] - po["best_single_avg"], abs=1e-12)
        assert po["ci_low"] <= po["diff"] <= po["ci_high"]
        assert po["mean_fold_diff"] == pytest.approx(np.mean([r["diff"] for r in v["per_fold"]]), abs=1e-12)
        if len(fold_model) == 14:  # cross-fitted router = one model per category: macro of those accuracies
            assert po["router_avg"] == pytest.approx(np.mean([percat.loc[c, m] for c, m in fold_model.items()]), abs=1e-12)
        if v.get("dropped"):
            assert name != "pool" and v["dropped"] == pools["pool"]["pooled"]["best_single"]
            assert v["pool"] == [m for m in main_pool if m != v["dropped"]]
    pm = pools["pool"]["pooled"]
    row = claims.set_index("claim_id").loc["router-beats-best-heldout-categories"]
    assert row["method"] == "public-data"
    assert row["verdict"] == ("reproduced" if pm["ci_low"] > 0 and pm["folds_router_below_best"] == 0 else "differs")
