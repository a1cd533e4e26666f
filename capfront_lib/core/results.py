"""Run outputs: ``results.json`` (key numbers) and ``claims.csv`` (the claims ledger of design.md)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from capfront_lib.core.claims import Ledger

CLAIM_COLUMNS = ("chapter", "claim_id", "claim", "paper_value", "our_value", "method", "verdict", "reason")
METHODS = ("analytic", "simulation", "public-data", "transcription", "not-checkable")
VERDICTS = ("reproduced", "direction-only", "differs", "not-checkable")


@dataclass(frozen=True)
class Claim:
    """One row of the claims ledger: a headline claim of a paper and what this book measured.

    ``method`` is one of :data:`METHODS`, ``verdict`` one of :data:`VERDICTS`. ``our_value`` may be
    empty only when the verdict is ``not-checkable``; every row needs a one-line ``reason``.
    """

    chapter: str
    claim_id: str
    claim: str
    paper_value: str
    our_value: str
    method: str
    verdict: str
    reason: str

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str):
                object.__setattr__(self, f.name, _format_value(value))
        if self.method not in METHODS:
            raise ValueError(f"claim {self.claim_id!r}: method must be one of {METHODS}, got {self.method!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.claim_id!r}: verdict must be one of {VERDICTS}, got {self.verdict!r}")
        for name in ("chapter", "claim_id", "claim", "reason"):
            if not getattr(self, name).strip():
                raise ValueError(f"claim {self.claim_id!r}: field {name!r} is empty")
        if self.verdict != "not-checkable" and not self.our_value.strip():
            raise ValueError(f"claim {self.claim_id!r}: verdict {self.verdict!r} needs a measured our_value")
        if self.method == "not-checkable" and self.verdict != "not-checkable":
            raise ValueError(f"claim {self.claim_id!r}: method 'not-checkable' requires verdict 'not-checkable'")


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


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
    claims: Iterable[Claim] = (),
) -> tuple[Path, Path]:
    """Write ``results.json`` and ``claims.csv`` for one chapter run; return both paths.

    ``ledger`` (a :class:`capfront_lib.core.claims.Ledger`) supplies the claims rows, one per registry
    entry with computed verdicts; it refuses to write while a registry entry has no row. Non-finite floats
    become ``null``. Both files are replaced atomically. (``claims=`` is the older typed-row API, kept
    only while chapters move to the registry.)
    """
    from capfront_lib.core.claims import LEDGER_COLUMNS, verdict_counts

    out = Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"chapter": chapter, **_jsonable(dict(results))}
    if ledger is not None:
        if ledger.chapter != chapter:
            raise ValueError(f"ledger of chapter {ledger.chapter!r} cannot be written for {chapter!r}")
        lrows = ledger.complete_rows()
        frame = pd.DataFrame([r.as_dict() for r in lrows], columns=list(LEDGER_COLUMNS))
        frame["n"] = frame["n"].astype("Int64")  # an integer column with blanks, not 42.0
        payload["claims_profile"] = ledger.profile
        payload["verdict_counts"] = verdict_counts(lrows)
    else:
        rows = list(claims)
        for c in rows:
            if not isinstance(c, Claim):
                raise TypeError(f"claims must be Claim objects, got {type(c).__name__}")
            if c.chapter != chapter:
                raise ValueError(f"claim {c.claim_id!r} belongs to chapter {c.chapter!r}, not {chapter!r}")
        ids = [c.claim_id for c in rows]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicated claim ids in chapter {chapter!r}: {dup}")
        frame = pd.DataFrame([asdict(c) for c in rows], columns=list(CLAIM_COLUMNS))
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
