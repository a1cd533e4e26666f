"""Wall time of the whole book and of each chapter, recorded in ``benchmarks/book_build_timings.csv``.

Usage: ``python benchmarks/book_build.py [--profile quick|paper] [--jobs 2] [--cold]
[--dask-local N | --scheduler ADDRESS]``. Runs ``capfront build`` once and appends one row per chapter
(and for the book's sweep, the HTML build and the whole book) with the date, the machine's core count, the
profile, the executor and whether the chapter was executed or restored from the cache; then prints them
with the targets (a chapter's quick profile <= 60 s, the whole quick book <= 10 min, the paper book <= 60 min
on 2 cores).
``--cold`` re-executes everything (``--force``): the number to record for a cold-cache build.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import time
from pathlib import Path

from capfront_lib import runner

HERE = Path(__file__).resolve().parent
CSV = HERE / "book_build_timings.csv"
COLUMNS = ["date", "cores", "profile", "jobs", "executor", "what", "seconds", "cached"]


def _append(rows: list[list[object]]) -> None:
    """Append rows; an older file with fewer columns is rewritten with the current header first."""
    old: list[dict[str, str]] = []
    if CSV.exists():
        with CSV.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != COLUMNS:
                old = list(reader)
    if old or not CSV.exists():
        with CSV.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            for r in old:
                w.writerow([r.get("date"), r.get("cores"), r.get("profile"), r.get("jobs"), r.get("executor") or "local",
                            r.get("what"), r.get("seconds"), r.get("cached") or "no"])
    with CSV.open("a", newline="") as fh:
        csv.writer(fh).writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="re-execute every chapter (ignore the cache)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--dask-local", type=int)
    g.add_argument("--scheduler")
    args = ap.parse_args()
    root = runner.repo_root()
    executor = f"dask-local {args.dask_local}" if args.dask_local else (f"dask {args.scheduler}" if args.scheduler else "local")
    t0 = time.perf_counter()
    summary = runner.build_book(profile=args.profile, jobs=args.jobs, root=root, force=args.cold,
                                dask_local=args.dask_local, scheduler=args.scheduler)
    total = time.perf_counter() - t0
    record(summary, total, profile=args.profile, jobs=args.jobs, executor=executor)


def record(summary: dict, total: float, *, profile: str, jobs: int, executor: str) -> None:
    """Append the rows of one build to the CSV and print them."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    rows = [(r["chapter"], r["seconds"], "yes" if r.get("cached") else "no") for r in summary["runs"]]
    rows += [("(html build)", summary["html_seconds"], "no"), ("(whole book)", total, "no")]
    _append([[stamp, os.cpu_count(), profile, jobs, executor, what, f"{sec:.1f}", cached] for what, sec, cached in rows])
    width = max(len(w) for w, _, _ in rows)
    for what, sec, cached in rows:
        flag = ""
        if profile == "quick" and not what.startswith(("(", "sweep:")) and cached == "no" and sec > 60:
            flag = "  <-- over the 60 s target"
        print(f"{what:<{width}}  {sec:7.1f} s  {'(cache)' if cached == 'yes' else ''}{flag}")
    target = 3600 if profile == "paper" else 600  # issue 18: paper book <= 60 min, quick book <= 10 min on 2 cores
    print(json.dumps({"whole_book_s": round(total, 1), "target_s": target, "profile": profile, "executor": executor}))


if __name__ == "__main__":
    main()
