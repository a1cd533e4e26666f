"""``capfront sweep``: one chapter over a grid of parameters, resumable, on a local pool or on Dask.

::

    capfront sweep CHAPTER -p NAME v1,v2,... [-p NAME ...] [--seeds 0-19] [--profile quick|paper]
                   [--workers N | --dask-local N | --scheduler tcp://HOST:PORT] [--name NAME] [--plot KEY]
                   [--fail-fast]

1. :func:`plan_sweep` expands the cartesian grid (the ``-p`` axes in the order given, seeds last) and
   validates every point with the chapter's schema before anything runs: one error line naming the first
   bad point, nothing started.
2. :func:`execute_sweep` runs one papermill execution per point, each in its own process
   (:func:`capfront_lib.execute.run_task`), on a local pool or a Dask client (same ``submit``). A point's
   key is the hash of the chapter's source key and the point's parameters; a point whose folder already
   holds a finished run with that key is skipped, so an interrupted sweep continues where it stopped.
   A failing point is recorded with its error and the others go on (``fail_fast`` stops).
3. Output under ``sweeps/<name>/``: one folder per point (executed notebook, results.json, claims.csv,
   point.json) and ``summary.parquet`` (:func:`summarize`: one row per point with the swept parameters,
   every scalar of results.json and the verdict counts of claims.csv). :func:`plot_sweep` draws a key
   against the swept parameter with a band over seeds.

Inside a point, ``pmap`` loops run serially (the points themselves fill the workers).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from capfront_lib import runner
from capfront_lib.runner import UsageError

MAX_POINTS = 100_000
SEED = "seed"

# The sweep the book runs for its "Sweeps" page (kept small; cached point by point under _build/sweeps/).
BOOK_SWEEPS: tuple[dict[str, Any], ...] = (
    {"chapter": "evaluation_logs", "params": [("n_models", "2,4,8,16")], "seeds": "0-2", "profile": "quick",
     "name": "evaluation_logs-pool"},
)


# ---------------------------------------------------------------------------------------------
# the grid


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` on the commas outside brackets and quotes: ``"[1,2],[3]" -> ["[1,2]", "[3]"]``."""
    out, cur, depth, quote = [], [], 0, ""
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_seeds(text: str) -> list[int]:
    """``"0-19"`` -> 0..19; ``"0,3,7"``; ``"0-4,10"``. Seeds must be non-negative integers, no repeats."""
    seeds: list[int] = []
    for part in split_values(text):
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)|(\d+)", part)
        if not m:
            raise UsageError(f"--seeds expects ranges like 0-19 or lists like 0,3,7; got {text!r}")
        if m.group(3) is not None:
            seeds.append(int(m.group(3)))
        else:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise UsageError(f"--seeds range {part!r} is empty (end before start)")
            seeds.extend(range(lo, hi + 1))
    dup = sorted({s for s in seeds if seeds.count(s) > 1})
    if dup:
        raise UsageError(f"--seeds repeats {dup}")
    return seeds


def _slug(values: Mapping[str, Any]) -> str:
    text = "_".join(f"{k}={v}" for k, v in values.items())
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip("-")[:80] or "point"


@dataclass
class Point:
    """One point of the grid: its overrides, the swept values, the validated run plan and its folder."""

    overrides: list[tuple[str, str]]
    swept: dict[str, Any]
    plan: runner.RunPlan

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def folder(self) -> str:
        return f"{_slug(self.swept)}-{self.key[:10]}"


@dataclass
class SweepPlan:
    chapter: str
    profile: str
    name: str
    out_dir: Path
    axes: list[tuple[str, list[str]]]
    seeds: list[int] | None
    points: list[Point]
    root: Path

    @property
    def swept_names(self) -> list[str]:
        """Parameters that vary across points (axes with more than one value, then the seed)."""
        names = [n for n, vals in self.axes if len(vals) > 1]
        if self.seeds is not None:
            names.append(SEED)
        return names


def plan_sweep(
    stem: str,
    params: Sequence[tuple[str, str]],
    *,
    seeds: str | Sequence[int] | None = None,
    profile: str = "quick",
    name: str | None = None,
    out_dir: str | Path | None = None,
    root: Path | None = None,
    cwd: Path | None = None,
) -> SweepPlan:
    """Expand and validate the grid; raise :class:`UsageError` (one line) before anything runs."""
    root = root or runner.repo_root()
    ch = runner.chapter(stem, root)
    if stem in runner.PAGES:
        raise UsageError(f"{stem!r} is a book page, not a chapter; sweep a chapter: {runner.discover(root)}")
    axes: list[tuple[str, list[str]]] = []
    for pname, text in params:
        if pname in (n for n, _ in axes):
            raise UsageError(f"parameter {pname!r} is given twice; list all its values in one -p {pname} v1,v2,...")
        if pname == "results_dir":
            raise UsageError("results_dir cannot be swept: every point gets its own folder under sweeps/<name>/")
        if pname not in ch.parameters:
            valid = ", ".join(ch.parameters)
            raise UsageError(f"chapter {stem!r} has no parameter {pname!r}; valid parameters: {valid}")
        vals = split_values(str(text))
        if any(v == "" for v in vals) and not isinstance(ch.parameters[pname].default, str):
            raise UsageError(f"-p {pname} {text!r}: empty value in the list")
        dup = sorted({v for v in vals if vals.count(v) > 1})
        if dup:
            raise UsageError(f"-p {pname}: values repeated {dup}")
        axes.append((pname, vals))
    seed_list: list[int] | None = None
    if seeds is not None and seeds != "":
        if SEED not in ch.parameters:
            raise UsageError(f"chapter {stem!r} has no {SEED!r} parameter; --seeds cannot be used")
        if SEED in (n for n, _ in axes):
            raise UsageError(f"give the seeds either with --seeds or with -p {SEED}, not both")
        seed_list = parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]
    if not axes and seed_list is None:
        raise UsageError("nothing to sweep: give at least one -p NAME v1,v2,... or --seeds")
    n_points = math.prod(len(v) for _, v in axes) * (len(seed_list) if seed_list is not None else 1)
    if n_points > MAX_POINTS:
        raise UsageError(f"the grid has {n_points:,} points; the limit is {MAX_POINTS:,}")
    name = name or "-".join([stem] + [n for n, v in axes if len(v) > 1] + (["seeds"] if seed_list is not None else []))
    if not re.fullmatch(r"[A-Za-z0-9._=+-]+", name):
        raise UsageError(f"--name {name!r}: use letters, digits and . _ = + - only")
    out = Path(out_dir) if out_dir is not None else Path(cwd or Path.cwd()) / "sweeps" / name
    digests = runner.Digests()
    grid_axes = [(n, v) for n, v in axes] + ([(SEED, [str(s) for s in seed_list])] if seed_list is not None else [])
    varying = [n for n, v in axes if len(v) > 1] + ([SEED] if seed_list is not None else [])
    points: list[Point] = []
    for combo in itertools.product(*[v for _, v in grid_axes]):
        overrides = [(n, raw) for (n, _), raw in zip(grid_axes, combo)]
        try:
            resolved = runner.resolve(ch, overrides, profile, cwd=cwd, origin="sweep")
        except UsageError as err:
            at = ", ".join(f"{n}={r}" for n, r in overrides)
            raise UsageError(f"sweep rejected before any run: point {at}: {err}") from None
        plan = runner.plan_run(root, ch, resolved, profile, digests)
        points.append(Point(overrides, {n: resolved.values[n] for n in varying}, plan))
    return SweepPlan(stem, profile, name, out, axes, seed_list, points, root)


# ---------------------------------------------------------------------------------------------
# running


def read_point(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "point.json").read_text())
    except (OSError, ValueError):
        return None


def is_done(plan: SweepPlan, point: Point) -> bool:
    rec = read_point(plan.out_dir / point.folder)
    return bool(rec) and rec.get("status") == "done" and rec.get("key") == point.key


def _install_point(plan: SweepPlan, point: Point, outcome: Mapping[str, Any]) -> None:
    """Write a point's folder atomically: a temporary sibling, then one rename."""
    final = plan.out_dir / point.folder
    tmp = Path(tempfile.mkdtemp(prefix=f".{point.folder}.tmp-", dir=plan.out_dir))
    try:
        ok = bool(outcome.get("ok"))
        for rel, data in (outcome.get("results") or {}).items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        nb = outcome.get("notebook") if ok else outcome.get("failed")
        if nb:
            (tmp / f"{plan.chapter}{'' if ok else '.failed'}.ipynb").write_bytes(nb)
        record = {
            "key": point.key,
            "chapter": plan.chapter,
            "profile": plan.profile,
            "parameters": point.swept,
            "overrides": dict(point.overrides),
            "status": "done" if ok else "failed",
            "error": None if ok else outcome.get("error", "failed"),
            "seconds": outcome.get("seconds"),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "point.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
        if final.exists():
            trash = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class SweepResult:
    plan: SweepPlan
    ran: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0
    summary_path: Path | None = None


def execute_sweep(
    plan: SweepPlan,
    executor: Callable[[], Any],
    *,
    fail_fast: bool = False,
    progress: bool | None = None,
    remote: bool = False,
    force: bool = False,
) -> SweepResult:
    """Run the points not finished yet (all of them with ``force``) on ``executor()``, which is created
    only when something must run."""
    from capfront_lib.cluster import run_all

    t0 = time.perf_counter()
    runner.check_output_dir(plan.out_dir, "the sweep")
    _write_sweep_json(plan)
    todo = [p for p in plan.points if force or not is_done(plan, p)]
    result = SweepResult(plan, skipped=len(plan.points) - len(todo))
    if todo:
        from tqdm.auto import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=len(plan.points), initial=result.skipped, desc=f"sweep {plan.name}", unit="point",
                   disable=not show, file=sys.stderr)
        ex = executor()
        items = []
        for p in todo:
            cmd = " ".join(["capfront", "run", plan.chapter] + (["--profile", plan.profile] if plan.profile != "quick" else [])
                           + [f"-p {n} {r}" for n, r in p.overrides])
            items.append((p, p.plan.spec(scheduler=None, secede=False, remote=remote, command=cmd)))

        def done(point: Point, outcome: dict[str, Any]) -> bool:
            _install_point(plan, point, outcome)
            bar.update(1)
            if outcome.get("ok"):
                result.ran += 1
                return True
            result.failed[point.folder] = str(outcome.get("error", "failed"))
            bar.write(f"capfront sweep: point {point.folder} failed: {error_line(outcome.get('error'))}", file=sys.stderr)
            return not fail_fast

        try:
            result.stopped = not run_all(ex, items, done)
        finally:
            bar.close()
    result.summary_path = write_summary(plan)
    result.seconds = time.perf_counter() - t0
    return result


def error_line(error: Any) -> str:
    """The line of an error that says what went wrong (the exception, the last line of a cell failure)."""
    lines = [ln for ln in str(error or "failed").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "failed"


def _write_sweep_json(plan: SweepPlan) -> None:
    data = {
        "chapter": plan.chapter,
        "profile": plan.profile,
        "name": plan.name,
        "axes": {n: v for n, v in plan.axes},
        "seeds": plan.seeds,
        "points": [{"folder": p.folder, "key": p.key, "parameters": p.swept} for p in plan.points],
    }
    runner_tmp = plan.out_dir / ".sweep.json.tmp"
    runner_tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(runner_tmp, plan.out_dir / "sweep.json")


# ---------------------------------------------------------------------------------------------
# summary and figure


def _scalars(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every scalar of a results.json (nested mappings flattened with dots; lists left out)."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_scalars(v, name + "."))
        elif isinstance(v, (bool, int, float, str)) or v is None:
            out[name] = v
    return out


def summarize(plan: SweepPlan) -> Any:
    """One row per point: swept parameters, status, every scalar of results.json, verdict counts."""
    import pandas as pd

    rows = []
    verdicts: set[str] = set()
    for p in plan.points:
        folder = plan.out_dir / p.folder
        rec = read_point(folder) or {}
        done = rec.get("key") == p.key and rec.get("status") == "done"
        failed = rec.get("key") == p.key and rec.get("status") == "failed"
        row: dict[str, Any] = {"point": p.folder, **p.swept,
                               "status": "done" if done else ("failed" if failed else "pending"),
                               "error": rec.get("error") if failed else None,
                               "seconds": rec.get("seconds") if (done or failed) else None}
        if done:
            res = json.loads((folder / "results.json").read_text())
            for k, v in _scalars(res).items():
                if k == "chapter":
                    continue
                row[k if k not in row else f"results.{k}"] = v
            claims_path = folder / "claims.csv"
            if claims_path.is_file():
                claims = pd.read_csv(claims_path, dtype=str, keep_default_na=False)
                if "verdict" in claims.columns:
                    for v, n in claims["verdict"].value_counts().items():
                        row[f"verdicts.{v}"] = int(n)
                        verdicts.add(v)
        rows.append(row)
    df = pd.DataFrame(rows)
    for v in sorted(verdicts):
        col = f"verdicts.{v}"
        df[col] = df[col].where(df["status"] != "done", df[col].fillna(0)).astype("Int64")
    for c in df.columns:  # parquet needs one type per column
        if df[c].dtype == object:
            kinds = {type(x) for x in df[c] if x is not None and not (isinstance(x, float) and math.isnan(x))}
            if len(kinds) > 1:
                df[c] = df[c].map(lambda x: None if x is None else str(x))
    return df


def write_summary(plan: SweepPlan) -> Path:
    df = summarize(plan)
    path = plan.out_dir / "summary.parquet"
    tmp = plan.out_dir / ".summary.parquet.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def band_over_seeds(df: Any, key: str, x: str, level: float = 0.95) -> Any:
    """Mean of ``key`` per value of ``x`` and the t interval of that mean over the rows (seeds)."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    rows = []
    for xv, g in df.groupby(x, sort=True):
        y = pd.to_numeric(g[key], errors="coerce").dropna().to_numpy(float)
        n = y.size
        mean = float(y.mean()) if n else float("nan")
        if n >= 2:
            half = float(stats.t.ppf(0.5 + level / 2, n - 1) * y.std(ddof=1) / np.sqrt(n))
        else:
            half = float("nan")
        rows.append({x: xv, "n": n, "mean": mean, "lo": mean - half, "hi": mean + half})
    return pd.DataFrame(rows)


def plot_sweep(df: Any, key: str, x: str | None = None, by: str | None = None, *, ax: Any = None,
               data_label: str | None = None, level: float = 0.95, title: str | None = None,
               xlabel: str | None = None, ylabel: str | None = None, logx: bool | None = None) -> Any:
    """Draw ``key`` against the swept parameter ``x``: one dot per point (seed), the mean over seeds and
    its ``level`` t interval as a band; one line per value of ``by`` when a second parameter was swept.
    ``logx`` (default: when the positive x values span a factor of 8 or more) puts x on a log2 axis."""
    import matplotlib.pyplot as plt
    import pandas as pd

    done = df[df["status"] == "done"] if "status" in df.columns else df
    if key not in done.columns or not pd.api.types.is_numeric_dtype(pd.to_numeric(done[key], errors="coerce")) \
            or pd.to_numeric(done[key], errors="coerce").notna().sum() == 0:
        numeric = [c for c in done.columns if pd.api.types.is_numeric_dtype(done[c]) and c not in ("seconds",)]
        raise UsageError(f"--plot {key!r}: not a numeric column of the summary; numeric columns: {', '.join(numeric)}")
    if x is None or x not in done.columns:
        raise UsageError(f"plot_sweep: x must be a swept parameter column of the summary, got {x!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
    else:
        fig = ax.figure
    groups = [(None, done)] if by is None else list(done.groupby(by, sort=True))
    categorical = not pd.api.types.is_numeric_dtype(done[x])
    cats = sorted(done[x].unique(), key=str) if categorical else None
    for label, g in groups:
        band = band_over_seeds(g, key, x, level)
        xs = [cats.index(v) for v in band[x]] if categorical else band[x]
        line, = ax.plot(xs, band["mean"], marker="o", label=None if label is None else f"{by} = {label}")
        ax.fill_between(xs, band["lo"], band["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
        px = [cats.index(v) for v in g[x]] if categorical else g[x]
        ax.scatter(px, pd.to_numeric(g[key], errors="coerce"), s=12, color=line.get_color(), alpha=0.6, zorder=3)
    if categorical:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats])
    else:
        xv = sorted(float(v) for v in done[x].unique())
        if logx is None:
            logx = len(xv) > 2 and xv[0] > 0 and xv[-1] / xv[0] >= 8
        if logx:
            ax.set_xscale("log", base=2)
            ax.set_xticks(xv, [f"{v:g}" for v in xv])
            ax.minorticks_off()
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or key)
    n_seeds = int(done.groupby([x] if by is None else [x, by])[key].count().min()) if len(done) else 0
    if title is None:
        title = f"{ylabel or key} against {xlabel or x}\nmean of {n_seeds} seeds, band: {int(level * 100)}% interval of the mean"
        if data_label:
            title += f" [{data_label}]"
    ax.set_title(title, fontsize=10)
    if by is not None:
        ax.legend()
    return fig


def default_axes(plan: SweepPlan) -> tuple[str | None, str | None]:
    """(x, by) of the figure: the first and second swept parameters other than the seed."""
    swept = [n for n in plan.swept_names if n != SEED]
    if not swept:
        swept = [SEED] if plan.seeds is not None else []
    return (swept[0] if swept else None, swept[1] if len(swept) > 1 else None)


def save_plot(plan: SweepPlan, key: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from capfront_lib.core.plotting import use_style

    use_style()
    df = pd.read_parquet(plan.out_dir / "summary.parquet")
    x, by = default_axes(plan)
    if x is None:
        raise UsageError("--plot needs a swept parameter")
    label = None
    if "source" in df.columns and df["source"].notna().any():
        label = ", ".join(sorted(set(df["source"].dropna().astype(str))))
    fig = plot_sweep(df, key, x, by if by != SEED else None, data_label=label)
    fig.tight_layout()
    path = plan.out_dir / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', key)}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# the book's sweeps


def book_sweep_plan(root: Path, spec: Mapping[str, Any]) -> SweepPlan:
    return plan_sweep(spec["chapter"], spec["params"], seeds=spec.get("seeds"), profile=spec.get("profile", "quick"),
                      name=spec["name"], out_dir=root / "_build" / "sweeps" / spec["name"], root=root, cwd=root)


def run_book_sweeps(root: Path, executor: Callable[[], Any], *, chapters: Iterable[str] | None, errors: dict[str, str],
                    runs: list[dict[str, Any]], digests: Any = None, force: bool = False) -> bool:
    """Run (or find finished) the sweeps the book's Sweeps page shows. A full build always brings them up to
    date (finished points are skipped); a ``--chapter`` build only when the swept chapter is among its
    chapters or the sweep has no summary yet. Returns False when a point failed (error recorded)."""
    ok = True
    wanted = None if chapters is None else set(chapters)
    for spec in BOOK_SWEEPS:
        if not (root / "notebooks" / f"{spec['chapter']}.md").exists():
            continue
        out = root / "_build" / "sweeps" / spec["name"]
        if wanted is not None and spec["chapter"] not in wanted and (out / "summary.parquet").exists():
            continue
        try:
            plan = book_sweep_plan(root, spec)
            res = execute_sweep(plan, executor, progress=False, force=force)
        except UsageError as err:
            errors[f"sweep {spec['name']}"] = str(err)
            ok = False
            continue
        row = {"chapter": f"sweep:{spec['name']}", "seconds": res.seconds, "cached": res.ran == 0 and not res.failed,
               "points": len(plan.points), "ran": res.ran, "skipped": res.skipped}
        runs.append(row)
        print(f"[capfront] sweep {spec['name']}: {len(plan.points)} points, {res.ran} run, {res.skipped} already done"
              f"{', ' + str(len(res.failed)) + ' failed' if res.failed else ''} ({res.seconds:.1f} s)", flush=True)
        if res.failed:
            first = next(iter(res.failed.items()))
            errors[f"sweep {spec['name']}"] = f"book sweep {spec['name']}: {len(res.failed)} points failed; first {first[0]}:\n{first[1]}"
            ok = False
    return ok
