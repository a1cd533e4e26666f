"""The browser checks of tests/test_book.py, run on two small hand-written pages: one with every fault
the checks must report (and only those), one clean. No book build needed."""

from __future__ import annotations

import base64
import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

import test_book as tb

# a 10 x 10 px PNG (one colour), written out so the page has a real image of known natural size
PNG_10 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAoAAAAKCAIAAAACUFjqAAAAFElEQVR4nGOUC+hhwA2Y8MiNYGkAObsBDuYsX4YAAAAASUVORK5CYII="
)

FAULTY = """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><article class="bd-article"><section id="s1">
<p>An image that is not a figure:</p><img src="dot.png" alt="dot" width="10">
<figure><img src="dot.png" alt="uncaptioned"></figure>
<figure><img src="dot.png" alt="small" style="width:6px"><figcaption><span class="caption-number">Fig. 1 </span>shrunk</figcaption></figure>
<table><tr><td>nan</td><td>-inf</td><td>17492543642296307712.00000</td><td>Infinity</td></tr>
<tr><td>a_inf</td><td>R(m) increasing, -> infinity</td><td>1,234,567,890</td><td>Inference</td></tr></table>
<p>written to /work/capfront/results/x and <a href="/tmp/out.csv">a file</a></p>
<p>a cost of $10^{-4}$ USD</p>
<p>money is fine: $5/min and $10 (lambda_L &lt;= $5/min)</p>
<div style="width:900px">wider than a phone</div>
<pre style="overflow-x:auto">code_that_is_long_but_scrolls_in_its_box_code_that_is_long_but_scrolls_in_its_box_code_that_is_long</pre>
</section></article></main></body></html>"""

CLEAN = """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><article class="bd-article"><section id="s1">
<figure><img src="dot.png" alt="a dot" width="10"><figcaption><span class="caption-number">Fig. 1 </span>
<span class="caption-text">A dot.</span></figcaption></figure>
<table><tr><td>—</td><td>∞</td><td>1,234,567,890</td><td>a_inf</td><td>Inference, information</td></tr></table>
<p>money is fine: $5/min and $10 (lambda_L &lt;= $5/min); a path relative to the book: results/x</p>
<div style="overflow-x:auto"><div style="width:900px">a wide table in its own scrolling box</div></div>
</section></article></main></body></html>"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("pages")
    (root / "dot.png").write_bytes(PNG_10)
    (root / "faulty.html").write_text(FAULTY)
    (root / "clean.html").write_text(CLEAN)
    handler = functools.partial(tb._QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    out: dict = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=tb._chromium(), args=tb.CHROMIUM_ARGS)
            for name in ("faulty", "clean"):
                page = browser.new_page(viewport=tb.DESKTOP)
                page.goto(f"{url}/{name}.html", wait_until="load")
                out[name] = {"desktop": page.evaluate(tb.DESKTOP_JS)}
                page.close()
                page = browser.new_page(viewport=tb.MOBILE)
                page.goto(f"{url}/{name}.html", wait_until="load")
                out[name]["mobile"] = page.evaluate(tb.MOBILE_JS)
                page.close()
            browser.close()
    finally:
        httpd.shutdown()
    return out


def test_images_outside_numbered_captioned_figures_are_found(pages):
    imgs = pages["faulty"]["desktop"]["images"]
    assert [(i["alt"], i["inFigure"], i["numbered"]) for i in imgs] == [
        ("dot", False, False),
        ("uncaptioned", True, False),
        ("small", True, True),
    ]
    small = imgs[2]
    assert small["nw"] == 10 and small["dw"] == pytest.approx(6)  # 60 % of natural width: reported
    clean = pages["clean"]["desktop"]["images"]
    assert len(clean) == 1 and clean[0]["inFigure"] and clean[0]["numbered"] and clean[0]["caption"]


def test_nan_inf_and_long_numbers_are_found_and_prose_is_not(pages):
    found = sorted((c["why"], c["text"]) for c in pages["faulty"]["desktop"]["cells"])
    assert found == sorted([("nan", "nan"), ("inf", "-inf"), ("25 digits", "17492543642296307712.00000"), ("inf", "Infinity")])
    assert pages["clean"]["desktop"]["cells"] == []


def test_absolute_paths_are_found_in_text_and_links(pages):
    paths = pages["faulty"]["desktop"]["paths"]
    assert any("/work/capfront/results/x" in p for p in paths)
    assert any(p.startswith("link /tmp/out.csv") for p in paths)
    assert pages["clean"]["desktop"]["paths"] == []


def test_raw_tex_is_found_and_money_is_not(pages):
    assert "$10^{-4}$" in pages["faulty"]["desktop"]["rawTex"]
    assert pages["clean"]["desktop"]["rawTex"] is None


def test_overflow_at_420px_names_the_element_and_ignores_scrolling_boxes(pages):
    m = pages["faulty"]["mobile"]
    assert m["sw"] > m["vw"] == 420
    # the 900 px div and the table held wide by its 25-digit number stick out; the scrolling <pre> does not
    assert [o.split(" ")[0] for o in m["offenders"]] == ["table", "div"]
    assert m["offenders"][1].startswith('div in section #s1 "wider than a phone"')
    c = pages["clean"]["mobile"]
    assert c["sw"] <= c["vw"] and c["offenders"] == []
