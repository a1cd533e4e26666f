"""The claims-ledger page of the book: every chapter's ``claims.csv``, read, checked and laid out.

The page (``notebooks/claims_ledger.md``) holds one section per chapter and calls this module in
one-line hidden cells; everything here is plumbing that a reader of the page does not need to see:

- :func:`read_chapter_ledger` reads ``results/<stem>/claims.csv`` (all of ``core.claims.LEDGER_COLUMNS``:
  verdicts computed from ``data/<stem>/claims.yaml``). Anything else, including a ledger with typed
  verdicts from an older capfront, is refused with one line naming the file, the column and the row.
- :func:`coverage` counts, per chapter, the registered claims, the measured rows, the
  not-checkable rows and the verdicts.
- :func:`chapter_html` renders the coverage line and the ledger table of one chapter; each row links
  to the chapter section that computes it (``chapters/<stem>.html#<label>``), or to the chapter's own
  ledger section when the row names none.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from capfront_lib.core import fmt
from capfront_lib.core.claims import (LEDGER_COLUMNS, PROFILES, RULES, VERDICT_HELP, VERDICT_MARK, VERDICTS,
                                      Registry, load_registry)
from capfront_lib.core.results import CLAIM_COLUMNS
from capfront_lib.core.tables import CSS_CLASS, table_html

REGISTRY_COLUMNS: tuple[str, ...] = tuple(c for c in LEDGER_COLUMNS if c not in CLAIM_COLUMNS)

# Legend of the page: one line per rule and per verdict of core.claims (a test checks the keys).
RULE_HELP: dict[str, str] = {
    "value": "our value (or its whole interval) lies within the paper's number ± the tolerance",
    "equivalence": "“on par”: the difference between two systems lies within ± the tolerance",
    "direction": "the sign or ordering the paper states (A better than B), with its interval; "
    "when the paper also states a size, that size is checked too",
    "rank": "“X is best”: X's margin over the best competitor is above zero, with its interval",
    "bound": "our value respects the bound the paper states (≤ or ≥, up to the tolerance)",
    "holds": "an exact statement (a theorem's inequality, an identity) is true for our numbers",
    "not-checkable": "nothing offline can check the claim; the reason says what is missing",
}
LEDGER_HEADING = re.compile(r"^#{2,6}\s+(.*\bclaims ledger\b.*)$", re.IGNORECASE)
LABEL_LINE = re.compile(r"^\(([^()\s]+)\)=\s*$")


class LedgerFileError(ValueError):
    """A chapter's claims.csv cannot be shown (the message names file, column and row)."""


@dataclass(frozen=True)
class ChapterLedger:
    """The rows one chapter wrote, with every column of ``LEDGER_COLUMNS`` (empty when not written)."""

    stem: str
    path: Path
    rows: pd.DataFrame


@dataclass(frozen=True)
class Coverage:
    """What one chapter's ledger covers (see :func:`coverage`)."""

    registered: int | None  # registry entries; None when the chapter has no registry yet
    rows: int
    measured: int  # rows with a value this run measured
    not_checkable: int
    unmeasured: int  # rows without a value that are not not-checkable (e.g. needs the paper profile)
    verdicts: dict[str, int]
    missing_ids: tuple[str, ...] = ()  # registry ids without a row
    unregistered_ids: tuple[str, ...] = ()  # rows without a registry entry
    profiles: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# reading


def read_chapter_ledger(path: str | Path, stem: str) -> ChapterLedger:
    """Read and check one ``claims.csv``; raise :class:`LedgerFileError` naming file, column and row."""
    p = Path(path)
    if not p.exists():
        raise LedgerFileError(f"{p}: no claims ledger (run the chapter {stem!r} first)")
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    cols = list(df.columns)
    missing = [c for c in CLAIM_COLUMNS if c not in cols]
    if missing:
        raise LedgerFileError(f"{p}: header (line 1) lacks the column(s) {missing}")
    unknown = [c for c in cols if c not in LEDGER_COLUMNS]
    if unknown:
        raise LedgerFileError(f"{p}: header (line 1) has unknown column(s) {unknown}; known: {list(LEDGER_COLUMNS)}")
    absent = [c for c in REGISTRY_COLUMNS if c not in cols]
    if absent:
        raise LedgerFileError(
            f"{p}: header (line 1) lacks the registry column(s) {absent}: a ledger without them has typed "
            "verdicts (an older capfront); rerun the chapter"
        )
    for i, r in df.iterrows():
        line = int(i) + 2  # header is line 1
        if r["chapter"] != stem:
            raise LedgerFileError(f"{p}: line {line}, column 'chapter': {r['chapter']!r} is not {stem!r}")
        if not r["claim_id"].strip():
            raise LedgerFileError(f"{p}: line {line}, column 'claim_id' is empty")
        if r["verdict"] not in VERDICTS:
            raise LedgerFileError(f"{p}: line {line}, column 'verdict': {r['verdict']!r} is not one of {list(VERDICTS)}")
        if r["profile"] not in PROFILES:
            raise LedgerFileError(f"{p}: line {line}, column 'profile': {r['profile']!r} is not one of {list(PROFILES)}")
    dup = df["claim_id"][df["claim_id"].duplicated()].tolist()
    if dup:
        raise LedgerFileError(f"{p}: column 'claim_id' repeats {sorted(set(dup))}")
    return ChapterLedger(stem, p, df[list(LEDGER_COLUMNS)].reset_index(drop=True))


def read_book_ledger(results_root: str | Path, chapters: Sequence[str]) -> dict[str, ChapterLedger | None]:
    """Every chapter's ledger (``None`` for a chapter without ``claims.csv`` in ``results_root``)."""
    root = Path(results_root)
    out: dict[str, ChapterLedger | None] = {}
    for stem in chapters:
        p = root / stem / "claims.csv"
        out[stem] = read_chapter_ledger(p, stem) if p.exists() else None
    return out


def chapter_registry(stem: str) -> Registry | None:
    """The chapter's claims registry, or ``None`` for a chapter that reproduces no paper (evaluation_logs)."""
    from capfront_lib.core.claims import registry_path

    try:
        path = registry_path(stem)
    except Exception:  # noqa: BLE001 - no data folder for this chapter
        return None
    return load_registry(stem, path) if path.exists() else None


# ---------------------------------------------------------------------------------------------
# coverage


def coverage(ch: ChapterLedger, registry: Registry | None) -> Coverage:
    """Counts of one chapter's ledger.

    ``measured`` = rows with a value of this run (``our_value`` not empty); ``not_checkable`` = rows with
    that verdict; ``unmeasured`` = the remaining rows without a value (e.g. skipped, needs the paper
    profile). ``registered`` is the number of registry entries, and the ids on one side only are listed.
    """
    df = ch.rows
    has_value = df["our_value"].str.strip() != ""
    nc = df["verdict"] == "not-checkable"
    counts = {v: int((df["verdict"] == v).sum()) for v in VERDICTS}
    ids = list(df["claim_id"])
    reg_ids = registry.ids if registry is not None else None
    return Coverage(
        registered=None if reg_ids is None else len(reg_ids),
        rows=len(df),
        measured=int((has_value & ~nc).sum()),
        not_checkable=int(nc.sum()),
        unmeasured=int((~has_value & ~nc).sum()),
        verdicts=counts,
        missing_ids=tuple(i for i in (reg_ids or []) if i not in ids),
        unregistered_ids=tuple(i for i in ids if reg_ids is not None and i not in reg_ids),
        profiles=tuple(sorted({p for p in df["profile"] if p})),
    )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{fmt.number(n)} {one if n == 1 else (many or one + 's')}"


def coverage_text(cov: Coverage) -> str:
    """One line: ``34 registered · 20 measured · 14 not-checkable — 15 reproduced, 5 differs, …``."""
    if cov.rows == 0 and not cov.registered:
        return "no claims recorded (the chapter has no claims registry)"
    if cov.registered is None:
        head = f"no registry yet · {_count(cov.rows, 'row')} written by the chapter"
    else:
        head = f"{fmt.number(cov.registered)} registered"
    parts = [head, f"{fmt.number(cov.measured)} measured", f"{fmt.number(cov.not_checkable)} not-checkable"]
    if cov.unmeasured:
        parts.append(f"{fmt.number(cov.unmeasured)} not measured in this run")
    verdicts = ", ".join(f"{fmt.number(n)} {v}" for v, n in cov.verdicts.items() if n)
    text = " · ".join(parts) + (f" — {verdicts}" if verdicts else " — no rows")
    if cov.missing_ids:
        text += f"; registry ids without a row: {', '.join(cov.missing_ids)}"
    if cov.unregistered_ids:
        text += f"; rows without a registry entry: {', '.join(cov.unregistered_ids)}"
    return text


# ---------------------------------------------------------------------------------------------
# links


def anchor_id(label: str) -> str:
    """The HTML id Sphinx gives a MyST label ``(label)=`` (docutils ``make_id``)."""
    from docutils.nodes import make_id

    return make_id(label)


def ledger_section_anchor(notebook: str | Path) -> str | None:
    """The anchor of the chapter's own "Claims ledger" section in its executed notebook.

    The heading's MyST label when it has one (``(sec-x-ledger)=`` on the line before), else the id
    Sphinx derives from the heading text. ``None`` when the chapter has no such heading.
    """
    import nbformat

    p = Path(notebook)
    if not p.exists():
        return None
    nb = nbformat.read(p, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            m = LEDGER_HEADING.match(line.strip())
            if not m:
                continue
            prev = [s.strip() for s in lines[:i] if s.strip()]
            label = LABEL_LINE.match(prev[-1]) if prev else None
            return anchor_id(label.group(1) if label else m.group(1).strip())
    return None


def row_href(stem: str, section: str, ledger_anchor: str | None) -> str:
    """Link of one ledger row from the ledger page (``book/claims_ledger.html``)."""
    page = f"chapters/{stem}.html"
    if section.strip():
        return f"{page}#{anchor_id(section.strip())}"
    return f"{page}#{ledger_anchor}" if ledger_anchor else page


# ---------------------------------------------------------------------------------------------
# HTML


def verdict_badge(verdict: str) -> str:
    """The verdict as text with its mark and colour class (colour never carries the meaning alone)."""
    mark = VERDICT_MARK.get(verdict, "")
    return (
        f'<span class="cf-verdict cf-verdict-{html.escape(verdict)}">'
        f'<span class="cf-verdict-mark" aria-hidden="true">{mark}</span> {html.escape(verdict)}</span>'
    )


def _e(text: str) -> str:
    return html.escape(str(text))


def _ours(row: Mapping[str, str]) -> str:
    value = row["our_value"].strip()
    out = _e(value) if value else f'<span class="cf-empty">{fmt.MISSING}</span>'
    n = row.get("n", "").strip()
    if n:
        try:
            n_text = fmt.number(int(float(n)))
        except ValueError:
            n_text = n
        out += f'<span class="cf-sub">n = {_e(n_text)}</span>'
    return out


def _rule(row: Mapping[str, str]) -> str:
    parts = [_e(row["rule"]) if row["rule"] else ""]
    if row["tolerance"]:
        parts.append(f'<span class="cf-sub">tolerance {_e(row["tolerance"])}</span>')
    parts.append(f'<span class="cf-sub">method: {_e(row["method"])}</span>')
    return "".join(p for p in parts if p)


LEDGER_HEADERS: tuple[tuple[str, str], ...] = (
    ("claim", "Claim"),
    ("paper", "Paper"),
    ("ours", "This build"),
    ("verdict", "Verdict"),
    ("rule", "Rule"),
    ("reason", "Reason"),
)


def ledger_table_html(ch: ChapterLedger, ledger_anchor: str | None) -> str:
    """The ledger table of one chapter (in a ``cf-table`` box that scrolls, never widens the page)."""
    head = "".join(f'<th class="cf-col-{k}" scope="col">{_e(t)}</th>' for k, t in LEDGER_HEADERS)
    body = []
    for _, r in ch.rows.iterrows():
        href = row_href(ch.stem, r["section"], ledger_anchor)
        where = f' · {_e(r["location"])}' if r["location"] else ""
        claim = (
            f'<a class="cf-claim-link" href="{_e(href)}" title="the chapter section that computes it">'
            f'{_e(r["claim_id"])}</a><span class="cf-where">{where}</span>'
            f'<span class="cf-claim-text">{_e(r["claim"])}</span>'
        )
        cells = {
            "claim": claim,
            "paper": _e(r["paper_value"]) if r["paper_value"] else fmt.MISSING,
            "ours": _ours(r),
            "verdict": verdict_badge(r["verdict"]),
            "rule": _rule(r),
            "reason": _e(r["reason"]),
        }
        tds = "".join(
            f'<td class="cf-col-{k}" data-label="{_e(t)}">{cells[k]}</td>' for k, t in LEDGER_HEADERS
        )
        body.append(f'<tr class="cf-row-{_e(r["verdict"])}" id="claim-{_e(anchor_id(ch.stem + "-" + r["claim_id"]))}">{tds}</tr>')
    return (
        f'<div class="{CSS_CLASS} cf-ledger-box"><table class="cf-ledger" data-chapter="{_e(ch.stem)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def chapter_html(
    stem: str,
    ledger: ChapterLedger | None,
    registry: Registry | None,
    *,
    title: str,
    ledger_anchor: str | None,
    build_profile: str,
) -> str:
    """Coverage line, notes and ledger table of one chapter's section on the page."""
    link = f'<a href="chapters/{_e(stem)}.html">{_e(title or stem)}</a>'
    if ledger is None:
        return (
            f'<p class="cf-coverage cf-coverage-missing" data-chapter="{_e(stem)}">{link}: no '
            f"<code>results/{_e(stem)}/claims.csv</code> in this build (run the chapter).</p>"
        )
    cov = coverage(ledger, registry)
    notes = []
    other = [p for p in cov.profiles if p != build_profile]
    if other:
        notes.append(f"Rows come from a run with the {', '.join(other)} profile, not this build's {build_profile} profile.")
    note_html = "".join(f'<p class="cf-ledger-note">{_e(n)}</p>' for n in notes)
    line = f'<p class="cf-coverage" data-chapter="{_e(stem)}">{link}: {_e(coverage_text(cov))}</p>'
    table = ledger_table_html(ledger, ledger_anchor) if len(ledger.rows) else ""
    return line + note_html + table


def legend_html() -> str:
    """The legend: what each rule checks and what each verdict means (names from core.claims)."""
    rules = "".join(f"<dt><code>{_e(k)}</code></dt><dd>{_e(RULE_HELP[k])}</dd>" for k in RULES)
    verdicts = "".join(f"<dt>{verdict_badge(k)}</dt><dd>{_e(VERDICT_HELP[k])}</dd>" for k in VERDICTS)
    return (
        '<div class="cf-legend"><div class="cf-legend-part"><p class="cf-legend-title">Rules</p>'
        f'<dl class="cf-legend-rules">{rules}</dl></div><div class="cf-legend-part">'
        f'<p class="cf-legend-title">Verdicts</p><dl class="cf-legend-verdicts">{verdicts}</dl></div></div>'
    )


def summary_table_html(book: Mapping[str, ChapterLedger | None], titles: Mapping[str, str]) -> str:
    """One row per chapter: registered, measured, not-checkable and the verdict counts (core formatter)."""
    records = []
    for stem, ch in book.items():
        if ch is None:
            continue
        cov = coverage(ch, chapter_registry(stem))
        records.append(
            {
                "chapter": short_title(titles.get(stem) or stem),
                "registered": cov.registered if cov.registered is not None else float("nan"),
                "measured": cov.measured,
                **{v: cov.verdicts[v] for v in VERDICTS},
            }
        )
    frame = pd.DataFrame(records, columns=["chapter", "registered", "measured", *VERDICTS])
    total = {c: frame[c].sum() for c in frame.columns if c != "chapter"}
    frame = pd.concat([frame, pd.DataFrame([{"chapter": "all chapters", **total}])], ignore_index=True)
    no_registry = bool(frame["registered"].isna().any())
    return table_html(
        frame,
        missing="the chapter has no claims registry (it reproduces no paper), so nothing is registered"
        if no_registry
        else None,
        notes=["measured: rows with a value computed in this build; the verdict columns count every row."],
    )


PAPER_LEDGER = "benchmarks/paper_ledger.csv"
"""The committed ledger of the last full ``--profile paper`` run (written by ``benchmarks/paper_ledger.py``)."""
PAPER_PROVENANCE = ("commit", "commit_date", "produced")


def read_paper_ledger(path: str | Path) -> pd.DataFrame | None:
    """The paper-profile ledger (``None`` when the file is absent, e.g. in an installed package).

    Refused with one line naming the file when a column is missing or a row is not from the paper profile."""
    p = Path(path)
    if not p.is_file():
        return None
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in (*PAPER_PROVENANCE, *LEDGER_COLUMNS) if c not in df.columns]
    if missing:
        raise LedgerFileError(f"{p}: header (line 1) lacks the column(s) {missing}")
    bad = df.index[df["profile"] != "paper"]
    if len(bad):
        raise LedgerFileError(f"{p}: line {int(bad[0]) + 2}, column 'profile': {df.loc[bad[0], 'profile']!r} is not 'paper'")
    return df


def paper_scale_html(paper: pd.DataFrame | None, book: Mapping[str, ChapterLedger | None],
                     titles: Mapping[str, str], build_profile: str) -> str:
    """Verdict counts of the committed paper-profile run, and the rows whose verdict this build changes."""
    if paper is None:
        return (f'<p class="cf-ledger-note">No paper-profile ledger here (<code>{_e(PAPER_LEDGER)}</code> is part of '
                "the repository, not of an installed package).</p>")
    commit = paper["commit"].iloc[0] if len(paper) else ""
    when = paper["produced"].iloc[0] if len(paper) else ""
    intro = (f'<p>The ledger of the last run of every chapter with <code>--profile paper</code> is committed as '
             f'<code>{_e(PAPER_LEDGER)}</code>: from commit <code>{_e(commit[:12])}</code>{_e(commit[40:])}, '
             f"produced {_e(when)}. Its verdicts, per chapter:</p>")
    counts = paper.groupby("chapter")["verdict"].value_counts().unstack(fill_value=0)
    order = [s for s in book if s in counts.index] + [s for s in counts.index if s not in book]
    frame = pd.DataFrame({"chapter": [short_title(titles.get(s) or s) for s in order],
                          "rows": [int(counts.loc[s].sum()) for s in order],
                          **{v: [int(counts.loc[s].get(v, 0)) for s in order] for v in VERDICTS}})
    frame = pd.concat([frame, pd.DataFrame([{"chapter": "all chapters",
                                             **{c: frame[c].sum() for c in frame.columns if c != "chapter"}}])],
                      ignore_index=True)
    out = intro + table_html(frame)
    if build_profile == "paper":
        return out
    changed = []
    for _, r in paper.iterrows():
        ch = book.get(r["chapter"])
        if ch is None:
            continue
        mine = ch.rows[ch.rows["claim_id"] == r["claim_id"]]
        if len(mine) and mine["verdict"].iloc[0] != r["verdict"]:
            m = mine.iloc[0]
            changed.append({"chapter": short_title(titles.get(r["chapter"]) or r["chapter"]), "claim": r["claim_id"],
                            f"this build ({build_profile})": f"{m['verdict']}: {m['our_value']}".rstrip(": "),
                            "paper profile": f"{r['verdict']}: {r['our_value']}".rstrip(": ")})
    if not changed:
        return out + f"<p>Every row of this {_e(build_profile)} build has the paper-profile run's verdict.</p>"
    return (out + f"<p>{_count(len(changed), 'row')} of this {_e(build_profile)} build "
            f"{'has' if len(changed) == 1 else 'have'} another verdict in the paper-profile run (smaller runs decide "
            "less, or decide on one replicate's noise):</p>" + table_html(pd.DataFrame(changed), wide=True))


def profile_text(book: Mapping[str, ChapterLedger | None], build_profile: str) -> str:
    """Which profile this build used, and which chapters' rows record it."""
    recorded = [s for s, ch in book.items() if ch is not None]
    text = f"This page was built with the {build_profile} profile (capfront build --profile {build_profile})."
    if recorded:
        profiles = sorted({p for s in recorded for p in book[s].rows["profile"] if p})  # type: ignore[union-attr]
        text += f" The rows of {_count(len(recorded), 'chapter')} record the profile of their run: {', '.join(profiles)}."
    return text


def short_title(title: str) -> str:
    """A chapter title up to its colon ("Evaluation logs: the data ..." -> "Evaluation logs")."""
    return title.split(":", 1)[0].strip()


def chapter_title(notebook: str | Path) -> str:
    """The H1 title of an executed chapter notebook ("" when absent)."""
    import nbformat

    p = Path(notebook)
    if not p.exists():
        return ""
    nb = nbformat.read(p, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


# ---------------------------------------------------------------------------------------------
# the page's one-line calls


@dataclass(frozen=True)
class BookLedger:
    """Everything the page shows, read once (``BookLedger.load``)."""

    chapters: tuple[str, ...]
    ledgers: dict[str, ChapterLedger | None]
    titles: dict[str, str]
    anchors: dict[str, str | None]
    profile: str

    @classmethod
    def load(cls, results_root: str | Path, chapters_dir: str | Path, chapters: Iterable[str] | None = None,
             profile: str | None = None) -> "BookLedger":
        from capfront_lib.core.claims import current_profile
        from capfront_lib.runner import discover

        stems = tuple(chapters) if chapters is not None else tuple(discover())
        nb_dir = Path(chapters_dir)
        return cls(
            chapters=stems,
            ledgers=read_book_ledger(results_root, stems),
            titles={s: chapter_title(nb_dir / f"{s}.ipynb") for s in stems},
            anchors={s: ledger_section_anchor(nb_dir / f"{s}.ipynb") for s in stems},
            profile=profile or current_profile(),
        )

    def _html(self, text: str):
        from IPython.display import HTML

        return HTML(text)

    def show_profile(self):
        return self._html(f'<p class="cf-profile">{_e(profile_text(self.ledgers, self.profile))}</p>')

    def show_legend(self):
        return self._html(legend_html())

    def show_summary(self):
        return self._html(summary_table_html(self.ledgers, self.titles))

    def show_paper_scale(self, path: str | Path | None = None):
        """The committed paper-profile ledger next to this build (see :func:`paper_scale_html`)."""
        from capfront_lib.core.resources import project_root

        p = Path(path) if path is not None else project_root() / PAPER_LEDGER
        return self._html(paper_scale_html(read_paper_ledger(p), self.ledgers, self.titles, self.profile))

    def show_chapter(self, stem: str):
        if stem not in self.chapters:
            raise KeyError(f"{stem!r} is not a chapter of this book; chapters are {list(self.chapters)}")
        return self._html(
            chapter_html(
                stem,
                self.ledgers[stem],
                chapter_registry(stem),
                title=self.titles.get(stem, ""),
                ledger_anchor=self.anchors.get(stem),
                build_profile=self.profile,
            )
        )
