"""Shared fixtures: one quick build of the book per test session, and the public data location.

Every chapter notebook is executed exactly once per session (``capfront build --profile quick``);
chapter tests read its outputs through ``quick_results``. Set ``CAPFRONT_TEST_CHAPTERS=a,b`` to
execute only those chapters (no HTML build; the book tests are then skipped).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

from capfront_lib import runner

ROOT = Path(__file__).resolve().parents[1]


def _selected_chapters() -> list[str] | None:
    raw = os.environ.get("CAPFRONT_TEST_CHAPTERS", "").strip()
    return [c.strip() for c in raw.split(",") if c.strip()] or None


@pytest.fixture(scope="session")
def quick_build() -> dict[str, Any]:
    """Execute the chapters once (quick profile) and, for a full run, build the HTML book."""
    os.environ["CAPFRONT_ROOT"] = str(ROOT)
    selected = _selected_chapters()
    if selected:
        errors: dict[str, str] = {}
        for stem in selected:
            try:
                runner.run_chapter(stem, profile="quick", output=ROOT / "results" / stem / f"{stem}.ipynb", root=ROOT)
            except runner.RunnerError as err:
                errors[stem] = str(err)
        return {"errors": errors, "html": None, "selected": selected, "notebook_dir": None}
    summary = runner.build_book(profile="quick", keep_going=True, jobs=2, raise_on_error=False, root=ROOT)
    summary["selected"] = None
    summary["notebook_dir"] = ROOT / runner.BOOK_CHAPTER_DIR
    return summary


@pytest.fixture(scope="session")
def quick_results(quick_build: dict[str, Any]) -> Callable[[str], tuple[dict[str, Any], pd.DataFrame, Path]]:
    """``quick_results(stem)`` -> (results.json as dict, claims.csv as DataFrame, executed notebook path)."""

    def get(stem: str) -> tuple[dict[str, Any], pd.DataFrame, Path]:
        if quick_build["selected"] is not None and stem not in quick_build["selected"]:
            pytest.skip(f"chapter {stem} not selected in CAPFRONT_TEST_CHAPTERS")
        if stem in quick_build["errors"]:
            pytest.fail(f"chapter {stem} failed in the quick build:\n{quick_build['errors'][stem]}", pytrace=False)
        res_dir = ROOT / "results" / stem
        results = json.loads((res_dir / "results.json").read_text())
        claims = pd.read_csv(res_dir / "claims.csv", dtype=str, keep_default_na=False)
        nb_dir = quick_build["notebook_dir"]
        nb = (nb_dir / f"{stem}.ipynb") if nb_dir is not None else res_dir / f"{stem}.ipynb"
        return results, claims, nb

    return get


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public outcome matrices: ``CAPFRONT_DATA_DIR``, else ``../shared/data`` beside the checkout."""
    raw = os.environ.get("CAPFRONT_DATA_DIR", "")
    candidates = [Path(raw)] if raw else [ROOT.parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    pytest.skip("public data not available: set CAPFRONT_DATA_DIR to the folder with MMLU-Pro/, ZeroEval/, ...")
