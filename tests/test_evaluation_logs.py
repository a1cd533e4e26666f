"""Chapter evaluation_logs: the library on hand-worked examples, the schema, the quick run, the public matrices."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from capfront_lib import evaluation_logs as el
from capfront_lib import runner
from capfront_lib.core import demo_log, from_wide, load_log
from capfront_lib.core.params import ParameterError, schema_for


def wide_log(y: np.ndarray, **kw):
    df = pd.DataFrame(y, columns=[f"m{j}" for j in range(y.shape[1])])
    df.insert(0, "id", [f"q{i}" for i in range(len(df))])
    return from_wide(df, **kw)


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
        curve = el.pool_curve(log)
        for k in range(1, 5):
            best_subset = max(y[:, list(s)].max(axis=1).mean() for s in itertools.combinations(range(4), k))
            assert curve["oracle"].iloc[k - 1] <= best_subset + 1e-12


def test_graded_log_goes_through_the_one_threshold_rule():
    s = np.array([[0.5, 0.0], [0.25, 0.5], [1.0, 0.0]])  # the exercise of the chapter
    log = wide_log(s, require_binary=False)
    with pytest.raises(ValueError, match="binary"):
        el.all_wrong_rate(log)
    strict, half = el.binary_view(log, 1.0), el.binary_view(log, 0.5)
    assert strict.binary and el.oracle_accuracy(strict) == pytest.approx(1 / 3)
    assert el.oracle_accuracy(half) == 1.0 and el.single_best(half) == ("m0", pytest.approx(2 / 3))
    assert el.all_wrong_rate(strict) == pytest.approx(2 / 3)
    # the same rule inside the metrics: the oracle and the single best read one table
    fm = el.routing_metrics(log, threshold=1.0)["metrics"]
    assert fm["oracle_accuracy"] == pytest.approx(1 / 3) and fm["oracle_any_positive_accuracy"] == 1.0
    # a 0/1 log loaded as graded comes back as the same numbers, flagged binary
    b = el.binary_view(wide_log(np.array([[1, 0], [0, 0]]), require_binary=False))
    assert b.binary and el.all_wrong_rate(b) == 0.5


def test_oracle_statistics_refuse_missing_cells_and_complete_part_drops_them(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("id,a,b\nq1,1,\nq2,0,1\nq3,0,0\n")
    log = load_log(p, missing="keep_partial")
    with pytest.raises(ValueError, match="missing cells in generation 0"):
        el.oracle_accuracy(log)
    part, n_out = el.complete_part(log)
    assert n_out == 1 and list(part.query_ids) == ["q2", "q3"] and el.oracle_accuracy(part) == 0.5


def test_category_accuracy_matches_groupby():
    log = demo_log(600, 3, n_categories=4, seed=2)
    long = log.to_long()
    expected = long.pivot_table(index="category", columns="model", values="correct", aggfunc="mean")
    pd.testing.assert_frame_equal(el.category_accuracy(log), expected, check_names=False, check_like=True)


def test_dominated_models_by_hand():
    summary = pd.DataFrame({"accuracy": [0.5, 0.6, 0.55, 0.6], "mean_cost_usd": [1.0, 2.0, 3.0, 2.0]},
                           index=["a", "b", "c", "d"])
    assert el.dominated_models(summary) == ["c"]  # b and d tie (neither dominates the other)


def test_routing_scores_follow_the_columns_of_the_log():
    log = demo_log(300, 4, seed=1)
    run = el.routing_metrics(log, weak_model="model_00", strong_model="model_03")
    pr = run["metrics"]["pair_routers"]
    assert {k: v["kind"] for k, v in pr.items()} == {"oracle": "oracle", "category": "router", "confidence": "cascade", "random": "random"}
    # the cascade pays the weak call on every query: at full strong share it costs both models
    cost = log.wide("cost_usd")
    assert run["curves"]["confidence"]["mean_cost"].iloc[-1] == pytest.approx((cost["model_00"] + cost["model_03"]).mean())
    assert run["curves"]["category"]["mean_cost"].iloc[-1] == pytest.approx(cost["model_03"].mean())
    bare = wide_log((np.random.default_rng(3).random((50, 3)) < 0.5).astype(int))
    assert set(el.routing_metrics(bare)["metrics"]["pair_routers"]) == {"oracle", "random"}
    with pytest.raises(ValueError, match="no model 'nope'"):
        el.routing_metrics(bare, weak_model="nope", strong_model="m1")


# ---------------------------------------------------------------------------------------------
# the schema


def test_schema_names_equal_the_notebook_parameters():
    ch = runner.chapter("evaluation_logs")
    assert schema_for("evaluation_logs").names == list(ch.parameters)
    defaults = {k: p.default for k, p in ch.parameters.items()}
    schema_for("evaluation_logs").validate(defaults)  # the defaults are valid
    for profile, overrides in ch.profiles.items():
        schema_for("evaluation_logs").validate({**defaults, **overrides})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_models": 0}, "parameter 'n_models' must be >= 1, got 0"),
        ({"correct_threshold": 0.0}, "parameter 'correct_threshold' must be > 0"),
        ({"correct_threshold": 1.5}, "parameter 'correct_threshold' must be <= 1"),
        ({"missing": "bogus"}, "parameter 'missing' must be one of"),
        ({"real_data": "on"}, "parameter 'real_data' must be one of"),
        ({"weak_model": "x", "strong_model": "x"}, "name the same model"),
        ({"n_queries": 10_000_000, "n_models": 100}, "limit is 10,000,000"),
    ],
)
def test_schema_refuses_impossible_values(change, message):
    defaults = {k: p.default for k, p in runner.chapter("evaluation_logs").parameters.items()}
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        schema_for("evaluation_logs").validate({**defaults, **change})


def test_items_path_needs_a_log(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("id,category\nq1,a\n")
    defaults = {k: p.default for k, p in runner.chapter("evaluation_logs").parameters.items()}
    with pytest.raises(ParameterError, match="give outcomes_path too"):
        schema_for("evaluation_logs").validate({**defaults, "items_path": str(items)})


# ---------------------------------------------------------------------------------------------
# the quick run


def loop_cheapest_correct(wide: pd.DataFrame, cost: pd.DataFrame) -> float:
    total = 0.0
    for q in wide.index:
        right = [m for m in wide.columns if wide.loc[q, m] == 1]
        pool = right or list(wide.columns)
        total += min(cost.loc[q, m] for m in pool)
    return total / len(wide)


def test_quick_run_numbers_match_an_independent_computation(quick_results):
    res, claims, nb = quick_results("evaluation_logs")
    assert nb.exists() and list(claims.columns)[:2] == ["chapter", "claim_id"]
    assert len(claims) == 0 and set(res["verdict_counts"].values()) == {0}  # no paper, no claims of record
    # rebuild the same simulated log from the chapter's default parameters and recompute with pandas
    long = demo_log(2000, 8, n_generations=1, n_categories=6, seed=0, specialisation=0.8).to_long()
    wide = long.pivot(index="query_id", columns="model", values="correct")
    cost = long.pivot(index="query_id", columns="model", values="cost_usd")
    assert res["n_queries"] == len(wide) and res["n_models"] == wide.shape[1]
    acc = wide.mean()
    assert res["single_best_model"] == acc.idxmax()
    assert res["single_best_accuracy"] == pytest.approx(acc.max())
    assert res["oracle_accuracy"] == pytest.approx(wide.max(axis=1).mean())
    assert res["all_wrong_rate"] == pytest.approx((wide.sum(axis=1) == 0).mean())
    assert res["accuracy"] == pytest.approx(acc.to_dict())
    assert res["source"] == "simulated" and res["data_label"] == "simulated"
    m = res["metrics"]
    assert m["oracle_cost"] == pytest.approx(loop_cheapest_correct(wide, cost))
    assert m["gap_at_oracle"] == pytest.approx(wide.max(axis=1).mean() - acc.max())
    assert m["random_uniform_accuracy"] == pytest.approx(acc.mean())
    assert m["pair_strong"] == acc.idxmax() and m["pair_weak"] == cost.mean().idxmin()
    assert set(m["pair_routers"]) == {"oracle", "category", "confidence", "random"}
    text = (nb.parent / nb.name).read_text()
    assert "NaN" not in json.dumps(res)
    assert "fig-el-pgr" in text and "fig-el-frontier" in text


def _capfront(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "capfront_lib.cli", *args], capture_output=True, text=True)


@pytest.mark.realdata
def test_mmlu_pro_run_matches_pandas_and_the_data_readme(shared_data, tmp_path):
    correct = shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv"
    items = shared_data / "MMLU-Pro" / "mmlu_pro_items.csv"
    proc = _capfront("run", "evaluation_logs", "-p", "outcomes_path", str(correct), "-p", "items_path", str(items),
                     "-p", "real_data", "off", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    df = pd.read_csv(correct, index_col="id").dropna()
    acc = df.mean()
    assert res["source"] == "public data" and res["data_label"] == "public data (MMLU-Pro/mmlu_pro_correct.csv)"
    assert res["n_queries"] == len(df) == 10326 and res["n_models"] == 29
    assert res["single_best_model"] == acc.idxmax()
    assert res["single_best_accuracy"] == pytest.approx(acc.max())
    assert res["oracle_accuracy"] == pytest.approx(df.max(axis=1).mean())
    assert res["all_wrong_rate"] == pytest.approx((df.sum(axis=1) == 0).mean())
    assert res["dropped_queries"] == 12032 - 10326
    # the data README states: all-wrong 0.051, oracle 0.949, best single 0.718 on the complete items
    assert round(res["all_wrong_rate"], 3) == 0.051 and round(res["oracle_accuracy"], 3) == 0.949
    assert round(res["single_best_accuracy"], 3) == 0.718
    assert res["metrics"]["pair_weak"] == acc.idxmin() and "category" in res["metrics"]["pair_routers"]


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
    logs = el.public_logs(shared_data)
    assert set(logs) == {"mmlu_pro", "gsm8k"} and logs["gsm8k"][1] == "public data (ZeroEval/gsm8k_correct.csv)"


def test_malformed_log_stops_the_notebook_with_a_named_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,a,b\nq1,1,0\nq2,3,1\n")
    proc = _capfront("run", "evaluation_logs", "-p", "outcomes_path", str(bad), "--results-dir", str(tmp_path / "out"))
    assert proc.returncode != 0
    assert "column 'a' must be a score in [0, 1]" in proc.stderr and "q2" in proc.stderr and "=3" in proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_impossible_parameter_stops_the_run_before_a_kernel():
    proc = _capfront("run", "evaluation_logs", "-p", "n_models", "0", "--results-dir", "/tmp/capfront-never")
    assert proc.returncode != 0 and "parameter 'n_models' must be >= 1, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr
