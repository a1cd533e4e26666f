"""results.json and claims.csv as written by ``core.results.write_results``.

Verdicts come only from the registry through ``core.claims.Ledger``; there is no API that takes a
typed verdict (issue 13), which the last test checks.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core import results as results_mod
from capfront_lib.core.claims import LEDGER_COLUMNS, Ledger, parse_registry
from capfront_lib.core.results import CLAIM_COLUMNS, read_claims, write_results

REGISTRY = {
    "work": "A made-up paper",
    "claims": [
        {"id": "c1", "location": ["Table 1"], "claim": "x is 0.5", "paper_value": "0.5", "rule": "value",
         "target": 0.5, "tolerance": 0.01, "tolerance_why": "printed to two decimals", "method": "analytic"},
        {"id": "c2", "location": ["Abstract"], "claim": "82% missed", "paper_value": "82%",
         "rule": "not-checkable", "why": "needs the authors' private logs"},
    ],
}


def _ledger(chapter: str = "ch") -> Ledger:
    return Ledger(chapter, profile="quick", registry=parse_registry(REGISTRY, chapter))


def test_write_and_read_roundtrip(tmp_path):
    led = _ledger()
    led.measure("c1", 0.504)
    write_results(tmp_path / "ch", "ch", results={"a": np.float64(0.5), "b": np.int64(3), "nan": float("nan"), "arr": np.arange(3)}, ledger=led)
    res = json.loads((tmp_path / "ch" / "results.json").read_text())
    assert {k: res[k] for k in ("chapter", "a", "b", "nan", "arr")} == {"chapter": "ch", "a": 0.5, "b": 3, "nan": None, "arr": [0, 1, 2]}
    assert res["verdict_counts"]["reproduced"] == 1 and res["verdict_counts"]["not-checkable"] == 1
    df = read_claims(tmp_path)
    assert list(df.columns)[: len(CLAIM_COLUMNS)] == list(CLAIM_COLUMNS)
    # |0.504 - 0.5| = 0.004 <= 0.01 by hand
    assert dict(zip(df.claim_id, df.verdict)) == {"c1": "reproduced", "c2": "not-checkable"}


def test_without_a_ledger_claims_csv_is_the_header_only(tmp_path):
    write_results(tmp_path / "ch", "ch", results={"x": 1})
    df = pd.read_csv(tmp_path / "ch" / "claims.csv")
    assert list(df.columns) == list(LEDGER_COLUMNS) and len(df) == 0


def test_write_results_rejects_a_foreign_ledger_and_unserialisable_values(tmp_path):
    led = _ledger("other")
    led.measure("c1", 0.5)
    with pytest.raises(ValueError, match="cannot be written for 'ch'"):
        write_results(tmp_path, "ch", results={}, ledger=led)
    with pytest.raises(TypeError, match="not serialisable"):
        write_results(tmp_path, "ch", results={"x": object()})


def test_an_incomplete_ledger_is_not_written_and_earlier_files_survive(tmp_path):
    write_results(tmp_path, "ch", results={"run": 1})
    led = _ledger()  # c1 neither measured nor skipped
    with pytest.raises(Exception, match="c1"):
        write_results(tmp_path, "ch", results={"run": 2}, ledger=led)
    assert json.loads((tmp_path / "results.json").read_text())["run"] == 1


def test_no_typed_verdict_api():
    assert not hasattr(results_mod, "Claim")
    assert "claims" not in inspect.signature(write_results).parameters
    assert "verdict" not in inspect.signature(Ledger.measure).parameters


def test_read_claims_reports_missing_ledger(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the chapter first"):
        read_claims(tmp_path, ["absent"])


def test_results_json_leaves_out_where_the_run_wrote(tmp_path):
    """Two identical runs in different temporary folders write the same results.json (issue 14's byte identity)."""
    for d in ("run1", "run2"):
        write_results(tmp_path / d, "ch", results={"parameters": {"seed": 0, "results_dir": str(tmp_path / d)}, "x": 1.5})
    a, b = ((tmp_path / d / "results.json").read_bytes() for d in ("run1", "run2"))
    assert a == b and json.loads(a)["parameters"] == {"seed": 0}
