"""``capfront report``: planning, input checks, and report.json against independent computations.

Default suite: the planner and the input checks (no chapter runs), one report on the shipped long log with costs
and confidences (evaluation_logs + economic_evaluation, HTML book included), one on the shipped wide 0/1 log
without costs (the chapters that apply except the slow oracle_debiasing; the others named as skipped). The full
seven-chapter reports are ``@pytest.mark.paper``; the public matrices are behind ``shared_data``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib import report as rp
from capfront_lib.core import from_wide, load_log

DATA = Path(__file__).resolve().parent / "data"
SMALL = DATA / "report_small_log.csv"  # 600 queries x 3 models, long form: cost, latency, confidence, tokens, category
WIDE = DATA / "report_wide_log.csv"  # 300 queries x 5 models, wide 0/1, no costs


def capfront(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items()}
    return subprocess.run([sys.executable, "-m", "capfront_lib.cli", *args], capture_output=True, text=True, env=env)


# ---------------------------------------------------------------------------------------------
# independent computations


def loop_oracle(wide: pd.DataFrame, cost: pd.DataFrame | None) -> tuple[float, float | None]:
    solved, total = 0, 0.0
    for q in wide.index:
        right = [m for m in wide.columns if wide.loc[q, m] == 1]
        solved += bool(right)
        if cost is not None:
            total += min(cost.loc[q, m] for m in (right or list(wide.columns)))
    n = len(wide)
    return solved / n, (total / n if cost is not None else None)


def brute_best_model(acc: pd.Series, cost: pd.Series, price: float) -> str:
    """The model with the highest expected reward -(cost + price * error) (ties: lower error)."""
    reward = -(cost + price * (1 - acc))
    best = reward.max()
    tied = reward[np.isclose(reward, best, rtol=0, atol=1e-15)]
    return (1 - acc[tied.index]).idxmin()


def cp_two_sided(k: int, n: int, alpha: float) -> tuple[float, float]:
    lo = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# planning (nothing runs)


def test_plan_runs_every_chapter_on_a_log_with_costs_and_confidences(tmp_path):
    log = rp.load_input(SMALL)
    plans = {p.stem: p for p in rp.plan_chapters(rp.log_facts(log), tmp_path / "x.csv")}
    assert list(plans) == list(rp.LOG_CHAPTERS)
    assert plans["co_failure_ceiling"].status == "skipped" and "at least 5 models" in plans["co_failure_ceiling"].reason
    del plans["co_failure_ceiling"]
    assert all(p.status == "run" for p in plans.values()), {s: p.reason for s, p in plans.items()}
    ov = {s: dict(p.overrides) for s, p in plans.items()}
    assert all(o["outcomes_path"] == str(tmp_path / "x.csv") for o in ov.values())
    assert ov["evaluation_logs"]["real_data"] == "off" and ov["inference_dynamics"]["use_public_data"] == "False"
    assert "real_data" not in ov["oracle_debiasing"]  # that notebook has no such parameter


def test_plan_names_what_a_wide_log_without_costs_lacks(tmp_path):
    log = rp.load_input(WIDE)
    plans = {p.stem: p for p in rp.plan_chapters(rp.log_facts(log), tmp_path / "x.csv")}
    assert {s for s, p in plans.items() if p.status == "run"} == {"evaluation_logs", "oracle_debiasing", "co_failure_ceiling"}
    assert "category" in plans["inference_dynamics"].reason
    assert "confidence" in plans["markov_copula_cascades"].reason and "cost_usd" in plans["markov_copula_cascades"].reason
    assert "cost" in plans["economic_evaluation"].reason
    assert "output_tokens" in plans["human_in_the_loop"].reason and "confidence" in plans["human_in_the_loop"].reason


def test_plan_skips_a_chapter_whose_notebook_takes_no_log(tmp_path, monkeypatch):
    from capfront_lib import runner

    real = runner.chapter

    def no_log(stem, root=None):
        ch = real(stem, root)
        if stem == "co_failure_ceiling":
            return runner.Chapter(ch.stem, ch.title, ch.path, {k: v for k, v in ch.parameters.items() if k != "outcomes_path"}, ch.profiles)
        return ch

    monkeypatch.setattr(runner, "chapter", no_log)
    plans = {p.stem: p for p in rp.plan_chapters(rp.log_facts(rp.load_input(WIDE)), tmp_path / "x.csv")}
    assert plans["co_failure_ceiling"].status == "skipped" and "does not take a log yet" in plans["co_failure_ceiling"].reason


def test_cascade_section_reads_only_this_logs_section():
    label = "your log (a.csv)"
    good = {"your_log": {"label": label, "models": ["s", "l"], "n_train": 3, "n_test": 7, "theta_adjacent": [1.5],
                         "auc": [{"baseline": "GS-soft"}], "ece": []}}
    cas, why = rp.cascade_from_chapter(good, label)
    assert why is None and cas["models"] == ["s", "l"] and cas["n_train"] + cas["n_test"] == 10
    demo = {"your_log": {"label": "simulated demo log", "message": "This section cannot run on your log (a.csv): ..."}}
    cas, why = rp.cascade_from_chapter(demo, label)
    assert cas is None and "cannot run" in why
    assert rp.cascade_from_chapter(None, label)[0] is None


# ---------------------------------------------------------------------------------------------
# input: costs, items, graded scores


def test_costs_per_model_and_per_query_are_merged(tmp_path):
    log = rp.load_input(WIDE)
    per_model = tmp_path / "costs.csv"
    per_model.write_text("model,cost_usd\n" + "".join(f"llm_{j},{(j + 1) / 1000}\n" for j in range(5)))
    prepared = rp.prepare_log(log, rp.read_costs(per_model, log), 1.0)
    c = prepared.wide("cost_usd")
    assert c["llm_3"].eq(0.004).all() and not c.isna().any().any()
    long = prepared.to_long()
    per_query = tmp_path / "pq.csv"
    long.assign(cost_usd=np.arange(len(long)) / 1e5)[["query_id", "model", "cost_usd"]].to_csv(per_query, index=False)
    prepared2 = rp.prepare_log(log, rp.read_costs(per_query, log), 1.0)
    assert prepared2.to_long()["cost_usd"].tolist() == pytest.approx((np.arange(len(long)) / 1e5).tolist())
    # the file the chapters read keeps the user's file name, so pages say "your log (report_wide_log.csv)"
    path = rp.write_input(WIDE, prepared, True, tmp_path / "input")
    assert path.name == WIDE.name
    back = load_log(path)
    assert back.has("cost_usd") and back.wide("correct").equals(log.wide("correct"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("model,price\nllm_0,1\n", "column 'cost_usd' is missing"),
        ("model,cost_usd\nllm_0,1\nllm_1,-2\n", "line 3: -2"),
        ("model,cost_usd\nllm_0,1\ngpt-9,2\n", "column 'model', line 3: 'gpt-9' is not a model"),
        ("model,cost_usd\nllm_0,1\nllm_0,2\n", "line 3: model 'llm_0' appears twice"),
        ("model,cost_usd\nllm_0,1\nllm_1,2\n", "no cost for models ['llm_2', 'llm_3', 'llm_4']"),
        ("model,cost_usd\nllm_0,NA\n", "column 'cost_usd', line 2"),
        ("model,cost_usd,note\nllm_0,1,x\n", "unexpected columns ['note']"),
    ],
)
def test_bad_costs_tables_name_file_column_and_line(tmp_path, text, message):
    p = tmp_path / "costs.csv"
    p.write_text(text)
    with pytest.raises(rp.ReportError, match=__import__("re").escape(message)) as err:
        rp.read_costs(p, rp.load_input(WIDE))
    assert str(err.value).startswith(str(p)) and "\n" not in str(err.value)


def test_graded_scores_reach_the_chapters_as_0_1(tmp_path):
    df = pd.DataFrame({"id": ["a", "b", "c"], "m1": [0.5, 0.25, 1.0], "m2": [0.0, 0.5, 0.0]})
    src = tmp_path / "graded.csv"
    df.to_csv(src, index=False)
    log = rp.load_input(src)
    prepared = rp.prepare_log(log, None, 0.5)
    assert prepared.binary and prepared.wide("correct").to_numpy().tolist() == [[1, 0], [0, 1], [1, 0]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.csv"], "missing.csv: evaluation log not found"),
        ([str(WIDE), "--chapters", "repliclust"], "do not read logs"),
        ([str(WIDE), "--threshold", "0"], "--threshold"),
        ([str(SMALL), "--costs", str(WIDE)], "already has a 'cost_usd' column"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    proc = capfront("report", *args, "--out", str(tmp_path / "out"), "--no-html")
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_malformed_log_is_refused_with_its_column_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,a,b\nq1,1,0\nq2,yes,1\n")
    proc = capfront("report", str(bad), "--out", str(tmp_path / "out"), "--no-html")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and str(bad) in line and "column 'a'" in line and "line 3" in line


# ---------------------------------------------------------------------------------------------
# full reports


def _check_log_metrics(report: dict, long: pd.DataFrame, with_cost: bool) -> None:
    wide = long.pivot(index="query_id", columns="model", values="correct")
    cost = long.pivot(index="query_id", columns="model", values="cost_usd") if with_cost else None
    acc = wide.mean()
    m = report["metrics"]
    assert m["single_best"] == acc.idxmax() and m["single_best_accuracy"] == pytest.approx(acc.max())
    o_acc, o_cost = loop_oracle(wide, cost)
    assert m["oracle_accuracy"] == pytest.approx(o_acc) and m["gap_at_oracle"] == pytest.approx(o_acc - acc.max())
    if with_cost:
        assert m["oracle_cost"] == pytest.approx(o_cost)
        assert m["single_best_cost"] == pytest.approx(cost[acc.idxmax()].mean())
    else:
        assert m["oracle_cost"] is None and m["aiq_zero_router"] is None and m["random_at_oracle_cost"] is None
    cert = report["certificate"]
    K = int((wide.sum(axis=1) == 0).sum())
    assert cert["n_all_wrong"] == K and cert["beta"] == pytest.approx(K / len(wide))
    lo, hi = cp_two_sided(K, len(wide), cert["alpha"])
    assert cert["beta_ci"] == pytest.approx([lo, hi], rel=1e-9, abs=1e-12)


def test_report_on_a_log_with_costs_and_confidences(tmp_path):
    out = tmp_path / "rep"
    proc = capfront("report", str(SMALL), "--out", str(out), "--json", "--chapters", "evaluation_logs", "economic_evaluation")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report == json.loads((out / "report.json").read_text())
    assert list(report)[: len(rp.JSON_KEYS)] == list(rp.JSON_KEYS) and "NaN" not in proc.stdout
    assert report["schema_version"] == 1 and report["input_label"] == "your log (report_small_log.csv)"
    long = pd.read_csv(SMALL, dtype={"query_id": str})
    _check_log_metrics(report, long, with_cost=True)
    # the optimal model per price of error against a brute force over prices inside every interval
    acc = long.groupby("model")["correct"].mean()
    cost = long.groupby("model")["cost_usd"].mean()
    om = report["optimal_models"]
    assert om[0]["price_of_error_from"] == 0 and om[-1]["price_of_error_to"] is None
    for row in om:
        hi = row["price_of_error_to"] if row["price_of_error_to"] is not None else 10 * row["price_of_error_from"] + 1
        for price in np.linspace(row["price_of_error_from"], hi, 7)[1:-1]:
            assert brute_best_model(acc, cost, price) == row["model"]
    # pair routers: the confidence cascade and the category router exist because the log has those columns
    assert set(report["metrics"]["pair_routers"]) == {"oracle", "category", "confidence", "random"}
    ch = report["chapters"]
    assert set(ch) == {"evaluation_logs", "economic_evaluation"}
    for stem, c in ch.items():
        assert c["status"] in ("ran", "cached"), c
        assert c["data_label"] == "your log (report_small_log.csv)"
        assert (out / c["notebook"]).is_file() and (out / c["page"]).is_file()
    assert report["cascade"] is None and "not requested" in report["cascade_skipped"]
    # the HTML book: summary and pages, self-contained (no absolute path of this machine), labelled
    assert report["html_builder"] == "jupyter-book"
    index = (out / report["html"]).read_text()
    assert "your log (report_small_log.csv)" in index and "optimal model per price of error" in index.lower()
    page = (out / ch["evaluation_logs"]["page"]).read_text()
    assert "your log (report_small_log.csv)" in page
    for html in (out / "book").rglob("*.html"):
        assert str(tmp_path) not in html.read_text(), html
    # the chapter's own results agree with the summary (same threshold rule, same table)
    el_res = json.loads((out / ch["evaluation_logs"]["results"]).read_text())
    assert el_res["metrics"]["oracle_accuracy"] == report["metrics"]["oracle_accuracy"]


def test_report_on_a_wide_log_without_costs_names_what_it_skips(tmp_path):
    out = tmp_path / "rep"
    chapters = [c for c in rp.LOG_CHAPTERS if c != "oracle_debiasing"]  # the slowest; see the paper-marked test
    proc = capfront("report", str(WIDE), "--out", str(out), "--no-html", "--chapters", *chapters)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    ch = report["chapters"]
    assert {s for s, c in ch.items() if c["status"] in ("ran", "cached")} == {"evaluation_logs", "co_failure_ceiling"}
    skipped = {s: c["reason"] for s, c in ch.items() if c["status"] == "skipped"}
    assert set(skipped) == {"inference_dynamics", "markov_copula_cascades", "economic_evaluation", "human_in_the_loop"}
    assert all(r for r in skipped.values())
    assert report["optimal_models"] is None and "no costs" in report["optimal_models_skipped"]
    assert report["cascade"] is None and "skipped" in report["cascade_skipped"]
    wide = pd.read_csv(WIDE, dtype={"id": str}).set_index("id")
    long = wide.stack().rename("correct").reset_index().rename(columns={"id": "query_id", "level_1": "model"})
    _check_log_metrics(report, long, with_cost=False)
    assert set(report["metrics"]["pair_routers"]) == {"oracle", "random"}
    assert report["html"] is None and report["input_used"] == "input/report_wide_log.csv"
    assert (out / "input" / WIDE.name).read_bytes() == WIDE.read_bytes()  # nothing to change: a byte copy
    for stem in ("evaluation_logs", "co_failure_ceiling"):  # every page names the log by its file name
        res = json.loads((out / ch[stem]["results"]).read_text())
        assert res["data_label"] == "your log (report_wide_log.csv)", stem
        assert ch[stem]["data_label"] == "your log (report_wide_log.csv)"


@pytest.mark.paper
@pytest.mark.parametrize("log", [SMALL, WIDE], ids=["long-with-costs", "wide-0-1"])
def test_full_report_every_chapter(tmp_path, log):
    out = tmp_path / "rep"
    proc = capfront("report", str(log), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    failed = {s: c["reason"] for s, c in report["chapters"].items() if c["status"] == "failed"}
    assert not failed
    if log == SMALL:
        skipped = {s for s, c in report["chapters"].items() if c["status"] == "skipped"}
        assert skipped == {"co_failure_ceiling"}  # 3 models; that chapter needs 5
        cas = report["cascade"]
        assert cas is not None and cas["models"] == ["small", "medium", "large"]  # cheapest first
        assert cas["n_train"] + cas["n_test"] == 600
    assert report["html"] is not None


@pytest.mark.realdata
def test_public_matrices_produce_a_report(shared_data, tmp_path):
    mmlu = shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv"
    items = shared_data / "MMLU-Pro" / "mmlu_pro_items.csv"
    proc = capfront("report", str(mmlu), "--items", str(items), "--out", str(tmp_path / "mmlu"), "--no-html",
                    "--chapters", "evaluation_logs", "inference_dynamics")
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / "mmlu" / "report.json").read_text())
    df = pd.read_csv(mmlu, index_col="id").dropna()
    assert r["input_label"] == "your log (mmlu_pro_correct.csv)" and r["log"]["has_category"]
    assert r["metrics"]["n_queries"] == len(df) == 10326
    assert r["metrics"]["oracle_accuracy"] == pytest.approx(df.max(axis=1).mean())
    assert r["metrics"]["single_best"] == df.mean().idxmax()
    assert "category" in r["metrics"]["pair_routers"]
    assert all(c["status"] in ("ran", "cached") for c in r["chapters"].values()), r["chapters"]
    gsm = shared_data / "ZeroEval" / "gsm8k_correct.csv"
    proc = capfront("report", str(gsm), "--out", str(tmp_path / "gsm"), "--no-html", "--chapters", "evaluation_logs",
                    "co_failure_ceiling")
    assert proc.returncode == 0, proc.stderr[-3000:]
    g = json.loads((tmp_path / "gsm" / "report.json").read_text())
    # the certificate's README example (default settings): m = 41, n = 1,319, K = 5, U = 0.057
    c = g["certificate"]
    assert c["n_models"] == 41 and c["n_queries"] == 1319 and c["n_all_wrong"] == 5
    assert round(c["certified_max_gain"], 3) == 0.057
    assert g["metrics"]["n_queries"] == 681 and round(g["metrics"]["oracle_accuracy"], 3) == 0.997
    assert all(ch["status"] in ("ran", "cached") for ch in g["chapters"].values()), g["chapters"]


def test_own_log_page_lists_every_chapter_the_report_plans():
    """book/own_log.md's table of what each chapter needs names every chapter of report.REQUIREMENTS."""
    from capfront_lib.report import REQUIREMENTS

    page = (Path(__file__).resolve().parents[1] / "book" / "own_log.md").read_text()
    table = page.split("## What each chapter needs from your log", 1)[1].split("\n## ", 1)[0]
    for stem in REQUIREMENTS:
        assert stem in table or stem == "evaluation_logs" and "Evaluation logs" in table, stem
