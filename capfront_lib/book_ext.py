"""A small Sphinx extension for the capfront book: MathJax served from the book itself.

The book must read well offline (and its page checks run on a machine without internet), so the
MathJax 3 files shipped by the ``django-static-mathjax`` wheel (only static files, no Django
needed) are copied into ``_static/mathjax`` and ``mathjax_path`` points there.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-chtml.js"
_SKIP = ("sre", "tex-chtml-full.js", "tex-chtml-full-speech.js", "tex-svg-full.js", "mml-svg.js", "tex-mml-svg.js", "tex-svg.js", "node-main.js")


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


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
