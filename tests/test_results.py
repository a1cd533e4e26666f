"""Claims ledger rows and results.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core.results import CLAIM_COLUMNS, Claim, read_claims, write_results


def claim(**kw):
    base = dict(chapter="ch", claim_id="c1", claim="x beats y", paper_value="54%", our_value="51%", method="simulation", verdict="direction-only", reason="smaller pool")
    base.update(kw)
    return Claim(**base)


def test_write_and_read_roundtrip(tmp_path):
    write_results(tmp_path / "ch", "ch", results={"a": np.float64(0.5), "b": np.int64(3), "nan": float("nan"), "arr": np.arange(3)}, claims=[claim(), claim(claim_id="c2", our_value=0.123456)])
    res = json.loads((tmp_path / "ch" / "results.json").read_text())
    assert res == {"chapter": "ch", "a": 0.5, "b": 3, "nan": None, "arr": [0, 1, 2]}
    df = read_claims(tmp_path)
    assert list(df.columns) == list(CLAIM_COLUMNS)
    assert df["our_value"].tolist() == ["51%", "0.1235"]


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"method": "guess"}, "method must be one of"),
        ({"verdict": "ok"}, "verdict must be one of"),
        ({"our_value": ""}, "needs a measured our_value"),
        ({"reason": " "}, "field 'reason' is empty"),
        ({"method": "not-checkable"}, "requires verdict 'not-checkable'"),
    ],
)
def test_claim_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        claim(**kw)


def test_not_checkable_claim_needs_no_value():
    c = claim(our_value="", method="not-checkable", verdict="not-checkable", reason="needs private data")
    assert c.our_value == ""


def test_write_results_rejects_foreign_and_duplicate_claims(tmp_path):
    with pytest.raises(ValueError, match="belongs to chapter 'ch'"):
        write_results(tmp_path, "other", results={}, claims=[claim()])
    with pytest.raises(ValueError, match="duplicated claim ids"):
        write_results(tmp_path, "ch", results={}, claims=[claim(), claim()])
    with pytest.raises(TypeError, match="not serialisable"):
        write_results(tmp_path, "ch", results={"x": object()}, claims=[])


def test_read_claims_reports_missing_ledger(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the chapter first"):
        read_claims(tmp_path, ["absent"])
