"""Parameter schemas, number formatting and the table formatter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core import fmt
from capfront_lib.core import params as P
from capfront_lib.core.tables import table_html

SCHEMA = P.Schema(
    "demo",
    [
        P.Seed(),
        P.Int("n_models", min=2, max=500),
        P.Float("specialisation", min=0, max=1),
        P.Choice("missing", ["drop_queries", "keep_partial"]),
        P.FloatList("d_beta", length=2, min=0, strict_min=True),
        P.IntList("ks", min=1, sorted=True),
        P.InputPath("outcomes_path"),
        P.Bool("flag"),
    ],
    checks=[lambda p: "ks must not exceed n_models" if max(p["ks"]) > p["n_models"] else None],
    guards=[P.Guard("n_models × 10⁶", lambda p: p["n_models"] * 1e6, 1e8)],
)
GOOD = dict(seed=0, n_models=8, specialisation=0.5, missing="drop_queries", d_beta=[1, 2.0], ks=[1, 2, 3],
            outcomes_path="", flag=True)


def test_schema_accepts_and_normalises():
    out = SCHEMA.validate(GOOD)
    assert out["d_beta"] == [1.0, 2.0] and isinstance(out["d_beta"][0], float)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("n_models", -5, "'n_models' must be >= 2, got -5"),
        ("n_models", 2.5, "must be an integer"),
        ("n_models", True, "must be an integer"),
        ("seed", -1, "'seed' must be >= 0"),
        ("specialisation", float("nan"), "finite number"),
        ("specialisation", 1.5, "<= 1"),
        ("missing", "bogus", "must be one of"),
        ("d_beta", [1.0], "list of 2 items"),
        ("d_beta", [0.0, 1.0], "item 0 must be > 0"),
        ("ks", [3, 1], "increasing order"),
        ("outcomes_path", "/nonexistent/log.csv", "file not found"),
        ("flag", "yes", "true or false"),
    ],
)
def test_schema_rejects_with_one_line(name, value, match):
    with pytest.raises(P.ParameterError, match=match) as err:
        SCHEMA.validate({**GOOD, name: value})
    assert "\n" not in str(err.value)


def test_cross_rules_guards_and_names():
    with pytest.raises(P.ParameterError, match="ks must not exceed"):
        SCHEMA.validate({**GOOD, "ks": [1, 9]})
    with pytest.raises(P.ParameterError, match="the limit is"):
        SCHEMA.validate({**GOOD, "n_models": 500})
    with pytest.raises(P.ParameterError, match="no parameter 'bogus'"):
        SCHEMA.validate({**GOOD, "bogus": 1})
    with pytest.raises(P.ParameterError, match="not set"):
        SCHEMA.validate({k: v for k, v in GOOD.items() if k != "seed"})


# -- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, kw, text",
    [
        (9460, {}, "9,460"),
        (np.int64(1319), {}, "1,319"),
        (1.21, {}, "1.21"),
        (25.0, {}, "25.0"),
        (0.000120, {}, "1.20 × 10⁻⁴"),
        (1.7492543642296308e19, {}, "1.75 × 10¹⁹"),
        (-0.0321, {}, "−0.0321"),
        (float("nan"), {}, "—"),
        (None, {}, "—"),
        (float("inf"), {}, "∞"),
        (0.53963, {"decimals": 2}, "0.54"),
        (0.0099, {"sig": 2}, "0.0099"),
    ],
)
def test_number(x, kw, text):
    assert fmt.number(x, **kw) == text


def test_sci_carries_into_exponent():
    assert fmt.sci(9.97e-5, 2) == "1.0 × 10⁻⁴"


def test_pct_money_interval():
    assert fmt.pct(0.5396, 2) == "53.96%"
    assert fmt.pct(-0.046, 1, signed=True) == "−4.6%"
    assert fmt.money(333.333) == "$333.33"
    assert fmt.money(0.0212) == "$0.0212"
    assert fmt.money(1.2e-4) == "$1.20 × 10⁻⁴"
    assert fmt.interval(0.00123, 0.00882) == "[0.00123, 0.00882]"


# -- tables --------------------------------------------------------------------------------------
def test_table_formats_columns_and_hides_index():
    df = pd.DataFrame({"model": ["a", "b"], "n": [9460, 12], "acc": [0.71823, 0.5], "ratio": [1.21, 25.0]},
                      index=[7, 8])
    h = table_html(df)
    # per-column significant digits: the ratio column's median magnitude is 10, so one decimal
    assert "9,460" in h and "0.718" in h and ">1.2<" in h and ">25.0<" in h
    assert ">7<" not in h  # no pandas index
    assert h.startswith('<div class="cf-table">')


def test_table_needs_reasons_for_missing_and_infinite():
    df = pd.DataFrame({"x": [1.0, math.nan], "r": [2.0, math.inf]})
    with pytest.raises(ValueError, match="missing"):
        table_html(df, infinite="zero denominator")
    with pytest.raises(ValueError, match="infinite"):
        table_html(df, missing="not run")
    h = table_html(df, missing="not run at this profile", infinite="zero denominator")
    assert "—" in h and "∞" in h and "not run at this profile" in h and "nan" not in h.lower().replace("cf-table-note", "")


def test_table_integral_floats_shown_as_integers():
    h = table_html(pd.DataFrame({"k": [1.0, 2.0, 30.0]}))
    assert ">30<" in h and "30.0" not in h
