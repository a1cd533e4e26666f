"""Run outputs: ``results.json`` (key numbers) and ``claims.csv`` (the claims ledger of design.md)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from capfront_lib.core.claims import Ledger

CLAIM_COLUMNS = ("chapter", "claim_id", "claim", "paper_value", "our_value", "method", "verdict", "reason")
"""The first columns of every ``claims.csv`` (``core.claims.LEDGER_COLUMNS`` adds the registry's)."""


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (pd.Series,)):
        return _jsonable(obj.to_dict())
    if isinstance(obj, (str, int)) or obj is None:
        return obj
    raise TypeError(f"results.json: value of type {type(obj).__name__} is not serialisable: {obj!r}")


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_results(
    results_dir: str | Path,
    chapter: str,
    *,
    results: Mapping[str, Any],
    ledger: "Ledger | None" = None,
) -> tuple[Path, Path]:
    """Write ``results.json`` and ``claims.csv`` for one chapter run; return both paths.

    ``ledger`` (a :class:`capfront_lib.core.claims.Ledger`) supplies the claims rows, one per registry
    entry with verdicts computed by :func:`capfront_lib.core.claims.decide`; it refuses to write while a
    registry entry has no row. ``results["parameters"]``, when given, is written without the runner-owned
    ``results_dir``. There is no way to type a verdict: without a ledger, ``claims.csv`` holds
    the header only (a run that checks no claim). Non-finite floats become ``null``. Both files are
    replaced atomically.
    """
    from capfront_lib.core.claims import LEDGER_COLUMNS, verdict_counts

    out = Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"chapter": chapter, **_jsonable(dict(results))}
    if isinstance(payload.get("parameters"), dict):
        # where the run wrote is not a result (the runner executes in a temporary folder and moves the files):
        # recording it made results.json differ between identical runs and carry a machine's absolute path
        from capfront_lib.core.params import RUNNER_OWNED

        payload["parameters"] = {k: v for k, v in payload["parameters"].items() if k not in RUNNER_OWNED}
    if ledger is not None:
        if ledger.chapter != chapter:
            raise ValueError(f"ledger of chapter {ledger.chapter!r} cannot be written for {chapter!r}")
        lrows = ledger.complete_rows()
        frame = pd.DataFrame([r.as_dict() for r in lrows], columns=list(LEDGER_COLUMNS))
        frame["n"] = frame["n"].astype("Int64")  # an integer column with blanks, not 42.0
        payload["claims_profile"] = ledger.profile
        payload["verdict_counts"] = verdict_counts(lrows)
    else:
        frame = pd.DataFrame(columns=list(LEDGER_COLUMNS))
    json_path = out / "results.json"
    _atomic_write(json_path, json.dumps(payload, indent=2, sort_keys=False) + "\n")
    csv_path = out / "claims.csv"
    _atomic_write(csv_path, frame.to_csv(index=False))
    return json_path, csv_path


def read_claims(results_root: str | Path, chapters: Iterable[str] | None = None) -> pd.DataFrame:
    """Gather ``<results_root>/<chapter>/claims.csv`` of all (or the given) chapters into one table."""
    root = Path(results_root)
    paths = (
        [root / ch / "claims.csv" for ch in chapters]
        if chapters is not None
        else sorted(root.glob("*/claims.csv"))
    )
    frames = []
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"no claims ledger at {p}: run the chapter first")
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        missing = [c for c in CLAIM_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{p}: claims.csv lacks columns {missing}")
        frames.append(df[list(CLAIM_COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    return pd.concat(frames, ignore_index=True)
