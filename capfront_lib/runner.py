"""The runner: execute chapter notebooks with papermill and build the book with Jupyter Book.

Source notebooks are jupytext MyST markdown files in ``notebooks/``; the parameters cell is tagged
``parameters`` and holds literal assignments (its defaults are the ``quick`` profile). Profiles live
in ``data/profiles/<chapter>.yaml`` as ``{quick: {...}, paper: {...}}`` overrides.

Every run is checked before anything starts (parameters against the chapter's schema, output folders
writable), executes in a private temporary folder (:mod:`capfront_lib.execute`), and its executed
notebook and results move into place only on success: a failed or interrupted run leaves the previous
results untouched. Runs are cached (:mod:`capfront_lib.cache`): a chapter whose key did not change is
restored, not re-executed. ``build_book`` runs chapters on a local pool of processes or on Dask
(:mod:`capfront_lib.cluster`); the kernels then get ``CAPFRONT_DASK_SCHEDULER`` so that the chapters'
``core.parallel.pmap`` loops use the same cluster.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import yaml

from capfront_lib import cache

# Reading order of the book; chapters found in notebooks/ but not listed here come after, by name.
CHAPTER_ORDER: tuple[str, ...] = (
    "evaluation_logs",
    "oracle_debiasing",
    "co_failure_ceiling",
    "inference_dynamics",
    "markov_copula_cascades",
    "economic_evaluation",
    "human_in_the_loop",
    "repliclust",
)
# Notebooks that are book pages rather than chapters: run after all chapters, no profiles, no results.
PAGES: tuple[str, ...] = ("claims_ledger", "sweeps")
PROFILES: tuple[str, ...] = ("quick", "paper")
BOOK_CHAPTER_DIR = Path("book") / "chapters"
CELL_TIMEOUT_S = 3600


class RunnerError(RuntimeError):
    """A chapter could not be run (bad parameters, missing chapter, failing cell)."""

    exit_code = 1


class UsageError(RunnerError):
    """Bad input caught before anything ran: parameters, profile, chapter name, output paths (exit 2)."""

    exit_code = 2


class RunFailed(RunnerError):
    """A cell of the notebook failed; previous results were kept (exit 1)."""

    exit_code = 1


class Interrupted(RunnerError):
    """Ctrl-C: the run was stopped and previous results were kept (exit 130)."""

    exit_code = 130

    def __init__(self, message: str = "interrupted; previous results kept") -> None:
        super().__init__(message)


def repo_root() -> Path:
    """Folder with ``notebooks/`` and ``data/``: ``CAPFRONT_ROOT``, the checkout, or the installed copy."""
    from capfront_lib.core.resources import ResourceError, project_root

    try:
        return project_root()
    except ResourceError as err:
        raise UsageError(str(err)) from None


# ---------------------------------------------------------------------------------------------
# notebooks and parameters


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    help: str = ""

    @property
    def type_name(self) -> str:
        return type(self.default).__name__


@dataclass(frozen=True)
class Chapter:
    stem: str
    title: str
    path: Path
    parameters: dict[str, Parameter] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


def _read_source(path: Path):
    import jupytext

    return jupytext.read(path)


def parameters_from_notebook(nb, source: str = "<notebook>") -> dict[str, Parameter]:
    """Parse the cell tagged ``parameters``: every statement must be ``name = <literal>``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise UsageError(f"{source}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    text = cells[0].source
    lines = text.splitlines()
    params: dict[str, Parameter] = {}
    for node in ast.parse(text).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise UsageError(f"{source}: parameters cell line {node.lineno} is not a simple 'name = literal' assignment")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise UsageError(f"{source}: parameter {node.targets[0].id!r} must have a literal default") from None
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        params[node.targets[0].id] = Parameter(node.targets[0].id, value, comment)
    if "results_dir" not in params:
        raise UsageError(f"{source}: the parameters cell must define results_dir")
    return params


def notebook_title(nb) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def load_profiles(root: Path, stem: str, params: Mapping[str, Parameter]) -> dict[str, dict[str, Any]]:
    """Read ``data/profiles/<stem>.yaml``; ``quick`` defaults to no overrides. Unknown names are errors."""
    path = root / "data" / "profiles" / f"{stem}.yaml"
    profiles: dict[str, dict[str, Any]] = {"quick": {}}
    if path.exists():
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise UsageError(f"{path}: must be a mapping of profile name -> parameter overrides")
        for name, overrides in raw.items():
            if name == "description":
                continue
            if name not in PROFILES:
                raise UsageError(f"{path}: unknown profile {name!r}; profiles are {list(PROFILES)}")
            overrides = overrides or {}
            unknown = sorted(set(overrides) - set(params))
            if unknown:
                raise UsageError(f"{path}: profile {name!r} sets unknown parameters {unknown}")
            profiles[name] = {k: _check_type(k, v, params[k]) for k, v in overrides.items()}
    return profiles


def discover(root: Path | None = None) -> list[str]:
    """Chapter stems in reading order."""
    root = root or repo_root()
    stems = sorted(p.stem for p in (root / "notebooks").glob("*.md") if p.stem not in PAGES)
    ordered = [s for s in CHAPTER_ORDER if s in stems]
    return ordered + [s for s in stems if s not in ordered]


def chapter(stem: str, root: Path | None = None) -> Chapter:
    root = root or repo_root()
    path = root / "notebooks" / f"{stem}.md"
    if not path.exists():
        known = discover(root) + [p for p in PAGES if (root / "notebooks" / f"{p}.md").exists()]
        raise UsageError(f"unknown chapter {stem!r}; chapters are {known}")
    nb = _read_source(path)
    params = parameters_from_notebook(nb, str(path))
    profiles = {} if stem in PAGES else load_profiles(root, stem, params)
    return Chapter(stem, notebook_title(nb), path, params, profiles)


# ---------------------------------------------------------------------------------------------
# typed parameter values


def _check_type(name: str, value: Any, param: Parameter) -> Any:
    d = param.default
    ok = (
        (isinstance(d, bool) and isinstance(value, bool))
        or (isinstance(d, int) and not isinstance(d, bool) and isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(d, float) and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (isinstance(d, str) and isinstance(value, str))
        or (isinstance(d, list) and isinstance(value, list))
        or (isinstance(d, dict) and isinstance(value, dict))
        or d is None
    )
    if not ok:
        raise UsageError(f"parameter {name!r} expects {param.type_name} (default {d!r}), got {value!r}")
    return float(value) if isinstance(d, float) else value


def parse_value(name: str, raw: str, param: Parameter) -> Any:
    """Convert a command-line string to the type of the parameter's default, or raise ``UsageError``."""
    d = param.default
    try:
        if isinstance(d, bool):
            low = raw.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(d, int):
            return int(raw)
        if isinstance(d, float):
            return float(raw)
        if isinstance(d, str):
            return raw
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise UsageError(f"parameter {name!r} expects {param.type_name} (default {d!r}), got {raw!r}") from None
    return _check_type(name, value, param)


@dataclass(frozen=True)
class Resolved:
    """Parameters of one run: values, where each value came from, and a results folder set with ``-p``."""

    values: dict[str, Any]
    sources: dict[str, str]
    results_dir: Path | None = None


def _items(overrides: Mapping[str, str] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(overrides.items()) if isinstance(overrides, Mapping) else [tuple(x) for x in overrides]  # type: ignore[misc]


def path_parameters(ch: Chapter) -> list[str]:
    """Names of the chapter's input-file parameters (schema kind ``path``, or a name ending in ``_path``)."""
    from capfront_lib.core.params import schema_for

    names = {n for n in ch.parameters if n.endswith("_path")}
    try:
        schema = schema_for(ch.stem)
    except Exception:  # a broken schema module is reported by validate_parameters
        schema = None
    if schema is not None:
        names |= {p.name for p in schema.params if p.kind == "path" and p.name in ch.parameters}
    return sorted(names)


def resolve(
    ch: Chapter,
    overrides: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    profile: str = "quick",
    cwd: Path | None = None,
    origin: str = "cli",
) -> Resolved:
    """defaults < profile < overrides, typed and checked against the chapter's schema (nothing runs).

    ``-p results_dir DIR`` is honoured as ``--results-dir DIR`` (``origin="cli"`` only). Unknown names,
    a name given twice and ill-typed or impossible values raise :class:`UsageError` with one line.
    """
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; profiles are {list(PROFILES)}")
    if ch.stem not in PAGES and profile not in ch.profiles:
        raise UsageError(f"chapter {ch.stem!r} has no {profile!r} profile (data/profiles/{ch.stem}.yaml)")
    values: dict[str, Any] = {k: p.default for k, p in ch.parameters.items()}
    sources = {k: "default" for k in values}
    for k, v in ch.profiles.get(profile, {}).items():
        values[k] = v
        sources[k] = f"profile:{profile}"
    valid = ", ".join(f"{p.name} ({p.type_name})" for p in ch.parameters.values())
    seen: set[str] = set()
    results_dir: Path | None = None
    base = cwd or Path.cwd()
    for name, raw in _items(overrides):
        if name not in ch.parameters:
            raise UsageError(f"chapter {ch.stem!r} has no parameter {name!r}; valid parameters: {valid}")
        if name in seen:
            raise UsageError(f"parameter {name!r} is given twice")
        seen.add(name)
        if name == "results_dir":
            if origin != "cli":
                raise UsageError(f"results_dir cannot be set in a {origin}: the runner gives every run its own folder")
            if not str(raw).strip():
                raise UsageError("parameter 'results_dir' must be a folder path, got ''")
            results_dir = (base / str(raw)).resolve() if not Path(str(raw)).expanduser().is_absolute() else Path(str(raw)).expanduser()
            continue
        values[name] = parse_value(name, raw, ch.parameters[name])
        sources[name] = origin
        # user paths are relative to where the user stands, not to the notebook
        v = values[name]
        if (name.endswith("_path") or name.endswith("_dir")) and isinstance(v, str) and v and not Path(v).is_absolute():
            values[name] = str((base / v).resolve())
    return Resolved(validate_parameters(ch.stem, values), sources, results_dir)


def resolve_parameters(
    ch: Chapter, overrides: Mapping[str, str] | Sequence[tuple[str, str]], profile: str = "quick", cwd: Path | None = None
) -> dict[str, Any]:
    """defaults < profile < command-line overrides; unknown names or ill-typed values raise."""
    return resolve(ch, overrides, profile, cwd).values


def validate_parameters(stem: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check resolved values against the chapter's typed schema (before any kernel starts)."""
    from capfront_lib.core.params import ParameterError, schema_for

    schema = schema_for(stem)
    if schema is None:
        return values
    try:
        checked = schema.validate(values)
    except ParameterError as err:
        raise UsageError(f"{stem}: {err}") from None
    return {**values, **checked}


# ---------------------------------------------------------------------------------------------
# output paths, checked before anything runs


def check_output_dir(folder: Path, what: str) -> Path:
    """Create ``folder`` if needed and prove it writable; else :class:`UsageError` (one line)."""
    folder = Path(folder).expanduser()
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"cannot write {what} under {folder}: {probe} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".capfront-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise UsageError(f"cannot write {what} under {folder}: {err.strerror or err}") from None
    return folder


def check_output_file(path: Path, what: str) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"cannot write {what} to {path}: it is a folder (give a file name ending in .ipynb)")
    check_output_dir(path.parent, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {what} to {path}: the file is read-only")
    return path.resolve()


def _display(p: Path | str) -> str:
    """A path as the user reads it: relative to the current folder when inside it."""
    p = Path(p)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(p)


# ---------------------------------------------------------------------------------------------
# one run: its key, its spec, its cache entry


@dataclass
class Digests:
    """Library and environment digests, computed once per command."""

    library: str = field(default_factory=lambda: cache.library_digest())
    environment: str = field(default_factory=lambda: cache.environment_digest())
    version: str = field(default_factory=lambda: cache.library_version())


def _public_data_dir() -> Path | None:
    from capfront_lib.core.env import data_dir

    try:
        return data_dir()
    except FileNotFoundError as err:
        raise UsageError(str(err)) from None


@dataclass
class RunPlan:
    """A validated run of one chapter or page, with its cache key."""

    ch: Chapter
    root: Path
    profile: str
    resolved: Resolved
    source: cache.SourceKey
    key: str
    digests: Digests

    @property
    def stem(self) -> str:
        return self.ch.stem

    @property
    def page(self) -> bool:
        return self.ch.stem in PAGES

    def spec(self, *, scheduler: str | None = None, secede: bool = False, remote: bool = False,
             command: str | None = None) -> dict[str, Any]:
        """The JSON-able description of this run for :mod:`capfront_lib.execute`."""
        spec: dict[str, Any] = {
            "stem": self.stem,
            "root": str(self.root),
            "notebook": str(self.ch.path),
            "values": self.resolved.values,
            "defaults": {k: p.default for k, p in self.ch.parameters.items()},
            "sources": self.resolved.sources,
            "profile": self.profile,
            "page": self.page,
            "scheduler": scheduler,
            "secede": secede,
            "library_hash": self.digests.library,
            "library_version": self.digests.version,
            "timeout": CELL_TIMEOUT_S,
            "task_key": f"capfront-{self.stem}-{self.key[:12]}-{os.urandom(3).hex()}",
        }
        if command:
            spec["command"] = command
        if remote:
            spec["notebook_text"] = self.ch.path.read_text()
            spec["expected_source"] = self.source.parts
        return spec


def plan_run(root: Path, ch: Chapter, resolved: Resolved, profile: str, digests: Digests) -> RunPlan:
    src = cache.source_key(root, ch.stem, library=digests.library, environment=digests.environment)
    inputs = {}
    for name in path_parameters(ch):
        v = resolved.values.get(name)
        if isinstance(v, str) and v:
            p = Path(v).expanduser()
            inputs[name] = cache.fingerprint(p if p.is_absolute() else root / p)
    extra: dict[str, Any] = {}
    if ch.stem in PAGES:
        # a page reads what the chapters wrote: which chapters exist and which have results is part of its key
        # (the files it reads are recorded by the run itself)
        extra["chapters"] = [(s, (root / "results" / s / "claims.csv").is_file()) for s in discover(root)]
    key = cache.run_key(src, resolved.values, profile, inputs=inputs, public_data=_public_data_dir() is not None, extra=extra)
    return RunPlan(ch, root, profile, resolved, src, key, digests)


def _lookup(plan: RunPlan, base: Path | None) -> cache.Entry | None:
    return cache.lookup(base, plan.stem, plan.key, root=plan.root, data_dir=_public_data_dir())


def _restore(entry: cache.Entry, out: Path, res_dir: Path | None) -> None:
    if res_dir is not None:
        cache.install_tree(entry.results, res_dir)
    cache.install_file(entry.notebook, out)


def _install(plan: RunPlan, work: Path, outcome: Mapping[str, Any], *, out: Path, res_dir: Path | None,
             failed_path: Path, base: Path | None) -> None:
    """Move a finished run into place (success) or keep only its failed notebook (failure)."""
    if outcome.get("ok"):
        if res_dir is not None:
            cache.install_tree(work / "results", res_dir)
        cache.install_file(work / "notebook.ipynb", out)
        failed_path.unlink(missing_ok=True)
        try:
            cache.store(base, plan.stem, plan.key, notebook=work / "notebook.ipynb", results=work / "results",
                        meta={"chapter": plan.stem, "profile": plan.profile, "seconds": outcome.get("seconds"),
                              "reads": outcome.get("reads", {}), "parameters": plan.resolved.values,
                              "source": plan.source.parts})
        except OSError as err:  # a full or read-only cache never fails a run
            print(f"[capfront] note: could not store {plan.stem} in the cache: {err}", file=sys.stderr)
    elif (work / "failed.ipynb").is_file():
        cache.install_file(work / "failed.ipynb", failed_path)


def _failure_message(plan: RunPlan, outcome: Mapping[str, Any], res_dir: Path | None, failed_path: Path) -> str:
    kept = ""
    if res_dir is not None:
        had = (res_dir / "results.json").exists()
        kept = f"\nprevious results in {_display(res_dir)} kept" if had else "\nno results written"
    nb = f"; executed notebook with the error: {_display(failed_path)}" if failed_path.exists() else ""
    return f"{outcome.get('error', 'failed')}{kept}{nb}"


@contextmanager
def _cluster_address(dask_local: int | None, scheduler: str | None) -> Iterator[str | None]:
    """A Dask scheduler address for a single in-process run (``capfront run --dask-local/--scheduler``)."""
    if not dask_local and not scheduler:
        yield None
        return
    from capfront_lib.cluster import ExecutorError, open_executor

    try:
        with open_executor(dask_local=dask_local, scheduler=scheduler) as ex:
            yield ex.scheduler_address
    except ExecutorError as err:
        raise UsageError(str(err)) from None


def run_chapter(
    stem: str,
    overrides: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    *,
    profile: str = "quick",
    output: str | Path | None = None,
    results_dir: str | Path | None = None,
    root: Path | None = None,
    force: bool = False,
    use_cache: bool = True,
    dask_local: int | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Execute one chapter with papermill (or restore it from the cache); return a summary dict.

    Order: parameters and profile are checked against the schema (:class:`UsageError`), then the output
    paths, then the cache; only then does a kernel start, in a temporary folder. Results and the executed
    notebook move into place only when the run succeeded (:class:`RunFailed` otherwise, previous results
    kept); Ctrl-C raises :class:`Interrupted`, previous results kept.
    """
    from capfront_lib import execute

    root = root or repo_root()
    ch = chapter(stem, root)
    resolved = resolve(ch, overrides, profile)
    if resolved.results_dir is not None and results_dir is not None and Path(results_dir).resolve() != resolved.results_dir.resolve():
        raise UsageError(f"results_dir given twice: -p results_dir {resolved.results_dir} and --results-dir {results_dir}")
    # default: results/<chapter> of the checkout; of the current folder for an installed package
    results_root = Path.cwd() if cache.is_installed_copy(root) else root
    res_dir = Path(results_dir) if results_dir else (resolved.results_dir or results_root / "results" / stem)
    res_dir = check_output_dir(res_dir, "results").resolve()
    out = check_output_file(Path(output) if output else res_dir / f"{stem}.ipynb", "the executed notebook")
    failed_path = out.with_name(f"{out.stem}.failed.ipynb")
    digests = Digests()
    plan = plan_run(root, ch, resolved, profile, digests)
    base = cache.cache_root(root) if use_cache else None
    summary = {"chapter": stem, "profile": profile, "notebook": str(out), "results_dir": str(res_dir),
               "parameters": resolved.values, "key": plan.key}
    t0 = time.perf_counter()
    entry = None if force else _lookup(plan, base)
    if entry is not None:
        _restore(entry, out, res_dir)
        return {**summary, "seconds": time.perf_counter() - t0, "cached": True, "executed_seconds": entry.meta.get("seconds")}
    work = Path(tempfile.mkdtemp(prefix=f"capfront-{stem}-"))
    try:
        with _cluster_address(dask_local, scheduler) as address:
            try:
                outcome = execute.execute(plan.spec(scheduler=address), work)
            except KeyboardInterrupt:
                raise Interrupted() from None
        _install(plan, work, outcome, out=out, res_dir=res_dir, failed_path=failed_path, base=base)
        if not outcome.get("ok"):
            raise RunFailed(_failure_message(plan, outcome, res_dir, failed_path))
    except KeyboardInterrupt:
        raise Interrupted() from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**summary, "seconds": time.perf_counter() - t0, "cached": False, "executed_seconds": outcome.get("seconds")}


# ---------------------------------------------------------------------------------------------
# the book


def _page_run(plan: RunPlan, out: Path, base: Path | None, force: bool, failed_dir: Path) -> dict[str, Any]:
    """Run a book page in this process (it reads the local results/ and sweeps), with the cache."""
    from capfront_lib import execute

    t0 = time.perf_counter()
    entry = None if force else _lookup(plan, base)
    row = {"chapter": plan.stem, "profile": plan.profile, "notebook": str(out), "key": plan.key}
    if entry is not None:
        _restore(entry, out, None)
        return {**row, "seconds": time.perf_counter() - t0, "cached": True, "executed_seconds": entry.meta.get("seconds")}
    work = Path(tempfile.mkdtemp(prefix=f"capfront-{plan.stem}-"))
    try:
        try:
            outcome = execute.execute(plan.spec(), work)
        except KeyboardInterrupt:
            raise Interrupted("interrupted; previous pages kept") from None
        failed = failed_dir / f"{plan.stem}.ipynb"
        _install(plan, work, outcome, out=out, res_dir=None, failed_path=failed, base=base)
        if not outcome.get("ok"):
            return {**row, "error": _failure_message(plan, outcome, None, failed)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**row, "seconds": time.perf_counter() - t0, "cached": False, "executed_seconds": outcome.get("seconds")}


def build_book(
    *,
    profile: str = "quick",
    chapters: Iterable[str] | None = None,
    keep_going: bool = False,
    jobs: int = 2,
    html: bool = True,
    raise_on_error: bool = True,
    root: Path | None = None,
    force: bool = False,
    use_cache: bool = True,
    dask_local: int | None = None,
    scheduler: str | None = None,
    sweeps: bool = True,
) -> dict[str, Any]:
    """Run chapters into ``book/chapters/`` and build the HTML book into ``_build/html``.

    A chapter whose cache key did not change is restored from ``_build/cache`` (``force`` re-executes).
    The others run on a local pool of ``jobs`` processes, or as Dask tasks on a LocalCluster of
    ``dask_local`` workers / on the scheduler at ``scheduler`` (their kernels get
    ``CAPFRONT_DASK_SCHEDULER``, so ``pmap`` loops use the same cluster; at most ``jobs`` chapters run at
    once). Then the book's sweep (cached point by point) and the pages (claims ledger, sweeps).

    With ``chapters`` only those are re-run; the others must have been executed before. Returns a
    summary with per-chapter seconds, ``cached`` flags and errors; raises :class:`RunnerError` if
    anything failed (after running everything when ``keep_going``) unless ``raise_on_error`` is false,
    in which case the errors are in ``summary["errors"]`` and a failed HTML build in ``summary["html_error"]``.
    """
    from capfront_lib import execute
    from capfront_lib.cluster import ExecutorError, open_executor, run_all

    root = root or repo_root()
    all_stems = discover(root)
    wanted = list(chapters) if chapters else all_stems
    unknown = [s for s in wanted if s not in all_stems]
    if unknown:
        raise UsageError(f"unknown chapters {unknown}; chapters are {all_stems}")
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; profiles are {list(PROFILES)}")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    book_dir = check_output_dir(root / BOOK_CHAPTER_DIR, "the executed chapters")
    failed_dir = root / "_build" / "failed"
    base = cache.cache_root(root) if use_cache else None
    digests = Digests()
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    stopped = False

    plans: list[RunPlan] = []
    for s in wanted:
        try:
            ch = chapter(s, root)
            plans.append(plan_run(root, ch, resolve(ch, [], profile), profile, digests))
        except RunnerError as err:
            errors[s] = str(err)
            runs.append({"chapter": s, "error": str(err)})
            _report(runs[-1])
            if not keep_going:
                stopped = True
                break

    def targets(plan: RunPlan) -> tuple[Path, Path, Path]:
        return book_dir / f"{plan.stem}.ipynb", root / "results" / plan.stem, failed_dir / f"{plan.stem}.ipynb"

    to_run: list[RunPlan] = []
    if not stopped:
        for plan in plans:
            t1 = time.perf_counter()
            entry = None if force else _lookup(plan, base)
            if entry is None:
                to_run.append(plan)
                continue
            out, res_dir, _ = targets(plan)
            _restore(entry, out, res_dir)
            runs.append({"chapter": plan.stem, "profile": profile, "notebook": str(out), "results_dir": str(res_dir),
                         "seconds": time.perf_counter() - t1, "cached": True, "executed_seconds": entry.meta.get("seconds"),
                         "key": plan.key})
            _report(runs[-1])

    with ExitStack() as stack:
        pool: list[Any] = []

        def executor() -> Any:
            if not pool:
                try:
                    pool.append(stack.enter_context(open_executor(workers=jobs, dask_local=dask_local, scheduler=scheduler)))
                except ExecutorError as err:
                    raise UsageError(str(err)) from None
                print(f"[capfront] executing on a {pool[0].describe()}", flush=True)
            return pool[0]

        try:
            if to_run:
                ex = executor()
                on_dask = ex.kind == "dask"
                items = [(p, p.spec(scheduler=ex.scheduler_address if on_dask else None, secede=on_dask,
                                    remote=bool(scheduler))) for p in to_run]

                def done(plan: RunPlan, outcome: dict[str, Any]) -> bool:
                    out, res_dir, failed = targets(plan)
                    with tempfile.TemporaryDirectory(prefix=f"capfront-{plan.stem}-") as tmp:
                        work = execute.materialize(outcome, Path(tmp))
                        _install(plan, work, outcome, out=out, res_dir=res_dir, failed_path=failed, base=base)
                    if outcome.get("ok"):
                        row = {"chapter": plan.stem, "profile": profile, "notebook": str(out), "results_dir": str(res_dir),
                               "seconds": outcome.get("seconds"), "cached": False, "executed_seconds": outcome.get("seconds"),
                               "key": plan.key}
                    else:
                        row = {"chapter": plan.stem, "error": _failure_message(plan, outcome, res_dir, failed)}
                        errors[plan.stem] = row["error"]
                    runs.append(row)
                    _report(row)
                    return keep_going or "error" not in row

                run_all(ex, items, done, limit=jobs)

            sweep_ok = True
            if sweeps and not errors and (root / "notebooks" / "sweeps.md").exists():
                from capfront_lib import sweep as sweep_mod

                sweep_ok = sweep_mod.run_book_sweeps(root, executor, chapters=None if chapters is None else wanted,
                                                     errors=errors, runs=runs, digests=digests, force=force)
            if not errors:
                for page in PAGES:
                    if not (root / "notebooks" / f"{page}.md").exists():
                        continue
                    if page == "sweeps" and not sweep_ok:
                        continue
                    try:
                        ch = chapter(page, root)
                        plan = plan_run(root, ch, resolve(ch, [], profile), profile, digests)
                        r = _page_run(plan, root / "book" / f"{page}.ipynb", base, force, failed_dir)
                    except RunnerError as err:
                        if isinstance(err, Interrupted):
                            raise
                        r = {"chapter": page, "error": str(err)}
                    runs.append(r)
                    _report(r)
                    if "error" in r:
                        errors[page] = r["error"]
        except KeyboardInterrupt:
            execute.terminate_all()
            raise Interrupted("interrupted; previous results kept") from None

    summary: dict[str, Any] = {"profile": profile, "runs": runs, "errors": errors}
    summary["notebook_seconds"] = time.perf_counter() - t0
    missing = [s for s in all_stems if not (book_dir / f"{s}.ipynb").exists()]
    if missing and html and not errors:
        errors["book"] = f"chapters {missing} have never been executed; run `capfront build` without --chapter first"
    if html and not errors:
        t1 = time.perf_counter()
        try:
            summary["html"] = str(jupyter_book_build(root))
        except RunnerError as err:
            summary["html_error"] = str(err)
            errors["html"] = str(err)
        summary["html_seconds"] = time.perf_counter() - t1
    timings = {r["chapter"]: r.get("seconds") for r in runs} | {"_profile": profile}
    timings["_cached"] = sorted(r["chapter"] for r in runs if r.get("cached"))
    if "html_seconds" in summary:
        timings["_html"] = summary["html_seconds"]
    timings_path = root / "results" / "build_timings.json"
    timings_path.parent.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=2))
    if errors and raise_on_error:
        raise RunFailed("\n\n".join(errors.values()))
    return summary


def _report(r: Mapping[str, Any]) -> None:
    if "error" in r:
        print(f"[capfront] FAILED {r['chapter']}\n{r['error']}", file=sys.stderr, flush=True)
    elif r.get("cached"):
        print(f"[capfront] cached {r['chapter']} ({r['profile']}, key {r['key'][:10]}; executed in "
              f"{(r.get('executed_seconds') or 0):.1f} s earlier) -> {_display(r['notebook'])}", flush=True)
    else:
        print(f"[capfront] ran {r['chapter']} ({r['profile']}) in {r['seconds']:.1f} s -> {_display(r['notebook'])}", flush=True)


def jupyter_book_build(root: Path) -> Path:
    """``jupyter-book build`` with Sphinx warnings as errors; returns ``_build/html``."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "--warningiserror", "--keep-going", "--path-output", str(root)]
    jb_cache = root / "_build" / ".doctrees"
    if jb_cache.exists():
        shutil.rmtree(jb_cache)
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    log = root / "_build" / "sphinx.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RunFailed(f"jupyter-book build failed (full log: {log}):\n{tail}")
    return root / "_build" / "html"
