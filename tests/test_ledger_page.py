"""The claims-ledger page's library (capfront_lib.ledger_page), on hand-made ledgers.

The ledgers are written by the core API itself (``core.claims.Ledger``), so the page is tested on the files chapters really write; expected counts are
worked out by hand from the registry below.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from capfront_lib import ledger_page as lp
from capfront_lib.core.claims import LEDGER_COLUMNS, RULES, VERDICTS, Ledger, parse_registry
from capfront_lib.core.results import CLAIM_COLUMNS, write_results

REGISTRY = {
    "work": "A made-up paper",
    "claims": [
        {"id": "eq1", "location": ["Equation 1"], "claim": "x is 0.75", "paper_value": "0.75", "rule": "value",
         "target": 0.75, "tolerance": 0.005, "tolerance_why": "printed to two decimals", "method": "analytic",
         "section": "sec-demo_bias"},
        {"id": "t2", "location": ["Table 2"], "claim": "A beats B", "paper_value": "+3 pt", "rule": "direction",
         "expect": ">", "method": "simulation", "statistical": True, "section": "sec-demo-table"},
        {"id": "gap", "location": ["Section 4"], "claim": "the gap is 10%", "paper_value": "10%", "rule": "value",
         "target": 0.10, "tolerance": 0.01, "tolerance_why": "a substantive margin", "method": "simulation",
         "statistical": True},
        {"id": "big", "location": ["Figure 3"], "claim": "holds at scale", "paper_value": "yes", "rule": "holds",
         "method": "simulation", "min_profile": "paper"},
        {"id": "private", "location": ["Abstract"], "claim": "<b>82%</b> missed", "paper_value": "82%",
         "rule": "not-checkable", "why": "needs the authors' private logs"},
    ],
}


def _registry_ledger(tmp_path: Path) -> Path:
    """A registry-form claims.csv: verdicts by hand: eq1 reproduced (0.7504 in [0.745, 0.755]),
    t2 differs (interval wholly below 0), gap inconclusive (interval straddles 0.11), big skipped at
    quick with min_profile paper -> inconclusive without a value, private not-checkable."""
    reg = parse_registry(REGISTRY, "demo")
    ledger = Ledger("demo", profile="quick", registry=reg)
    ledger.measure("eq1", 0.7504)
    ledger.measure("t2", -0.02, ci=(-0.04, -0.01), n=5)
    ledger.measure("gap", 0.105, ci=(0.09, 0.12), n=5)
    ledger.skip("big", "the quick profile runs one world")
    write_results(tmp_path / "demo", "demo", results={}, ledger=ledger)
    return tmp_path / "demo" / "claims.csv"


def _empty_ledger(tmp_path: Path) -> Path:
    """A chapter that reproduces no paper (like evaluation_logs): no registry, header-only claims.csv."""
    write_results(tmp_path / "logs", "logs", results={})
    return tmp_path / "logs" / "claims.csv"


def _typed_ledger(tmp_path: Path) -> Path:
    """A claims.csv in the form the removed typed API wrote: the first columns only, verdicts typed."""
    p = tmp_path / "old" / "claims.csv"
    p.parent.mkdir(parents=True)
    row = ["old", "c1", "a claim", "1.0", "1.01", "analytic", "reproduced", "close"]
    p.write_text(",".join(CLAIM_COLUMNS) + "\n" + ",".join(row) + "\n")
    return p


def test_reads_the_registry_form(tmp_path):
    ch = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    assert list(ch.rows.columns) == list(LEDGER_COLUMNS)
    assert list(ch.rows["claim_id"]) == ["eq1", "t2", "gap", "big", "private"]
    assert list(ch.rows["verdict"]) == ["reproduced", "differs", "inconclusive", "inconclusive", "not-checkable"]


def test_a_ledger_with_typed_verdicts_is_refused(tmp_path):
    path = _typed_ledger(tmp_path)
    with pytest.raises(lp.LedgerFileError, match=r"lacks the registry column\(s\) .*typed verdicts.*rerun the chapter") as err:
        lp.read_chapter_ledger(path, "old")
    assert str(path) in str(err.value)


def test_coverage_counts_by_hand(tmp_path):
    reg = parse_registry(REGISTRY, "demo")
    cov = lp.coverage(lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo"), reg)
    assert cov.registered == 5 and cov.rows == 5
    assert cov.measured == 3  # eq1, t2, gap carry a value
    assert cov.not_checkable == 1  # private
    assert cov.unmeasured == 1  # big: skipped at quick
    assert cov.verdicts == {"reproduced": 1, "direction-only": 0, "differs": 1, "inconclusive": 2, "not-checkable": 1}
    assert cov.profiles == ("quick",)
    assert not cov.missing_ids and not cov.unregistered_ids
    text = lp.coverage_text(cov)
    assert text.startswith("5 registered · 3 measured · 1 not-checkable · 1 not measured in this run — ")
    assert "1 reproduced, 1 differs, 2 inconclusive, 1 not-checkable" in text
    assert "direction-only" not in text  # zero counts are left out


def test_coverage_names_ids_on_one_side_only(tmp_path):
    ch = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    raw = {**REGISTRY, "claims": REGISTRY["claims"][:4] + [{**REGISTRY["claims"][4], "id": "renamed"}]}
    cov = lp.coverage(ch, parse_registry(raw, "demo"))
    assert cov.missing_ids == ("renamed",) and cov.unregistered_ids == ("private",)
    assert "registry ids without a row: renamed" in lp.coverage_text(cov)
    assert "rows without a registry entry: private" in lp.coverage_text(cov)


def test_a_chapter_without_registry_says_so(tmp_path):
    cov = lp.coverage(lp.read_chapter_ledger(_empty_ledger(tmp_path), "logs"), None)
    assert cov.registered is None and cov.rows == 0 and cov.measured == 0
    assert lp.coverage_text(cov) == "no claims recorded (the chapter has no claims registry)"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda df: df.drop(columns=["reason"]), r"claims\.csv: header \(line 1\) lacks the column\(s\) \['reason'\]"),
        (lambda df: df.assign(extra="x"), r"unknown column\(s\) \['extra'\]"),
        (lambda df: df.drop(columns=["section"]), r"lacks the registry column\(s\) \['section'\]"),
        (lambda df: df.assign(verdict=["reproduced", "maybe", "differs", "inconclusive", "not-checkable"]),
         r"line 3, column 'verdict': 'maybe'"),
        (lambda df: df.assign(chapter=["demo", "demo", "demo", "other", "demo"]), r"line 5, column 'chapter': 'other'"),
        (lambda df: df.assign(profile=["quick", "quick", "fast", "quick", "quick"]), r"line 4, column 'profile': 'fast'"),
        (lambda df: df.assign(claim_id=["eq1", "eq1", "gap", "big", "private"]), r"column 'claim_id' repeats \['eq1'\]"),
    ],
)
def test_bad_ledger_files_get_one_clear_line(tmp_path, mutate, message):
    path = _registry_ledger(tmp_path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    mutate(df).to_csv(path, index=False)
    with pytest.raises(lp.LedgerFileError, match=message) as err:
        lp.read_chapter_ledger(path, "demo")
    assert str(path) in str(err.value)


def test_missing_claims_csv_is_none_in_the_book_and_an_error_alone(tmp_path):
    assert lp.read_book_ledger(tmp_path, ["nothing"]) == {"nothing": None}
    with pytest.raises(lp.LedgerFileError, match="run the chapter 'nothing' first"):
        lp.read_chapter_ledger(tmp_path / "nothing" / "claims.csv", "nothing")


def test_row_links_use_the_ids_sphinx_gives_labels():
    # docutils make_id: lower case, runs of other characters become one hyphen
    assert lp.row_href("oracle_debiasing", "sec-od_Bias", None) == "chapters/oracle_debiasing.html#sec-od-bias"
    assert lp.row_href("x", "", "sec-x-ledger") == "chapters/x.html#sec-x-ledger"
    assert lp.row_href("x", "  ", None) == "chapters/x.html"


def _notebook(tmp_path: Path, *markdown: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(m) for m in markdown])
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_chapter_ledger_section_is_found_by_label_or_heading(tmp_path):
    assert lp.ledger_section_anchor(_notebook(tmp_path, "# T\n\ntext", "(sec-x-ledger)=\n## Claims ledger\n\nrows")) == "sec-x-ledger"
    assert lp.ledger_section_anchor(_notebook(tmp_path, "# T", "## Claims ledger and outputs\n")) == "claims-ledger-and-outputs"
    assert lp.ledger_section_anchor(_notebook(tmp_path, "# T", "## Results\n")) is None
    assert lp.chapter_title(_notebook(tmp_path, "# The title\n\ntext")) == "The title"


def test_table_rows_carry_verdict_text_colour_class_link_and_escaped_text(tmp_path):
    ch = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    out = lp.ledger_table_html(ch, "sec-demo-ledger")
    rows = re.findall(r"<tr class=\"cf-row-([a-z-]+)\".*?</tr>", out, flags=re.S)
    assert rows == ["reproduced", "differs", "inconclusive", "inconclusive", "not-checkable"]
    assert 'href="chapters/demo.html#sec-demo-bias"' in out  # eq1: its own section (label normalised)
    assert 'href="chapters/demo.html#sec-demo-table"' in out
    assert out.count('href="chapters/demo.html#sec-demo-ledger"') == 3  # gap, big, private name no section
    for v in ("reproduced", "differs", "inconclusive", "not-checkable"):
        assert f'cf-verdict-{v}"><span class="cf-verdict-mark" aria-hidden="true">' in out
        assert f"</span> {v}</span>" in out  # the verdict is written out, not only coloured
    assert "&lt;b&gt;82%&lt;/b&gt;" in out and "<b>82%" not in out
    assert "n = 5" in out
    assert out.startswith('<div class="cf-table cf-ledger-box">')


def test_rows_from_another_profile_are_flagged(tmp_path):
    path = _registry_ledger(tmp_path)
    ch = lp.read_chapter_ledger(path, "demo")
    html = lp.chapter_html("demo", ch, parse_registry(REGISTRY, "demo"), title="Demo", ledger_anchor=None, build_profile="paper")
    assert "Rows come from a run with the quick profile, not this build's paper profile." in htmllib.unescape(html)


def test_legend_explains_exactly_the_core_rules_and_verdicts():
    assert set(lp.RULE_HELP) == set(RULES)
    assert set(lp.VERDICT_HELP) == set(VERDICTS) == set(lp.VERDICT_MARK)
    legend = lp.legend_html()
    for word in (*RULES, *VERDICTS):
        assert word in legend


def test_summary_table_counts_and_marks_chapters_without_registry(tmp_path, monkeypatch):
    demo = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    logs = lp.read_chapter_ledger(_empty_ledger(tmp_path), "logs")
    regs = {"demo": parse_registry(REGISTRY, "demo"), "logs": None}
    monkeypatch.setattr(lp, "chapter_registry", lambda stem: regs[stem])
    out = lp.summary_table_html({"demo": demo, "logs": logs, "absent": None}, {"demo": "Demo: a subtitle", "logs": "Logs"})
    cells = re.findall(r"<td class=\"(?:num|txt)\">([^<]*)</td>", out)
    header = re.findall(r"<th class=\"(?:num|txt)\">([^<]*)</th>", out)
    assert header == ["chapter", "registered", "measured", *VERDICTS]
    table = [cells[i : i + len(header)] for i in range(0, len(cells), len(header))]
    # by hand: demo 5 registered, 3 measured, verdicts 1/0/1/2/1; logs no registry and no rows
    assert table[0] == ["Demo", "5", "3", "1", "0", "1", "2", "1"]
    assert table[1] == ["Logs", "—", "0", "0", "0", "0", "0", "0"]
    assert table[2] == ["all chapters", "5", "3", "1", "0", "1", "2", "1"]
    assert "no claims registry (it reproduces no paper)" in out


def test_profile_text_states_the_build_profile_and_which_chapters_record_it(tmp_path):
    demo = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    text = lp.profile_text({"demo": demo, "absent": None}, "paper")
    assert text.startswith("This page was built with the paper profile")
    assert "The rows of 1 chapter record the profile of their run: quick." in text


def test_ledger_page_has_one_section_per_chapter():
    """The page's static sections (notebooks/claims_ledger.md) cover exactly the book's chapters."""
    from capfront_lib.runner import discover

    root = Path(__file__).resolve().parents[1]
    src = (root / "notebooks" / "claims_ledger.md").read_text()
    shown = re.findall(r'book\.show_chapter\("([a-z_]+)"\)', src)
    labels = re.findall(r"^\(ledger-([a-z-]+)\)=$", src, flags=re.M)
    assert shown == discover(root)
    assert labels == [s.replace("_", "-") for s in shown]


def test_old_columns_are_a_subset_of_the_new():
    # a typed-verdict ledger is recognised by the registry columns it lacks
    assert set(CLAIM_COLUMNS) < set(LEDGER_COLUMNS)


def _paper_csv(tmp_path: Path, verdicts: dict[str, str], profile: str = "paper") -> Path:
    """A paper_ledger.csv as benchmarks/paper_ledger.py writes it: the demo rows with other verdicts."""
    rows = pd.read_csv(_registry_ledger(tmp_path / "paperrun"), dtype=str, keep_default_na=False)
    rows["verdict"] = [verdicts.get(c, v) for c, v in zip(rows["claim_id"], rows["verdict"])]
    rows["profile"] = profile
    rows.insert(0, "commit", "0123456789abcdef0123456789abcdef01234567")
    rows.insert(1, "commit_date", "2026-12-07T05:00:00+00:00")
    rows.insert(2, "produced", "2026-12-07T06:00Z")
    p = tmp_path / "paper_ledger.csv"
    rows.to_csv(p, index=False)
    return p


def test_paper_scale_counts_and_names_the_rows_the_scale_changes(tmp_path):
    # quick build: eq1 reproduced, t2 differs, gap inconclusive, big inconclusive, private not-checkable;
    # paper run by hand: gap -> reproduced, big -> differs; the others unchanged
    p = _paper_csv(tmp_path, {"gap": "reproduced", "big": "differs"})
    paper = lp.read_paper_ledger(p)
    quick = lp.read_chapter_ledger(_registry_ledger(tmp_path), "demo")
    out = htmllib.unescape(lp.paper_scale_html(paper, {"demo": quick}, {"demo": "Demo: sub"}, "quick"))
    assert "commit 0123456789ab" in out.replace("<code>", "").replace("</code>", "")
    cells = re.findall(r"<td class=\"(?:num|txt)\">([^<]*)</td>", out)
    # counts row: Demo, 5 rows, reproduced 2, direction-only 0, differs 2, inconclusive 0, not-checkable 1
    assert cells[:7] == ["Demo", "5", "2", "0", "2", "0", "1"]
    assert "2 rows of this quick build have another verdict in the paper-profile run" in out
    assert "inconclusive: 0.105" in out and ">gap<" in out and ">big<" in out
    assert ">eq1<" not in out
    # the same build at the paper profile shows only the counts
    assert "another verdict" not in lp.paper_scale_html(paper, {"demo": quick}, {}, "paper")


def test_paper_ledger_absent_or_not_from_the_paper_profile(tmp_path):
    assert lp.read_paper_ledger(tmp_path / "none.csv") is None
    assert "No paper-profile ledger here" in lp.paper_scale_html(None, {}, {}, "quick")
    p = _paper_csv(tmp_path, {}, profile="quick")
    with pytest.raises(lp.LedgerFileError, match=r"paper_ledger\.csv: line 2, column 'profile': 'quick' is not 'paper'"):
        lp.read_paper_ledger(p)


def test_committed_paper_ledger_covers_every_registry_entry():
    """benchmarks/paper_ledger.csv (issue 13) is one paper-profile run with a row for every registered claim."""
    from capfront_lib.core.claims import load_registry, registry_path

    root = Path(__file__).resolve().parents[1]
    paper = lp.read_paper_ledger(root / lp.PAPER_LEDGER)
    assert paper is not None, "benchmarks/paper_ledger.csv is missing: run benchmarks/paper_ledger.py after a paper build"
    assert paper["commit"].nunique() == 1 and len(paper["commit"].iloc[0]) >= 40
    for stem in sorted(set(paper["chapter"])):
        reg = load_registry(stem, registry_path(stem))
        assert set(paper.loc[paper["chapter"] == stem, "claim_id"]) == set(reg.ids), stem
    with_registry = {p.parent.name for p in (root / "data").glob("*/claims.yaml")}
    assert set(paper["chapter"]) == with_registry
