"""One papermill execution of a chapter (or page) notebook into a private working folder.

The runner turns a chapter, its resolved parameters and the run's options into a *spec* (a JSON-able
dict); :func:`execute` runs it in the current process and leaves in ``workdir``:

- ``notebook.ipynb``: the executed notebook, ready for the page (parameters block, no absolute paths);
- ``results/``: what the notebook wrote into its ``results_dir`` (results.json, claims.csv, ...);
- ``failed.ipynb`` instead, when a cell failed;
- ``outcome.json``: ok / error, seconds, the files the run read (with fingerprints), the provenance.

Nothing outside ``workdir`` is touched: the runner moves the files into place only on success, so a
failed or interrupted run never damages previous results.

:func:`run_task` runs a spec in a fresh Python process (``python -m capfront_lib.execute``) and returns
the produced files as bytes. It is the task that executors submit (a local pool of processes, or a Dask
``Client`` — local cluster or any scheduler — through the same ``submit``): one papermill execution per
process, as papermill is not thread-safe, and results that travel back to the submitting machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from capfront_lib import cache, provenance

RESULT_FILES = ("results.json", "claims.csv")
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def _data_dir() -> Path | None:
    from capfront_lib.core.env import data_dir

    try:
        return data_dir()
    except FileNotFoundError:
        return None


def _read_source(spec: Mapping[str, Any]):
    import jupytext

    if spec.get("notebook_text"):
        return jupytext.reads(spec["notebook_text"], fmt="md:myst")
    return jupytext.read(spec["notebook"])


def _scrubber(spec: Mapping[str, Any], workdir: Path, data_dir: Path | None) -> provenance.Scrubber:
    results_display = str(spec.get("defaults", {}).get("results_dir", "results"))
    pairs = [
        (str(workdir / "results"), results_display),
        (str(workdir), "."),
        (str(spec["root"]), ""),
        (os.getcwd(), ""),
    ]
    if data_dir is not None:
        pairs.append((str(data_dir), "CAPFRONT_DATA_DIR"))
    pairs.append((str(Path.home()), "~"))
    return provenance.Scrubber(pairs)


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (ours, and the kernel's, which inherits it) to ``path`` while papermill runs.

    The kernel's own log lines (transport warnings, its shutdown noise after Ctrl-C) then never reach the
    terminal; a failing cell is reported from the executed notebook instead.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
        yield
        return
    try:
        with open(path, "ab") as fh:
            os.dup2(fh.fileno(), 2)
            yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)
        os.close(saved)


def format_failure(stem: str, nb: Any, err: BaseException | None = None) -> str:
    """``chapter 'x' failed in cell N:`` + the cell's source + the error line (N counts the source's cells)."""
    n = 0
    for c in nb.cells:
        tags = c.get("metadata", {}).get("tags", [])
        if "papermill-error-cell-tag" in tags:
            continue
        if provenance.BOOTSTRAP_TAG in tags or "injected-parameters" in tags:
            for out in c.get("outputs", []):
                if out.get("output_type") == "error" and provenance.BOOTSTRAP_TAG in tags:
                    return f"chapter {stem!r}: the runner's setup cell failed: {out.get('ename')}: {out.get('evalue')}"
            continue
        for out in c.get("outputs", []):
            if out.get("output_type") == "error":
                return (
                    f"chapter {stem!r} failed in cell {n}:\n"
                    + "\n".join("    " + s for s in c.source.splitlines())
                    + f"\n{out.get('ename')}: {out.get('evalue')}"
                )
        n += 1
    detail = f"{type(err).__name__}: {err}" if err is not None else "unknown error"
    return f"chapter {stem!r} failed: {detail}"


def _stop_kernels() -> None:
    """After Ctrl-C: kill the notebook kernels this process started and mute asyncio's report.

    papermill leaves its cell-execution task pending when interrupted; the kernel runs in its own process
    group, so the terminal's SIGINT does not reach it, and it would go on running the cell while holding this
    process's stdout and stderr (a caller reading them waited for the cell to end). When the task then sees the
    kernel gone, asyncio logs "Task exception was never retrieved ... DeadKernelError": expected here, not news.
    """
    import logging

    import psutil

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    for child in psutil.Process().children(recursive=True):
        try:
            if any("ipykernel" in part for part in child.cmdline()):  # not, e.g., a LocalCluster's workers
                child.kill()
        except psutil.Error:
            pass


@contextmanager
def _kernels_die_with_ctrl_c():
    """While papermill runs: Ctrl-C kills the kernel first, then raises KeyboardInterrupt.

    papermill's clean-up after an interrupt shuts the kernel down gracefully and so waits for the running cell;
    killing the kernel at the signal lets that clean-up end at once. Only in the main thread and only when
    SIGINT has Python's default handler (a run started with SIGINT ignored stays so).
    """
    import signal

    def on_sigint(signum, frame):
        _stop_kernels()
        raise KeyboardInterrupt

    ours = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGINT, on_sigint) if ours else None
    try:
        yield
    finally:
        if ours:
            signal.signal(signal.SIGINT, previous)


def execute(spec: Mapping[str, Any], workdir: str | os.PathLike[str]) -> dict[str, Any]:
    """Run ``spec`` with papermill in this process; write the outputs into ``workdir``; return the outcome.

    Raises only ``KeyboardInterrupt`` (the caller reports it); any failure of the notebook is returned as
    ``{"ok": False, "error": ...}`` with the executed notebook in ``workdir/failed.ipynb``.
    """
    import logging

    import nbformat
    import papermill as pm

    # papermill's own parameter inference cannot read comments in the parameters cell and warns
    # spuriously; the runner has already validated every parameter itself.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    bindir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")

    stem = spec["stem"]
    root = Path(spec["root"])
    if not (root / "notebooks").is_dir():  # a worker of a remote Dask scheduler: its own installed copy
        from capfront_lib.core.resources import project_root

        root = project_root()
    work = Path(workdir)
    results = work / "results"
    results.mkdir(parents=True, exist_ok=True)
    data_dir = _data_dir()
    scrub = _scrubber(spec, work, data_dir)

    if spec.get("expected_source"):
        here = cache.source_key(root, stem, environment="-").parts
        want = spec["expected_source"]
        diff = [k for k in ("notebook", "data", "profile", "library") if here.get(k) != want.get(k)]
        if diff:
            return _write_outcome(work, {"ok": False, "error": (
                f"chapter {stem!r}: this worker's capfront differs from the submitting machine's ({', '.join(diff)}); "
                "install the same version of capfront on every worker")})

    watch = [str(root / d) for d in ("data", "notebooks", "results", "sweeps", "_build/sweeps", "benchmarks")]
    if data_dir is not None:
        watch.append(str(data_dir))
    scheduler = spec.get("scheduler")
    config = {
        "env": {
            "CAPFRONT_BATCH": "1",
            "CAPFRONT_PROFILE": spec["profile"],  # read by core.claims.Ledger: verdicts know the run's profile
            "CAPFRONT_DASK_SCHEDULER": scheduler or None,  # core.parallel.pmap uses the run's cluster
        },
        "watch": watch,
        "exclude": [str(work)],
        "manifest": str(work / "reads.json"),
    }
    nb = _read_source(spec)
    nb.metadata.pop("jupytext", None)
    first, last = provenance.bootstrap_cells(config)
    nb.cells = [first, *nb.cells, last]
    src = work / f"{stem}.input.ipynb"
    nbformat.write(nb, src)
    values = {**spec["values"], "results_dir": str(results)}
    executed = work / f"{stem}.executed.ipynb"
    executed_at = datetime.now(timezone.utc)
    start = time.perf_counter()
    error: BaseException | None = None
    try:
        with _stderr_to(work / "kernel.log"), _kernels_die_with_ctrl_c():
            pm.execute_notebook(
                str(src),
                str(executed),
                parameters=values,
                kernel_name="python3",
                cwd=str(root),
                progress_bar=False,
                log_output=False,
                execution_timeout=int(spec.get("timeout", 3600)),
            )
    except KeyboardInterrupt:
        _stop_kernels()
        raise
    except Exception as err:  # papermill raises PapermillExecutionError for failing cells
        error = err
    seconds = time.perf_counter() - start
    src.unlink(missing_ok=True)

    manifest = {}
    if (work / "reads.json").is_file():
        manifest = json.loads((work / "reads.json").read_text())
    reads = cache.scope_reads(manifest.get("reads", []) + manifest.get("listings", []), root=root, data_dir=data_dir)
    defaults = spec.get("defaults", {})
    changed = provenance.changed_parameters(spec["values"], defaults)
    prov = {
        "chapter": stem,
        "profile": spec["profile"],
        "changed": changed,
        "library_version": spec.get("library_version") or cache.library_version(),
        "library_hash": spec.get("library_hash") or cache.library_digest(),
        "executed_at": executed_at.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds, 2),
        "public_data": provenance.public_data_status(reads, data_dir is not None),
        "command": spec.get("command") or provenance.rerun_command(stem, spec["profile"], changed, scrub),
        "dask": bool(scheduler),
    }
    run_nb = nbformat.read(executed, as_version=4) if executed.exists() else None
    executed.unlink(missing_ok=True)
    msg = ""
    if error is not None:
        msg = format_failure(stem, run_nb, error) if run_nb is not None else f"chapter {stem!r} failed: {type(error).__name__}: {error}"
    elif not spec.get("page"):
        missing = [n for n in RESULT_FILES if not (results / n).is_file()]
        if missing:
            msg = f"chapter {stem!r} ran but did not write {', '.join(missing)} (call write_results in its last cell)"
    if run_nb is not None:
        run_nb = provenance.finalize_notebook(run_nb, values=spec["values"], defaults=defaults,
                                              sources=spec.get("sources", {}), prov=prov, scrub=scrub, stem=stem)
    if msg:
        if run_nb is not None:
            nbformat.write(run_nb, work / "failed.ipynb")
        shutil.rmtree(results, ignore_errors=True)
        return _write_outcome(work, {"ok": False, "error": msg, "seconds": seconds, "provenance": prov})
    nbformat.write(run_nb, work / "notebook.ipynb")
    (results / "provenance.json").write_text(json.dumps(scrub.deep(json.loads(json.dumps(prov, default=str))), indent=1) + "\n")
    return _write_outcome(work, {"ok": True, "seconds": seconds, "reads": reads, "provenance": prov})


def _write_outcome(work: Path, outcome: dict[str, Any]) -> dict[str, Any]:
    (work / "outcome.json").write_text(json.dumps(outcome, indent=1, default=str))
    return outcome


# ---------------------------------------------------------------------------------------------
# the task: one spec in its own process, files returned as bytes


def _collect(work: Path) -> dict[str, Any]:
    try:
        outcome = json.loads((work / "outcome.json").read_text())
    except (OSError, ValueError):
        return {}
    files: dict[str, bytes] = {}
    res = work / "results"
    if res.is_dir():
        for f in sorted(p for p in res.rglob("*") if p.is_file()):
            files[f.relative_to(res).as_posix()] = f.read_bytes()
    outcome["results"] = files
    for name in ("notebook", "failed"):
        p = work / f"{name}.ipynb"
        outcome[name] = p.read_bytes() if p.is_file() else None
    return outcome


def run_task(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Execute ``spec`` in a fresh ``python -m capfront_lib.execute`` process; return outcome + file bytes.

    With ``spec["secede"]`` (a chapter task of a Dask build) the task first leaves the worker's thread
    pool, so that the chapter's own ``pmap`` items can run on that worker while the chapter waits.
    """
    if spec.get("secede"):
        try:
            from distributed import secede

            secede()
        except Exception:  # not on a Dask worker
            pass
    with tempfile.TemporaryDirectory(prefix=f"capfront-{spec['stem']}-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(dict(spec), default=str))
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        cmd = [sys.executable, "-m", "capfront_lib.execute", str(spec_path), str(work)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        with _LIVE_LOCK:
            _LIVE.add(proc)
        try:
            _, stderr = proc.communicate()
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        outcome = _collect(work)
        if not outcome:
            tail = "\n".join(stderr.strip().splitlines()[-8:])
            outcome = {"ok": False, "error": f"chapter {spec['stem']!r}: its process ended with status {proc.returncode} before finishing\n{tail}".rstrip(),
                       "results": {}, "notebook": None, "failed": None}
        outcome["returncode"] = proc.returncode
        return outcome


def terminate_all() -> None:
    """Stop every run process started by :func:`run_task` in this process (Ctrl-C, ``--fail-fast``)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def materialize(outcome: Mapping[str, Any], work: Path) -> Path:
    """Write the bytes of a :func:`run_task` outcome into ``work`` (the layout of :func:`execute`)."""
    (work / "results").mkdir(parents=True, exist_ok=True)
    for rel, data in (outcome.get("results") or {}).items():
        target = work / "results" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for name in ("notebook", "failed"):
        if outcome.get(name):
            (work / f"{name}.ipynb").write_bytes(outcome[name])
    return work


def _watch_parent(parent: int) -> None:
    """End this run when the process that started it disappears (a killed sweep or build)."""
    import _thread

    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            _thread.interrupt_main()
            time.sleep(30)
            os._exit(1)


def main(argv: list[str] | None = None) -> int:
    import signal

    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        outcome = execute(spec, args[1])
    except KeyboardInterrupt:
        return 130
    return 0 if outcome.get("ok") else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
