"""Gather the claims ledgers of a paper-profile build into ``benchmarks/paper_ledger.csv``.

Usage (after ``capfront build --profile paper`` or ``python benchmarks/book_build.py --profile paper --cold``)::

    python benchmarks/paper_ledger.py [--results results] [--out benchmarks/paper_ledger.csv]

Every chapter's ``results/<stem>/claims.csv`` is read with the ledger page's checks (a file with typed
verdicts or a profile other than ``paper`` is refused), stacked, and written with the commit and date the
build ran from (``commit``, ``commit_date``, ``produced``). It then prints, per chapter, the registry
size, the offline-checkable entries (rule not ``not-checkable``), how many of those have a measured
value (``measured``; an ``inconclusive`` verdict there means our interval is too wide to decide) and how many
a decided verdict (``reproduced``, ``direction-only`` or ``differs``), against issue 13's 90 % bar, and lists
the checkable rows this build did not measure, with their reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd

from capfront_lib import ledger_page as lp
from capfront_lib.runner import discover

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DECIDED = ("reproduced", "direction-only", "differs")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def gather(results: Path, stems: list[str]) -> pd.DataFrame:
    """Stack the chapters' ledgers; refuse a chapter that has no ledger or was not run with --profile paper."""
    frames = []
    for stem in stems:
        ch = lp.read_chapter_ledger(results / stem / "claims.csv", stem)
        if not len(ch.rows):
            continue
        other = sorted(set(ch.rows["profile"]) - {"paper"})
        if other:
            raise SystemExit(f"{ch.path}: column 'profile' holds {other}, not paper: rebuild with --profile paper")
        frames.append(ch.rows)
    return pd.concat(frames, ignore_index=True)


def coverage_table(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per chapter: registered, offline-checkable, measured verdicts among them, and the share."""
    # offline-checkable: neither registered as not-checkable nor found not-checkable by the run (data that the
    # authors did not release; each such row says which in its reason and is listed by main())
    checkable = (ledger["rule"] != "not-checkable") & (ledger["verdict"] != "not-checkable")
    measured = checkable & (ledger["our_value"].astype(str).str.strip() != "")
    decided = ledger["verdict"].isin(DECIDED)
    by = ledger["chapter"]
    out = pd.DataFrame({
        "registered": ledger.groupby("chapter").size(),
        "checkable": checkable.groupby(by).sum(),
        "measured": measured.groupby(by).sum(),
        "decided": (checkable & decided).groupby(by).sum(),
        "too wide": (measured & (ledger["verdict"] == "inconclusive")).groupby(by).sum(),
        "not measured": (checkable & ~measured).groupby(by).sum(),
    })
    out.loc["all chapters"] = out.sum()
    out["measured share"] = (out["measured"] / out["checkable"]).map(lambda v: f"{v:.0%}")
    out["decided share"] = (out["decided"] / out["checkable"]).map(lambda v: f"{v:.0%}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(ROOT / "results"))
    ap.add_argument("--out", default=str(HERE / "paper_ledger.csv"))
    args = ap.parse_args(argv)
    stems = [s for s in discover(ROOT) if (ROOT / "data" / s / "claims.yaml").exists()]
    ledger = gather(Path(args.results), stems)
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "capfront_lib", "notebooks", "data"))
    ledger.insert(0, "commit", _git("rev-parse", "HEAD") + ("+local-changes" if dirty else ""))
    ledger.insert(1, "commit_date", _git("log", "-1", "--format=%cI"))
    ledger.insert(2, "produced", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"))
    ledger.to_csv(args.out, index=False)
    print(f"wrote {len(ledger)} rows to {Path(args.out).name} (commit {ledger['commit'].iloc[0][:12]})")
    print(coverage_table(ledger).to_string())
    print(ledger.groupby(["chapter", "verdict"]).size().unstack(fill_value=0).to_string())
    unvalued = ledger["our_value"].astype(str).str.strip() == ""
    for _, r in ledger[(ledger["rule"] != "not-checkable") & (ledger["verdict"] == "not-checkable")].iterrows():
        print(f"not checkable offline (found by the run): {r['chapter']}/{r['claim_id']}: {r['reason'][:160]}")
    for _, r in ledger[(ledger["verdict"] != "not-checkable") & unvalued].iterrows():
        print(f"not measured: {r['chapter']}/{r['claim_id']}: {r['reason'][:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
