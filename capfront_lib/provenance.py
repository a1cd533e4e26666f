"""What produced a page: the parameters table, the provenance line, and the files a run read.

Two halves:

**In the kernel** (a hidden first cell that the runner adds and removes again): :func:`start_run` sets the
run's environment (profile, Dask scheduler, batch mode) and installs an audit hook that records every file
opened for reading under the watched folders (public data, ``data/``, ``notebooks/``, ``results/``, ``sweeps/``), plus the
paths given to pandas/pyarrow readers that open files in C++ (parquet, feather, orc);
:func:`finish_run` (a hidden last cell) writes that list. The runner turns it into the cache's record of
the files the run depended on and into the "public data" part of the provenance line.

**After the run** (:func:`finalize_notebook`): papermill's injected-parameters cell is hidden from the
page (kept, with relative paths, in the downloadable notebook), and a "Parameters of this run" block is
inserted in its place: the provenance line (profile, parameters changed from the defaults, library
version and source hash, execution date, public data) and a table (name, value, default, where the value
came from). Every absolute path of the build machine in the outputs and metadata is rewritten as a
relative one (:class:`Scrubber`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

BOOTSTRAP_TAG = "capfront-bootstrap"
PARAMS_BLOCK_TAG = "capfront-parameters"
SOURCE_LABELS = {"default": "notebook default", "cli": "-p", "sweep": "sweep grid"}

# ---------------------------------------------------------------------------------------------
# kernel side: environment and the files the run reads

_STATE: dict[str, Any] = {"installed": False, "roots": (), "exclude": (), "reads": set(), "dirs": set(), "manifest": ""}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _audit(event: str, args: tuple) -> None:
    # Must never raise (it runs inside every open() of the kernel) and must not open files itself.
    if event != "open" and event not in ("os.listdir", "os.scandir"):
        return
    try:
        raw = args[0]
        if raw is None or isinstance(raw, int):
            return
        if event == "open":
            mode, flags = args[1], args[2]
            if mode is None:
                if flags & _WRITE_FLAGS:
                    return
            elif any(c in mode for c in "wax+"):
                return
        path = os.path.abspath(os.fsdecode(os.fspath(raw)))
        if _under(path, _STATE["roots"]) and not _under(path, _STATE["exclude"]):
            (_STATE["reads"] if event == "open" else _STATE["dirs"]).add(path)
    except Exception:  # pragma: no cover - never disturb the notebook
        return


def _note(raw: Any) -> None:
    """Record a path given to a reader that opens files outside Python (pyarrow's file system)."""
    try:
        path = os.path.abspath(os.fsdecode(os.fspath(raw)))
    except TypeError:  # a file object or a buffer: its open() was audited already
        return
    if _under(path, _STATE["roots"]) and not _under(path, _STATE["exclude"]):
        _STATE["reads"].add(path)


def _wrap_native_readers() -> None:
    """``pandas.read_parquet`` / ``read_feather`` / ``read_orc`` and ``pyarrow.parquet.read_table`` open
    files in C++, which the audit hook does not see: wrap them so that their paths are recorded too."""
    import functools
    import importlib

    for module, names in (("pandas", ("read_parquet", "read_feather", "read_orc")), ("pyarrow.parquet", ("read_table",))):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            fn = getattr(mod, name, None)
            if fn is None or getattr(fn, "_capfront_recorded", False):
                continue

            def make(orig):
                @functools.wraps(orig)
                def reader(path, *args, **kwargs):
                    _note(path)
                    return orig(path, *args, **kwargs)

                reader._capfront_recorded = True  # type: ignore[attr-defined]
                return reader

            setattr(mod, name, make(fn))


def start_run(config: Mapping[str, Any]) -> None:
    """First (hidden) cell of every run: environment of the run and the read recorder.

    ``config``: ``env`` (variables to set; a value None removes the variable), ``watch`` (folders whose
    reads are recorded), ``exclude`` (folders never recorded, e.g. the run's own results folder),
    ``manifest`` (where :func:`finish_run` writes the list).
    """
    for k, v in dict(config.get("env", {})).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = str(v)
    roots: list[str] = []
    for r in config.get("watch", ()):
        roots += [os.path.abspath(r), os.path.realpath(r)]
    excl: list[str] = []
    for r in config.get("exclude", ()):
        excl += [os.path.abspath(r), os.path.realpath(r)]
    _STATE.update(roots=tuple(dict.fromkeys(roots)), exclude=tuple(dict.fromkeys(excl)), manifest=str(config.get("manifest", "")))
    _STATE["reads"].clear()
    _STATE["dirs"].clear()
    if not _STATE["installed"]:
        sys.addaudithook(_audit)
        _wrap_native_readers()
        _STATE["installed"] = True


def finish_run() -> None:
    """Last (hidden) cell: write the files and folders read under the watched folders."""
    if not _STATE["manifest"]:
        return
    data = {"reads": sorted(os.path.realpath(p) for p in _STATE["reads"] if os.path.isfile(p)),
            "listings": sorted(os.path.realpath(p) for p in _STATE["dirs"] if os.path.isdir(p))}
    with open(_STATE["manifest"], "w") as fh:
        json.dump(data, fh)


def bootstrap_cells(config: Mapping[str, Any]) -> tuple[Any, Any]:
    """The hidden first and last cells the runner adds to a notebook before papermill runs it."""
    import nbformat

    first = nbformat.v4.new_code_cell(
        "import capfront_lib.provenance as _capfront_provenance\n"
        f"_capfront_provenance.start_run(__import__('json').loads({json.dumps(dict(config))!r}))\n"
    )
    last = nbformat.v4.new_code_cell("_capfront_provenance.finish_run()\ndel _capfront_provenance\n")
    for c in (first, last):
        c.metadata["tags"] = [BOOTSTRAP_TAG, "remove-cell"]
    return first, last


# ---------------------------------------------------------------------------------------------
# absolute paths -> relative ones

_PATHCHAR = r"[\w.~+@%=-]"
_RESIDUAL = re.compile(r"(?<![\w.~/-])/(?:tmp|root|home|work|var/folders|private|Users)(?:/[^\s'\"<>`|()\[\]{},;:\\]*)?")
_SKIP_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")


@dataclass
class Scrubber:
    """Rewrite absolute paths of the build machine: known prefixes first (longest first), then any
    remaining path under /tmp, /root, /home, /work, ... becomes ``…/<file name>``."""

    replacements: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        pairs: dict[str, str] = {}
        for prefix, repl in self.replacements:
            if not prefix:
                continue
            for p in {os.path.abspath(prefix), os.path.realpath(prefix)}:
                if p != os.sep:
                    pairs.setdefault(p.rstrip(os.sep), repl)
        self._pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))
        self._res = [(re.compile(re.escape(p) + r"(/|(?!" + _PATHCHAR + r"))"), r) for p, r in self._pairs]

    def text(self, s: str) -> str:
        for rx, repl in self._res:
            s = rx.sub(lambda m, repl=repl: (repl + "/" if repl else "") if m.group(1) == "/" else (repl or "."), s)
        return _RESIDUAL.sub(_residual, s)

    def deep(self, obj: Any) -> Any:
        """Scrub every string inside lists/dicts (binary image data excluded)."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, list):
            return [self.deep(v) for v in obj]
        if isinstance(obj, dict):
            return {k: (v if k in _SKIP_MIME else self.deep(v)) for k, v in obj.items()}
        return obj


def _residual(m: re.Match[str]) -> str:
    tail = m.group(0).rstrip("/").rsplit("/", 1)[-1]
    return "…/" + tail if tail else "…"


ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:tmp|root|home|work)/")


def absolute_paths_in(nb: Any) -> list[str]:
    """Absolute build-machine paths left anywhere in a notebook (sources, outputs, metadata), images excluded."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, str):
            for m in ABSOLUTE_PATH.finditer(obj):
                found.append(obj[max(0, m.start() - 30): m.end() + 40])
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if k not in _SKIP_MIME:
                    walk(v)

    walk(nb)
    return found


# ---------------------------------------------------------------------------------------------
# the "Parameters of this run" block


def show_value(v: Any, scrub: Scrubber | None = None, max_items: int = 8) -> str:
    """A parameter value as the reader would type it (a Python literal), long lists shortened."""
    if isinstance(v, (list, tuple)) and len(v) > max_items:
        head = ", ".join(repr(x) for x in v[:6])
        text = f"[{head}, … ({len(v)} items)]"
    else:
        text = repr(v)
    return scrub.text(text) if scrub else text


def _code(text: str, table: bool = False) -> str:
    """Inline code; in a table cell a ``|`` must be escaped (GFM tables), elsewhere it must not."""
    if table:
        text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def changed_parameters(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "results_dir" and k in defaults and v != defaults[k]}


def provenance_line(prov: Mapping[str, Any], scrub: Scrubber | None = None) -> str:
    """One paragraph: profile, parameters changed from the defaults, library, date, public data."""
    changed = prov.get("changed", {})
    ch_txt = ", ".join(f"{_code(k)} = {_code(show_value(v, scrub))}" for k, v in changed.items()) or "none"
    pub = prov.get("public_data", {})
    status = pub.get("status", "")
    if status == "used":
        files = ", ".join(_code(f) for f in pub.get("files", []))
        pub_txt = f"public data used ({files})"
    elif status == "not read":
        pub_txt = "public data available but not read by this run"
    else:
        pub_txt = "public data not available (`CAPFRONT_DATA_DIR` not set)"
    return (
        f"Profile **{prov.get('profile', '')}**; parameters changed from the defaults: {ch_txt}; "
        f"capfront {prov.get('library_version', '')}, library source `{str(prov.get('library_hash', ''))[:12]}`; "
        f"executed {prov.get('executed_at', '')}; {pub_txt}."
    )


def parameters_markdown(prov: Mapping[str, Any], values: Mapping[str, Any], defaults: Mapping[str, Any],
                        sources: Mapping[str, str], scrub: Scrubber | None = None) -> str:
    """The Markdown of the "Parameters of this run" block (an admonition: provenance line + table)."""
    rows = ["| parameter | value | default | set by |", "|---|---|---|---|"]
    for name, value in values.items():
        if name == "results_dir":
            continue
        src = sources.get(name, "default")
        label = SOURCE_LABELS.get(src, f"profile {src[len('profile:'):]}" if src.startswith("profile:") else src)
        default = "*same*" if name in defaults and value == defaults[name] else _code(show_value(defaults.get(name), scrub), True)
        rows.append(f"| {_code(name, True)} | {_code(show_value(value, scrub), True)} | {default} | {label} |")
    cmd = prov.get("command")
    rerun = f"\n\nTo rerun: {_code(cmd)}" if cmd else ""
    return (
        "```{admonition} Parameters of this run\n:class: note\n\n"
        + provenance_line(prov, scrub)
        + rerun
        + "\n\n"
        + "\n".join(rows)
        + "\n```\n"
    )


def rerun_command(stem: str, profile: str, changed: Mapping[str, Any], scrub: Scrubber | None = None) -> str:
    import shlex

    parts = ["capfront", "run", stem]
    if profile != "quick":
        parts += ["--profile", profile]
    for k, v in changed.items():
        raw = v if isinstance(v, str) else (json.dumps(v) if isinstance(v, bool) else repr(v))
        if isinstance(v, bool):
            raw = "true" if v else "false"
        parts += ["-p", k, scrub.text(raw) if scrub else raw]
    return " ".join(shlex.quote(p) for p in parts)


# ---------------------------------------------------------------------------------------------
# the executed notebook, made ready for the page


def finalize_notebook(nb: Any, *, values: Mapping[str, Any], defaults: Mapping[str, Any], sources: Mapping[str, str],
                      prov: Mapping[str, Any], scrub: Scrubber, stem: str) -> Any:
    """Hide papermill's injected cell, insert the parameters block, drop the bootstrap cells, renumber
    execution counts, rewrite absolute paths, and record the provenance in the notebook metadata."""
    import nbformat

    cells = [c for c in nb.cells if BOOTSTRAP_TAG not in c.get("metadata", {}).get("tags", [])]
    out = []
    for c in cells:
        tags = list(c.get("metadata", {}).get("tags", []))
        if "injected-parameters" in tags:
            shown = {k: (defaults.get("results_dir", v) if k == "results_dir" else v) for k, v in values.items()}
            c.source = "# Parameters of this run (injected by capfront; the page shows them in a table)\n" + "\n".join(
                f"{k} = {show_value(v, scrub, max_items=10**9)}" for k, v in shown.items()
            )
            c.outputs = []
            c.metadata["tags"] = [t for t in tags if t not in ("hide-input",)] + (["remove-cell"] if "remove-cell" not in tags else [])
            out.append(c)
            block = nbformat.v4.new_markdown_cell(parameters_markdown(prov, values, defaults, sources, scrub))
            block.metadata["tags"] = [PARAMS_BLOCK_TAG]
            out.append(block)
            continue
        out.append(c)
    nb.cells = out
    _renumber(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = [nbformat.from_dict(scrub.deep(o)) for o in c.get("outputs", [])]
    pm = nb.metadata.get("papermill")
    if isinstance(pm, dict):
        pm["input_path"] = f"notebooks/{stem}.md"
        pm["output_path"] = None
        params = dict(pm.get("parameters", {}))
        if "results_dir" in params:
            params["results_dir"] = defaults.get("results_dir", "")
        pm["parameters"] = scrub.deep(params)
        pm["environment_variables"] = {}
    nb.metadata["capfront"] = scrub.deep(dict(prov))
    return nb


def _renumber(nb: Any) -> None:
    n = 0
    for c in nb.cells:
        if c.cell_type != "code" or c.get("execution_count") is None:
            continue
        n += 1
        c.execution_count = n
        for o in c.get("outputs", []):
            if o.get("output_type") == "execute_result":
                o["execution_count"] = n


def public_data_status(reads: Iterable[str], data_available: bool) -> dict[str, Any]:
    files = sorted(r[len("data:"):] for r in reads if r.startswith("data:"))
    if files:
        return {"status": "used", "files": files}
    return {"status": "not read" if data_available else "not available", "files": []}
