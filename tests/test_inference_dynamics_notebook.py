"""Checks of the inference_dynamics quick run (results.json, claims.csv) against independent computations,
and a run on a small log written by the test ("your log").

Run alone with ``CAPFRONT_TEST_CHAPTERS=inference_dynamics pytest tests/test_inference_dynamics_notebook.py``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core.claims import LEDGER_COLUMNS, VERDICTS, decide, load_registry
from capfront_lib.inference_dynamics import make_routing_world
from capfront_lib.inference_dynamics.paper import table1_path

ROOT = Path(__file__).resolve().parents[1]
STEM = "inference_dynamics"


def _params() -> dict:
    text = (ROOT / "notebooks" / f"{STEM}.md").read_text()
    cell = text.split(":tags: [parameters]", 1)[1].split("```", 1)[0]
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell).body if isinstance(n, ast.Assign)}


P = _params()
QUICK_WORLD = {k: P[k] for k in ("n_models", "n_knowledge", "n_capabilities", "n_index", "n_eval", "n_bench_index", "n_bench_eval",
                                 "max_k_tags", "max_c_tags", "aptitude_design", "specialisation", "mu_sd", "price_quality_corr",
                                 "unseen_frac", "text_noise")}


@pytest.fixture(scope="module")
def run(quick_results):
    return quick_results(STEM)


def _num(x: str) -> float | None:
    return None if x in ("", "nan") else float(x)


def test_ledger_has_one_row_per_registry_entry(run):
    res, claims, _ = run
    reg = load_registry(STEM)
    assert list(claims.columns) == list(LEDGER_COLUMNS)
    assert claims["claim_id"].tolist() == reg.ids  # every registry id has a row, in registry order, and no other row
    assert set(claims["verdict"]) <= set(VERDICTS)
    assert sum(res["verdict_counts"].values()) == len(reg.ids)
    assert res["claims_profile"] == "quick"


def test_statistical_rows_carry_their_interval_and_n(run):
    res, claims, _ = run
    reg = load_registry(STEM)
    for r in claims.itertuples():
        spec = reg[r.claim_id]
        if spec.rule in ("not-checkable", "holds") or r.our_value == "":
            continue
        lo, hi = _num(r.ci_low), _num(r.ci_high)
        if spec.statistical:
            assert lo is not None and lo <= hi, r.claim_id
            assert float(r.n) >= spec.min_n or r.verdict == "inconclusive", r.claim_id


def test_paper_table_numbers_match_independent_recomputation(run):
    res, claims, _ = run
    t = pd.read_csv(table1_path()).set_index("method")
    cells = t[["mmlu_pro", "gpqa", "biggenbench", "livebench"]]
    s = res["paper_table1"]
    assert s["mixed_avg_recomputed"] == pytest.approx(cells.loc["InferenceDynamics (mixed)"].mean(), abs=1e-12)
    singles = cells[t["group"] == "single"]
    assert s["best_single_avg_recomputed"] == pytest.approx(singles.mean(axis=1).max(), abs=1e-12)
    assert s["random_expected_avg"] == pytest.approx(singles.to_numpy().mean(), abs=1e-12)
    assert s["gain_printed_avgs"] == pytest.approx(74.55 - 73.33, abs=1e-9)
    rows = claims.set_index("claim_id")
    assert rows.loc["t1-mixed-avg", "verdict"] == "differs" and rows.loc["t1-random", "verdict"] == "reproduced"
    assert rows.loc["fig5-livebench-coding", "verdict"] == "not-checkable"


def test_hand_example(run):
    res, _, _ = run
    h = res["hand_example"]
    assert h["max_abs_error"] < 1e-12
    assert h["choices_BA_AB_C"] == [1, 0, 1]
    assert h["KS_BA"] == pytest.approx([59 / 189, 22 / 63], abs=1e-12)
    assert h["KS_AB"] == pytest.approx([88 / 189, 20 / 63], abs=1e-12)


def test_synthetic_singles_and_baselines_independent(run):
    res, _, _ = run
    w = make_routing_world(res["seed"], **QUICK_WORLD)
    me = w.mask("eval")
    Ye = w.Y[me]
    bench = w.queries["benchmark"][me].to_numpy()
    macro = pd.DataFrame(Ye, columns=w.models).groupby(bench).mean().mean(axis=0)
    tab = res["synthetic"]["table_seed0"]
    for m in w.models:
        assert tab[m]["avg"] == pytest.approx(macro[m], abs=1e-12)
    assert tab["Best single (hindsight)"]["avg"] == pytest.approx(macro.max(), abs=1e-12)
    assert tab["Random (expected)"]["avg"] == pytest.approx(macro.mean(), abs=1e-12)
    oracle = pd.Series(Ye.max(axis=1)).groupby(bench).mean().mean()
    assert tab["Oracle (hindsight)"]["avg"] == pytest.approx(oracle, abs=1e-12)
    bayes = pd.Series(Ye[np.arange(len(Ye)), np.argmax(w.P[me], axis=1)]).groupby(bench).mean().mean()
    assert tab["Oracle (Bayes)"]["avg"] == pytest.approx(bayes, abs=1e-12)
    for row in ("Routing by Knowledge", "Routing by Capability", "InferenceDynamics (mixed)", "Mixed, alpha=0"):
        assert macro.min() - 1e-12 <= tab[row]["avg"] <= oracle + 1e-12
    summ = pd.DataFrame(res["synthetic"]["summary"]).set_index("method")
    assert summ.loc["Best single (hindsight)", "n"] == P["n_seeds"]


def test_sweep_consistency(run):
    res, _, _ = run
    sw = res["synthetic_sweep"]
    acc, pr = np.array(sw["accuracy"]), np.array(sw["performance_ratio"])
    best = res["synthetic"]["table_seed0"][sw["best_single"]]["avg"]
    np.testing.assert_allclose(pr, 100 * acc / best, rtol=1e-12)
    assert acc[0] == pytest.approx(res["synthetic"]["table_seed0"]["InferenceDynamics (mixed)"]["avg"], abs=1e-12)


def test_dynamic_pool_and_noise_curve(run):
    res, claims, _ = run
    d = res["dynamic_pool_synthetic"]
    assert d["old_profiles_unchanged"] and d["decisions_old_or_new"]
    assert d["router"][0] == pytest.approx(d["best_in_pool"][0], abs=1e-15)
    assert d["incremental_vs_batch_max_error"] < 1e-12
    g = res["tag_noise_curve"]["gain_mean"]
    assert g[-1] < 0.01 and g[-1] < g[0]  # random tags: no gain left (the noisy profiles can even cost accuracy)
    rows = claims.set_index("claim_id")
    assert rows.loc["extensibility", "verdict"] == rows.loc["add-knowledge", "verdict"] == "reproduced"


def _real_frames(shared_data):
    items = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_items.csv", dtype={"id": str}).set_index("id")
    corr = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", dtype={"id": str}).set_index("id")
    return items, corr


def test_real_data_numbers(run, shared_data):
    res, claims, _ = run
    if not res["real_data"]:
        pytest.skip("the quick run had no public data (CAPFRONT_DATA_DIR unset)")
    items, corr = _real_frames(shared_data)
    sub = corr[P["pool"]].dropna()
    src = items.loc[sub.index, "src"].str.split("-").str[0]
    ev = src.isin(P["holdout"])
    cat = items.loc[sub.index, "category"][ev]
    macro = sub[ev].groupby(cat).mean().mean(axis=0)
    tab = res["real"][P["split"]]["table"]
    assert tab["Best single (hindsight)"]["avg"] == pytest.approx(macro.max(), abs=1e-12)
    assert tab["Random (expected)"]["avg"] == pytest.approx(macro.mean(), abs=1e-12)
    assert tab["Oracle (hindsight)"]["avg"] == pytest.approx(sub[ev].max(axis=1).groupby(cat).mean().mean(), abs=1e-12)
    rows = claims.set_index("claim_id")
    gain = 100 * (tab["InferenceDynamics (mixed)"]["avg"] - macro.max())
    assert float(rows.loc["ood-router-beats-best", "ci_low"]) <= gain <= float(rows.loc["ood-router-beats-best", "ci_high"])
    assert rows.loc["ood-router-beats-best", "our_value"].startswith(f"{gain:+.2f} pt")
    k = 100 * (tab["Routing by Knowledge"]["avg"] - macro.max())
    assert rows.loc["ood-knowledge-beats-best", "our_value"].startswith(f"{k:+.2f} pt")
    # the beta rows are read off the sweep table of results.json
    sw = pd.DataFrame({c: res["real_sweep"][c] for c in ("beta", "performance_ratio", "cost_ratio", "accuracy")}).set_index("beta")
    assert float(rows.loc["beta0-cost", "ci_low"]) <= sw.loc[0.0, "cost_ratio"] <= float(rows.loc["beta0-cost", "ci_high"])
    assert rows.loc["beta15-cost", "our_value"].startswith(f"{sw.loc[15.0, 'cost_ratio']:.1f} %")
    assert sw.loc[0.0, "accuracy"] == pytest.approx(tab["InferenceDynamics (mixed)"]["avg"], abs=1e-12)
    # the largest beta sends everything to the model with the lowest estimated cost: cost ratio far below beta = 0
    assert sw["cost_ratio"].iloc[-1] < sw["cost_ratio"].iloc[0]
    # no-single-dominates: the reported task's margin equals a groupby on the stitched pool's MMLU-Pro part (or GSM8K)
    spec = pd.DataFrame(res["stitched"]["task_specialists"]).set_index("task")
    task = spec["ci_low"].idxmax()
    assert float(rows.loc["no-single-dominates-real", "ci_low"]) == pytest.approx(spec.loc[task, "ci_low"], rel=1e-3)


def test_real_heldout_categories_against_groupby(run, shared_data):
    res, claims, _ = run
    if not res["real_data"]:
        pytest.skip("the quick run had no public data (CAPFRONT_DATA_DIR unset)")
    hc = res["real_heldout_categories"]
    items, corr = _real_frames(shared_data)
    pools = hc["pools"]
    assert pools["chapter pool"]["pool"] == P["pool"]
    for name, v in pools.items():
        sub = corr[v["pool"]].dropna()
        cat = items.loc[sub.index, "category"]
        percat = sub.groupby(cat).mean()
        assert len(percat) == 14
        flat = [c for r in v["per_fold"] for c in r["categories"].split(" + ")]
        assert sorted(flat) == sorted(percat.index)
        for row in v["per_fold"]:
            f = row["categories"].split(" + ")
            inf = cat.isin(f)
            m = percat.loc[f].mean(axis=0)
            assert row["n_eval"] == int(inf.sum())
            assert row["best_single"] == m.idxmax()
            assert row["best_single_avg"] == pytest.approx(m.max(), abs=1e-12)
            assert row["random_expected_avg"] == pytest.approx(m.mean(), abs=1e-12)
            assert row["ci_low"] <= row["diff"] <= row["ci_high"]
        po = v["pooled"]
        assert po["covers_all_items"] and po["n_eval"] == len(sub)
        assert po["best_single"] == percat.mean(axis=0).idxmax()
    po = pools["chapter pool"]["pooled"]
    row = claims.set_index("claim_id").loc["ood-heldout-categories"]
    assert float(row["ci_low"]) == pytest.approx(100 * po["ci_low"], abs=1e-9)
    assert row["verdict"] == decide(load_registry(STEM)["ood-heldout-categories"], 100 * po["diff"],
                                    (100 * po["ci_low"], 100 * po["ci_high"]), po["n_eval"], "quick").verdict


def test_your_log_runs_and_matches_pandas(tmp_path):
    """A small long-form log written here: the chapter runs on it (no public data), labels it 'your log' and
    its router table equals an independent pandas computation for the single models."""
    from capfront_lib import runner

    rng = np.random.default_rng(7)
    cats = np.array(["algebra", "poetry", "law", "biology"])
    n_q, models = 240, ["small", "medium", "large"]
    skill = {"small": [0.9, 0.3, 0.4, 0.5], "medium": [0.5, 0.8, 0.5, 0.5], "large": [0.6, 0.6, 0.7, 0.7]}
    qcat = rng.integers(0, 4, n_q)
    rows = []
    for q in range(n_q):
        for m in models:
            rows.append({"query_id": f"q{q:03d}", "model": m, "correct": int(rng.random() < skill[m][qcat[q]]),
                         "category": cats[qcat[q]]})
    log = pd.DataFrame(rows)
    path = tmp_path / "my_log.csv"
    log.to_csv(path, index=False)
    over = [("outcomes_path", str(path)), ("use_public_data", "false"), ("n_seeds", "1"), ("n_index", "400"),
            ("n_eval", "200"), ("noise_grid", "[0.0, 1.0]"), ("text_noise_grid", "[0.0]"), ("n_boot", "100")]
    runner.run_chapter(STEM, over, profile="quick", output=tmp_path / "nb.ipynb", results_dir=tmp_path / "res", root=ROOT)
    res = json.loads((tmp_path / "res" / "results.json").read_text())
    assert res["data_source"] == "your log" and res["data_labels"]["own_log"] == "your log (my_log.csv)"
    own = res["own_log"]
    assert own["has_cost"] is False and "heldout_categories" in own
    ev = np.random.default_rng(0).random(n_q) < 0.4  # the chapter's seeded 40 % evaluation split (seed 0)
    wide = log.pivot(index="query_id", columns="model", values="correct").sort_index()
    qc = log.drop_duplicates("query_id").set_index("query_id")["category"].sort_index()
    macro = wide[ev].groupby(qc[ev]).mean().mean(axis=0)
    for m in models:
        assert own["table"][m]["avg"] == pytest.approx(macro[m], abs=1e-12)
    claims = pd.read_csv(tmp_path / "res" / "claims.csv", dtype=str, keep_default_na=False)
    assert claims["claim_id"].tolist() == load_registry(STEM).ids
    public = [c.id for c in load_registry(STEM).claims if c.method == "public-data"]
    assert (claims.set_index("claim_id").loc[public, "our_value"] == "").all()  # skipped, with the reason
