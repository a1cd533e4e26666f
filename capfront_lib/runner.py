"""The runner: execute chapter notebooks with papermill and build the book with Jupyter Book.

Source notebooks are jupytext MyST markdown files in ``notebooks/``; the parameters cell is tagged
``parameters`` and holds literal assignments (its defaults are the ``quick`` profile). Profiles live
in ``data/profiles/<chapter>.yaml`` as ``{quick: {...}, paper: {...}}`` overrides.
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
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

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
PAGES: tuple[str, ...] = ("claims_ledger",)
PROFILES: tuple[str, ...] = ("quick", "paper")
BOOK_CHAPTER_DIR = Path("book") / "chapters"
CELL_TIMEOUT_S = 3600


class RunnerError(RuntimeError):
    """A chapter could not be run (bad parameters, missing chapter, failing cell)."""


def repo_root() -> Path:
    """Folder with ``notebooks/`` and ``data/``: ``CAPFRONT_ROOT``, the checkout, or the installed copy."""
    from capfront_lib.core.resources import ResourceError, project_root

    try:
        return project_root()
    except ResourceError as err:
        raise RunnerError(str(err)) from None


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
        raise RunnerError(f"{source}: expected exactly one code cell tagged 'parameters', found {len(cells)}")
    text = cells[0].source
    lines = text.splitlines()
    params: dict[str, Parameter] = {}
    for node in ast.parse(text).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise RunnerError(f"{source}: parameters cell line {node.lineno} is not a simple 'name = literal' assignment")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise RunnerError(f"{source}: parameter {node.targets[0].id!r} must have a literal default") from None
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        params[node.targets[0].id] = Parameter(node.targets[0].id, value, comment)
    if "results_dir" not in params:
        raise RunnerError(f"{source}: the parameters cell must define results_dir")
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
            raise RunnerError(f"{path}: must be a mapping of profile name -> parameter overrides")
        for name, overrides in raw.items():
            if name == "description":
                continue
            if name not in PROFILES:
                raise RunnerError(f"{path}: unknown profile {name!r}; profiles are {list(PROFILES)}")
            overrides = overrides or {}
            unknown = sorted(set(overrides) - set(params))
            if unknown:
                raise RunnerError(f"{path}: profile {name!r} sets unknown parameters {unknown}")
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
        known = discover(root) + list(PAGES)
        raise RunnerError(f"unknown chapter {stem!r}; chapters are {known}")
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
        raise RunnerError(f"parameter {name!r} expects {param.type_name} (default {d!r}), got {value!r}")
    return float(value) if isinstance(d, float) else value


def parse_value(name: str, raw: str, param: Parameter) -> Any:
    """Convert a command-line string to the type of the parameter's default, or raise ``RunnerError``."""
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
        raise RunnerError(f"parameter {name!r} expects {param.type_name} (default {d!r}), got {raw!r}") from None
    return _check_type(name, value, param)


def resolve_parameters(
    ch: Chapter, overrides: Mapping[str, str] | Sequence[tuple[str, str]], profile: str = "quick", cwd: Path | None = None
) -> dict[str, Any]:
    """defaults < profile < command-line overrides; unknown names or ill-typed values raise."""
    if profile not in PROFILES:
        raise RunnerError(f"unknown profile {profile!r}; profiles are {list(PROFILES)}")
    if ch.stem not in PAGES and profile not in ch.profiles:
        raise RunnerError(f"chapter {ch.stem!r} has no {profile!r} profile (data/profiles/{ch.stem}.yaml)")
    values: dict[str, Any] = {k: p.default for k, p in ch.parameters.items()}
    values.update(ch.profiles.get(profile, {}))
    items = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    valid = ", ".join(f"{p.name} ({p.type_name})" for p in ch.parameters.values())
    for name, raw in items:
        if name not in ch.parameters:
            raise RunnerError(f"chapter {ch.stem!r} has no parameter {name!r}; valid parameters: {valid}")
        values[name] = parse_value(name, raw, ch.parameters[name])
    # user paths are relative to where the user stands, not to the notebook
    base = cwd or Path.cwd()
    for name, _ in items:
        v = values[name]
        if (name.endswith("_path") or name.endswith("_dir")) and isinstance(v, str) and v and not Path(v).is_absolute():
            values[name] = str((base / v).resolve())
    return validate_parameters(ch.stem, values)


def validate_parameters(stem: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check resolved values against the chapter's typed schema (before any kernel starts)."""
    from capfront_lib.core.params import ParameterError, schema_for

    schema = schema_for(stem)
    if schema is None:
        return values
    try:
        checked = schema.validate(values)
    except ParameterError as err:
        raise RunnerError(f"{stem}: {err}") from None
    return {**values, **checked}


# ---------------------------------------------------------------------------------------------
# execution


def _kernel_env(profile: str = "quick") -> None:
    import logging

    # papermill's own parameter inference cannot read comments in the parameters cell and warns
    # spuriously; the runner has already validated every parameter itself.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    os.environ["CAPFRONT_BATCH"] = "1"
    os.environ["CAPFRONT_PROFILE"] = profile  # read by core.claims.Ledger: verdicts know the run's profile
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    bindir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def _format_failure(stem: str, err: Exception, nb_path: Path) -> str:
    import nbformat

    detail = f"{type(err).__name__}: {err}"
    try:
        nb = nbformat.read(nb_path, as_version=4)
        for i, c in enumerate(nb.cells):
            for out in c.get("outputs", []):
                if out.get("output_type") == "error":
                    return (
                        f"chapter {stem!r} failed in cell {i}:\n"
                        + "\n".join("    " + s for s in c.source.splitlines())
                        + f"\n{out.get('ename')}: {out.get('evalue')}\n(executed notebook: {nb_path})"
                    )
    except Exception:  # pragma: no cover - fall back to the exception text
        pass
    return f"chapter {stem!r} failed: {detail}"


def run_chapter(
    stem: str,
    overrides: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    *,
    profile: str = "quick",
    output: str | Path | None = None,
    results_dir: str | Path | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Execute one chapter with papermill; return a summary dict (paths, parameters, seconds).

    Raises :class:`RunnerError` for bad parameters (before execution) and failing cells.
    """
    import jupytext
    import papermill as pm

    root = root or repo_root()
    ch = chapter(stem, root)
    values = resolve_parameters(ch, overrides, profile)
    res_dir = Path(results_dir) if results_dir else root / "results" / stem
    values["results_dir"] = str(res_dir.resolve())
    out = Path(output) if output else res_dir / f"{stem}.ipynb"
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    res_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("results.json", "claims.csv"):
        (res_dir / stale).unlink(missing_ok=True)
    _kernel_env(profile)
    nb = jupytext.read(ch.path)
    nb.metadata.pop("jupytext", None)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{stem}.ipynb"
        jupytext.write(nb, src, fmt="ipynb")
        try:
            pm.execute_notebook(
                str(src),
                str(out),
                parameters=values,
                kernel_name="python3",
                cwd=str(root),
                progress_bar=False,
                log_output=False,
                execution_timeout=CELL_TIMEOUT_S,
            )
        except Exception as err:  # papermill raises PapermillExecutionError for failing cells
            raise RunnerError(_format_failure(stem, err, out)) from err
    seconds = time.perf_counter() - start
    _fold_injected_parameters(out)
    if stem not in PAGES:
        for name in ("results.json", "claims.csv"):
            if not (res_dir / name).exists():
                raise RunnerError(f"chapter {stem!r} ran but did not write {res_dir / name} (call write_results in its last cell)")
    return {"chapter": stem, "profile": profile, "notebook": str(out), "results_dir": str(res_dir), "seconds": seconds, "parameters": values}


def _fold_injected_parameters(path: Path) -> None:
    """Fold papermill's injected-parameters cell behind a toggle in the rendered page (values stay readable)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
            cell.source = "# Parameters of this run (defaults above, overridden by the profile and -p options)\n" + cell.source.split("\n", 1)[-1]
    nbformat.write(nb, path)


def _run_for_build(args: tuple[str, str, str, str]) -> dict[str, Any]:
    stem, profile, out, root = args
    try:
        return run_chapter(stem, profile=profile, output=out, root=Path(root))
    except RunnerError as err:
        return {"chapter": stem, "error": str(err)}


def build_book(
    *,
    profile: str = "quick",
    chapters: Iterable[str] | None = None,
    keep_going: bool = False,
    jobs: int = 2,
    html: bool = True,
    raise_on_error: bool = True,
    root: Path | None = None,
) -> dict[str, Any]:
    """Run chapters into ``book/chapters/`` and build the HTML book into ``_build/html``.

    With ``chapters`` only those are re-run; the others must have been executed before. Returns a
    summary with per-chapter seconds and errors; raises :class:`RunnerError` if anything failed (after
    running everything when ``keep_going``) unless ``raise_on_error`` is false, in which case the
    errors are in ``summary["errors"]`` and a failed HTML build in ``summary["html_error"]``.
    """
    root = root or repo_root()
    all_stems = discover(root)
    wanted = list(chapters) if chapters else all_stems
    unknown = [s for s in wanted if s not in all_stems]
    if unknown:
        raise RunnerError(f"unknown chapters {unknown}; chapters are {all_stems}")
    if profile not in PROFILES:
        raise RunnerError(f"unknown profile {profile!r}; profiles are {list(PROFILES)}")
    book_dir = root / BOOK_CHAPTER_DIR
    book_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tasks = [(s, profile, str(book_dir / f"{s}.ipynb"), str(root)) for s in wanted]
    runs: list[dict[str, Any]] = []
    parallel = jobs > 1 and len(tasks) > 1
    with ProcessPoolExecutor(max_workers=jobs) if parallel else nullcontext() as pool:
        for r in (pool.map if parallel else map)(_run_for_build, tasks):
            runs.append(r)
            _report(r)
            if "error" in r and not keep_going:
                break
    errors = {r["chapter"]: r["error"] for r in runs if "error" in r}
    missing = [s for s in all_stems if not (book_dir / f"{s}.ipynb").exists()]
    summary: dict[str, Any] = {"profile": profile, "runs": runs, "errors": errors}
    if not errors:
        for page in PAGES:
            if (root / "notebooks" / f"{page}.md").exists():
                r = _run_for_build((page, profile, str(root / "book" / f"{page}.ipynb"), str(root)))
                runs.append(r)
                _report(r)
                if "error" in r:
                    errors[page] = r["error"]
    summary["notebook_seconds"] = time.perf_counter() - t0
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
    if "html_seconds" in summary:
        timings["_html"] = summary["html_seconds"]
    timings_path = root / "results" / "build_timings.json"
    timings_path.parent.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=2))
    if errors and raise_on_error:
        raise RunnerError("\n\n".join(errors.values()))
    return summary


def _report(r: Mapping[str, Any]) -> None:
    if "error" in r:
        print(f"[capfront] FAILED {r['chapter']}\n{r['error']}", file=sys.stderr, flush=True)
    else:
        print(f"[capfront] ran {r['chapter']} ({r['profile']}) in {r['seconds']:.1f} s -> {r['notebook']}", flush=True)


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
        raise RunnerError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    return root / "_build" / "html"
