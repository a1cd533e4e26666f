"""The built book, checked as a reader sees it: Sphinx without warnings, executed notebooks without
errors, and every page opened in headless Chromium (images, math, tracebacks, the claims ledger)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
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

# Text of the page outside code blocks and rendered math: raw TeX there means MathJax did not parse it.
RAW_TEX_JS = r"""() => {
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, .highlight, mjx-container, script, style, .cell_input').forEach(e => e.remove());
  const text = main.textContent;
  const m = text.match(/.{0,40}(\\(mathbb|frac|sum|int|alpha|beta|theta|mathrm|text|le|ge)\b|\$\$).{0,40}/);
  return m ? m[0] : null;
}"""


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


@pytest.fixture(scope="module")
def html_dir(quick_build) -> Path:
    if quick_build["selected"] is not None:
        pytest.skip("book checks need the full build (CAPFRONT_TEST_CHAPTERS is set)")
    if quick_build["errors"]:
        pytest.fail("the quick build failed:\n" + "\n\n".join(quick_build["errors"].values()), pytrace=False)
    return Path(quick_build["html"])


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


def test_every_page_in_a_browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    pages = toc_files()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for f in pages:
            url = f"{server}/{f}.html"
            resp = page.goto(url, wait_until="load")
            if resp is None or resp.status != 200:
                problems.append(f"{f}: HTTP {resp.status if resp else 'no response'}")
                continue
            page.wait_for_function("() => !window.MathJax || !window.MathJax.startup || window.MathJax.startup.document", timeout=20000)
            page.wait_for_timeout(300)
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth, e.naturalHeight])"
            )
            for src, complete, w, h in images:
                if not complete or w == 0 or h == 0:
                    problems.append(f"{f}: image {src} has zero size")
            text = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
            if "Traceback (most recent call last)" in text or page.query_selector(".output.traceback"):
                problems.append(f"{f}: a notebook output holds a traceback")
            raw_tex = page.evaluate(RAW_TEX_JS)
            if raw_tex:
                problems.append(f"{f}: math left unrendered (raw TeX in the page text): {raw_tex}")
            is_chapter = f.startswith("book/chapters/")
            if is_chapter:
                n_math = page.eval_on_selector_all("mjx-container", "els => els.length")
                if n_math == 0:
                    problems.append(f"{f}: no rendered math (MathJax) on a chapter page")
                if not images:
                    problems.append(f"{f}: a chapter page without a single figure")
            if f.endswith("claims_ledger"):
                rows = page.eval_on_selector_all("table.claims-ledger tbody tr", "els => els.length")
                if rows == 0:
                    problems.append(f"{f}: the claims-ledger table has no rows")
            page.screenshot(path=str(ARTIFACTS / f"{f.replace('/', '__')}.png"), full_page=True)
        browser.close()
    assert not problems, "\n".join(problems)
