"""Claims of record: the registry of a paper's headline claims and verdicts computed from rules.

Each chapter ships ``data/<stem>/claims.yaml``, one entry per headline claim of its paper (see
``DEVELOPING.md`` for the fields). A run measures what it can and hands the numbers to a
:class:`Ledger`; the verdict of every row comes from :func:`decide`, a pure function of

    (registry entry, our value, our interval, n, profile)  ->  (verdict, reason).

Notebooks never pass verdict strings. The only verdict that is *declared* rather than computed is
``not-checkable``, and only by the registry (``rule: not-checkable`` with its reason) or by a run that
could not measure the claim at all (:meth:`Ledger.skip`, which states why).

Rules (``rule:`` in the registry)
--------------------------------
``value``        our value within ``tolerance`` of ``target`` (absolute, or relative with ``"5%"``).
                 Out of the band: ``differs``, or ``direction-only`` when ``signed: true`` and our value
                 has the sign of the target (an effect of the right sign but another size).
``equivalence``  "on par": our difference within ±``tolerance`` of ``target`` (default 0); out of the
                 band in either direction is ``differs``.
``direction``    our value on the ``expect`` side (``>`` or ``<``) of ``reference`` (default 0). If the
                 registry also gives ``target``/``tolerance``, a right-side value outside that band is
                 ``direction-only``.
``rank``         "X is best": our value is X's margin over the best competitor; ``> 0`` is reproduced.
``bound``        our value respects the bound ``expect`` (``<=`` or ``>=``) ``target`` up to ``tolerance``.
``holds``        a logical statement checked exactly (our value is a bool).
``not-checkable`` nothing offline can check it; ``why`` says what is missing.

With an interval ``[lo, hi]`` (required when ``statistical: true``) a rule decides only when the whole
interval decides; otherwise the verdict is ``inconclusive``. A row whose ``min_profile`` exceeds the
run's profile is ``inconclusive`` ("needs --profile paper") unless its interval already decides it.
A row measured on fewer than ``min_n`` replicates is ``inconclusive``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

PROFILES = ("quick", "paper")
PROFILE_ENV = "CAPFRONT_PROFILE"
VERDICTS = ("reproduced", "direction-only", "differs", "inconclusive", "not-checkable")
METHODS = ("analytic", "simulation", "public-data", "transcription", "your-log", "not-checkable")
DATA_METHODS = ("simulation", "public-data", "your-log")
# what each verdict means and its mark on the ledger page (the vocabulary lives here, with decide())
VERDICT_HELP: dict[str, str] = {
    "reproduced": "our number satisfies the rule",
    "direction-only": "right sign or ordering, but a size outside the paper's band",
    "differs": "our number contradicts the rule",
    "inconclusive": "our interval is too wide to decide, there are too few replicates, or the claim "
    "needs the paper profile",
    "not-checkable": "no offline check is possible (data not public, section switched off, …)",
}
VERDICT_MARK: dict[str, str] = {
    "reproduced": "✓",
    "direction-only": "↗",
    "differs": "✗",
    "inconclusive": "?",
    "not-checkable": "–",
}
RULES = ("value", "equivalence", "direction", "rank", "bound", "holds", "not-checkable")
LEDGER_COLUMNS = (
    "chapter", "claim_id", "claim", "paper_value", "our_value", "method", "verdict", "reason",
    "location", "rule", "tolerance", "ci_low", "ci_high", "n", "profile", "section",
)
_LOCATION_RE = re.compile(
    r"^(Abstract|Introduction|Conclusion|Summary"
    r"|(Section|Table|Figure|Equation|Proposition|Theorem|Lemma|Corollary|Definition|Algorithm|Remark|Example)"
    r" \d+(\.\d+)*[a-z]?"
    r"|Appendix [A-Z0-9]+(\.\d+)*[A-Z]?)$"
)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_FIELDS = {
    "id", "location", "claim", "paper_value", "rule", "target", "tolerance", "tolerance_why", "expect",
    "reference", "signed", "statistical", "min_n", "method", "min_profile", "section", "why", "unit", "note",
}


class RegistryError(ValueError):
    """A claims registry entry is malformed."""


@dataclass(frozen=True)
class ClaimSpec:
    """One registry entry: a headline claim of the paper and the rule that decides it."""

    id: str
    location: tuple[str, ...]
    claim: str
    paper_value: str
    rule: str
    method: str
    min_profile: str = "quick"
    target: float | None = None
    tolerance: float = 0.0
    relative: bool = False
    tolerance_why: str = ""
    expect: str | None = None
    reference: float = 0.0
    signed: bool = False
    statistical: bool = False
    min_n: int = 1
    section: str = ""
    why: str = ""
    unit: str = ""

    # -- derived text for the ledger ------------------------------------------------------------
    def band(self) -> tuple[float, float] | None:
        """The tolerance band around ``target`` (None when the rule has no target)."""
        if self.target is None:
            return None
        half = abs(self.target) * self.tolerance if self.relative else self.tolerance
        return (self.target - half, self.target + half)

    def tolerance_text(self) -> str:
        if self.rule in ("holds", "not-checkable"):
            return ""
        if self.target is None and self.rule in ("direction", "rank"):
            base = "sign only"
        else:
            base = f"±{_num(self.tolerance * 100)}%" if self.relative else f"±{_num(self.tolerance)}"
        return f"{base} ({self.tolerance_why})" if self.tolerance_why else base

    def rule_text(self) -> str:
        t = _num(self.target) if self.target is not None else ""
        if self.rule == "value":
            return f"value within tolerance of {t}" + (" (sign decides direction-only)" if self.signed else "")
        if self.rule == "equivalence":
            return f"on par: |ours - {t or 0}| within tolerance"
        if self.rule == "direction":
            return f"ours {self.expect} {_num(self.reference)}" + (f"; size {t}" if t else "")
        if self.rule == "rank":
            return "margin over the best competitor > 0"
        if self.rule == "bound":
            return f"ours {self.expect} {t}"
        if self.rule == "holds":
            return "statement holds exactly"
        return "not checkable offline"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x)
    x = float(x)
    if x == 0:
        return "0"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.3g}"
    return f"{x:.4g}"


def _parse_tolerance(raw: Any, where: str) -> tuple[float, bool]:
    if raw is None:
        return 0.0, False
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            return float(raw.strip()[:-1]) / 100.0, True
        except ValueError:
            raise RegistryError(f"{where}: tolerance {raw!r} is not a number or a percentage") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise RegistryError(f"{where}: tolerance must be a number or a percentage string, got {raw!r}")
    if raw < 0 or not math.isfinite(raw):
        raise RegistryError(f"{where}: tolerance must be finite and >= 0, got {raw!r}")
    return float(raw), False


def parse_entry(raw: Mapping[str, Any], where: str = "<registry>") -> ClaimSpec:
    """Validate one registry mapping and return its :class:`ClaimSpec` (raise :class:`RegistryError`)."""
    if not isinstance(raw, Mapping):
        raise RegistryError(f"{where}: each claim must be a mapping, got {type(raw).__name__}")
    cid = raw.get("id")
    where = f"{where} claim {cid!r}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise RegistryError(f"{where}: unknown fields {unknown}; allowed: {sorted(_FIELDS)}")
    if not isinstance(cid, str) or not _ID_RE.match(cid):
        raise RegistryError(f"{where}: id must be a word of letters, digits, '_', '.', '-'")
    loc = raw.get("location")
    if isinstance(loc, str):
        loc = [loc]
    if not loc or not all(isinstance(s, str) for s in loc):
        raise RegistryError(f"{where}: location must be a non-empty list of strings")
    bad = [s for s in loc if not _LOCATION_RE.match(s)]
    if bad:
        raise RegistryError(
            f"{where}: location {bad} not in the fixed form ('Abstract', 'Section 6.3', 'Table 2.7', 'Figure 5.4', "
            "'Equation 10', 'Proposition 2', 'Theorem 3', 'Appendix A', 'Appendix 3C', ...)"
        )
    for name in ("claim", "paper_value"):
        if not isinstance(raw.get(name), (str, int, float)) or not str(raw.get(name)).strip():
            raise RegistryError(f"{where}: field {name!r} is required")
    rule = raw.get("rule")
    if rule not in RULES:
        raise RegistryError(f"{where}: rule must be one of {RULES}, got {rule!r}")
    method = raw.get("method", "not-checkable" if rule == "not-checkable" else None)
    if method not in METHODS:
        raise RegistryError(f"{where}: method must be one of {METHODS}, got {method!r}")
    if (rule == "not-checkable") != (method == "not-checkable"):
        raise RegistryError(f"{where}: rule 'not-checkable' and method 'not-checkable' go together")
    min_profile = raw.get("min_profile", "quick")
    if min_profile not in PROFILES:
        raise RegistryError(f"{where}: min_profile must be one of {PROFILES}, got {min_profile!r}")
    tol, relative = _parse_tolerance(raw.get("tolerance"), where)
    target = raw.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))):
        raise RegistryError(f"{where}: target must be a number, got {target!r}")
    expect = raw.get("expect")
    why = str(raw.get("why", "") or "").strip()
    tol_why = str(raw.get("tolerance_why", "") or "").strip()
    if rule == "not-checkable":
        if not why:
            raise RegistryError(f"{where}: a not-checkable claim needs 'why' (what is missing)")
    elif rule in ("value", "equivalence"):
        if rule == "value" and target is None:
            raise RegistryError(f"{where}: rule 'value' needs a numeric target")
        if raw.get("tolerance") is None or not tol_why:
            raise RegistryError(f"{where}: rule {rule!r} needs a tolerance and a one-line tolerance_why")
        if rule == "equivalence" and target is None:
            target = 0.0
    elif rule == "direction":
        if expect not in (">", "<"):
            raise RegistryError(f"{where}: rule 'direction' needs expect '>' or '<'")
        if target is not None and (raw.get("tolerance") is None or not tol_why):
            raise RegistryError(f"{where}: a direction rule with a target size needs tolerance and tolerance_why")
    elif rule == "bound":
        if expect not in ("<=", ">=") or target is None:
            raise RegistryError(f"{where}: rule 'bound' needs expect '<=' or '>=' and a numeric target")
        if raw.get("tolerance") is not None and not tol_why:
            raise RegistryError(f"{where}: a bound with a tolerance needs tolerance_why")
    min_n = raw.get("min_n", 1)
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise RegistryError(f"{where}: min_n must be a positive integer")
    ref = raw.get("reference", 0.0)
    if isinstance(ref, bool) or not isinstance(ref, (int, float)):
        raise RegistryError(f"{where}: reference must be a number")
    return ClaimSpec(
        id=cid,
        location=tuple(loc),
        claim=str(raw["claim"]).strip(),
        paper_value=str(raw["paper_value"]).strip(),
        rule=rule,
        method=method,
        min_profile=min_profile,
        target=None if target is None else float(target),
        tolerance=tol,
        relative=relative,
        tolerance_why=tol_why,
        expect=expect,
        reference=float(ref),
        signed=bool(raw.get("signed", False)),
        statistical=bool(raw.get("statistical", False)),
        min_n=min_n,
        section=str(raw.get("section", "") or ""),
        why=why,
        unit=str(raw.get("unit", "") or ""),
    )


@dataclass(frozen=True)
class Registry:
    """The claims registry of one chapter (``data/<stem>/claims.yaml``)."""

    chapter: str
    work: str
    claims: tuple[ClaimSpec, ...]

    def __getitem__(self, claim_id: str) -> ClaimSpec:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"chapter {self.chapter!r}: no claim {claim_id!r} in the registry")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.claims]


def registry_path(stem: str) -> Path:
    from capfront_lib.core.resources import data_path

    return data_path(stem, "claims.yaml")


def parse_registry(raw: Any, chapter: str, where: str = "<registry>") -> Registry:
    """Validate a whole registry document ``{work: ..., claims: [...]}``."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("claims"), list):
        raise RegistryError(f"{where}: must be a mapping with a 'claims' list")
    specs = tuple(parse_entry(c, where) for c in raw["claims"])
    ids = [c.id for c in specs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RegistryError(f"{where}: duplicated claim ids {dup}")
    return Registry(chapter, str(raw.get("work", "")), specs)


def load_registry(stem: str, path: str | Path | None = None) -> Registry:
    """Load and validate ``data/<stem>/claims.yaml`` (or ``path``)."""
    p = Path(path) if path else registry_path(stem)
    if not p.exists():
        raise RegistryError(f"chapter {stem!r} has no claims registry at {p}")
    return parse_registry(yaml.safe_load(p.read_text()), stem, str(p))


# ---------------------------------------------------------------------------------------------
# the verdict function


@dataclass(frozen=True)
class Decision:
    verdict: str
    reason: str


def _side(lo: float, hi: float, ref: float, expect: str) -> str:
    """'right', 'wrong' or 'straddle' for an interval against ``ref`` and the expected side."""
    if expect == ">":
        right, wrong = lo > ref, hi <= ref
    elif expect == ">=":
        right, wrong = lo >= ref, hi < ref
    elif expect == "<":
        right, wrong = hi < ref, lo >= ref
    elif expect == "<=":
        right, wrong = hi <= ref, lo > ref
    else:  # pragma: no cover - parse_entry rejects other operators
        raise ValueError(f"expect must be >, >=, < or <=, got {expect!r}")
    return "right" if right else "wrong" if wrong else "straddle"


def _fmt_interval(value: Any, lo: float, hi: float, has_ci: bool) -> str:
    return f"{_num(value)} [{_num(lo)}, {_num(hi)}]" if has_ci else _num(value)


def decide(
    spec: ClaimSpec,
    value: Any,
    ci: Sequence[float] | None = None,
    n: int | None = None,
    profile: str = "quick",
) -> Decision:
    """The verdict of one registry entry given our measured value and interval (pure function).

    ``value`` is a number (a bool for ``holds``); ``ci`` the two-sided interval (lo, hi) that contains
    ``value``; ``n`` the sample size behind the interval (replicates, queries, ...); ``profile`` the
    profile of the run. See the module docstring for the rules.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if spec.rule == "not-checkable":
        return Decision("not-checkable", spec.why)
    under = PROFILES.index(profile) < PROFILES.index(spec.min_profile)
    if spec.rule == "holds":
        if not isinstance(value, bool):
            raise ValueError(f"claim {spec.id!r}: rule 'holds' needs a bool, got {value!r}")
        if under:
            return Decision("inconclusive", "needs --profile paper (the statement is only checked at the paper's scale)")
        return Decision("reproduced", "the statement holds exactly") if value else Decision("differs", "the statement fails")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"claim {spec.id!r}: rule {spec.rule!r} needs a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        return Decision("inconclusive", f"our value is not finite ({_num(v)})")
    has_ci = ci is not None
    if spec.statistical and not has_ci:
        raise ValueError(f"claim {spec.id!r} is statistical: pass its interval ci=(lo, hi)")
    lo, hi = (float(ci[0]), float(ci[1])) if has_ci else (v, v)
    if has_ci:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return Decision("inconclusive", f"the interval is not finite [{_num(lo)}, {_num(hi)}]")
        if not lo <= hi:
            raise ValueError(f"claim {spec.id!r}: interval low {lo} > high {hi}")
        tol_pt = 1e-9 * max(1.0, abs(v))
        if not (lo - tol_pt <= v <= hi + tol_pt):
            raise ValueError(f"claim {spec.id!r}: value {v} lies outside its interval [{lo}, {hi}]")
    if n is not None and n < spec.min_n:
        return Decision("inconclusive", f"n = {n} < {spec.min_n} replicates needed to decide")
    shown = _fmt_interval(v, lo, hi, has_ci)
    d = _apply_rule(spec, v, lo, hi, shown)
    if under:
        decided_by_interval = has_ci and d.verdict != "inconclusive"
        if not decided_by_interval:
            return Decision("inconclusive", "needs --profile paper; at this profile " + d.reason)
    return d


def _apply_rule(spec: ClaimSpec, v: float, lo: float, hi: float, shown: str) -> Decision:
    if spec.rule in ("value", "equivalence"):
        b_lo, b_hi = spec.band()  # type: ignore[misc]
        band = f"[{_num(b_lo)}, {_num(b_hi)}]"
        if lo >= b_lo and hi <= b_hi:
            return Decision("reproduced", f"{shown} lies within the band {band}")
        if hi < b_lo or lo > b_hi:
            t = spec.target or 0.0
            if spec.rule == "value" and spec.signed and t != 0 and (lo > 0 if t > 0 else hi < 0):
                return Decision("direction-only", f"{shown} has the sign of {_num(t)} but lies outside {band}")
            return Decision("differs", f"{shown} lies outside the band {band}")
        return Decision("inconclusive", f"{shown} straddles the band {band}")
    if spec.rule in ("direction", "rank"):
        expect = ">" if spec.rule == "rank" else spec.expect
        ref = 0.0 if spec.rule == "rank" else spec.reference
        side = _side(lo, hi, ref, expect)  # type: ignore[arg-type]
        what = "margin" if spec.rule == "rank" else "value"
        if side == "straddle":
            return Decision("inconclusive", f"{what} {shown} straddles {_num(ref)}")
        if side == "wrong":
            return Decision("differs", f"{what} {shown} is on the other side of {_num(ref)}")
        band = spec.band() if spec.rule == "direction" else None
        if band is not None:
            if lo >= band[0] and hi <= band[1]:
                return Decision("reproduced", f"{shown} {expect} {_num(ref)} and within [{_num(band[0])}, {_num(band[1])}]")
            if hi < band[0] or lo > band[1]:
                return Decision("direction-only", f"{shown} {expect} {_num(ref)} but outside [{_num(band[0])}, {_num(band[1])}]")
            return Decision("inconclusive", f"{shown} {expect} {_num(ref)}; size straddles [{_num(band[0])}, {_num(band[1])}]")
        return Decision("reproduced", f"{what} {shown} {expect} {_num(ref)}")
    if spec.rule == "bound":
        slack = abs(spec.target) * spec.tolerance if spec.relative else spec.tolerance  # type: ignore[arg-type]
        limit = spec.target + slack if spec.expect == "<=" else spec.target - slack  # type: ignore[operator]
        side = _side(lo, hi, limit, spec.expect)  # type: ignore[arg-type]
        if side == "right":
            return Decision("reproduced", f"{shown} {spec.expect} {_num(limit)}")
        if side == "wrong":
            return Decision("differs", f"{shown} violates {spec.expect} {_num(limit)}")
        return Decision("inconclusive", f"{shown} straddles the bound {_num(limit)}")
    raise AssertionError(spec.rule)  # pragma: no cover - parse_entry rejects other rules


# ---------------------------------------------------------------------------------------------
# the ledger of one run


@dataclass(frozen=True)
class LedgerRow:
    chapter: str
    claim_id: str
    claim: str
    paper_value: str
    our_value: str
    method: str
    verdict: str
    reason: str
    location: str
    rule: str
    tolerance: str
    ci_low: float | None
    ci_high: float | None
    n: int | None
    profile: str
    section: str

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in LEDGER_COLUMNS}


def current_profile() -> str:
    """The profile of this run: set by the runner in ``CAPFRONT_PROFILE``; ``quick`` in a live session."""
    p = os.environ.get(PROFILE_ENV, "quick") or "quick"
    if p not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={p!r} is not one of {PROFILES}")
    return p


@dataclass
class Ledger:
    """The claims ledger of one chapter run: one row per registry entry, verdicts computed.

    >>> ledger = Ledger("oracle_debiasing")                       # doctest: +SKIP
    >>> ledger.measure("eq10", 0.7500, note="exact binomial sum")  # doctest: +SKIP
    >>> ledger.measure("pgm", -0.035, ci=(-0.05, -0.02), n=5)      # doctest: +SKIP
    >>> ledger.skip("math_tail", "needs the authors' per-query matrices")  # doctest: +SKIP
    """

    chapter: str
    profile: str | None = None
    registry: Registry | None = None
    _rows: dict[str, LedgerRow] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.registry is None:
            self.registry = load_registry(self.chapter)
        if self.profile is None:
            self.profile = current_profile()
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")

    # -- recording ------------------------------------------------------------------------------
    def measure(
        self,
        claim_id: str,
        value: Any,
        *,
        ci: Sequence[float] | None = None,
        n: int | None = None,
        method: str | None = None,
        display: str | None = None,
        note: str = "",
    ) -> LedgerRow:
        """Record what this run measured for ``claim_id``; the verdict is computed by :func:`decide`.

        ``method`` may replace the registry's data method by another data method (e.g. ``public-data``
        or ``your-log`` instead of ``simulation`` when the run used real logs). ``display`` overrides the
        formatted value (e.g. ``"0.7138 vs 0.7138"``); ``note`` is appended to the computed reason.
        """
        spec = self.registry[claim_id]  # type: ignore[index]
        if spec.rule == "not-checkable":
            raise ValueError(f"claim {claim_id!r} is registered as not-checkable ({spec.why}); it cannot be measured")
        self._check_new(claim_id)
        use_method = self._method(spec, method)
        d = decide(spec, value, ci, n, self.profile)  # type: ignore[arg-type]
        shown = display if display is not None else self._format(spec, value, ci)
        return self._add(spec, shown, use_method, d, ci, n, note)

    def skip(self, claim_id: str, why: str) -> LedgerRow:
        """Record that this run could not measure ``claim_id`` (data absent, section switched off, ...)."""
        spec = self.registry[claim_id]  # type: ignore[index]
        self._check_new(claim_id)
        if not why.strip():
            raise ValueError(f"claim {claim_id!r}: skip needs a reason")
        if spec.rule == "not-checkable":
            d = Decision("not-checkable", spec.why)
            return self._add(spec, "", spec.method, d, None, None, why)
        under = PROFILES.index(self.profile) < PROFILES.index(spec.min_profile)  # type: ignore[arg-type]
        d = Decision("inconclusive", f"needs --profile paper; not measured in this run: {why}") if under else Decision(
            "not-checkable", f"not measured in this run: {why}"
        )
        return self._add(spec, "", spec.method, d, None, None, "")

    def record_not_checkable(self) -> None:
        """Add the rows of every registry entry declared ``not-checkable`` that has no row yet."""
        for spec in self.registry.claims:  # type: ignore[union-attr]
            if spec.rule == "not-checkable" and spec.id not in self._rows:
                self._add(spec, "", spec.method, Decision("not-checkable", spec.why), None, None, "")

    # -- reading --------------------------------------------------------------------------------
    def rows(self) -> list[LedgerRow]:
        """Rows in registry order (only those recorded so far)."""
        return [self._rows[i] for i in self.registry.ids if i in self._rows]  # type: ignore[union-attr]

    def missing(self) -> list[str]:
        return [i for i in self.registry.ids if i not in self._rows]  # type: ignore[union-attr]

    def verdict(self, claim_id: str) -> str:
        """The computed verdict of a recorded row (for prose that must agree with the ledger)."""
        return self._rows[claim_id].verdict

    def frame(self):
        import pandas as pd

        return pd.DataFrame([r.as_dict() for r in self.rows()], columns=list(LEDGER_COLUMNS))

    def complete_rows(self) -> list[LedgerRow]:
        """All rows, after checking that every registry entry has one."""
        self.record_not_checkable()
        missing = self.missing()
        if missing:
            raise ValueError(
                f"chapter {self.chapter!r}: registry claims without a ledger row in this run: {missing} "
                "(measure them, or skip them with the reason)"
            )
        return self.rows()

    # -- internals ------------------------------------------------------------------------------
    def _check_new(self, claim_id: str) -> None:
        if claim_id in self._rows:
            raise ValueError(f"claim {claim_id!r} was already recorded in this run")

    def _method(self, spec: ClaimSpec, method: str | None) -> str:
        if method is None or method == spec.method:
            return spec.method
        if method in DATA_METHODS and spec.method in DATA_METHODS:
            return method
        raise ValueError(
            f"claim {spec.id!r}: method {method!r} cannot replace the registry's {spec.method!r} "
            f"(only the data methods {DATA_METHODS} are interchangeable)"
        )

    @staticmethod
    def _format(spec: ClaimSpec, value: Any, ci: Sequence[float] | None) -> str:
        if isinstance(value, bool):
            return "holds" if value else "fails"
        unit = f" {spec.unit}" if spec.unit else ""
        if ci is None:
            return f"{_num(value)}{unit}"
        return f"{_num(value)}{unit} [{_num(ci[0])}, {_num(ci[1])}]"

    def _add(self, spec, shown, method, d: Decision, ci, n, note) -> LedgerRow:
        reason = d.reason + (f"; {note.strip()}" if note and note.strip() else "")
        row = LedgerRow(
            chapter=self.chapter,
            claim_id=spec.id,
            claim=spec.claim,
            paper_value=spec.paper_value,
            our_value=shown,
            method=method,
            verdict=d.verdict,
            reason=reason,
            location="; ".join(spec.location),
            rule=spec.rule_text(),
            tolerance=spec.tolerance_text(),
            ci_low=None if ci is None else float(ci[0]),
            ci_high=None if ci is None else float(ci[1]),
            n=None if n is None else int(n),
            profile=self.profile,  # type: ignore[arg-type]
            section=spec.section,
        )
        self._rows[spec.id] = row
        return row


def verdict_counts(rows: Iterable[LedgerRow]) -> dict[str, int]:
    """How many rows got each verdict (all verdicts present, zeros included)."""
    counts = {v: 0 for v in VERDICTS}
    for r in rows:
        counts[r.verdict] += 1
    return counts
