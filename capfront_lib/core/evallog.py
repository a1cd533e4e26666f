"""The evaluation log: models answering queries, in one validated in-memory object.

Two on-disk forms load to the same :class:`EvalLog` (design.md, "One data model for every chapter"):

* **long form** — one row per (query, model, generation) with columns ``query_id``, ``model``,
  ``generation`` (optional, default 0), ``correct`` (0/1, or a score in [0, 1] when allowed) and
  optional ``cost_usd``, ``latency_s``, ``confidence``, ``output_tokens``, ``category``;
* **wide form** — an ``id`` column plus one 0/1 column per model; a blank cell means "not run".
  An optional ``category`` column is read as query metadata, not as a model.

Reserved column names: ``id`` and ``category`` in the wide form (a ``category`` column holding only 0/1
values looks like a model and is refused rather than silently left out of the pool); in the long form
``query_id``, ``model``, ``generation``, ``correct``, ``cost_usd``, ``latency_s``, ``confidence``,
``output_tokens``, ``category`` (other columns are ignored with a warning naming them).

Missing values: an empty cell means "not run"; no other token (``NA``, ``null``, ``None``, ``n/a``) is
read as missing — such a cell is an error naming the file, the column and the line
(:mod:`capfront_lib.core.logfile` reads files; errors name file lines, header = line 1).

Every chapter function takes an :class:`EvalLog`, never a path. Bad input raises ``ValueError`` naming
the source, the column and the first offending rows. Nothing is dropped silently: missing cells are
counted in :attr:`EvalLog.missing` and the policy (``drop_queries``, ``keep_partial`` or ``error``) is
a parameter.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Sequence

import numpy as np
import pandas as pd

MissingPolicy = Literal["drop_queries", "keep_partial", "error"]
MISSING_POLICIES: tuple[str, ...] = ("drop_queries", "keep_partial", "error")

LONG_REQUIRED: tuple[str, ...] = ("query_id", "model", "correct")
LONG_COLUMNS: tuple[str, ...] = (
    "query_id", "model", "generation", "correct", "cost_usd", "latency_s", "confidence", "output_tokens", "category",
)
NUMERIC_FIELDS: tuple[str, ...] = ("correct", "cost_usd", "latency_s", "confidence", "output_tokens")
NONNEGATIVE_FIELDS: tuple[str, ...] = ("cost_usd", "latency_s", "output_tokens")
WIDE_ID = "id"
WIDE_METADATA: tuple[str, ...] = ("category",)
_SHOW = 5  # how many offending rows an error message lists


@dataclass(frozen=True)
class MissingReport:
    """What was missing in the log and what the loader did about it."""

    policy: str
    n_cells: int
    n_missing_cells: int
    n_queries_in: int
    dropped_queries: tuple[str, ...] = ()
    missing_by_model: dict[str, int] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped_queries)

    def summary(self) -> str:
        """One sentence for notebooks and warnings."""
        if self.n_missing_cells == 0:
            return f"no missing cells ({self.n_cells} cells)"
        worst = sorted(self.missing_by_model.items(), key=lambda kv: -kv[1])[:3]
        worst_txt = ", ".join(f"{m}: {k}" for m, k in worst if k)
        action = (
            f"dropped {self.n_dropped} of {self.n_queries_in} queries with any missing cell"
            if self.policy == "drop_queries"
            else "kept partial queries (missing cells are NaN)"
        )
        return f"{self.n_missing_cells} of {self.n_cells} cells missing (most: {worst_txt}); {action}"


def _fail(source: str, msg: str) -> None:
    raise ValueError(f"{source}: {msg}")


def _row_labels(n: int, lines: np.ndarray | None) -> np.ndarray:
    """How messages name data rows: file line numbers when read from a file, else 0-based row positions."""
    if lines is not None:
        return np.asarray([f"line {int(x)}" for x in lines], dtype=object)
    return np.asarray([f"row {i}" for i in range(n)], dtype=object)


def _first(values: Iterable[object], *, quote: bool = True) -> str:
    """The first few offending items for an error message; ``quote=False`` for preformatted text."""
    vals = list(values)
    more = f" (and {len(vals) - _SHOW} more)" if len(vals) > _SHOW else ""

    def fmt(v: object) -> str:
        if isinstance(v, (np.integer, np.floating)):
            return str(v.item())
        return repr(v) if quote and isinstance(v, str) else str(v)

    return ", ".join(fmt(v) for v in vals[:_SHOW]) + more


class EvalLog:
    """A validated evaluation log of ``n_models`` models on ``n_queries`` queries, ``n_generations`` each.

    Construct it with :func:`load_log`, :func:`from_long` or :func:`from_wide`. Arrays are
    ``N x L x G`` (queries x models x generations) with ``NaN`` for cells that were not run.
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        query_ids: Sequence[str],
        models: Sequence[str],
        *,
        categories: pd.Series | None,
        source: str,
        binary: bool,
        missing: MissingReport,
    ) -> None:
        self._arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
        for a in self._arrays.values():
            a.setflags(write=False)
        self.query_ids = pd.Index([str(q) for q in query_ids], name="query_id")
        self.models = [str(m) for m in models]
        self.categories = categories
        self.source = source
        self.binary = binary
        self.missing = missing

    # ----- shape -----
    @property
    def n_queries(self) -> int:
        return len(self.query_ids)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_generations(self) -> int:
        return self._arrays["correct"].shape[2]

    @property
    def fields(self) -> list[str]:
        """Numeric fields present in the log (always includes ``correct``)."""
        return list(self._arrays)

    def has(self, name: str) -> bool:
        return name in self._arrays

    def __repr__(self) -> str:
        return (
            f"EvalLog({self.n_queries} queries x {self.n_models} models x {self.n_generations} generations; "
            f"fields={self.fields}; source={self.source!r})"
        )

    # ----- arrays -----
    def array(self, name: str = "correct") -> np.ndarray:
        """The ``N x L x G`` array of a numeric field (read-only view; NaN = not run)."""
        if name not in self._arrays:
            raise KeyError(f"{self.source}: the log has no field {name!r}; it has {self.fields}")
        return self._arrays[name]

    def correctness(self) -> np.ndarray:
        """``N x L x G`` correctness (0/1 or score), NaN where not run."""
        return self.array("correct")

    def wide(self, name: str = "correct", generation: int | None = 0) -> pd.DataFrame:
        """``N x L`` table of one field: one generation, or the mean over generations (``generation=None``)."""
        a = self.array(name)
        if generation is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(a, axis=2)
        else:
            if not 0 <= generation < self.n_generations:
                raise IndexError(f"generation {generation} not in 0..{self.n_generations - 1}")
            m = a[:, :, generation]
        return pd.DataFrame(m, index=self.query_ids, columns=pd.Index(self.models, name="model"))

    def per_model(self) -> pd.DataFrame:
        """Per-model summary: accuracy (mean correctness), answered cells and mean of each other field."""
        out = {}
        for name, a in self._arrays.items():
            flat = a.transpose(1, 0, 2).reshape(self.n_models, -1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out["accuracy" if name == "correct" else f"mean_{name}"] = np.nanmean(flat, axis=1)
            if name == "correct":
                out["n_answered"] = np.sum(~np.isnan(flat), axis=1)
        return pd.DataFrame(out, index=pd.Index(self.models, name="model"))

    def to_long(self) -> pd.DataFrame:
        """The log in long form (one row per cell that was run)."""
        n, l, g = self._arrays["correct"].shape
        qi, mi, gi = np.meshgrid(np.arange(n), np.arange(l), np.arange(g), indexing="ij")
        present = ~np.isnan(self._arrays["correct"])
        df = pd.DataFrame(
            {
                "query_id": self.query_ids.to_numpy()[qi[present]],
                "model": np.asarray(self.models, dtype=object)[mi[present]],
                "generation": gi[present],
            }
        )
        for name, a in self._arrays.items():
            df[name] = a[present]
        if self.categories is not None:
            df["category"] = self.categories.reindex(df["query_id"]).to_numpy()
        return df

    def select(self, *, models: Sequence[str] | None = None, queries: Sequence[str] | None = None) -> "EvalLog":
        """A new log restricted to some models and/or queries (unknown names raise ``KeyError``)."""
        mi = np.arange(self.n_models)
        qi = np.arange(self.n_queries)
        if models is not None:
            unknown = [m for m in models if m not in self.models]
            if unknown:
                raise KeyError(f"{self.source}: unknown models {unknown}; the log has {self.models}")
            mi = np.array([self.models.index(m) for m in models], dtype=int)
        if queries is not None:
            pos = self.query_ids.get_indexer([str(q) for q in queries])
            if (pos < 0).any():
                bad = [q for q, p in zip(queries, pos) if p < 0]
                raise KeyError(f"{self.source}: unknown query ids {_first(bad)}")
            qi = pos
        arrays = {k: v[np.ix_(qi, mi)] for k, v in self._arrays.items()}
        cats = None if self.categories is None else self.categories.iloc[qi]
        return EvalLog(
            arrays,
            self.query_ids[qi],
            [self.models[i] for i in mi],
            categories=cats,
            source=self.source,
            binary=self.binary,
            missing=self.missing,
        )


# ---------------------------------------------------------------------------------------------
# validation helpers


def _numeric_column(df: pd.DataFrame, col: str, source: str, row_label: pd.Series) -> np.ndarray:
    """Column as float; non-numeric entries raise naming the rows."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        rows = [f"{row_label.iloc[i]}={raw.iloc[i]!r}" for i in np.flatnonzero(bad.to_numpy())]
        _fail(source, f"column {col!r} has non-numeric values at {_first(rows, quote=False)}")
    return num.to_numpy(dtype=float)


def _check_correct_values(values: np.ndarray, source: str, col: str, labels: np.ndarray, binary: bool) -> None:
    finite = ~np.isnan(values)
    if binary:
        bad = finite & (values != 0) & (values != 1)
        what = "must be binary 0/1"
    else:
        bad = finite & ((values < 0) | (values > 1))
        what = "must be a score in [0, 1]"
    if bad.any():
        idx = np.flatnonzero(bad)
        rows = [f"{labels[i]}={values[i]:g}" for i in idx]
        hint = " (pass require_binary=False for graded scores in [0, 1])" if binary and not (
            (values[finite] < 0) | (values[finite] > 1)
        ).any() else ""
        _fail(source, f"column {col!r} {what}; offending rows: {_first(rows, quote=False)}{hint}")


def _apply_missing_policy(
    arrays: dict[str, np.ndarray],
    query_ids: np.ndarray,
    models: list[str],
    categories: pd.Series | None,
    policy: str,
    source: str,
) -> tuple[dict[str, np.ndarray], np.ndarray, pd.Series | None, MissingReport]:
    if policy not in MISSING_POLICIES:
        raise ValueError(f"missing policy must be one of {MISSING_POLICIES}, got {policy!r}")
    corr = arrays["correct"]
    miss = np.isnan(corr)
    n_missing = int(miss.sum())
    if n_missing == corr.size:
        _fail(source, "all cells are missing: no model was run on any query")
    by_model = {m: int(k) for m, k in zip(models, miss.sum(axis=(0, 2)))}
    empty_models = [m for m, k in by_model.items() if k == corr.shape[0] * corr.shape[2]]
    incomplete = miss.any(axis=(1, 2))
    report_kw = dict(n_cells=int(corr.size), n_missing_cells=n_missing, n_queries_in=len(query_ids), missing_by_model=by_model)
    if n_missing and policy == "error":
        rows = query_ids[incomplete]
        _fail(source, f"{n_missing} cells are missing (queries {_first(rows)}); choose missing='drop_queries' or 'keep_partial'")
    if empty_models:
        _fail(source, f"models with no result at all: {_first(empty_models)}")
    if n_missing and policy == "drop_queries":
        keep = ~incomplete
        if not keep.any():
            _fail(
                source,
                "every query has at least one missing cell, so missing='drop_queries' would drop them all; "
                f"use missing='keep_partial' or drop the sparse models (missing per model: {by_model})",
            )
        dropped = tuple(str(q) for q in query_ids[incomplete])
        arrays = {k: v[keep] for k, v in arrays.items()}
        query_ids = query_ids[keep]
        if categories is not None:
            categories = categories.iloc[np.flatnonzero(keep)]
        report = MissingReport(policy=policy, dropped_queries=dropped, **report_kw)
        warnings.warn(f"{source}: {report.summary()}", stacklevel=3)
    else:
        report = MissingReport(policy=policy, **report_kw)
    return arrays, query_ids, categories, report


def _check_pool(models: Sequence[str], min_models: int, source: str) -> None:
    if len(models) == 0:
        _fail(source, "no model columns: the log needs at least one model")
    if len(models) < min_models:
        _fail(source, f"found {len(models)} model(s) ({_first(models)}) but this analysis needs a pool of at least {min_models}")


# ---------------------------------------------------------------------------------------------
# constructors


def from_wide(
    df: pd.DataFrame,
    *,
    source: str = "<wide table>",
    require_binary: bool = True,
    missing: MissingPolicy = "drop_queries",
    min_models: int = 1,
    categories: pd.Series | None = None,
    lines: np.ndarray | None = None,
) -> EvalLog:
    """Build an :class:`EvalLog` from a wide table: ``id`` column + one correctness column per model.

    A column ``category`` (if present) becomes query metadata. Blank cells are "not run". ``lines`` are
    the file line numbers of the rows (messages then name lines instead of row positions).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if WIDE_ID not in df.columns:
        if df.index.name == WIDE_ID:
            df = df.reset_index()
        else:
            _fail(source, f"wide form needs an {WIDE_ID!r} column; columns are {list(df.columns)[:8]}")
    cols = [str(c) for c in df.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        _fail(source, f"column names must be unique; duplicated: {_first(dup)}")
    if len(df) == 0:
        _fail(source, "the log has no rows")
    labels = _row_labels(len(df), lines)
    raw_ids = df[WIDE_ID]
    blank = (raw_ids.isna() | (raw_ids.astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        _fail(source, f"column {WIDE_ID!r} is blank at {_first(labels[blank], quote=False)}")
    ids = raw_ids.astype(str).str.strip()
    labels = np.asarray([f"{lab} (id {q!r})" for lab, q in zip(labels, ids)], dtype=object)
    dup_mask = ids.duplicated(keep="first").to_numpy()
    if dup_mask.any():
        first = [str(labels[i]) for i in np.flatnonzero(dup_mask)]
        _fail(source, f"duplicated query ids in column {WIDE_ID!r}: {_first(first, quote=False)}")
    meta = [c for c in df.columns if c in WIDE_METADATA]
    if "category" in meta and _looks_like_outcomes(df["category"]):
        _fail(source, "column 'category' is reserved for query categories but holds 0/1 outcomes like a model; "
                      "rename that model's column")
    models = [str(c) for c in df.columns if c != WIDE_ID and c not in WIDE_METADATA]
    _check_pool(models, min_models, source)
    mat = _numeric_block(df[models], source, labels)
    _check_correct_block(mat, models, labels, source, require_binary)
    if "category" in meta:
        cats_from_table = pd.Series(df["category"].astype(str).to_numpy(), index=pd.Index(ids, name="query_id"), name="category")
        categories = cats_from_table if categories is None else categories
    elif categories is not None:
        categories = _align_categories(categories, ids, source)
    arrays = {"correct": mat[:, :, None]}
    arrays, qids, categories, report = _apply_missing_policy(arrays, ids.to_numpy(), models, categories, missing, source)
    return EvalLog(arrays, qids, models, categories=categories, source=source, binary=require_binary, missing=report)


def _looks_like_outcomes(col: pd.Series) -> bool:
    """True when every non-blank value of a column is 0 or 1 (a model, not a category)."""
    vals = col.dropna().astype(str).str.strip()
    vals = vals[vals != ""]
    return len(vals) > 0 and bool(vals.isin(["0", "1", "0.0", "1.0"]).all())


def _numeric_block(block: pd.DataFrame, source: str, labels: np.ndarray) -> np.ndarray:
    """Model columns as an N x L float array (NaN = not run); a non-numeric cell raises naming column and row."""
    if all(pd.api.types.is_numeric_dtype(block[c]) and not pd.api.types.is_bool_dtype(block[c]) for c in block.columns):
        return block.to_numpy(dtype=float, na_value=np.nan)
    out = np.empty(block.shape, dtype=float)
    for j, c in enumerate(block.columns):
        raw = block[c]
        if pd.api.types.is_bool_dtype(raw):
            _fail(source, f"column {str(c)!r} holds true/false values; write 0/1")
        num = pd.to_numeric(raw, errors="coerce")
        text = raw.astype(str).str.strip()
        bad = (num.isna() & raw.notna() & (text != "")).to_numpy()
        if bad.any():
            i = np.flatnonzero(bad)[0]
            _fail(source, f"column {str(c)!r}, {labels[i]}: {raw.iloc[i]!r} is not a number; an empty cell means 'not run'")
        out[:, j] = num.to_numpy(dtype=float)
    return out


def _check_correct_block(mat: np.ndarray, models: Sequence[str], labels: np.ndarray, source: str, binary: bool) -> None:
    finite = ~np.isnan(mat)
    bad = finite & ((mat != 0) & (mat != 1) if binary else (mat < 0) | (mat > 1))
    if not bad.any():
        return
    j = int(np.flatnonzero(bad.any(axis=0))[0])
    _check_correct_values(mat[:, j], source, models[j], labels, binary)


def _align_categories(categories: pd.Series, ids: pd.Series, source: str) -> pd.Series:
    cats = categories.copy()
    cats.index = cats.index.astype(str)
    absent = ids[~ids.isin(cats.index)]
    if len(absent):
        _fail(source, f"the items/category table has no row for query ids {_first(absent)}")
    return pd.Series(cats.reindex(ids).astype(str).to_numpy(), index=pd.Index(ids, name="query_id"), name="category")


def from_long(
    df: pd.DataFrame,
    *,
    source: str = "<long table>",
    require_binary: bool = True,
    missing: MissingPolicy = "drop_queries",
    min_models: int = 1,
    lines: np.ndarray | None = None,
) -> EvalLog:
    """Build an :class:`EvalLog` from a long table (one row per query, model, generation).

    ``lines`` are the file line numbers of the rows (messages then name lines instead of row positions).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    absent = [c for c in LONG_REQUIRED if c not in df.columns]
    if absent:
        _fail(source, f"long form needs columns {list(LONG_REQUIRED)}; missing {absent} (columns are {list(df.columns)[:10]})")
    if len(df) == 0:
        _fail(source, "the log has no rows")
    df = df.reset_index(drop=True)
    cols = [str(c) for c in df.columns]
    dup_cols = sorted({c for c in cols if cols.count(c) > 1})
    if dup_cols:
        _fail(source, f"column names must be unique; duplicated: {_first(dup_cols)}")
    extra = [c for c in cols if c not in LONG_COLUMNS]
    if extra:
        warnings.warn(f"{source}: ignoring columns {extra} (long-form columns are {list(LONG_COLUMNS)})", stacklevel=2)
    labels_arr = _row_labels(len(df), lines)
    for col in ("query_id", "model"):
        blank = (df[col].isna() | (df[col].astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            _fail(source, f"column {col!r} is blank at {_first(labels_arr[blank], quote=False)}")
    q = df["query_id"].astype(str).str.strip()
    m = df["model"].astype(str).str.strip()
    row_label = pd.Series(labels_arr, index=df.index)
    if "generation" in df.columns:
        gen = _numeric_column(df, "generation", source, row_label)
        bad = np.isnan(gen) | (gen < 0) | (gen != np.round(gen))
        if bad.any():
            _fail(source, f"column 'generation' must hold non-negative integers; offending rows {_first(labels_arr[bad], quote=False)}")
        gen = gen.astype(int)
    else:
        gen = np.zeros(len(df), dtype=int)
    key = pd.DataFrame({"q": q, "m": m, "g": gen})
    dup = key.duplicated(keep="first")
    if dup.any():
        pos = np.flatnonzero(dup.to_numpy())[:_SHOW]
        shown = [f"(query {key.q.iloc[i]!r}, model {key.m.iloc[i]!r}, generation {key.g.iloc[i]}) at {labels_arr[i]}" for i in pos]
        _fail(source, f"duplicated (query_id, model, generation) rows: {', '.join(shown)}")
    models = list(pd.unique(m))
    _check_pool(models, min_models, source)
    qids = pd.unique(q)
    qi = pd.Index(qids).get_indexer(q)
    mi = pd.Index(models).get_indexer(m)
    n, l, g = len(qids), len(models), int(gen.max()) + 1
    arrays: dict[str, np.ndarray] = {}
    for name in NUMERIC_FIELDS:
        if name not in df.columns:
            continue
        vals = _numeric_column(df, name, source, row_label)
        labels = row_label.to_numpy()
        if name == "correct":
            _check_correct_values(vals, source, name, labels, require_binary)
        elif name in NONNEGATIVE_FIELDS:
            neg = vals < 0
            if neg.any():
                rows = [f"{labels[i]} (query {q.iloc[i]!r}, model {m.iloc[i]!r}) = {vals[i]:g}" for i in np.flatnonzero(neg)]
                _fail(source, f"column {name!r} must be non-negative; offending rows: {_first(rows, quote=False)}")
        a = np.full((n, l, g), np.nan)
        a[qi, mi, gen] = vals
        arrays[name] = a
    categories = None
    if "category" in df.columns:
        cat = df.assign(_q=q).groupby("_q", sort=False)["category"].agg(lambda s: s.dropna().astype(str).unique().tolist())
        conflict = cat[cat.map(len) > 1]
        if len(conflict):
            _fail(source, f"column 'category' differs between rows of the same query: {_first(conflict.index)}")
        categories = pd.Series(
            [v[0] if v else "" for v in cat.reindex(qids)], index=pd.Index(qids, name="query_id"), name="category"
        )
    arrays, qids_kept, categories, report = _apply_missing_policy(arrays, np.asarray(qids), models, categories, missing, source)
    return EvalLog(arrays, qids_kept, models, categories=categories, source=source, binary=require_binary, missing=report)


def _form_of(names: Sequence[str], source: str) -> str:
    if all(c in names for c in LONG_REQUIRED):
        return "long"
    if WIDE_ID in names:
        return "wide"
    _fail(
        source,
        f"cannot tell the form of the log: long form needs columns {list(LONG_REQUIRED)}, wide form an "
        f"{WIDE_ID!r} column; columns are {list(names)[:10]}",
    )
    raise AssertionError  # pragma: no cover


def _numeric_columns(names: Sequence[str], form: str, source: str) -> list[str]:
    if form == "items":  # an items/category table: everything stays text
        return []
    if form == "auto":
        form = _form_of(names, source)
    if form == "long":
        return [c for c in names if c in NUMERIC_FIELDS or c == "generation"]
    return [c for c in names if c != WIDE_ID and c not in WIDE_METADATA]


def _read_table(path: Path, form: str = "auto"):
    """Read a log file with the checks of :mod:`capfront_lib.core.logfile` (returns a ``LogTable``)."""
    from capfront_lib.core.logfile import read_log_table

    return read_log_table(path, text_columns=(WIDE_ID, "query_id", "model", "category"),
                          numeric_columns=lambda names: _numeric_columns(names, form, str(path)))


def load_log(
    path: str | Path,
    *,
    form: Literal["auto", "long", "wide"] = "auto",
    require_binary: bool = True,
    missing: MissingPolicy = "drop_queries",
    min_models: int = 1,
    items_path: str | Path | None = None,
) -> EvalLog:
    """Load an evaluation log from CSV or parquet, detect long or wide form, validate it.

    ``items_path`` optionally names a table with ``id`` and ``category`` columns (e.g. MMLU-Pro's
    ``mmlu_pro_items.csv``) that supplies query categories for a wide log.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: evaluation log not found")
    if form not in ("auto", "long", "wide"):
        raise ValueError(f"form must be 'auto', 'long' or 'wide', got {form!r}")
    table = _read_table(p, form)
    df, lines = table.frame, table.lines
    source = str(path)
    if form == "auto":
        form = _form_of(list(df.columns), source)
    if form == "long":
        if items_path is not None:
            raise ValueError("items_path is only used with wide logs; put 'category' in the long log instead")
        return from_long(df, source=source, require_binary=require_binary, missing=missing, min_models=min_models, lines=lines)
    if form != "wide":
        raise ValueError(f"form must be 'auto', 'long' or 'wide', got {form!r}")
    cats = None
    if items_path is not None:
        items = _read_table(Path(items_path), "items").frame
        for col in (WIDE_ID, "category"):
            if col not in items.columns:
                _fail(str(items_path), f"items table needs columns 'id' and 'category'; missing {col!r}")
        cats = pd.Series(items["category"].astype(str).to_numpy(), index=items[WIDE_ID].astype(str), name="category")
    return from_wide(df, source=source, require_binary=require_binary, missing=missing, min_models=min_models,
                     categories=cats, lines=lines)
