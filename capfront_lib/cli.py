"""The ``capfront`` command: list, run and build chapters (plus commands that chapters register)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from capfront_lib import runner

# Chapter modules that add their own sub-commands: each exposes ``register(subparsers)`` and sets
# ``func`` on its parser (``parser.set_defaults(func=handler)``); the handler returns an exit code.
CHAPTER_COMMANDS: tuple[str, ...] = (
    "capfront_lib.cofailure.cli",
    "capfront_lib.report",
)


def _cmd_list(args: argparse.Namespace) -> int:
    root = runner.repo_root()
    for stem in runner.discover(root):
        ch = runner.chapter(stem, root)
        print(f"{stem}: {ch.title}")
        print(f"  profiles: {', '.join(sorted(ch.profiles))}")
        for p in ch.parameters.values():
            changed = {prof: ov[p.name] for prof, ov in ch.profiles.items() if p.name in ov}
            prof_txt = "".join(f"  [{prof}: {v!r}]" for prof, v in changed.items())
            help_txt = f"  # {p.help}" if p.help else ""
            print(f"    {p.name} ({p.type_name}) = {p.default!r}{prof_txt}{help_txt}")
        print()
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        summary = runner.run_chapter(args.chapter, args.param or [], profile=args.profile, output=args.output, results_dir=args.results_dir)
    except runner.RunnerError as err:
        print(f"capfront run: {err}", file=sys.stderr)
        return 1
    print(f"ran {args.chapter} ({args.profile}) in {summary['seconds']:.1f} s")
    print(f"  notebook: {summary['notebook']}")
    print(f"  results:  {summary['results_dir']}/results.json, claims.csv")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        summary = runner.build_book(profile=args.profile, chapters=args.chapter, keep_going=args.keep_going, jobs=args.jobs, html=not args.no_html)
    except runner.RunnerError as err:
        print(f"capfront build: {err}", file=sys.stderr)
        return 1
    if "html" in summary:
        print(f"book built: {summary['html']}/index.html (notebooks {summary['notebook_seconds']:.0f} s, html {summary['html_seconds']:.0f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capfront", description="Run and build the capfront book.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="chapters, their parameters with defaults, and profiles")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="execute one chapter notebook with papermill")
    p.add_argument("chapter")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    p.add_argument("--profile", default="quick", choices=runner.PROFILES)
    p.add_argument("-o", "--output", help="executed notebook path (default results/<chapter>/<chapter>.ipynb)")
    p.add_argument("--results-dir", help="where results.json and claims.csv go (default results/<chapter>)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("build", help="run chapters into book/ and build the HTML book into _build/html")
    p.add_argument("--profile", default="quick", choices=runner.PROFILES)
    p.add_argument("--chapter", action="append", help="re-run only this chapter (repeatable); others are reused")
    p.add_argument("--keep-going", action="store_true", help="run every chapter even if one fails")
    p.add_argument("--jobs", type=int, default=2, help="chapters executed in parallel (default 2)")
    p.add_argument("--no-html", action="store_true", help="only execute the notebooks")
    p.set_defaults(func=_cmd_build)

    for module in CHAPTER_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
