"""The built book, checked as a reader sees it.

Sphinx without warnings, executed notebooks without errors, and every page of the table of contents
opened in headless Chromium at 1400 px and at 420 px. The browser pass collects, on every page:

- every ``<img>`` and whether it sits in a numbered ``<figure>`` with a caption, and its displayed and
  natural width (no figure shown below 70 % of its natural width at 1400 px);
- table cells that read ``nan``, ``inf`` or a number with more than 12 digits;
- absolute paths of the build machine (``/tmp/``, ``/root/``, ``/home/``, ``/work/``) in the text
  (hidden and folded content included) or in links;
- raw TeX left in the text (MathJax did not render it);
- horizontal overflow at 420 px (the document wider than the screen), with the elements that stick out;

and keeps a desktop and a mobile screenshot of every page under ``test-artifacts/pages/``. Each check is
a test of its own that lists every offending page and element in one failure message.

``CAPFRONT_BOOK_HTML=_build/html`` checks an existing build instead of building the book in the session
(the page engineer's loop: ``capfront build --chapter <stem>`` then these tests).
"""

from __future__ import annotations

import functools
import html as htmllib
import http.server
import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
HTML_ENV = "CAPFRONT_BOOK_HTML"
DESKTOP = {"width": 1400, "height": 900}
MOBILE = {"width": 420, "height": 860}
MIN_DISPLAY_RATIO = 0.70
MAX_DIGITS = 12
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.book


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def toc_chapters() -> list[str]:
    """Files of the numbered part of the table of contents (the book's chapters)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc.get("parts", []) if part.get("numbered") for c in part.get("chapters", [])]


@pytest.fixture(scope="module")
def html_dir(request) -> Path:
    prebuilt = os.environ.get(HTML_ENV, "").strip()
    if prebuilt:
        path = Path(prebuilt)
        path = path if path.is_absolute() else ROOT / path
        if not (path / "index.html").exists():
            pytest.fail(f"{HTML_ENV}={prebuilt}: no index.html there (build the book first)", pytrace=False)
        return path.resolve()
    quick_build = request.getfixturevalue("quick_build")
    if quick_build["selected"] is not None:
        pytest.skip("book checks need the full build (CAPFRONT_TEST_CHAPTERS is set)")
    if quick_build["errors"]:
        pytest.fail("the quick build failed:\n" + "\n\n".join(quick_build["errors"].values()), pytrace=False)
    return Path(quick_build["html"])


# ---------------------------------------------------------------------------------------------
# the build itself


def test_sphinx_build_has_no_warnings(html_dir):
    log = (ROOT / "_build" / "sphinx.log").read_text()
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings[:20])
    assert (html_dir / "index.html").exists()


def test_every_toc_page_was_built(html_dir):
    for f in toc_files():
        assert (html_dir / f"{f}.html").exists(), f"{f} missing from the HTML build"


def test_executed_notebooks_hold_no_errors(html_dir):
    notebooks = sorted((ROOT / "book" / "chapters").glob("*.ipynb")) + [ROOT / "book" / "claims_ledger.ipynb"]
    assert len(notebooks) >= 2
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                assert out.get("output_type") != "error", f"{path.name} cell {i}: {out.get('ename')}: {out.get('evalue')}"
                text = out.get("text", "") if out.get("output_type") == "stream" else ""
                assert "Traceback (most recent call last)" not in text, f"{path.name} cell {i} printed a traceback"


def test_every_chapter_wrote_claims_and_results(html_dir):
    from capfront_lib.runner import discover

    for stem in discover(ROOT):
        res = json.loads((ROOT / "results" / stem / "results.json").read_text())
        assert res["chapter"] == stem
        assert (ROOT / "results" / stem / "claims.csv").exists()


# ---------------------------------------------------------------------------------------------
# static HTML checks (no browser)


class _Collect(HTMLParser):
    """Ids, links, <title> and <link rel=icon> of one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (href, class)
        self.icons: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append((a["href"], a.get("class", "")))
        if tag == "link" and "icon" in a.get("rel", "").split():
            self.icons.append(a.get("href", ""))
        if tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> _Collect:
    c = _Collect()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def _book_title() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["title"]


def test_tab_titles_name_the_book_once(html_dir):
    """The tab reads "<page> — capfront"; the front page, whose title is the book title, reads it once."""
    book = _book_title()
    short = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["html_short_title"]
    root = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
    problems = []
    for f in toc_files():
        title = _parsed(html_dir / f"{f}.html").title.strip()
        if title.count(book) > 1:
            problems.append(f"{f}: the book title appears {title.count(book)} times in {title!r}")
        if f == root:
            if title != book:
                problems.append(f"{f}: front page tab {title!r} should be the book title alone")
        elif not title.endswith(f" — {short}") or book in title:
            problems.append(f"{f}: tab {title!r} should read '<page title> — {short}'")
    assert not problems, "\n".join(problems)


def test_every_page_has_the_favicon(html_dir):
    problems = []
    for f in toc_files():
        page = html_dir / f"{f}.html"
        icons = _parsed(page).icons
        if not icons:
            problems.append(f"{f}: no <link rel=icon>")
        for href in icons:
            target = (page.parent / unquote(urlsplit(href).path)).resolve()
            if not target.is_file():
                problems.append(f"{f}: favicon {href} does not exist in the build")
    assert not problems, "\n".join(problems)


DEAD_LINK_PARTS = ("github.com/capfront", "mybinder.org", "colab.research.google.com", "deepnote.com", "/v2/gh/")


def test_no_dead_repository_or_launch_buttons(html_dir):
    """No button to a repository that does not exist; the download button serves files of the build."""
    problems = []
    for f in toc_files():
        page = html_dir / f"{f}.html"
        text = page.read_text(encoding="utf-8")
        for part in DEAD_LINK_PARTS:
            if part in text:
                problems.append(f"{f}: links to {part!r} (no public repository / launch service)")
        for cls in ("dropdown-launch-buttons", "btn-repository", "btn-edit", "btn-issues"):
            if cls in text:
                problems.append(f"{f}: shows a {cls} button")
        for href, _ in _parsed(page).links:
            if href.startswith("../") or not re.match(r"^[a-z]+:", href):
                path = unquote(urlsplit(href).path)
                if path.endswith((".ipynb", ".md")) and "_sources" in path:
                    if not (page.parent / path).resolve().is_file():
                        problems.append(f"{f}: download link {href} points at a file missing from the build")
    chapters = [f for f in toc_files() if f.startswith("book/chapters/")]
    for f in chapters:
        links = [h for h, _ in _parsed(html_dir / f"{f}.html").links if h.endswith(".ipynb")]
        if not links:
            problems.append(f"{f}: no download link to the page's .ipynb")
    assert not problems, "\n".join(problems)


def _number_word(n: int) -> str:
    words = "zero one two three four five six seven eight nine ten eleven twelve".split()
    return words[n] if n < len(words) else str(n)


def test_intro_counts_chapters_and_studies(html_dir):
    """The intro's numbers match the table of contents: N chapters = an opening chapter + N-1 studies."""
    chapters = toc_chapters()
    text = re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", (html_dir / "book" / "intro.html").read_text())))
    n = len(chapters)
    assert f"{_number_word(n)} chapters" in text, f"the intro does not say the book has {_number_word(n)} chapters"
    assert f"{_number_word(n - 1)} studies" in text, f"the intro does not name {_number_word(n - 1)} studies beside the opening chapter"
    assert "opening chapter" in text


def test_citations_are_disambiguated(html_dir):
    """Two 2026 papers by Chen cite as 2026a/2026b in the text and in the reference list (no bare 2026)."""
    import pybtex.database

    from capfront_lib.book_ext import author_text

    bib = pybtex.database.parse_file(str(ROOT / "book" / "references.bib"))
    by_label: dict[tuple[str, str], list[str]] = {}
    for key, entry in bib.entries.items():
        by_label.setdefault((author_text(entry), entry.fields.get("year", "")), []).append(key)
    ambiguous = {k: v for k, v in by_label.items() if len(v) > 1}
    assert ambiguous, "references.bib has no two entries with the same author and year: nothing to check"
    pages = {f: re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", "", (html_dir / f"{f}.html").read_text()))) for f in toc_files()}
    problems = []
    for (author, year), keys in ambiguous.items():
        bare = re.compile(re.escape(f"{author}, {year}") + r"(?![a-z])")
        for f, text in pages.items():
            if bare.search(text):
                problems.append(f"{f}: '{author}, {year}' without a letter for {keys}")
        refs = pages["book/references"]
        for letter in "ab"[: len(keys)]:
            if f"{author}, {year}{letter}" not in refs:
                problems.append(f"book/references: no label '{author}, {year}{letter}'")
    intro = pages["book/intro"]
    for label in ("Chen, 2026a", "Chen, 2026b"):
        if label not in intro:
            problems.append(f"book/intro: citation {label!r} missing (the intro cites both co-failure papers)")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# the browser pass


@pytest.fixture(scope="module")
def server(html_dir) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output readable
        pass


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CAPFRONT_SKIP_BROWSER") == "1":
        pytest.skip("CAPFRONT_SKIP_BROWSER=1: page checks in Chromium skipped on request")
    pytest.fail("Chromium not found: install Debian's chromium (apt-get install chromium) or set CAPFRONT_SKIP_BROWSER=1", pytrace=False)


WAIT_MATH_JS = """async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  return true;
}"""

DESCRIBE_JS = r"""
function cfDescribe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  const cls = (el.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean).slice(0, 3);
  if (cls.length) s += '.' + cls.join('.');
  const sec = el.closest('section[id]');
  const where = sec ? ' in section #' + sec.id : '';
  const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
  return s + where + (text ? ' "' + text + '"' : '');
}
"""

# Everything measured at 1400 px, in one evaluation per page.
DESKTOP_JS = r"""
() => {
  DESCRIBE
  const article = document.querySelector('.bd-article') || document.querySelector('main') || document.body;
  const images = Array.from(document.querySelectorAll('img')).map(img => {
    const fig = img.closest('figure');
    const cap = fig ? fig.querySelector('figcaption') : null;
    const num = cap ? cap.querySelector('.caption-number') : null;
    const r = img.getBoundingClientRect();
    return {src: (img.getAttribute('src') || '').slice(0, 80), alt: img.getAttribute('alt') || '',
            inFigure: !!fig, numbered: !!num, caption: cap ? cap.textContent.replace(/\s+/g, ' ').trim().slice(0, 70) : '',
            complete: img.complete, nw: img.naturalWidth, nh: img.naturalHeight, dw: r.width,
            where: cfDescribe(fig || img)};
  });
  const cells = [];
  const numRe = /\d(?:[\d,.]*\d)?/g;
  article.querySelectorAll('td, th').forEach(td => {
    const t = td.textContent.replace(/\s+/g, ' ').trim();
    let why = null;
    if (/(^|[^A-Za-z_])nan([^A-Za-z_]|$)/i.test(t)) why = 'nan';
    // a non-finite number as Python/pandas print it ("inf", "-inf") or JavaScript ("Infinity" alone);
    // the word "infinity" inside a sentence (a limit stated in words) is prose, not a value
    else if (/(^|[^A-Za-z_])[-+−]?inf([^A-Za-z_]|$)/i.test(t) || /^[-+−]?infinity$/i.test(t)) why = 'inf';
    else {
      for (const m of (t.match(numRe) || [])) {
        const digits = m.replace(/[^0-9]/g, '').length;
        if (digits > MAX_DIGITS) { why = digits + ' digits'; break; }
      }
    }
    if (why) {
      const table = td.closest('table');
      const sec = td.closest('section[id]');
      cells.push({why, text: t.slice(0, 60), where: (sec ? '#' + sec.id : '') + ' table ' +
                  Array.from(document.querySelectorAll('table')).indexOf(table)});
    }
  });
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style').forEach(e => e.remove());
  const text = body.textContent;
  const pathRe = /(^|[\s"'(=:\[,>]|file:\/\/)(\/(?:tmp|root|home|work)\/[^\s"'<>)\],]*)/g;
  const paths = [];
  let m;
  while ((m = pathRe.exec(text)) !== null && paths.length < 20) {
    paths.push(text.slice(Math.max(0, m.index - 30), m.index + m[0].length).replace(/\s+/g, ' ').trim());
  }
  document.querySelectorAll('[href], [src]').forEach(el => {
    const v = el.getAttribute('href') || el.getAttribute('src') || '';
    if (/^(file:\/\/)?\/(tmp|root|home|work)\//.test(v)) paths.push('link ' + v.slice(0, 80));
  });
  // raw TeX: a backslash command, $$, or $...$ holding \\cmd, ^{ or _{ (money like "$5/min" is not TeX);
  // tested text node by text node, so text of neighbouring cells or paragraphs is never joined
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .highlight, mjx-container, mjx-assistive-mml, script, style, .cell_input, .MathJax').forEach(e => e.remove());
  const texRe = /.{0,40}(\\[A-Za-z]{2,}\b|\$\$|\$[^$\n]{0,80}(\\[A-Za-z]+|[\^_]\{)[^$\n]{0,80}\$|\\\(|\\\[).{0,40}/;
  let tex = null;
  const walker = document.createTreeWalker(prose, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const m = walker.currentNode.nodeValue.match(texRe);
    if (m) { tex = m; break; }
  }
  const main = document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText;
  return {images, cells, paths, rawTex: tex ? tex[0].replace(/\s+/g, ' ') : null,
          traceback: main.includes('Traceback (most recent call last)') || !!document.querySelector('.output.traceback'),
          nMath: document.querySelectorAll('mjx-container').length};
}
""".replace("MAX_DIGITS", str(MAX_DIGITS)).replace("DESCRIBE", DESCRIBE_JS)

# Overflow at 420 px: the document's scroll width and the elements that stick out of their parent.
MOBILE_JS = r"""
() => {
  DESCRIBE
  const vw = document.documentElement.clientWidth;
  const sw = document.documentElement.scrollWidth;
  const offenders = [];
  if (sw > vw) {
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= vw + 1) continue;
      const cs = getComputedStyle(el);
      if (cs.position === 'fixed') continue;
      // inside a box that scrolls or clips horizontally: contained, unless that box sticks out itself
      let contained = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) { contained = true; break; }
      }
      if (contained) continue;
      const parent = el.parentElement;
      if (parent && parent !== document.body && parent.getBoundingClientRect().right > vw + 1) continue;
      offenders.push(cfDescribe(el) + ' (right edge ' + Math.round(r.right) + ' px)');
      if (offenders.length >= 8) break;
    }
  }
  return {vw, sw, offenders};
}
""".replace("DESCRIBE", DESCRIBE_JS)


PAGE_TIMEOUT_MS = 240_000  # a long chapter on a busy 2-core machine: loading, MathJax and a full-page shot


def _shot_name(f: str, kind: str) -> Path:
    return ARTIFACTS / f"{f.replace('/', '__')}.{kind}.jpg"


JPEG_MAX_PX = 30_000  # a JPEG holds at most 65,535 px a side; a taller page is kept in parts


def _shoot(page, f: str, kind: str, full_page: bool = True) -> None:
    """Screenshot ``f``; a page taller than :data:`JPEG_MAX_PX` goes into ``<name>.jpg`` (the top) and
    ``<name>.part2.jpg``, ... (a single full-page JPEG of the claims ledger at 420 px came out empty)."""
    path = _shot_name(f, kind)
    height = int(page.evaluate("document.documentElement.scrollHeight")) if full_page else 0
    if height <= JPEG_MAX_PX:
        page.screenshot(path=str(path), full_page=full_page, type="jpeg", quality=75)
        return
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    for i, top in enumerate(range(0, height, JPEG_MAX_PX)):
        part = path if i == 0 else path.with_name(f"{path.stem}.part{i + 1}.jpg")
        clip = {"x": 0, "y": top, "width": width, "height": min(JPEG_MAX_PX, height - top)}
        page.screenshot(path=str(part), full_page=True, clip=clip, type="jpeg", quality=75)


@pytest.fixture(scope="module")
def page_report(server) -> dict[str, dict[str, Any]]:
    """Open every toc page at 1400 px and 420 px; measure; keep both screenshots."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict[str, Any]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        for kind, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            for f in toc_files():
                entry = report.setdefault(f, {})
                resp = page.goto(f"{server}/{f}.html", wait_until="load")
                entry[f"{kind}_status"] = resp.status if resp is not None else None
                if resp is None or resp.status != 200:
                    continue
                page.evaluate(WAIT_MATH_JS)
                page.wait_for_timeout(200)
                entry[kind] = page.evaluate(DESKTOP_JS if kind == "desktop" else MOBILE_JS)
                _shoot(page, f, kind)
            page.close()
        browser.close()
    return report


def _fail_if(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what}: {len(problems)} problem(s)\n" + "\n".join(problems), pytrace=False)


def test_every_page_loads_with_its_figures_and_math(page_report):
    problems = []
    for f, r in page_report.items():
        for kind in ("desktop", "mobile"):
            if r.get(f"{kind}_status") != 200:
                problems.append(f"{f}: HTTP {r.get(f'{kind}_status')} at {kind} width")
        d = r.get("desktop")
        if not d:
            continue
        for img in d["images"]:
            if not img["complete"] or img["nw"] == 0:
                problems.append(f"{f}: image {img['src']} did not load")
        if d["traceback"]:
            problems.append(f"{f}: a notebook output holds a traceback")
        if f.startswith("book/chapters/"):
            if d["nMath"] == 0:
                problems.append(f"{f}: no rendered math (MathJax) on a chapter page")
            if not d["images"]:
                problems.append(f"{f}: a chapter page without a single figure")
    _fail_if(problems, "pages that do not load cleanly")


def test_every_img_is_a_numbered_figure_with_a_caption(page_report):
    problems = []
    for f, r in page_report.items():
        for img in (r.get("desktop") or {}).get("images", []):
            if not img["inFigure"]:
                problems.append(f"{f}: <img {img['src']}> (alt {img['alt'][:40]!r}) is not in a <figure>: {img['where']}")
            elif not img["numbered"] or not img["caption"]:
                problems.append(f"{f}: figure without a number or caption: {img['where']}")
    _fail_if(problems, "images that are not numbered figures with captions")


def test_no_figure_is_displayed_below_70_percent_of_its_width(page_report):
    problems = []
    for f, r in page_report.items():
        for img in (r.get("desktop") or {}).get("images", []):
            if img["nw"] and img["dw"] > 0 and img["dw"] < MIN_DISPLAY_RATIO * img["nw"]:
                problems.append(
                    f"{f}: {img['src']} shown at {img['dw']:.0f} of {img['nw']} px "
                    f"({100 * img['dw'] / img['nw']:.0f} %) at {DESKTOP['width']} px: {img['where']}"
                )
    _fail_if(problems, f"figures displayed below {MIN_DISPLAY_RATIO:.0%} of their natural width")


def test_no_table_cell_reads_nan_inf_or_a_long_number(page_report):
    problems = []
    for f, r in page_report.items():
        for c in (r.get("desktop") or {}).get("cells", []):
            problems.append(f"{f}: {c['why']}: {c['text']!r} ({c['where']})")
    _fail_if(problems, f"table cells with nan, inf or more than {MAX_DIGITS} digits")


def test_no_absolute_path_of_the_build_machine(page_report):
    problems = []
    for f, r in page_report.items():
        for p in (r.get("desktop") or {}).get("paths", []):
            problems.append(f"{f}: {p!r}")
    _fail_if(problems, "absolute paths on the page")


def test_no_raw_tex(page_report):
    problems = [f"{f}: {r['desktop']['rawTex']!r}" for f, r in page_report.items() if (r.get("desktop") or {}).get("rawTex")]
    _fail_if(problems, "math left unrendered (raw TeX in the page text)")


def test_no_page_is_wider_than_a_420px_screen(page_report):
    problems = []
    for f, r in page_report.items():
        m = r.get("mobile")
        if m and m["sw"] > m["vw"]:
            problems.append(f"{f}: {m['sw']} px wide on a {m['vw']} px screen; sticking out: " + "; ".join(m["offenders"]))
    _fail_if(problems, "pages wider than the screen at 420 px")


def test_screenshots_are_kept_for_every_page(page_report):
    shots = [_shot_name(f, k) for f in page_report for k in ("desktop", "mobile")]
    missing = [str(p.relative_to(ROOT)) for p in shots if not p.is_file() or p.stat().st_size < 1000]
    assert not missing, "screenshots missing or empty: " + ", ".join(missing)


# ---------------------------------------------------------------------------------------------
# the claims-ledger page

LEDGER_PAGE = "book/claims_ledger"

LEDGER_JS = r"""
() => {
  const rows = Array.from(document.querySelectorAll('table.cf-ledger tbody tr')).map(tr => {
    const table = tr.closest('table');
    const link = tr.querySelector('a.cf-claim-link');
    const badge = tr.querySelector('.cf-verdict');
    const reason = tr.querySelector('td.cf-col-reason');
    return {chapter: table.dataset.chapter, id: link ? link.textContent.trim() : null,
            href: link ? link.getAttribute('href') : null,
            verdict: badge ? badge.textContent.replace(/[^a-z-]/g, '') : null,
            reasonClipped: reason ? (reason.scrollWidth > reason.clientWidth + 1 || reason.scrollHeight > reason.clientHeight + 1) : null,
            reasonWrap: reason ? getComputedStyle(reason).whiteSpace : null};
  });
  const coverage = {};
  document.querySelectorAll('p.cf-coverage').forEach(p => { coverage[p.dataset.chapter] = p.textContent.replace(/\s+/g, ' ').trim(); });
  const legend = document.querySelector('.cf-legend');
  const profile = document.querySelector('p.cf-profile');
  return {rows, coverage, legend: legend ? legend.textContent.replace(/\s+/g, ' ') : '',
          profile: profile ? profile.textContent : ''};
}
"""

# WCAG 2 contrast ratio (text colour on the background it is drawn on) of every verdict badge and of
# the ledger's other text (claim, sub-lines, reason, coverage line, legend), keyed by what it is.
CONTRAST_JS = r"""
() => {
  function rgba(s) { const m = s.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; }
  function lum(c) { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                    return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
  function background(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  }
  function ratio(el) {
    const a = lum(rgba(getComputedStyle(el).color)), b = lum(background(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  const out = {};
  function note(key, el) { const r = ratio(el); if (!(key in out) || r < out[key]) out[key] = r; }
  document.querySelectorAll('.cf-verdict').forEach(el => {
    note(Array.from(el.classList).find(c => c.startsWith('cf-verdict-') && c !== 'cf-verdict-mark'), el);
  });
  const text = ['.cf-claim-text', '.cf-sub', '.cf-where', 'td.cf-col-reason', 'td.cf-col-paper', 'p.cf-coverage',
                'p.cf-ledger-note', 'p.cf-profile', '.cf-legend dd', '.cf-table-note', 'div.cf-table td'];
  for (const sel of text) document.querySelectorAll(sel).forEach(el => note(sel, el));
  return out;
}
"""


def _ledger_csv(stem: str) -> list[dict[str, str]]:
    import csv

    path = ROOT / "results" / stem / "claims.csv"
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ledger_report(server) -> dict[str, Any]:
    """The ledger page read at 1400 px and 420 px, and its verdict contrast in light and dark mode."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        for kind, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(f"{server}/{LEDGER_PAGE}.html", wait_until="load")
            out[kind] = page.evaluate(LEDGER_JS)
            page.close()
        for mode in ("light", "dark"):
            page = browser.new_page(viewport=DESKTOP, color_scheme=mode)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(f"{server}/{LEDGER_PAGE}.html", wait_until="load")
            page.evaluate(f"() => {{ document.documentElement.dataset.theme = '{mode}'; document.documentElement.dataset.mode = '{mode}'; }}")
            page.wait_for_timeout(200)
            out[f"contrast_{mode}"] = page.evaluate(CONTRAST_JS)
            if mode == "dark":
                _shoot(page, LEDGER_PAGE, "dark", full_page=False)
            page.close()
        browser.close()
    return out


def test_ledger_page_has_a_section_and_coverage_line_per_chapter(ledger_report, html_dir):
    from capfront_lib.runner import discover

    chapters = discover(ROOT)
    coverage = ledger_report["desktop"]["coverage"]
    assert sorted(coverage) == sorted(chapters), f"coverage lines for {sorted(coverage)}, chapters are {chapters}"
    ids = _parsed(html_dir / f"{LEDGER_PAGE}.html").ids
    missing = [s for s in chapters if f"ledger-{s.replace('_', '-')}" not in ids]
    assert not missing, f"the ledger page has no section for {missing}"
    for stem in chapters:
        rows = _ledger_csv(stem)
        n_nc = sum(r["verdict"] == "not-checkable" for r in rows)
        n_measured = sum(bool(r["our_value"].strip()) and r["verdict"] != "not-checkable" for r in rows)
        line = coverage[stem]
        if rows:
            assert f"{n_measured} measured" in line and f"{n_nc} not-checkable" in line, f"{stem}: {line!r}"


def test_ledger_rows_match_every_claims_csv(ledger_report):
    from capfront_lib.runner import discover

    shown: dict[str, list[tuple[str, str]]] = {}
    for r in ledger_report["desktop"]["rows"]:
        shown.setdefault(r["chapter"], []).append((r["id"], r["verdict"]))
    problems = []
    for stem in discover(ROOT):
        expected = [(r["claim_id"], r["verdict"]) for r in _ledger_csv(stem)]
        if shown.get(stem, []) != expected:
            problems.append(f"{stem}: page shows {len(shown.get(stem, []))} rows, claims.csv has {len(expected)} (or verdicts differ)")
    _fail_if(problems, "ledger rows that differ from results/<chapter>/claims.csv")


def test_every_ledger_link_reaches_an_anchor_of_the_chapter(ledger_report, html_dir):
    """Each row links to chapters/<stem>.html#<label>; the anchor must exist in the built chapter page."""
    page = html_dir / f"{LEDGER_PAGE}.html"
    problems = []
    for r in ledger_report["desktop"]["rows"]:
        if not r["href"]:
            problems.append(f"{r['chapter']}/{r['id']}: no link")
            continue
        parts = urlsplit(r["href"])
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.is_file():
            problems.append(f"{r['chapter']}/{r['id']}: {r['href']} -> no such page")
        elif not parts.fragment:
            problems.append(f"{r['chapter']}/{r['id']}: {r['href']} links to the page top, not a section")
        elif parts.fragment not in _parsed(target).ids:
            problems.append(f"{r['chapter']}/{r['id']}: anchor #{parts.fragment} does not exist in {target.name}")
    _fail_if(problems, "ledger rows whose link does not reach the section that computes them")


def test_ledger_legend_names_every_rule_and_verdict_and_the_profile(ledger_report):
    from capfront_lib.core.claims import RULES, VERDICTS

    legend = ledger_report["desktop"]["legend"]
    missing = [w for w in (*RULES, *VERDICTS) if w not in legend]
    assert not missing, f"the legend does not explain {missing}"
    profile = ledger_report["desktop"]["profile"]
    assert re.search(r"built with the (quick|paper) profile", profile), f"the page does not state the build profile: {profile!r}"


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_ledger_verdict_colours_are_readable(ledger_report, mode):
    """Every verdict badge, and the ledger's other text, has contrast >= 4.5:1 (WCAG AA) in light and dark mode."""
    contrast = ledger_report[f"contrast_{mode}"]
    from capfront_lib.core.claims import VERDICTS

    assert set(contrast) >= {f"cf-verdict-{v}" for v in VERDICTS}, f"badges found: {sorted(contrast)}"
    low = {k: round(v, 2) for k, v in contrast.items() if v < 4.5}
    assert not low, f"{mode} mode: ledger text below 4.5:1 contrast: {low}"


@pytest.mark.parametrize("kind", ["desktop", "mobile"])
def test_ledger_reason_column_wraps_and_is_not_clipped(ledger_report, kind):
    rows = ledger_report[kind]["rows"]
    assert rows, "the ledger page shows no rows"
    bad = [f"{r['chapter']}/{r['id']} (white-space {r['reasonWrap']})" for r in rows if r["reasonClipped"] or r["reasonWrap"] not in ("normal", "pre-wrap", "pre-line")]
    assert not bad, f"{kind}: reason cells clipped or not wrapping: " + ", ".join(bad[:20])
