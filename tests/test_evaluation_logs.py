"""Chapter evaluation_logs: the library on hand-worked examples, the quick run, the public MMLU-Pro matrix."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from capfront_lib import evaluation_logs as el
from capfront_lib.core import demo_log, from_wide, load_log


def wide_log(y: np.ndarray):
    df = pd.DataFrame(y, columns=[f"m{j}" for j in range(y.shape[1])])
    df.insert(0, "id", [f"q{i}" for i in range(len(df))])
    return from_wide(df)


def test_hand_worked_example():
    y = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 1], [1, 1, 0]])
    log = wide_log(y)
    assert el.single_best(log) == ("m0", 0.5)  # tie with m1 resolved to the first model
    assert el.oracle_accuracy(log) == 0.75
    assert el.all_wrong_rate(log) == 0.25
    assert el.oracle_routing_share(log).to_dict() == {"m0": 0.25, "m1": 0.0, "m2": 0.0}
    curve = el.pool_curve(log)
    assert curve["oracle"].tolist() == [0.5, 0.75, 0.75]
    assert curve["added_model"].tolist() == ["m0", "m1", "m2"]


def test_oracle_and_beta_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = (rng.random((30, 4)) < rng.uniform(0.1, 0.9, 4)).astype(int)
        log = wide_log(y)
        brute_oracle = sum(any(row) for row in y.tolist()) / len(y)
        brute_beta = sum(all(v == 0 for v in row) for row in y.tolist()) / len(y)
        assert el.oracle_accuracy(log) == pytest.approx(brute_oracle)
        assert el.all_wrong_rate(log) == pytest.approx(brute_beta)
        # the best k-subset oracle is never below the greedy (most-accurate-first) curve's single best
        curve = el.pool_curve(log)
        for k in range(1, 5):
            best_subset = max(y[:, list(s)].max(axis=1).mean() for s in itertools.combinations(range(4), k))
            assert curve["oracle"].iloc[k - 1] <= best_subset + 1e-12


def test_oracle_statistics_refuse_missing_cells(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("id,a,b\nq1,1,\nq2,0,1\n")
    log = load_log(p, missing="keep_partial")
    with pytest.raises(ValueError, match="missing cells in generation 0"):
        el.oracle_accuracy(log)


def test_category_accuracy_matches_groupby():
    log = demo_log(600, 3, n_categories=4, seed=2)
    long = log.to_long()
    expected = long.pivot_table(index="category", columns="model", values="correct", aggfunc="mean")
    pd.testing.assert_frame_equal(el.category_accuracy(log), expected, check_names=False, check_like=True)


def test_quick_run_numbers_match_an_independent_computation(quick_results):
    res, claims, nb = quick_results("evaluation_logs")
    assert nb.exists() and list(claims.columns)[:2] == ["chapter", "claim_id"]
    # rebuild the same simulated log from the chapter's default parameters and recompute with pandas
    long = demo_log(2000, 8, n_generations=1, n_categories=6, seed=0, specialisation=0.8).to_long()
    wide = long.pivot(index="query_id", columns="model", values="correct")
    assert res["n_queries"] == len(wide) and res["n_models"] == wide.shape[1]
    acc = wide.mean()
    assert res["single_best_model"] == acc.idxmax()
    assert res["single_best_accuracy"] == pytest.approx(acc.max())
    assert res["oracle_accuracy"] == pytest.approx(wide.max(axis=1).mean())
    assert res["all_wrong_rate"] == pytest.approx((wide.sum(axis=1) == 0).mean())
    assert res["accuracy"] == pytest.approx(acc.to_dict())
    assert res["source"] == "simulated"


def _capfront(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "capfront_lib.cli", *args], capture_output=True, text=True)


@pytest.mark.realdata
def test_mmlu_pro_run_matches_pandas_and_the_data_readme(shared_data, tmp_path):
    correct = shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv"
    items = shared_data / "MMLU-Pro" / "mmlu_pro_items.csv"
    proc = _capfront("run", "evaluation_logs", "-p", "outcomes_path", str(correct), "-p", "items_path", str(items), "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    df = pd.read_csv(correct, index_col="id").dropna()
    acc = df.mean()
    assert res["n_queries"] == len(df) == 10326 and res["n_models"] == 29
    assert res["single_best_model"] == acc.idxmax()
    assert res["single_best_accuracy"] == pytest.approx(acc.max())
    assert res["oracle_accuracy"] == pytest.approx(df.max(axis=1).mean())
    assert res["all_wrong_rate"] == pytest.approx((df.sum(axis=1) == 0).mean())
    assert res["dropped_queries"] == 12032 - 10326
    # the data README states: all-wrong 0.051, oracle 0.949, best single 0.718 on the complete items
    assert round(res["all_wrong_rate"], 3) == 0.051 and round(res["oracle_accuracy"], 3) == 0.949
    assert round(res["single_best_accuracy"], 3) == 0.718


@pytest.mark.realdata
def test_gsm8k_matrix_matches_the_data_readme(shared_data):
    path = shared_data / "ZeroEval" / "gsm8k_correct.csv"
    with pytest.warns(UserWarning, match="dropped"):
        log = load_log(path)
    df = pd.read_csv(path, index_col="id").dropna()
    assert log.n_queries == len(df) == 681
    assert el.all_wrong_rate(log) == pytest.approx((df.sum(axis=1) == 0).mean())
    best, acc = el.single_best(log)
    assert best == df.mean().idxmax() == "o1-mini-2024-09-12" and round(acc, 3) == 0.971
    assert round(el.oracle_accuracy(log), 3) == 0.997


def test_malformed_log_stops_the_notebook_with_a_named_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,a,b\nq1,1,0\nq2,3,1\n")
    proc = _capfront("run", "evaluation_logs", "-p", "outcomes_path", str(bad), "--results-dir", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "column 'a' must be binary 0/1" in proc.stderr and "q2=3" in proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_impossible_parameter_stops_the_run():
    proc = _capfront("run", "evaluation_logs", "-p", "n_models", "0", "--results-dir", "/tmp/capfront-never")
    assert proc.returncode == 1 and "parameter 'n_models' must be >= 1, got 0" in proc.stderr
