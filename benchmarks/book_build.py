"""Wall time of the whole quick book (``make book`` minus the install) and of each chapter.

Usage: ``python benchmarks/book_build.py [--profile quick] [--jobs 2]``. Runs ``capfront build`` once
and records the timings in ``benchmarks/book_build_timings.csv`` (one row per chapter per run, with
the date, the machine's core count and the profile), then prints them with the targets: a chapter's
quick profile <= 60 s, the whole quick book <= 10 min on 2 cores.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    root = runner.repo_root()
    t0 = time.perf_counter()
    summary = runner.build_book(profile=args.profile, jobs=args.jobs, root=root)
    total = time.perf_counter() - t0
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    rows = [(r["chapter"], r["seconds"]) for r in summary["runs"]]
    rows += [("(html build)", summary["html_seconds"]), ("(whole book)", total)]
    new = not CSV.exists()
    with CSV.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["date", "cores", "profile", "jobs", "what", "seconds"])
        for what, sec in rows:
            w.writerow([stamp, os.cpu_count(), args.profile, args.jobs, what, f"{sec:.1f}"])
    width = max(len(w) for w, _ in rows)
    for what, sec in rows:
        flag = ""
        if args.profile == "quick" and not what.startswith("(") and sec > 60:
            flag = "  <-- over the 60 s target"
        print(f"{what:<{width}}  {sec:7.1f} s{flag}")
    print(json.dumps({"whole_book_s": round(total, 1), "target_s": 600}))


if __name__ == "__main__":
    main()
