"""Reading an evaluation-log file safely: refuse what pandas would silently mangle.

``read_log_table(path)`` returns the table and the file line number of every data row, after checking,
with one error line naming the file (and the line or column):

- the file exists, is not empty, is text (not gzip/parquet/binary under a ``.csv`` name) and is UTF-8;
- the header has no empty and no duplicated column names (pandas would rename a copy ``gpt-4.1``);
- every data row has exactly as many fields as the header (a header one name short would otherwise turn
  the first column into the index and shift every column);
- there is at least one data row.

The missing-value policy is one rule: **an empty cell means "not run"**. Nothing else is read as missing:
``NA``, ``null``, ``None``, ``n/a``, ``nan`` are values like any other, and a chapter that expects 0/1 or a
number rejects them with the line and column. Numeric columns are parsed by pandas' C parser (fast path);
only when that fails is the file re-read as text to name the first offending cell.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import numpy as np
import pandas as pd

MISSING_TOKENS: tuple[str, ...] = ("",)  # the only token meaning "not run"
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


class LogFileError(ValueError):
    """The file cannot be read as an evaluation log (one line, naming the file)."""


@dataclass(frozen=True)
class LogTable:
    """A parsed log file: the frame (numeric columns as float64, the rest as str) and row line numbers."""

    frame: pd.DataFrame
    lines: np.ndarray  # file line number (1-based, header = 1) of each data row
    source: str


def _fail(source: str, msg: str) -> None:
    raise LogFileError(f"{source}: {msg}")


def _read_text(path: Path, source: str) -> bytes:
    raw = path.read_bytes()
    if not raw.strip():
        _fail(source, "the file is empty")
    name = path.name.lower()
    if raw[:2] == _GZIP_MAGIC:
        if not name.endswith(".gz"):
            _fail(source, "the file is gzip-compressed but not named .gz (rename it to .csv.gz)")
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            _fail(source, f"the gzip file is damaged ({err})")
        if not raw.strip():
            _fail(source, "the file is empty")
    elif name.endswith(".gz"):
        _fail(source, "the file is named .gz but is not gzip-compressed")
    if raw[:4] == _PARQUET_MAGIC:
        _fail(source, "the file is a parquet file, not CSV text (name it .parquet)")
    if raw[:4] == _ZIP_MAGIC:
        _fail(source, "the file is a zip archive (e.g. an Excel workbook), not CSV text; export it as CSV")
    if b"\x00" in raw[:65536]:
        _fail(source, "the file is binary, not CSV text")
    try:
        raw.decode("utf-8")  # validation only; pandas parses the bytes (a str copy of a large file costs 4x)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        _fail(source, f"the file is not UTF-8 text (invalid byte 0x{raw[err.start]:02x} on line {line}); save it as UTF-8")
    return raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw


def _field_counts(data: bytes, sep: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Header names, and for each non-blank data line its field count and line number."""
    if b'"' not in data:
        lines = data.splitlines()
        header = lines[0].decode("utf-8").split(sep) if lines else []
        bsep = sep.encode()
        counts, numbers = [], []
        for i, line in enumerate(lines[1:], start=2):
            if line.strip():
                counts.append(line.count(bsep) + 1)
                numbers.append(i)
        return header, np.asarray(counts, dtype=np.int64), np.asarray(numbers, dtype=np.int64)
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=sep)
    header: list[str] = []
    counts, numbers = [], []
    first = True
    for row in reader:
        if first:
            header, first = row, False
            continue
        if not row or (len(row) <= 1 and all(not f.strip() for f in row)):
            continue
        counts.append(len(row))
        numbers.append(reader.line_num)
    return header, np.asarray(counts, dtype=np.int64), np.asarray(numbers, dtype=np.int64)


def _check_header(header: Sequence[str], source: str) -> list[str]:
    if not header or all(not h.strip() for h in header):
        _fail(source, "the first line (the header) is empty")
    names = [h.strip() for h in header]
    blank = [i + 1 for i, h in enumerate(names) if not h]
    if blank:
        _fail(source, f"header column {blank[0]} has an empty name")
    seen: dict[str, int] = {}
    for i, h in enumerate(names, start=1):
        if h in seen:
            _fail(source, f"column {h!r} appears twice in the header (columns {seen[h]} and {i}); names must be unique")
        seen[h] = i
    return names


def read_log_table(
    path: str | Path,
    *,
    text_columns: Iterable[str] = ("id", "query_id", "model", "category"),
    numeric_columns: Union[Iterable[str], Callable[[list[str]], Iterable[str]], None] = None,
) -> LogTable:
    """Read a CSV/TSV (optionally .gz) or parquet evaluation log with the checks of the module docstring.

    ``text_columns`` are kept as strings; every other column is parsed as a number (empty = NaN) when
    ``numeric_columns`` is None, else only the named ones are. ``numeric_columns`` may be a function of the
    header names (it may raise ``ValueError`` to refuse the header, e.g. when the log's form is unknown).
    """
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise FileNotFoundError(f"{source}: file not found")
    if p.is_dir():
        _fail(source, "is a folder, not a file")
    suffix = "".join(p.suffixes[-2:]).lower()
    if p.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(p, source)
    if not suffix.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
        _fail(source, f"unsupported file type {p.suffix!r}; use .csv, .csv.gz, .tsv or .parquet")
    sep = "\t" if ".tsv" in suffix else ","
    data = _read_text(p, source)
    header, counts, numbers = _field_counts(data, sep)
    names = _check_header(header, source)
    if counts.size == 0:
        _fail(source, "the file has a header but no data rows")
    bad = np.flatnonzero(counts != len(names))
    if bad.size:
        i = bad[0]
        more = f" (and {bad.size - 1} more lines)" if bad.size > 1 else ""
        hint = "; is a column name missing from the header?" if counts[i] == len(names) + 1 else ""
        _fail(source, f"line {numbers[i]} has {counts[i]} fields but the header has {len(names)} names{more}{hint}")
    text_cols = set(text_columns)
    if callable(numeric_columns):
        numeric_columns = list(numeric_columns(names))
    num_cols = [c for c in names if c not in text_cols] if numeric_columns is None else [c for c in numeric_columns if c in names]
    dtypes = {c: str for c in names if c not in num_cols}
    dtypes.update({c: "float64" for c in num_cols})
    common = dict(sep=sep, header=0, names=names, keep_default_na=False, na_values={c: list(MISSING_TOKENS) for c in names},
                  skip_blank_lines=True, index_col=False, engine="c")
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=dtypes, encoding="utf-8", **common)
    except (ValueError, TypeError):
        frame = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8", **common)
        _locate_non_numeric(frame, num_cols, numbers, source)
        raise AssertionError("unreachable: a non-numeric cell must have been reported")  # pragma: no cover
    for c in dtypes:
        if dtypes[c] is str:
            frame[c] = frame[c].where(frame[c].notna(), None)
    return LogTable(frame=frame, lines=numbers, source=source)


def _locate_non_numeric(frame: pd.DataFrame, columns: Sequence[str], lines: np.ndarray, source: str) -> None:
    for c in columns:
        col = frame[c]
        num = pd.to_numeric(col, errors="coerce")
        bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy())
        if bad.size:
            i = bad[0]
            more = f" (and {bad.size - 1} more in this column)" if bad.size > 1 else ""
            _fail(
                source,
                f"column {c!r}, line {lines[i]}: {col.iloc[i]!r} is not a number{more}; "
                "an empty cell means 'not run' (no other missing-value token is accepted)",
            )


def _read_parquet(p: Path, source: str) -> LogTable:
    head = p.read_bytes()[:4]
    if head != _PARQUET_MAGIC:
        _fail(source, "the file is named .parquet but is not a parquet file")
    try:
        frame = pd.read_parquet(p)
    except Exception as err:  # pyarrow raises many types for damaged files
        _fail(source, f"cannot read the parquet file ({type(err).__name__}: {str(err).splitlines()[0]})")
    _check_header([str(c) for c in frame.columns], source)
    if len(frame) == 0:
        _fail(source, "the file has no data rows")
    # parquet has no text lines: report 1-based data row numbers + 1 (as if a header line came first)
    return LogTable(frame=frame.reset_index(drop=True), lines=np.arange(2, len(frame) + 2), source=source)
