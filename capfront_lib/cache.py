"""Execution cache of ``capfront run`` / ``capfront build``: a chapter re-executes only when its key changes.

The key of a run is a SHA-256 over everything that can change what the notebook computes:

- the **source key** of the chapter: the notebook source (``notebooks/<stem>.md``), the chapter's
  ``data/<stem>/`` files, its profile file ``data/profiles/<stem>.yaml``, the library source
  (every ``capfront_lib/**/*.py``), and the environment (Python version and installed distributions);
- the resolved parameters (``results_dir`` excluded: it only says where the outputs go), the profile and
  whether public data are available (``CAPFRONT_DATA_DIR``);
- the content of every input file named by a parameter (``*_path`` parameters: size + SHA-256).

Public data files, and any other file under ``data/``, ``results/`` or ``sweeps/``, are different: which
of them a notebook reads is only known after it ran. The run records the files it opened (an audit hook
in the kernel, see :mod:`capfront_lib.provenance`) with their size and SHA-256 in the cache entry; a
lookup is a hit only when every recorded file still has that size and hash. Chapters call nothing for
this. (Files opened inside Dask workers by ``pmap`` items are not seen: read data in the notebook and
pass arrays to the workers.)

Entries live under ``_build/cache/<stem>/<key>/`` (never in git): ``meta.json``, the executed notebook
and the results folder. ``--force`` bypasses the lookup (and refreshes the entry).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

CACHE_ENV = "CAPFRONT_CACHE_DIR"
KEEP_PER_CHAPTER = 12  # newest entries kept per chapter (parameter variations of `capfront run`)
_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------
# digests


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``{"size", "sha256"}`` of a file, ``{"listing": sha}`` of a folder, or None when it does not exist."""
    p = Path(path)
    if p.is_dir():
        names = "\n".join(sorted(os.listdir(p)))
        return {"listing": hashlib.sha256(names.encode()).hexdigest()}
    if not p.is_file():
        return None
    return {"size": p.stat().st_size, "sha256": file_digest(p)}


def tree_digest(folder: Path, pattern: str = "**/*", exclude_dirs: Iterable[str] = ("__pycache__",)) -> str:
    """SHA-256 over the relative paths and contents of the files under ``folder`` matching ``pattern``."""
    h = hashlib.sha256()
    skip = set(exclude_dirs)
    if folder.is_dir():
        files = sorted(p for p in folder.glob(pattern) if p.is_file() and not skip.intersection(p.relative_to(folder).parts))
        for p in files:
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + file_digest(p).encode() + b"\n")
    return h.hexdigest()


def library_dir() -> Path:
    import capfront_lib

    return Path(capfront_lib.__file__).resolve().parent


def library_digest() -> str:
    """SHA-256 of the library source: every ``capfront_lib/**/*.py``."""
    return tree_digest(library_dir(), "**/*.py")


def library_version() -> str:
    import capfront_lib

    return getattr(capfront_lib, "__version__", "unknown")


def environment_digest() -> str:
    """SHA-256 of the Python version and the distributions installed in site-packages (name and version);
    independent of the current folder and of ``sys.path`` additions (pytest, ``python -m``)."""
    import site
    import sysconfig

    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    names: set[str] = set()
    for entry in sorted(folders):  # the folder names of installed distributions carry name and version
        try:
            names.update(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    text = sys.version + "\n" + "\n".join(sorted(names))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _sha(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


@dataclass(frozen=True)
class SourceKey:
    """Digest of what defines a chapter apart from its parameters (notebook, data, profile, library, env)."""

    stem: str
    parts: dict[str, str]

    @property
    def digest(self) -> str:
        return _sha({"stem": self.stem, **self.parts})


def source_key(root: Path, stem: str, *, library: str | None = None, environment: str | None = None) -> SourceKey:
    """The source key of chapter (or page) ``stem`` under project ``root``.

    ``library`` / ``environment`` may be passed when computed once for many chapters.
    """
    nb = root / "notebooks" / f"{stem}.md"
    profile = root / "data" / "profiles" / f"{stem}.yaml"
    parts = {
        "notebook": file_digest(nb),
        "data": tree_digest(root / "data" / stem),
        "profile": file_digest(profile) if profile.is_file() else "",
        "library": library or library_digest(),
        "environment": environment or environment_digest(),
    }
    return SourceKey(stem, parts)


def input_files(values: Mapping[str, Any], path_names: Iterable[str]) -> dict[str, Any]:
    """Fingerprints of the input files named by the parameters ``path_names`` (empty values skipped)."""
    out: dict[str, Any] = {}
    for name in sorted(path_names):
        v = values.get(name)
        if isinstance(v, str) and v:
            out[name] = fingerprint(Path(v).expanduser())
    return out


def run_key(src: SourceKey, values: Mapping[str, Any], profile: str, *, inputs: Mapping[str, Any] | None = None,
            public_data: bool = False, extra: Mapping[str, Any] | None = None) -> str:
    """The key of one run: source key + resolved parameters (without results_dir) + profile + inputs."""
    params = {k: v for k, v in values.items() if k != "results_dir"}
    return _sha({
        "source": src.digest,
        "parameters": params,
        "profile": profile,
        "inputs": dict(inputs or {}),
        "public_data": bool(public_data),
        "extra": dict(extra or {}),
    })


# ---------------------------------------------------------------------------------------------
# the files a run read (recorded in the kernel), as scoped ids that survive a moved data folder


def scope_reads(paths: Iterable[str], *, root: Path, data_dir: Path | None) -> dict[str, Any]:
    """``{scoped id: fingerprint}`` for files a run opened: ``data:<rel>`` under the public data folder,
    ``root:<rel>`` under the project, else the absolute path."""
    out: dict[str, Any] = {}
    for raw in sorted(set(paths)):
        p = Path(raw)
        out[scoped_id(p, root=root, data_dir=data_dir)] = fingerprint(p)
    return out


def scoped_id(p: Path, *, root: Path, data_dir: Path | None) -> str:
    rp = p.resolve()
    for prefix, base in (("data:", data_dir), ("root:", root)):
        if base is None:
            continue
        try:
            return prefix + rp.relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return str(rp)


def resolve_scoped(sid: str, *, root: Path, data_dir: Path | None) -> Path | None:
    if sid.startswith("data:"):
        return None if data_dir is None else Path(data_dir) / sid[5:]
    if sid.startswith("root:"):
        return Path(root) / sid[5:]
    return Path(sid)


def reads_still_valid(reads: Mapping[str, Any], *, root: Path, data_dir: Path | None) -> tuple[bool, str]:
    """True when every recorded file still has its recorded fingerprint (else the first that changed)."""
    for sid, fp in reads.items():
        path = resolve_scoped(sid, root=root, data_dir=data_dir)
        now = None if path is None else fingerprint(path)
        if now != fp:
            return False, sid
    return True, ""


# ---------------------------------------------------------------------------------------------
# the store


def is_installed_copy(root: Path) -> bool:
    """True when ``root`` is the copy of data/ and notebooks/ inside an installed package (not a checkout)."""
    try:
        Path(root).resolve().relative_to(library_dir())
        return True
    except ValueError:
        return False


def cache_root(root: Path) -> Path | None:
    """``CAPFRONT_CACHE_DIR``, else ``<root>/_build/cache`` in a checkout or ``~/.cache/capfront`` for an
    installed package; None when that folder cannot be written."""
    env = os.environ.get(CACHE_ENV, "")
    if env:
        base = Path(env).expanduser()
    elif is_installed_copy(root):
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "capfront"
    else:
        base = Path(root) / "_build" / "cache"
    probe = base
    while not probe.exists():
        probe = probe.parent
    if not (probe.is_dir() and os.access(probe, os.W_OK)):
        return None
    return base


@dataclass(frozen=True)
class Entry:
    """A cached run: ``notebook`` (executed notebook), ``results`` (folder), ``meta`` (dict)."""

    path: Path
    meta: dict[str, Any]

    @property
    def notebook(self) -> Path:
        return self.path / "notebook.ipynb"

    @property
    def results(self) -> Path:
        return self.path / "results"


def _entry_dir(base: Path, stem: str, key: str) -> Path:
    return base / stem / key[:40]


def lookup(base: Path | None, stem: str, key: str, *, root: Path, data_dir: Path | None) -> Entry | None:
    """The cached run of ``key`` if it exists, is complete and the files it read are unchanged."""
    if base is None:
        return None
    d = _entry_dir(base, stem, key)
    meta_path = d / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("key") != key or not (d / "notebook.ipynb").is_file():
        return None
    ok, _ = reads_still_valid(meta.get("reads", {}), root=root, data_dir=data_dir)
    if not ok:
        return None
    return Entry(d, meta)


def store(base: Path | None, stem: str, key: str, *, notebook: Path, results: Path | None, meta: Mapping[str, Any]) -> Entry | None:
    """Copy a successful run into the cache (atomically: a complete entry or none)."""
    if base is None:
        return None
    final = _entry_dir(base, stem, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        shutil.copy2(notebook, tmp / "notebook.ipynb")
        (tmp / "results").mkdir()
        if results is not None and results.is_dir():
            shutil.copytree(results, tmp / "results", dirs_exist_ok=True)
        full = {**dict(meta), "key": key, "stored_at": time.time()}
        (tmp / "meta.json").write_text(json.dumps(full, indent=1, default=str))
        if final.exists():
            trash = final.with_name(final.name + f".old-{os.getpid()}")
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prune(base / stem)
    return Entry(final, full)


def prune(folder: Path, keep: int = KEEP_PER_CHAPTER) -> None:
    """Keep the ``keep`` most recently stored entries of one chapter; remove older ones and stale temps."""
    if not folder.is_dir():
        return
    entries = []
    for d in folder.iterdir():
        if d.name.startswith(".tmp-") and time.time() - d.stat().st_mtime > 24 * 3600:
            shutil.rmtree(d, ignore_errors=True)
        elif d.is_dir() and (d / "meta.json").is_file():
            entries.append((d.stat().st_mtime, d))
    for _, d in sorted(entries, reverse=True)[keep:]:
        shutil.rmtree(d, ignore_errors=True)


def install_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically (a temporary sibling, then a rename): never a half-written file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def install_tree(src: Path, dst: Path) -> list[Path]:
    """Install every file under ``src`` into ``dst`` (file by file, atomically); other files of ``dst`` stay."""
    done = []
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        target = dst / f.relative_to(src)
        install_file(f, target)
        done.append(target)
    return done
