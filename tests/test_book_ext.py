"""The book's Sphinx extension (capfront_lib.book_ext): author-year labels with year suffixes, the
bibliography and citation styles built on them, and the tab-title suffix. Expected labels are worked
out by hand from the entries below (sorting: author, then year, then title, as pybtex's plain style)."""

from __future__ import annotations

from pathlib import Path

import pytest

pybtex = pytest.importorskip("pybtex")
from pybtex.database import BibliographyData, Entry, Person, parse_file  # noqa: E402

from capfront_lib import book_ext  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _entry(author: str, year: str, title: str, type_: str = "misc") -> Entry:
    persons = {"author": [Person(a) for a in author.split(" and ")]}
    return Entry(type_, fields={"title": title, "year": year}, persons=persons)


def test_suffix_sequence_runs_a_to_z_then_aa():
    assert [book_ext._suffix(i) for i in (0, 1, 25, 26, 27, 51, 52)] == ["a", "b", "z", "aa", "ab", "az", "ba"]


def test_author_text_as_author_year_citations_print_it():
    assert book_ext.author_text(_entry("Chen, Josef", "2026", "x")) == "Chen"
    assert book_ext.author_text(_entry("Zellinger, Michael J. and Thomson, Matt", "2025", "x")) == "Zellinger and Thomson"
    assert book_ext.author_text(_entry("Wang, Yubo and Ma, Xueguang and Zhang, Ge", "2024", "x")) == "Wang et al."
    assert book_ext.author_text(_entry("{Anonymous authors}", "2025", "x")) == "Anonymous authors"
    assert book_ext.author_text(_entry("van der Berg, Anna", "2020", "x")) == "van der Berg"


def test_only_colliding_labels_get_suffixes_in_the_given_order():
    entries = [
        _entry("Chen, Josef", "2026", "Combining"),
        _entry("Chen, Josef", "2026", "When does"),
        _entry("Chen, Josef", "2025", "Earlier"),
        _entry("Chen, Ana", "2026", "Other Chen"),  # same surname, same year: same printed text
        _entry("Zellinger, Michael J. and Thomson, Matt", "2025", "A"),
        _entry("Zellinger, Michael J.", "2025", "B"),  # different author text: no suffix
    ]
    assert book_ext.year_labels(entries) == [
        "Chen, 2026a",
        "Chen, 2026b",
        "Chen, 2025",
        "Chen, 2026c",
        "Zellinger and Thomson, 2025",
        "Zellinger, 2025",
    ]


def test_label_year_reads_the_suffixed_year_back():
    assert book_ext.label_year("Chen, 2026b") == "2026b"
    assert book_ext.label_year("Wang et al., 2024") == "2024"
    assert book_ext.label_year("Nobody, n.d.a") == "n.d.a"
    assert book_ext.label_year("no year") is None


@pytest.fixture(scope="module")
def styles():
    import pybtex.plugin

    book_ext.register_bibtex_styles()
    return pybtex.plugin.find_plugin("pybtex.style.formatting", book_ext.FORMAT_STYLE)()


def test_the_books_bibliography_disambiguates_its_real_collisions(styles):
    bib = parse_file(str(ROOT / "book" / "references.bib"))
    formatted = {e.key: e for e in styles.format_entries(bib.entries.values())}
    labels = {k: e.label for k, e in formatted.items()}
    assert len(set(labels.values())) == len(labels), f"duplicate labels: {labels}"
    # plain sorts Chen's two 2026 papers by title: "Combining ..." (revised) before "When does ..." (v1)
    assert labels["cofailure_rev"] == "Chen, 2026a"
    assert labels["cofailure_v1"] == "Chen, 2026b"
    text = formatted["cofailure_rev"].text.render_as("text")
    assert "2026a" in text, text  # the entry itself shows the suffixed year
    # every label is "<author text>, <year>" plus a suffix only where two would collide
    for key, entry in bib.entries.items():
        assert labels[key].startswith(f"{book_ext.author_text(entry)}, {entry.fields['year']}")


def test_a_unique_entry_keeps_its_plain_year(styles):
    data = BibliographyData(entries={"a": _entry("Solo, Han", "1977", "Alone")})
    (fe,) = list(styles.format_entries(data.entries.values()))
    assert fe.label == "Solo, 1977"
    assert "1977a" not in fe.text.render_as("text")


def test_the_citation_style_prints_the_label_year():
    import sphinxcontrib.bibtex.plugin as sb_plugin
    from pybtex.style.formatting import FormattedEntry
    from pybtex.richtext import Text

    book_ext.register_bibtex_styles()
    style = sb_plugin.find_plugin("sphinxcontrib.bibtex.style.referencing", book_ext.REFERENCE_STYLE)()
    entry = _entry("Chen, Josef", "2026", "When does")
    fe = FormattedEntry("k", Text("body"), "Chen, 2026b")
    # render the parenthetical role's inner template on plain-text data (no Sphinx reference node)
    from sphinxcontrib.bibtex.style.referencing.basic_author_year import BasicAuthorYearParentheticalReferenceStyle

    p_style = next(s for s in style.styles if isinstance(s, BasicAuthorYearParentheticalReferenceStyle))
    template = p_style.inner("p")
    # reference[...] needs Sphinx info; format its children instead: author, suffixed year
    node = template.children[1].children[0]  # join(sep=", ")[author, suffixed_year]
    text = node.format_data({"entry": entry, "formatted_entry": fe, "style": p_style}).render_as("text")
    assert text == "Chen, 2026b"
    assert style.bracket_parenthetical.left == "(" and style.bracket_parenthetical.sep == "; "


@pytest.mark.parametrize(
    "title, expected",
    [
        ("capfront — a book", ""),
        ("capfront &#8212; a book", ""),
        ("<em>2.</em> Oracle debiasing", " &#8212; capfront"),
        ("", ""),
    ],
)
def test_tab_title_suffix(title, expected):
    assert book_ext.page_title_suffix(title, "capfront — a book", "capfront") == expected
