"""Typed parameter schemas: one per chapter, checked by the runner before any kernel starts.

A chapter declares ``SCHEMA = Schema("<stem>", [...], checks=[...], guards=[...])`` in
``capfront_lib/<package>/params.py`` (``capfront_lib.evaluation_logs`` for the opening chapter). The
defaults stay in the notebook's ``parameters`` cell (papermill needs them there); the schema says what a
value may be: its type, range, choices, list length, whether a path must exist, cross-parameter rules,
and a resource guard on sizes. The same schema validates

- ``capfront run/sweep -p NAME VALUE`` before any kernel starts (one line, exit 2),
- the notebook itself, in one hidden line: ``check_parameters("<stem>", globals())``.

Errors are :class:`ParameterError` (a ``ValueError``) with one line naming the parameter.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

# chapter stem -> module holding SCHEMA
SCHEMA_MODULES: dict[str, str] = {
    "evaluation_logs": "capfront_lib.evaluation_logs",
    "oracle_debiasing": "capfront_lib.oracle_debiasing.params",
    "co_failure_ceiling": "capfront_lib.cofailure.params",
    "inference_dynamics": "capfront_lib.inference_dynamics.params",
    "markov_copula_cascades": "capfront_lib.markov_copula_cascades.params",
    "economic_evaluation": "capfront_lib.economic_evaluation.params",
    "human_in_the_loop": "capfront_lib.human_in_the_loop.params",
    "repliclust": "capfront_lib.repliclust.params",
}
# parameters the runner owns: never set with -p (results_dir has --results-dir)
RUNNER_OWNED = ("results_dir",)


class ParameterError(ValueError):
    """A parameter value is impossible (wrong type, out of range, too large)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(float(v))


@dataclass(frozen=True)
class Param:
    """One parameter: its kind and constraints.

    ``kind``: ``int``, ``float``, ``bool``, ``str``, ``choice``, ``int-list``, ``float-list``,
    ``str-list``, ``path`` (an input file; ``""`` means none when ``optional``) or ``dir`` (an output
    folder owned by the runner).
    """

    name: str
    kind: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    choices: tuple[Any, ...] = ()
    length: int | None = None
    min_length: int = 0
    max_length: int | None = None
    optional: bool = True
    sorted_: bool = False

    def describe(self) -> str:
        """Short text of the constraint, for ``capfront list`` and the parameters table."""
        parts = [self.kind]
        if self.min is not None or self.max is not None:
            lo = "" if self.min is None else ("(" if self.strict_min else "[") + _g(self.min)
            hi = "" if self.max is None else _g(self.max) + (")" if self.strict_max else "]")
            if self.min is not None and self.max is not None:
                parts.append(f"in {lo}, {hi}")
            elif self.min is not None:
                parts.append(f"{'>' if self.strict_min else '>='} {_g(self.min)}")
            else:
                parts.append(f"{'<' if self.strict_max else '<='} {_g(self.max)}")
        if self.choices:
            parts.append("one of " + ", ".join(map(str, self.choices)))
        if self.length is not None:
            parts.append(f"length {self.length}")
        elif self.min_length or self.max_length:
            parts.append(f"length {self.min_length}..{self.max_length or ''}")
        return " ".join(parts)

    # -- validation -----------------------------------------------------------------------------
    def check(self, value: Any) -> Any:
        """Return the value (floats normalised) or raise :class:`ParameterError`."""
        k = self.kind
        if k == "int":
            if not _is_int(value):
                self._fail(f"must be an integer, got {value!r}")
            self._range(value)
            return int(value)
        if k == "float":
            if not _is_real(value):
                self._fail(f"must be a finite number, got {value!r}")
            self._range(float(value))
            return float(value)
        if k == "bool":
            if not isinstance(value, bool):
                self._fail(f"must be true or false, got {value!r}")
            return value
        if k in ("str", "choice"):
            if not isinstance(value, str):
                self._fail(f"must be a string, got {value!r}")
            if self.choices and value not in self.choices:
                self._fail(f"must be one of {list(self.choices)}, got {value!r}")
            return value
        if k in ("int-list", "float-list", "str-list"):
            if not isinstance(value, (list, tuple)):
                self._fail(f"must be a list, got {value!r}")
            n = len(value)
            if self.length is not None and n != self.length:
                self._fail(f"must be a list of {self.length} items, got {n}: {list(value)!r}")
            if n < self.min_length:
                self._fail(f"must have at least {self.min_length} items, got {n}")
            if self.max_length is not None and n > self.max_length:
                self._fail(f"must have at most {self.max_length} items, got {n}")
            out = []
            for i, item in enumerate(value):
                if k == "int-list" and not _is_int(item):
                    self._fail(f"item {i} must be an integer, got {item!r}")
                if k == "float-list" and not _is_real(item):
                    self._fail(f"item {i} must be a finite number, got {item!r}")
                if k == "str-list":
                    if not isinstance(item, str):
                        self._fail(f"item {i} must be a string, got {item!r}")
                    if self.choices and item not in self.choices:
                        self._fail(f"item {i} must be one of {list(self.choices)}, got {item!r}")
                else:
                    self._range(item, f"item {i} ")
                out.append(float(item) if k == "float-list" else item)
            if self.sorted_ and out != sorted(out):
                self._fail(f"must be in increasing order, got {out!r}")
            return out
        if k == "path":
            if not isinstance(value, str):
                self._fail(f"must be a path string, got {value!r}")
            if not value:
                if not self.optional:
                    self._fail("is required")
                return value
            p = Path(value).expanduser()
            if not p.exists():
                self._fail(f"file not found: {value}")
            if p.is_dir():
                self._fail(f"is a folder, expected a file: {value}")
            return value
        if k == "dir":
            if not isinstance(value, str) or not value:
                self._fail(f"must be a folder path, got {value!r}")
            return value
        raise ParameterError(f"parameter {self.name!r}: unknown kind {k!r} in the schema")

    def _range(self, v: float, prefix: str = "") -> None:
        if self.min is not None and (v < self.min or (self.strict_min and v == self.min)):
            self._fail(f"{prefix}must be {'>' if self.strict_min else '>='} {_g(self.min)}, got {_g(v)}")
        if self.max is not None and (v > self.max or (self.strict_max and v == self.max)):
            self._fail(f"{prefix}must be {'<' if self.strict_max else '<='} {_g(self.max)}, got {_g(v)}")

    def _fail(self, msg: str) -> None:
        raise ParameterError(f"parameter {self.name!r} {msg}")


def _g(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# -- constructors (keep schemas short and readable) ---------------------------------------------
def Int(name: str, *, min: int | None = None, max: int | None = None, help: str = "") -> Param:
    return Param(name, "int", help, min=min, max=max)


def Seed(name: str = "seed", help: str = "master seed") -> Param:
    return Param(name, "int", help, min=0, max=2**32 - 1)


def Float(name: str, *, min: float | None = None, max: float | None = None, strict_min: bool = False,
          strict_max: bool = False, help: str = "") -> Param:
    return Param(name, "float", help, min=min, max=max, strict_min=strict_min, strict_max=strict_max)


def Prob(name: str, *, open: bool = False, help: str = "") -> Param:
    return Param(name, "float", help, min=0.0, max=1.0, strict_min=open, strict_max=open)


def Bool(name: str, help: str = "") -> Param:
    return Param(name, "bool", help)


def Str(name: str, help: str = "") -> Param:
    return Param(name, "str", help)


def Choice(name: str, choices: Sequence[str], help: str = "") -> Param:
    return Param(name, "choice", help, choices=tuple(choices))


def IntList(name: str, *, min: int | None = None, max: int | None = None, length: int | None = None,
            min_length: int = 1, max_length: int | None = None, sorted: bool = False, help: str = "") -> Param:
    return Param(name, "int-list", help, min=min, max=max, length=length, min_length=min_length,
                 max_length=max_length, sorted_=sorted)


def FloatList(name: str, *, min: float | None = None, max: float | None = None, strict_min: bool = False,
              strict_max: bool = False, length: int | None = None, min_length: int = 1,
              max_length: int | None = None, sorted: bool = False, help: str = "") -> Param:
    return Param(name, "float-list", help, min=min, max=max, strict_min=strict_min, strict_max=strict_max,
                 length=length, min_length=min_length, max_length=max_length, sorted_=sorted)


def StrList(name: str, *, choices: Sequence[str] = (), min_length: int = 0, help: str = "") -> Param:
    return Param(name, "str-list", help, choices=tuple(choices), min_length=min_length)


def InputPath(name: str, help: str = "", optional: bool = True) -> Param:
    return Param(name, "path", help, optional=optional)


def ResultsDir(name: str = "results_dir") -> Param:
    return Param(name, "dir", "where results.json and claims.csv go (set by the runner: --results-dir)")


@dataclass(frozen=True)
class Guard:
    """A resource guard: ``size(params)`` must not exceed ``limit`` (e.g. cells of a simulated array)."""

    what: str  # e.g. "n_prompts × n_models × n_gens × n_seeds"
    size: Callable[[Mapping[str, Any]], float]
    limit: float
    unit: str = "cells"
    advice: str = "lower them"

    def check(self, p: Mapping[str, Any]) -> None:
        s = float(self.size(p))
        if not s <= self.limit:
            raise ParameterError(
                f"parameters ask for {s:,.0f} {self.unit} ({self.what}); the limit is {self.limit:,.0f} on this machine class: {self.advice}"
            )


Check = Callable[[Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class Schema:
    """The parameters of one chapter and the rules that tie them together."""

    chapter: str
    params: tuple[Param, ...]
    checks: tuple[Check, ...] = ()
    guards: tuple[Guard, ...] = ()
    by_name: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __init__(self, chapter: str, params: Iterable[Param], *, checks: Iterable[Check] = (),
                 guards: Iterable[Guard] = ()) -> None:
        object.__setattr__(self, "chapter", chapter)
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "checks", tuple(checks))
        object.__setattr__(self, "guards", tuple(guards))
        names = [p.name for p in self.params]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"schema {chapter!r}: duplicated parameters {dup}")
        object.__setattr__(self, "by_name", {p.name: p for p in self.params})

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def validate(self, values: Mapping[str, Any], *, only: Iterable[str] | None = None) -> dict[str, Any]:
        """Check every parameter, then the cross-parameter rules and the guards; return normalised values.

        ``values`` must hold exactly the schema's parameters (extra names, e.g. notebook globals, are
        ignored only when ``only`` selects the names to read).
        """
        names = list(only) if only is not None else self.names
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ParameterError(f"chapter {self.chapter!r}: parameters {missing} are not set")
        if only is None:
            extra = sorted(set(values) - set(self.names))
            if extra:
                raise ParameterError(f"chapter {self.chapter!r} has no parameter {extra[0]!r}; valid: {', '.join(self.names)}")
        out = {n: self.by_name[n].check(values[n]) for n in names}
        for rule in self.checks:
            msg = rule(out)
            if msg:
                raise ParameterError(msg)
        for g in self.guards:
            g.check(out)
        return out


def schema_for(stem: str) -> Schema | None:
    """The schema of a chapter (None for pages such as the claims ledger)."""
    module = SCHEMA_MODULES.get(stem)
    if module is None:
        return None
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as err:  # a chapter without a params module yet; real import errors propagate
        if err.name == module:
            return None
        raise
    schema = getattr(mod, "SCHEMA", None)
    if schema is None:
        return None
    if not isinstance(schema, Schema) or schema.chapter != stem:
        raise ValueError(f"{module}.SCHEMA is not the Schema of chapter {stem!r}")
    return schema


def check_parameters(stem: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a notebook's parameters in one line: ``P = check_parameters("<stem>", globals())``.

    Raises :class:`ParameterError` with one line naming the parameter. Returns the normalised values.
    """
    schema = schema_for(stem)
    if schema is None:
        raise ValueError(f"chapter {stem!r} has no parameter schema")
    return schema.validate(namespace, only=schema.names)
