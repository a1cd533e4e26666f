"""``capfront report LOG``: every log-capable chapter on your evaluation log, a one-page summary, ``report.json``.

::

    capfront report LOG [--costs FILE] [--items FILE] [--threshold T] [--out DIR] [--json]
                        [--chapters NAME ...] [--profile quick|paper] [--jobs N | --dask-local N] [--force]

1. **Check the input** (nothing runs before): the log with the core loader (long or wide form; graded scores
   allowed), the optional costs table (``model,cost_usd`` in USD per query, or ``query_id,model,cost_usd``) and
   items table (``id,category``), the chapter names and the output folder. Bad input prints one line naming
   the file, the column and the line, and exits with status 2.
2. **Prepare the input the chapters read**: ``OUT/input/<your file name>`` — a byte copy of LOG, or, when a
   costs or items table is given or the scores are graded, the log rewritten in long form with the costs and
   categories merged in and the scores turned to 0/1 by the threshold rule of
   :mod:`capfront_lib.core.metrics` (the same rule the summary uses). The file keeps your file's name, so every
   page labels it "your log (<file name>)".
3. **Plan the chapters** (:func:`plan_chapters`): a chapter runs when its notebook takes ``outcomes_path`` and
   the log has what its log sections need (:data:`REQUIREMENTS`); otherwise it is a *skipped* section that
   says why. Public-data sections are switched off (``real_data = "off"`` / ``use_public_data = False``) and
   ``CAPFRONT_DATA_DIR`` is not passed on: the report is about your log.
4. **Run** them with the runner (cache included), in parallel; a failing chapter becomes a *failed* section
   naming the error's last line, never a crash of the report.
5. **Summarise** (:func:`summarise`) with the library directly: the field's routing metrics
   (:mod:`capfront_lib.core.metrics`), the co-failure certificate (:func:`capfront_lib.cofailure.report.certificate`),
   the optimal model per price of error (:func:`capfront_lib.economic_evaluation.reward.optimal_intervals`),
   and the tuned cascade of the cascades chapter when it ran on the log.
6. **Write** ``OUT/report.json`` (schema below, :data:`JSON_KEYS`) and build ``OUT/book/index.html`` with
   Jupyter Book: the summary page plus the chapters' executed pages (a full Sphinx build of a handful of
   executed notebooks takes seconds, and it renders what nbconvert cannot: numbered ``{glue:figure}`` figures,
   glued prose numbers, equations, cross-references and exercises).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1

#: the chapters that read an evaluation log, in the book's order
LOG_CHAPTERS: tuple[str, ...] = (
    "evaluation_logs",
    "oracle_debiasing",
    "co_failure_ceiling",
    "inference_dynamics",
    "markov_copula_cascades",
    "economic_evaluation",
    "human_in_the_loop",
)

#: top-level keys of report.json (schema_version 1; stable: keys may be added, never renamed or removed)
JSON_KEYS: tuple[str, ...] = (
    "schema_version", "capfront_version", "created", "input", "input_label", "input_used", "costs", "items",
    "threshold", "profile", "log", "metrics", "metrics_skipped", "certificate", "certificate_skipped",
    "optimal_models", "optimal_models_skipped", "cascade", "cascade_skipped", "chapters", "html", "html_builder",
    "html_error",
)


class ReportError(ValueError):
    """Bad input or an impossible request (one line; exit status 2)."""


# ---------------------------------------------------------------------------------------------
# what each chapter needs from a log


@dataclass(frozen=True)
class Need:
    """A condition on the log for a chapter's log sections to say something about it."""

    test: Callable[["LogFacts"], bool]
    why: str


@dataclass(frozen=True)
class LogFacts:
    """What the planner needs to know about the (prepared) log."""

    n_models: int
    n_queries: int
    n_generations: int
    fields: tuple[str, ...]
    has_category: bool
    n_complete: int

    def has(self, name: str) -> bool:
        return name in self.fields


REQUIREMENTS: dict[str, tuple[Need, ...]] = {
    "evaluation_logs": (),
    "oracle_debiasing": (Need(lambda f: f.n_models >= 2, "needs a pool of at least 2 models"),),
    "co_failure_ceiling": (
        Need(lambda f: f.n_models >= 5, "needs at least 5 models (its study of pool subsets draws subsets of 5 or more)"),
        Need(lambda f: f.n_generations == 1, "needs one generation per (query, model)"),
        Need(lambda f: f.n_complete >= 10, "needs at least 10 queries answered by every model"),
    ),
    "inference_dynamics": (
        Need(lambda f: f.has_category, "needs a category per query (a 'category' column, or --items for a wide log)"),
        Need(lambda f: f.n_models >= 2, "needs a pool of at least 2 models"),
    ),
    "markov_copula_cascades": (
        Need(lambda f: f.has("confidence") and f.has("cost_usd"),
             "needs each model's confidence and cost per query (long-form columns 'confidence' and 'cost_usd', "
             "or --costs for the costs)"),
        Need(lambda f: f.n_models >= 2, "needs at least 2 models to cascade"),
    ),
    "economic_evaluation": (
        Need(lambda f: f.has("cost_usd"), "needs the cost of each answer (a 'cost_usd' column or --costs); "
                                          "without it the chapter can only show the paper's own table"),
        Need(lambda f: f.n_generations == 1, "needs one generation per (query, model)"),
    ),
    "human_in_the_loop": (
        Need(lambda f: f.has("output_tokens") or f.has("confidence"),
             "needs output lengths ('output_tokens', for Ask) or confidences ('confidence', for Fail Fast, or Ask)"),
        Need(lambda f: f.n_generations == 1, "needs one generation per (query, model)"),
    ),
}

#: parameter values that switch a chapter's public-data sections off (set when the notebook has them)
PUBLIC_OFF: dict[str, str] = {"real_data": "off", "use_public_data": "False"}


@dataclass
class ChapterPlan:
    stem: str
    status: str  # "run" or "skipped"
    reason: str | None = None
    overrides: list[tuple[str, str]] = field(default_factory=list)


def log_facts(log) -> LogFacts:
    y = log.array("correct")
    complete = int((~np.isnan(y[:, :, 0]).any(axis=1)).sum())
    return LogFacts(log.n_models, log.n_queries, log.n_generations, tuple(log.fields),
                    log.categories is not None and log.categories.nunique() > 1, complete)


def plan_chapters(facts: LogFacts, input_path: Path, chapters: Sequence[str] | None = None,
                  root: Path | None = None) -> list[ChapterPlan]:
    """Which chapters run on the log and with which parameters; the others are skipped with the reason.

    The parameters are read from each chapter's *current* notebook: a chapter whose notebook has no
    ``outcomes_path`` parameter is skipped ("does not take a log yet").
    """
    from capfront_lib import runner

    root = root or runner.repo_root()
    wanted = list(chapters) if chapters else list(LOG_CHAPTERS)
    plans = []
    for stem in wanted:
        try:
            ch = runner.chapter(stem, root)
        except runner.RunnerError as err:
            plans.append(ChapterPlan(stem, "skipped", f"the chapter cannot be read: {err}"))
            continue
        if "outcomes_path" not in ch.parameters:
            plans.append(ChapterPlan(stem, "skipped", "the chapter does not take a log yet (no outcomes_path parameter)"))
            continue
        unmet = [n.why for n in REQUIREMENTS.get(stem, ()) if not n.test(facts)]
        if unmet:
            plans.append(ChapterPlan(stem, "skipped", "; ".join(unmet)))
            continue
        overrides = [("outcomes_path", str(input_path))]
        overrides += [(k, v) for k, v in PUBLIC_OFF.items() if k in ch.parameters]
        plans.append(ChapterPlan(stem, "run", None, overrides))
    return plans


# ---------------------------------------------------------------------------------------------
# input


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def load_input(path: str | Path, items: str | Path | None = None):
    """The log as the core loader reads it (graded scores allowed, missing cells kept)."""
    from capfront_lib.core.evallog import load_log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the report states dropped/ignored things itself
        try:
            return load_log(path, require_binary=False, missing="keep_partial", items_path=items)
        except (ValueError, FileNotFoundError, OSError, KeyError) as err:
            raise ReportError(_one_line(err)) from None


def read_costs(path: str | Path, log) -> pd.DataFrame:
    """The costs table as a long frame ``query_id, model, cost_usd`` covering every answered cell of ``log``.

    ``model,cost_usd`` gives one cost per query for each model; ``query_id,model,cost_usd`` one per cell.
    Errors name the file, the column and the line.
    """
    from capfront_lib.core.logfile import LogFileError, read_log_table

    src = str(path)
    try:
        table = read_log_table(path, text_columns=("model", "query_id"), numeric_columns=["cost_usd"])
    except (LogFileError, FileNotFoundError, OSError) as err:
        raise ReportError(_one_line(err)) from None
    df, lines = table.frame, table.lines
    for col in ("model", "cost_usd"):
        if col not in df.columns:
            raise ReportError(f"{src}: the costs table needs columns 'model' and 'cost_usd' (and optionally "
                              f"'query_id'); column {col!r} is missing (columns are {list(df.columns)[:8]})")
    extra = [c for c in df.columns if c not in ("model", "cost_usd", "query_id")]
    if extra:
        raise ReportError(f"{src}: unexpected columns {extra}; the costs table has 'model', 'cost_usd' and optionally 'query_id'")
    cost = df["cost_usd"].to_numpy(float)
    bad = np.isnan(cost) | (cost < 0) | ~np.isfinite(cost)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        v = float(df["cost_usd"].iloc[i])
        shown = "an empty cell" if math.isnan(v) else f"{v:g}"
        raise ReportError(f"{src}: column 'cost_usd', line {int(lines[i])}: {shown} is not a non-negative number of "
                          "US dollars")
    key = ["query_id", "model"] if "query_id" in df.columns else ["model"]
    dup = df.duplicated(key, keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        what = ", ".join(f"{k} {df[k].iloc[i]!r}" for k in key)
        raise ReportError(f"{src}: line {int(lines[i])}: {what} appears twice")
    unknown = ~df["model"].isin(log.models).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise ReportError(f"{src}: column 'model', line {int(lines[i])}: {df['model'].iloc[i]!r} is not a model of "
                          f"{log.source} (its models: {', '.join(log.models[:8])}{' ...' if log.n_models > 8 else ''})")
    answered = log.to_long()[["query_id", "model"]]
    if "query_id" in df.columns:
        merged = answered.merge(df[["query_id", "model", "cost_usd"]], on=["query_id", "model"], how="left")
    else:
        merged = answered.merge(df[["model", "cost_usd"]], on="model", how="left")
    gap = merged["cost_usd"].isna().to_numpy()
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        if "query_id" in df.columns:
            raise ReportError(f"{src}: no cost for query {merged['query_id'].iloc[i]!r} and model "
                              f"{merged['model'].iloc[i]!r}, which {log.source} answered")
        missing = sorted(set(merged.loc[gap, "model"]))
        raise ReportError(f"{src}: no cost for models {missing} of {log.source}")
    return merged


def prepare_log(log, costs: pd.DataFrame | None, threshold: float):
    """The log the chapters read: scores turned to 0/1 by the threshold rule, costs merged in."""
    from capfront_lib import evaluation_logs as el
    from capfront_lib.core.evallog import EvalLog

    out = el.binary_view(log, threshold)
    if costs is None:
        return out
    arrays = {name: out.array(name) for name in out.fields}
    qi = out.query_ids.get_indexer(costs["query_id"].astype(str))
    mi = pd.Index(out.models).get_indexer(costs["model"].astype(str))
    c = np.full(arrays["correct"].shape, np.nan)
    c[qi, mi, :] = costs["cost_usd"].to_numpy(float)[:, None]
    c[np.isnan(arrays["correct"])] = np.nan
    arrays["cost_usd"] = c
    return EvalLog(arrays, out.query_ids, out.models, categories=out.categories, source=out.source, binary=True,
                   missing=out.missing)


def write_input(original: Path, log, changed: bool, folder: Path) -> Path:
    """``folder/<original name>``: a byte copy, or (``changed``) the prepared log in long form, same file name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / original.name
    if not changed:
        shutil.copyfile(original, target)
        return target
    df = log.to_long()
    cols = [c for c in ("query_id", "model", "generation", "correct", "cost_usd", "latency_s", "confidence",
                        "output_tokens", "category") if c in df.columns]
    df = df[cols]
    for c in ("correct", "generation"):
        df[c] = df[c].astype(int)
    name = original.name.lower()
    if name.endswith((".parquet", ".pq")):
        df.to_parquet(target, index=False)
    else:
        df.to_csv(target, index=False, sep="\t" if ".tsv" in name else ",", compression="gzip" if name.endswith(".gz") else None)
    return target


# ---------------------------------------------------------------------------------------------
# the summary (library calls only)


def _jsonable(obj: Any) -> Any:
    from capfront_lib.core.results import _jsonable as j

    return j(obj)


def summarise(log, label: str, *, threshold: float, alpha: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """Field metrics, certificate and optimal models of the prepared log (JSON-ready, ``None`` + reason when a
    part cannot be computed)."""
    from capfront_lib import evaluation_logs as el

    out: dict[str, Any] = {}
    try:
        part, n_out = el.complete_part(log)
        run = el.routing_metrics(part, threshold=threshold, seed=seed)
        fm = run["metrics"]
        fm["n_incomplete_queries_left_out"] = n_out
        out["metrics"], out["metrics_skipped"] = _jsonable(fm), None
        out["_table"] = run
    except (ValueError, KeyError) as err:
        out["metrics"], out["metrics_skipped"] = None, _one_line(err)
        part = None
    try:
        from capfront_lib.cofailure.report import certificate

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = certificate(log, alpha=alpha, missing="drop-incomplete", input=label)
        out["certificate"], out["certificate_skipped"] = _jsonable(cert), None
    except (ValueError, KeyError) as err:
        out["certificate"], out["certificate_skipped"] = None, _one_line(err)
    out["optimal_models"], out["optimal_models_skipped"] = optimal_models(part)
    return out


def optimal_models(log) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The model with the highest expected reward ``-(cost + lambda_E * error)`` for every price of error
    lambda_E (economic_evaluation, Zellinger's thesis eqs. 3.13-3.14), latency priced at 0."""
    if log is None:
        return None, "the metrics could not be computed on this log"
    if not log.has("cost_usd"):
        return None, "the log has no costs (a 'cost_usd' column or --costs)"
    from capfront_lib.economic_evaluation.reward import optimal_intervals

    y = log.array("correct")[:, :, 0]
    c = log.array("cost_usd")[:, :, 0]
    err = 1.0 - np.nanmean(y, axis=0)
    cost = np.nanmean(c, axis=0)
    rows = []
    for j, lo, hi in optimal_intervals(cost, err):
        rows.append({"model": log.models[j], "price_of_error_from": float(lo),
                     "price_of_error_to": None if math.isinf(hi) else float(hi),
                     "accuracy": float(1.0 - err[j]), "mean_cost": float(cost[j])})
    return rows, None


def cascade_from_chapter(results: Mapping[str, Any] | None, label: str) -> tuple[dict[str, Any] | None, str | None]:
    """The tuned cascade the cascades chapter wrote for this log (``your_log`` of its results.json)."""
    if results is None:
        return None, "the cascades chapter did not run on this log"
    yl = results.get("your_log")
    if not isinstance(yl, Mapping):
        return None, "the cascades chapter wrote no section for a log"
    if yl.get("label") != label:
        return None, f"the cascades chapter could not use this log: {yl.get('message') or yl.get('label')}"
    return {"models": yl.get("models"), "n_train": yl.get("n_train"), "n_test": yl.get("n_test"),
            "theta_adjacent": yl.get("theta_adjacent"), "auc": yl.get("auc"), "ece": yl.get("ece")}, None


# ---------------------------------------------------------------------------------------------
# running the chapters


def _run_one(args: tuple[str, list[tuple[str, str]], str, str, str, bool]) -> dict[str, Any]:
    stem, overrides, profile, out_dir, root, force = args
    from capfront_lib import runner

    os.environ.pop("CAPFRONT_DATA_DIR", None)  # the report is about the log: no public-data sections
    res_dir = Path(out_dir)
    try:
        r = runner.run_chapter(stem, overrides, profile=profile, output=res_dir / f"{stem}.ipynb", results_dir=res_dir,
                               root=Path(root))
        return {"chapter": stem, "ok": True, "seconds": r.get("seconds"), "cached": bool(r.get("cached", False))}
    except runner.RunnerError as err:
        return {"chapter": stem, "ok": False, "error": str(err)}
    except Exception as err:  # a chapter must never crash the report
        return {"chapter": stem, "ok": False, "error": f"{type(err).__name__}: {err}"}


def run_chapters(plans: Sequence[ChapterPlan], out: Path, *, profile: str, jobs: int, force: bool,
                 root: Path, progress: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    todo = [p for p in plans if p.status == "run"]
    tasks = [(p.stem, p.overrides, profile, str(out / "chapters" / p.stem), str(root), force) for p in todo]
    results: dict[str, dict[str, Any]] = {}
    parallel = jobs > 1 and len(tasks) > 1
    with ProcessPoolExecutor(max_workers=jobs) if parallel else nullcontext() as pool:
        for r in (pool.map if parallel else map)(_run_one, tasks):
            results[r["chapter"]] = r
            progress(f"{r['chapter']}: " + ("ok" if r["ok"] else "FAILED: " + error_line(r["error"])))
    return results


def error_line(error: Any) -> str:
    """The line of an error that says what went wrong (a cell failure's last line)."""
    lines = [ln.strip() for ln in str(error or "failed").splitlines() if ln.strip() and not ln.startswith("(executed")]
    return lines[-1] if lines else "failed"


# ---------------------------------------------------------------------------------------------
# the HTML book


def _table(df: pd.DataFrame, **kw: Any) -> str:
    from capfront_lib.core.tables import table_html

    return table_html(df, **kw)


def summary_markdown(report: Mapping[str, Any], run: Mapping[str, Any] | None, titles: Mapping[str, str]) -> str:
    """The report's summary page (MyST Markdown with formatted HTML tables)."""
    from capfront_lib.core import fmt
    from capfront_lib.core import metrics as mt

    label = report["input_label"]
    L = report["log"]
    parts = [f"# Report on {label}", ""]
    parts.append(
        f"capfront {report['capfront_version']} read {label}: {fmt.number(L['n_queries'])} queries × "
        f"{fmt.number(L['n_models'])} models ({fmt.number(L['n_generations'])} generation"
        f"{'s' if L['n_generations'] > 1 else ''}); columns {', '.join(L['fields'])}"
        + ("; categories" if L["has_category"] else "") + ". "
        + (f"{fmt.number(L['n_graded_cells'])} graded scores were turned to 0/1 (correct at ≥ {fmt.number(report['threshold'])}). "
           if L["n_graded_cells"] else "")
        + f"Every chapter below ran on it with the `{report['profile']}` profile; each page's sections on your log are "
        "labelled with its file name, its simulated sections \"simulated\"."
    )
    parts += ["", "## The field's routing metrics", ""]
    fm = report["metrics"]
    if fm is None:
        parts.append(f"Not computed: {report['metrics_skipped']}.")
    else:
        pair = (f" The pair of the RouteLLM metrics is {fm['pair_weak']} (weak) → {fm['pair_strong']} (strong)."
                if fm.get("pair_weak") else " No weak/strong pair: every model is as accurate as the best.")
        parts.append(f"On the {fmt.number(fm['n_queries'])} queries every model answered; definitions and sources are in "
                     "the chapter *Evaluation logs*." + pair)
        why = "undefined for this log: it has no cost column"
        parts += ["", _table(mt.metrics_table(fm), missing=why, caption=f"Field metrics of the pool ({label})"),
                  "", _table(mt.pair_table(fm), missing=why, percent=["CPT(50 %)", "CPT(80 %)"],
                             caption=f"RouteLLM and RouterBench metrics of the pair's routers ({label})")]
    parts += ["", "## The co-failure certificate", ""]
    cert = report["certificate"]
    if cert is None:
        parts.append(f"Not computed: {report['certificate_skipped']}.")
    else:
        rows = [("models used", cert["n_models"]), ("queries used", cert["n_queries"]), ("single best", cert["single_best"]),
                ("its accuracy", cert["single_best_accuracy"]), ("oracle (1 − β)", cert["oracle"]),
                ("all-wrong rate β", cert["beta"]), ("β interval", fmt.interval(*cert["beta_ci"])),
                ("certified maximum gain of any router, vote or cascade", cert["certified_max_gain"]),
                ("co-failure share s", cert["co_failure_share"]), ("regime", cert["regime"])]
        parts.append(
            f"With probability at least {fmt.pct(1 - cert['alpha'], 0)}, no policy whose answer is one member's answer gains "
            f"more than {fmt.number(cert['certified_max_gain'], 3)} over the single best model "
            "(chapter *The co-failure ceiling*; `capfront certificate` gives the same numbers)."
            + (f" Dropped by the coverage rule: {', '.join(cert['dropped_models'])}." if cert["dropped_models"] else ""))
        parts += ["", _table(pd.DataFrame(rows, columns=["quantity", "value"]), missing="undefined",
                             caption=f"Certificate at alpha = {fmt.number(cert['alpha'])} ({label})")]
    parts += ["", "## The optimal model per price of error", ""]
    om = report["optimal_models"]
    if om is None:
        parts.append(f"Not computed: {report['optimal_models_skipped']}.")
    else:
        df = pd.DataFrame(om)
        df = df.assign(**{"price of error from ($)": df["price_of_error_from"], "to ($)": df["price_of_error_to"].astype(float)})
        df = df[["model", "price of error from ($)", "to ($)", "accuracy", "mean_cost"]].rename(columns={"mean_cost": "mean cost ($)"})
        parts.append("The model with the highest expected reward −(cost + λ_E × error) as the price λ_E of one error "
                     "grows, latency priced at 0 (chapter *Economic evaluation*, Zellinger's thesis eqs. 3.13–3.14).")
        parts += ["", _table(df, missing="no upper end: the model stays optimal for every higher price",
                             caption=f"Optimal model per price of error ({label})")]
    parts += ["", "## The tuned cascade", ""]
    cas = report["cascade"]
    if cas is None:
        parts.append(f"Not available: {report['cascade_skipped']}.")
    else:
        parts.append(f"Cascade {' → '.join(cas['models'])}, tuned by Rational Tuning on {fmt.number(cas['n_train'])} "
                     f"queries and evaluated on {fmt.number(cas['n_test'])} held-out ones (chapter *Markov-copula cascades*).")
        if cas.get("auc"):
            parts += ["", _table(pd.DataFrame(cas["auc"]), missing="not defined on this log",
                                 caption=f"Held-out area under the error–cost curve ({label})")]
    parts += ["", "## Chapters", ""]
    rows = []
    for stem, c in report["chapters"].items():
        vc = c.get("verdict_counts") or {}
        verdicts = ", ".join(f"{v} {k}" for k, v in vc.items() if v) if vc else None
        rows.append({"chapter": titles.get(stem, stem), "status": c["status"],
                     "why / time": c.get("reason") or (f"{fmt.number(c['seconds'], 2)} s" if c.get("seconds") is not None else ""),
                     "the paper's claims in this run": verdicts or None})
    parts.append(_table(pd.DataFrame(rows), missing="no claims ledger (skipped, failed, or a chapter without a paper)",
                        caption="What ran on your log"))
    parts += ["", "The claims column counts the verdicts of each chapter's ledger in this run: they check the papers' "
              "published claims (mostly on simulated or published data), not your log."]
    ran = [stem for stem, c in report["chapters"].items() if c["status"] in ("ran", "cached")]
    if ran:
        parts += ["", "Pages: " + ", ".join(f"{{doc}}`chapters/{s}`" for s in ran) + "."]
    return "\n".join(parts) + "\n"


BOOK_CONFIG = """title: "{title}"
author: capfront report
only_build_toc_files: true
execute:
  execute_notebooks: "off"
parse:
  myst_enable_extensions: [amsmath, dollarmath, colon_fence, deflist, substitution, html_image]
bibtex_bibfiles:
  - references.bib
sphinx:
  extra_extensions:
    - sphinx_exercise
    - capfront_lib.book_ext
  config:
    bibtex_reference_style: author_year
    bibtex_default_style: plain
    numfig: true
    math_numfig: true
    math_eqref_format: "Eq. ({{number}})"
    nb_merge_streams: true
    html_static_path: ["_static"]
    html_css_files: ["capfront.css", "report.css"]
    html_show_copyright: false
    suppress_warnings: ["myst.xref_missing", "ref.doc", "ref.ref", "myst.domains"]
html:
  home_page_in_navbar: true
  use_download_button: true
"""


def build_book(out: Path, report: Mapping[str, Any], run: Mapping[str, Any] | None, root: Path) -> Path:
    """A Jupyter Book in ``out/book``: the summary page, the executed chapter pages, the references."""
    from capfront_lib import runner

    src = out / "_book_src"
    if src.exists():
        shutil.rmtree(src)
    (src / "chapters").mkdir(parents=True)
    titles = {}
    ran = [s for s, c in report["chapters"].items() if c["status"] in ("ran", "cached")]
    for stem in report["chapters"]:
        try:
            titles[stem] = runner.chapter(stem, root).title or stem
        except runner.RunnerError:
            titles[stem] = stem
    for stem in ran:
        shutil.copyfile(out / "chapters" / stem / f"{stem}.ipynb", src / "chapters" / f"{stem}.ipynb")
    (src / "index.md").write_text(summary_markdown(report, run, titles))
    shutil.copyfile(root / "book" / "references.bib", src / "references.bib")
    (src / "references.md").write_text("# References\n\n```{bibliography}\n:all:\n```\n")
    (src / "_static").mkdir()
    css = root / "book" / "_static" / "capfront.css"
    if css.exists():
        shutil.copyfile(css, src / "_static" / "capfront.css")
    # long file names in titles and cells must wrap on a phone screen
    (src / "_static" / "report.css").write_text("h1, h2, p, caption { overflow-wrap: anywhere; }\n"
                                                "td, th { overflow-wrap: break-word; }\n")
    (src / "_config.yml").write_text(BOOK_CONFIG.format(title=f"Report on {report['input_label']}".replace('"', "'")))
    toc = ["format: jb-book", "root: index", "chapters:"] + [f"  - file: chapters/{s}" for s in ran] + ["  - file: references"]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n")
    exe = Path(sys.executable).parent / "jupyter-book"
    build = out / "_build"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(src), "--path-output", str(build), "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    (out / "book-build.log").write_text(proc.stdout + "\n" + proc.stderr)
    html = build / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        tail = error_line(proc.stderr or proc.stdout)
        raise RuntimeError(f"jupyter-book build failed ({tail}); log: {out / 'book-build.log'}")
    target = out / "book"
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(html), str(target))
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    return target / "index.html"


# ---------------------------------------------------------------------------------------------
# the command


def make_report(
    log_path: str | Path,
    *,
    costs: str | Path | None = None,
    items: str | Path | None = None,
    out: str | Path = "capfront-report",
    threshold: float = 1.0,
    chapters: Sequence[str] | None = None,
    profile: str = "quick",
    jobs: int = 2,
    force: bool = False,
    html: bool = True,
    root: Path | None = None,
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Everything of ``capfront report``; returns the report dict (also written to ``out/report.json``).

    Raises :class:`ReportError` (one line) on bad input before anything runs.
    """
    from capfront_lib import __version__, runner
    from capfront_lib.core import metrics as mt

    root = root or runner.repo_root()
    log_path = Path(log_path)
    try:
        threshold = mt._check_threshold(threshold)
    except mt.MetricsError as err:
        raise ReportError(f"--threshold: {err}") from None
    if profile not in runner.PROFILES:
        raise ReportError(f"unknown profile {profile!r}; profiles are {list(runner.PROFILES)}")
    if chapters:
        unknown = [c for c in chapters if c not in LOG_CHAPTERS]
        if unknown:
            raise ReportError(f"--chapters: {unknown} do not read logs; the log-capable chapters are {list(LOG_CHAPTERS)}")
        dup = sorted({c for c in chapters if list(chapters).count(c) > 1})
        if dup:
            raise ReportError(f"--chapters: {dup} given twice")
    if jobs < 1:
        raise ReportError(f"--jobs must be at least 1, got {jobs}")
    raw = load_input(log_path, items)
    cost_frame = None
    if costs is not None:
        if raw.has("cost_usd"):
            raise ReportError(f"{log_path}: the log already has a 'cost_usd' column; --costs {costs} would replace it "
                              "(drop one of them)")
        cost_frame = read_costs(costs, raw)
    out = Path(out)
    try:
        runner.check_output_dir(out, "the report") if hasattr(runner, "check_output_dir") else out.mkdir(parents=True, exist_ok=True)
    except (runner.RunnerError, OSError) as err:
        raise ReportError(_one_line(err)) from None
    label = f"your log ({log_path.name})"
    prepared = prepare_log(raw, cost_frame, threshold)
    yr = raw.array("correct")
    n_graded = int(((yr > 0) & (yr < 1)).sum())
    changed = cost_frame is not None or items is not None or n_graded > 0
    input_used = write_input(log_path, prepared, changed, out / "input")
    facts = log_facts(prepared)
    plans = plan_chapters(facts, input_used.resolve(), chapters, root)
    t0 = time.perf_counter()
    progress(f"running {sum(p.status == 'run' for p in plans)} chapter(s) on {label}; skipped: "
             + (", ".join(p.stem for p in plans if p.status == "skipped") or "none"))
    runs = run_chapters(plans, out, profile=profile, jobs=jobs, force=force, root=root, progress=progress)
    chapter_info: dict[str, Any] = {}
    for p in plans:
        base = out / "chapters" / p.stem
        info: dict[str, Any] = {"status": "skipped", "reason": p.reason, "seconds": None, "notebook": None,
                                "results": None, "page": None, "verdict_counts": None, "data_label": None,
                                "parameters": dict(p.overrides) if p.status == "run" else None}
        if p.status == "run":
            r = runs.get(p.stem, {"ok": False, "error": "not run"})
            if r["ok"]:
                res = json.loads((base / "results.json").read_text())
                info.update(status="cached" if r.get("cached") else "ran", reason=None, seconds=r.get("seconds"),
                            notebook=f"chapters/{p.stem}/{p.stem}.ipynb", results=f"chapters/{p.stem}/results.json",
                            verdict_counts=res.get("verdict_counts"), data_label=res.get("data_label"))
                info["parameters"] = {k: v for k, v in p.overrides}
                if html:
                    info["page"] = f"book/chapters/{p.stem}.html"
            else:
                info.update(status="failed", reason=error_line(r["error"]))
        chapter_info[p.stem] = info
    summary = summarise(prepared, label, threshold=threshold)
    run_tables = summary.pop("_table", None)
    cascade_res = None
    if chapter_info.get("markov_copula_cascades", {}).get("status") in ("ran", "cached"):
        cascade_res = json.loads((out / "chapters" / "markov_copula_cascades" / "results.json").read_text())
    cascade, cascade_skipped = cascade_from_chapter(cascade_res, label)
    if "markov_copula_cascades" in chapter_info and chapter_info["markov_copula_cascades"]["status"] in ("skipped", "failed"):
        cascade_skipped = f"the cascades chapter was {chapter_info['markov_copula_cascades']['status']}: " \
                          f"{chapter_info['markov_copula_cascades']['reason']}"
    elif "markov_copula_cascades" not in chapter_info:
        cascade_skipped = "the cascades chapter was not requested (--chapters)"
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "capfront_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": str(log_path),
        "input_label": label,
        "input_used": str(input_used.relative_to(out)),
        "costs": None if costs is None else str(costs),
        "items": None if items is None else str(items),
        "threshold": threshold,
        "profile": profile,
        "log": {"n_queries": raw.n_queries, "n_models": raw.n_models, "n_generations": raw.n_generations,
                "models": list(raw.models), "fields": list(prepared.fields), "has_category": facts.has_category,
                "n_missing_cells": int(raw.missing.n_missing_cells), "n_graded_cells": n_graded,
                "n_complete_queries": facts.n_complete},
        **summary,
        "cascade": _jsonable(cascade) if cascade is not None else None,
        "cascade_skipped": cascade_skipped,
        "chapters": chapter_info,
        "html": None,
        "html_builder": None,
        "html_error": None,
    }
    if html:
        try:
            index = build_book(out, report, run_tables, root)
            report["html"], report["html_builder"] = str(index.relative_to(out)), "jupyter-book"
        except (RuntimeError, OSError) as err:
            report["html_error"] = _one_line(err)
            for c in report["chapters"].values():
                c["page"] = None
    else:
        for c in report["chapters"].values():
            c["page"] = None
    report = _jsonable(report)
    (out / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    progress(f"report written in {time.perf_counter() - t0:.0f} s: {out / 'report.json'}"
             + (f", {out / report['html']}" if report["html"] else ""))
    return report


def register(subparsers) -> None:
    """Add the ``report`` sub-command to the ``capfront`` parser."""
    p = subparsers.add_parser(
        "report",
        help="every log-capable chapter on your evaluation log, a one-page summary and report.json",
        description="Run every chapter that reads evaluation logs on LOG, summarise the field's routing metrics, the "
        "co-failure certificate, the optimal model per price of error and the tuned cascade, and build a small "
        "HTML book of your results (OUT/book/index.html) with OUT/report.json. See the README section on capfront report.",
    )
    p.add_argument("log", metavar="LOG", help="evaluation log (CSV/TSV/parquet, long or wide form)")
    p.add_argument("--costs", metavar="FILE", help="costs: CSV model,cost_usd (USD per query) or query_id,model,cost_usd")
    p.add_argument("--items", metavar="FILE", help="categories for a wide log: CSV id,category")
    p.add_argument("--threshold", type=float, default=1.0, help="a graded score counts as correct at >= this value (default 1)")
    p.add_argument("--out", default="capfront-report", metavar="DIR", help="output folder (default ./capfront-report)")
    p.add_argument("--json", action="store_true", help="print report.json on stdout (progress goes to stderr)")
    p.add_argument("--chapters", nargs="+", metavar="NAME", help=f"only these chapters (default all: {' '.join(LOG_CHAPTERS)})")
    p.add_argument("--profile", default="quick", choices=("quick", "paper"))
    p.add_argument("--jobs", type=int, default=2, help="chapters run in parallel (default 2)")
    p.add_argument("--dask-local", type=int, metavar="N", help="run the chapters on a local Dask cluster of N workers")
    p.add_argument("--force", action="store_true", help="re-run chapters even when cached")
    p.add_argument("--no-html", action="store_true", help="skip the HTML book (report.json only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``capfront report``; returns the exit status."""

    def say(msg: str) -> None:
        print(f"[capfront report] {msg}", file=sys.stderr, flush=True)

    try:
        report = make_report(args.log, costs=args.costs, items=args.items, out=args.out, threshold=args.threshold,
                             chapters=args.chapters, profile=args.profile, jobs=args.jobs, force=args.force,
                             html=not args.no_html, progress=say)
    except ReportError as err:
        print(f"capfront report: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("capfront report: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        done = [s for s, c in report["chapters"].items() if c["status"] in ("ran", "cached")]
        print(f"report on {report['input_label']}: {len(done)} chapter(s) ran, "
              f"{sum(c['status'] == 'skipped' for c in report['chapters'].values())} skipped, "
              f"{sum(c['status'] == 'failed' for c in report['chapters'].values())} failed")
        print(f"  {Path(args.out) / 'report.json'}" + (f"\n  {Path(args.out) / report['html']}" if report["html"] else ""))
    return 0
