"""The ``capfront`` command: list, run, build and sweep chapters (plus commands that chapters register).

Exit status: 0 success; 1 a notebook failed (previous results kept); 2 bad input caught before anything
ran (parameters, profile, chapter, output paths, grid) with one line on stderr; 130 Ctrl-C (one line,
previous results kept).
"""

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


def _fail(cmd: str, err: runner.RunnerError) -> int:
    text = str(err)
    if isinstance(err, runner.UsageError):  # one line
        text = " ".join(text.split("\n"))
    print(f"capfront {cmd}: {text}", file=sys.stderr)
    return err.exit_code


def _cmd_list(args: argparse.Namespace) -> int:
    from capfront_lib.core.params import schema_for

    try:
        root = runner.repo_root()
        chapters = [runner.chapter(stem, root) for stem in runner.discover(root)]
    except runner.RunnerError as err:
        return _fail("list", err)
    for ch in chapters:
        stem = ch.stem
        try:
            schema = schema_for(stem)
        except Exception as err:  # a broken schema module: say so, keep listing
            print(f"{stem}: parameter schema cannot be loaded: {err}", file=sys.stderr)
            schema = None
        print(f"{stem}: {ch.title}")
        print(f"  profiles: {', '.join(sorted(ch.profiles))}")
        for p in ch.parameters.values():
            changed = {prof: ov[p.name] for prof, ov in ch.profiles.items() if p.name in ov}
            prof_txt = "".join(f"  [{prof}: {v!r}]" for prof, v in changed.items())
            sp = schema.by_name.get(p.name) if schema is not None else None
            kind = sp.describe() if sp is not None else p.type_name
            help_txt = p.help or (sp.help if sp is not None else "")
            help_txt = f"  # {help_txt}" if help_txt else ""
            print(f"    {p.name} ({kind}) = {p.default!r}{prof_txt}{help_txt}")
        print()
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        summary = runner.run_chapter(args.chapter, args.param or [], profile=args.profile, output=args.output,
                                     results_dir=args.results_dir, force=args.force, use_cache=not args.no_cache,
                                     dask_local=args.dask_local, scheduler=args.scheduler)
    except runner.RunnerError as err:
        return _fail("run", err)
    how = (f"restored from the cache (executed earlier in {summary.get('executed_seconds') or 0:.1f} s; --force re-executes)"
           if summary.get("cached") else f"in {summary['seconds']:.1f} s")
    print(f"ran {args.chapter} ({args.profile}) {how}")
    print(f"  notebook: {runner._display(summary['notebook'])}")
    print(f"  results:  {runner._display(summary['results_dir'])}/results.json, claims.csv")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        summary = runner.build_book(profile=args.profile, chapters=args.chapter, keep_going=args.keep_going, jobs=args.jobs,
                                    html=not args.no_html, force=args.force, use_cache=not args.no_cache,
                                    dask_local=args.dask_local, scheduler=args.scheduler)
    except runner.RunnerError as err:
        return _fail("build", err)
    cached = [r["chapter"] for r in summary["runs"] if r.get("cached")]
    ran = [r["chapter"] for r in summary["runs"] if "error" not in r and not r.get("cached")]
    print(f"executed {len(ran)}, restored from the cache {len(cached)} ({summary['notebook_seconds']:.0f} s)")
    if "html" in summary:
        print(f"book built: {runner._display(summary['html'])}/index.html (html {summary['html_seconds']:.0f} s)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from capfront_lib import sweep
    from capfront_lib.cluster import ExecutorError, open_executor

    try:
        plan = sweep.plan_sweep(args.chapter, [tuple(p) for p in (args.param or [])], seeds=args.seeds,
                                profile=args.profile, name=args.name, out_dir=args.out)
        print(f"sweep {plan.name}: {plan.chapter} ({plan.profile}), {len(plan.points)} points -> {runner._display(plan.out_dir)}")
        with __import__("contextlib").ExitStack() as stack:
            made: list = []

            def executor():
                if not made:
                    try:
                        made.append(stack.enter_context(open_executor(workers=args.workers, dask_local=args.dask_local,
                                                                      scheduler=args.scheduler)))
                    except ExecutorError as err:
                        raise runner.UsageError(str(err)) from None
                    print(f"  on a {made[0].describe()}")
                return made[0]

            try:
                res = sweep.execute_sweep(plan, executor, fail_fast=args.fail_fast, remote=bool(args.scheduler), force=args.force)
            except KeyboardInterrupt:
                from capfront_lib import execute

                execute.terminate_all()
                raise runner.Interrupted("interrupted; finished points kept (rerun the same command to continue)") from None
        print(f"  {res.ran} run, {res.skipped} already done, {len(res.failed)} failed ({res.seconds:.1f} s)")
        print(f"  summary: {runner._display(res.summary_path)}")
        for key in args.plot or []:
            path = sweep.save_plot(plan, key)
            print(f"  figure:  {runner._display(path)}")
    except runner.RunnerError as err:
        return _fail("sweep", err)
    if res.failed:
        print(f"capfront sweep: {len(res.failed)} point{'s' if len(res.failed) > 1 else ''} failed; the errors are in "
              f"{runner._display(res.summary_path)} and in each point's point.json", file=sys.stderr)
        if res.stopped:
            print("capfront sweep: stopped at the first failure (--fail-fast)", file=sys.stderr)
        return 1
    return 0


def _add_cluster_options(p: argparse.ArgumentParser, workers: bool = False) -> None:
    g = p.add_mutually_exclusive_group()
    if workers:
        g.add_argument("--workers", type=int, help="local processes running points at once (default: the number of cores)")
    g.add_argument("--dask-local", type=int, metavar="N", help="run on a dask.distributed LocalCluster of N worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on a running Dask scheduler, e.g. tcp://HOST:8786")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capfront", description="Run, build and sweep the capfront book.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="chapters, their parameters with defaults and constraints, and profiles")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="execute one chapter notebook with papermill (cached)")
    p.add_argument("chapter")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    p.add_argument("--profile", default="quick", choices=runner.PROFILES)
    p.add_argument("-o", "--output", help="executed notebook path (default results/<chapter>/<chapter>.ipynb)")
    p.add_argument("--results-dir", help="where results.json and claims.csv go (default results/<chapter>; same as -p results_dir)")
    p.add_argument("--force", action="store_true", help="execute even when the cache holds this run")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the execution cache")
    _add_cluster_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("build", help="run chapters into book/ (cached) and build the HTML book into _build/html")
    p.add_argument("--profile", default="quick", choices=runner.PROFILES)
    p.add_argument("--chapter", action="append", help="re-run only this chapter (repeatable); others are reused")
    p.add_argument("--keep-going", action="store_true", help="run every chapter even if one fails")
    p.add_argument("--jobs", type=int, default=2, help="chapters executed at once (default 2)")
    p.add_argument("--no-html", action="store_true", help="only execute the notebooks")
    p.add_argument("--force", action="store_true", help="re-execute every chapter even when cached")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the execution cache")
    _add_cluster_options(p)
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("sweep", help="run a chapter over a grid of parameters (resumable; local pool or Dask)")
    p.add_argument("chapter")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUES"),
                   help="a swept parameter and its comma-separated values, e.g. -p n_models 2,4,8 (repeatable)")
    p.add_argument("--seeds", help="seeds as ranges or lists: 0-19, 0,3,7 (the chapter's seed parameter)")
    p.add_argument("--profile", default="quick", choices=runner.PROFILES)
    _add_cluster_options(p, workers=True)
    p.add_argument("--name", help="folder name under sweeps/ (default <chapter>-<swept parameters>)")
    p.add_argument("--out", help="output folder (default sweeps/<name>)")
    p.add_argument("--plot", action="append", metavar="KEY", help="draw KEY of results.json against the swept parameter (repeatable)")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing point")
    p.add_argument("--force", action="store_true", help="run every point again, even those already finished")
    p.set_defaults(func=_cmd_sweep)

    for module in CHAPTER_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"capfront {args.command}: interrupted; previous results kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into a command that stopped reading (| head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
