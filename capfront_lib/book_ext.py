"""A small Sphinx extension for the capfront book.

1. **MathJax served from the book itself.** The book must read well offline (and its page checks run on
   a machine without internet), so the MathJax 3 files shipped by the ``django-static-mathjax`` wheel
   (only static files, no Django needed) are copied into ``_static/mathjax`` and ``mathjax_path``
   points there.
2. **Author–year citations that tell two works apart.** sphinxcontrib-bibtex's ``author_year`` style
   prints ``Chen, 2026`` for two different 2026 papers by Chen. This module registers the supported
   plugins that fix it: a pybtex *label style* (``capfront_author_year``) that gives every entry the
   label ``Author, Year`` and appends ``a``, ``b``, … to the year when two entries would print the same
   text (the usual author–year convention, in the bibliography's sort order); a pybtex *formatting
   style* (``capfront``: pybtex ``plain`` with that label style and the suffixed year in the entry
   text); and a sphinxcontrib-bibtex *referencing style* (``capfront_author_year``) whose year is read
   from that label. ``_config.yml`` selects them with ``bibtex_default_style: capfront`` and
   ``bibtex_reference_style: capfront_author_year``.
3. **A browser-tab title that names the book once.** Sphinx appends `` — <html_title>`` to every
   page title, so the front page (whose title *is* the book title) read it twice and chapter tabs were
   cut off. The suffix becomes `` — <html_short_title>``, and disappears where the page title already
   is the book title (``book/_templates/layout.html`` prints ``cf_titlesuffix`` set here).
"""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from pybtex.database import Entry

MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-chtml.js"
_SKIP = ("sre", "tex-chtml-full.js", "tex-chtml-full-speech.js", "tex-svg-full.js", "mml-svg.js", "tex-mml-svg.js", "tex-svg.js", "node-main.js")

LABEL_STYLE = "capfront_author_year"
FORMAT_STYLE = "capfront"
REFERENCE_STYLE = "capfront_author_year"
NO_YEAR = "n.d."
_YEAR_AT_END = re.compile(r"(\d{4}[a-z]*|n\.d\.[a-z]*)$")


# ---------------------------------------------------------------------------------------------
# 1. MathJax


def mathjax_source() -> Path:
    """Folder of the ES5 MathJax 3 build inside the installed ``mathjax`` static package."""
    import mathjax  # provided by django-static-mathjax

    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (src / MATHJAX_ENTRY).exists():
        raise FileNotFoundError(f"MathJax entry {MATHJAX_ENTRY} not found under {src}")
    return src


def _config_inited(app: Any, config: Any) -> None:
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}"


def _copy_mathjax(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / MATHJAX_DIR
    if (dest / MATHJAX_ENTRY).exists():
        return
    shutil.copytree(mathjax_source(), dest, ignore=shutil.ignore_patterns(*_SKIP), dirs_exist_ok=True)


# ---------------------------------------------------------------------------------------------
# 2. author-year labels with year suffixes


def _suffix(i: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa, 27 -> ab, ... (the CSL/natbib year-suffix sequence)."""
    out = ""
    i += 1
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def author_text(entry: "Entry") -> str:
    """The author part of an author–year citation, as sphinxcontrib-bibtex prints it in plain text.

    One person: ``Chen``; two: ``Zellinger and Thomson``; three or more: ``Wang et al.`` (editors when
    there is no author, the title when there is neither).
    """
    import pybtex.plugin

    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    if not persons:
        from pybtex.richtext import Text

        return Text.from_latex(entry.fields.get("title", "")).render_as("text")
    style = pybtex.plugin.find_plugin("pybtex.style.names", "last")()
    names = [style.format(p, True).format().render_as("text") for p in persons]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def year_labels(sorted_entries: Sequence["Entry"]) -> list[str]:
    """``Author, Year`` labels; entries that would print the same label get ``a``, ``b``, … in order.

    ``sorted_entries`` is in the bibliography's order, which fixes which entry is ``a``.
    """
    base = [(author_text(e), e.fields.get("year", NO_YEAR).strip() or NO_YEAR) for e in sorted_entries]
    total = Counter(base)
    seen: Counter = Counter()
    labels = []
    for key in base:
        author, year = key
        if total[key] > 1:
            year = year + _suffix(seen[key])
            seen[key] += 1
        labels.append(f"{author}, {year}")
    return labels


def label_year(label: str) -> str | None:
    """The (suffixed) year at the end of a label made by :func:`year_labels`."""
    m = _YEAR_AT_END.search(label or "")
    return m.group(1) if m else None


def _make_styles() -> tuple[type, type, type]:
    """The three plugin classes (built lazily: pybtex and sphinxcontrib-bibtex are book-only deps)."""
    from pybtex.database import Entry
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.template import first_of, field as bib_field, node, optional
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
    from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
        BasicAuthorYearParentheticalReferenceStyle,
        BasicAuthorYearTextualReferenceStyle,
    )
    from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
    from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
    from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
    from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
    from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

    class LabelStyle(BaseLabelStyle):
        def format_labels(self, sorted_entries: Iterable[Entry]):
            return iter(year_labels(list(sorted_entries)))

    class FormatStyle(PlainStyle):
        default_label_style = LABEL_STYLE

        def format_entry(self, label, entry, bib_data=None):
            year = label_year(label)
            if year and entry.fields.get("year") and year != entry.fields["year"]:
                copy = Entry(entry.type, fields=dict(entry.fields), persons=entry.persons)
                copy.key = entry.key
                copy.fields["year"] = year
                entry = copy
            return super().format_entry(label, entry, bib_data=bib_data)

    @node
    def suffixed_year(children, data):
        """The year of the cited entry with its disambiguating suffix (read from the entry's label)."""
        assert not children
        year = label_year(data["formatted_entry"].label)
        if year is not None:
            from pybtex.richtext import Text

            return Text(year)
        return first_of[optional[bib_field("year")], NO_YEAR].format_data(data)

    @dataclass
    class Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
        def inner(self, role_name: str):
            return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                pre_text,
                reference[join(sep=self.author_year_sep)[self.person.author_or_editor_or_title(full="s" in role_name), suffixed_year]],
                post_text,
            ]

    @dataclass
    class Textual(BasicAuthorYearTextualReferenceStyle):
        def inner(self, role_name: str):
            return join(sep=self.text_reference_sep)[
                self.person.author_or_editor_or_title(full="s" in role_name),
                join[
                    self.bracket.left,
                    join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[suffixed_year], post_text],
                    self.bracket.right,
                ],
            ]

    @dataclass
    class YearOnly(ExtraYearReferenceStyle):
        def inner(self, role_name: str):
            return reference[suffixed_year]

    def _round() -> BracketStyle:
        return BracketStyle(left="(", right=")", sep="; ")

    @dataclass
    class ReferenceStyle(AuthorYearReferenceStyle):
        """Author–year citations ``(Chen, 2026a; Chen, 2026b)`` with the label's year suffix."""

        bracket_textual: BracketStyle = field(default_factory=_round)
        bracket_parenthetical: BracketStyle = field(default_factory=_round)
        bracket_year: BracketStyle = field(default_factory=_round)

        def __post_init__(self):
            self.styles.extend(
                [
                    Parenthetical(
                        bracket=self.bracket_parenthetical,
                        person=self.person,
                        author_year_sep=self.author_year_sep,
                        pre_text_sep=self.pre_text_sep,
                        post_text_sep=self.post_text_sep,
                    ),
                    Textual(
                        bracket=self.bracket_textual,
                        person=self.person,
                        text_reference_sep=self.text_reference_sep,
                        pre_text_sep=self.pre_text_sep,
                        post_text_sep=self.post_text_sep,
                    ),
                    ExtraAuthorReferenceStyle(bracket=self.bracket_author, person=self.person),
                    ExtraLabelReferenceStyle(bracket=self.bracket_label),
                    YearOnly(bracket=self.bracket_year),
                    ExtraEmptyReferenceStyle(),
                ]
            )
            # GroupReferenceStyle.__post_init__ maps role names to the styles above
            super(AuthorYearReferenceStyle, self).__post_init__()

    return LabelStyle, FormatStyle, ReferenceStyle


def register_bibtex_styles() -> None:
    """Register the label, formatting and referencing plugins (idempotent)."""
    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin as sb_plugin

    label_style, format_style, reference_style = _make_styles()
    pybtex.plugin.register_plugin("pybtex.style.labels", LABEL_STYLE, label_style, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", FORMAT_STYLE, format_style, force=True)
    sb_plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE, reference_style, force=True)


# ---------------------------------------------------------------------------------------------
# 3. tab titles


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or "")).strip()


def page_title_suffix(title: str, book_title: str, short_title: str) -> str:
    """The HTML suffix after a page's title: none when the title is the book title, else `` — short``."""
    if not title or _strip_tags(title) == _strip_tags(book_title):
        return ""
    return " &#8212; " + html.escape(short_title or book_title)


def _page_context(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    book = context.get("docstitle") or app.config.html_title or app.config.project
    short = app.config.html_short_title or app.config.project
    # read by book/_templates/layout.html (the theme's template sets its own titlesuffix from docstitle)
    context["cf_titlesuffix"] = page_title_suffix(context.get("title", ""), book, short)


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _page_context)
    register_bibtex_styles()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
