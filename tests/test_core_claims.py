"""The claims registry and the verdict function, on hand-worked cases (one or more per rule)."""

from __future__ import annotations

import pytest

from capfront_lib.core import claims as cl


def spec(**kw):
    base = {"id": "c1", "location": ["Table 2"], "claim": "a claim", "paper_value": "0.75", "method": "analytic"}
    base.update(kw)
    return cl.parse_entry(base)


VALUE = dict(rule="value", target=0.75, tolerance=0.01, tolerance_why="printed to two decimals")


# -- value ---------------------------------------------------------------------------------------
def test_value_point_inside_and_outside_band():
    s = spec(**VALUE)
    assert cl.decide(s, 0.755).verdict == "reproduced"  # |0.755-0.75| = 0.005 <= 0.01
    assert cl.decide(s, 0.74).verdict == "reproduced"  # on the band edge
    assert cl.decide(s, 0.7399).verdict == "differs"
    assert cl.decide(s, 0.80).verdict == "differs"


def test_value_interval_inside_outside_and_straddling():
    s = spec(**VALUE, statistical=True, method="simulation")
    assert cl.decide(s, 0.75, ci=(0.745, 0.755), n=20).verdict == "reproduced"
    assert cl.decide(s, 0.80, ci=(0.78, 0.82), n=20).verdict == "differs"
    d = cl.decide(s, 0.755, ci=(0.73, 0.78), n=20)  # point inside, interval straddles both band edges
    assert d.verdict == "inconclusive" and "straddles" in d.reason
    d = cl.decide(s, 0.757, ci=(0.752, 0.765), n=20)  # straddles the upper edge 0.76
    assert d.verdict == "inconclusive"


def test_value_relative_tolerance():
    s = spec(rule="value", target=200.0, tolerance="5%", tolerance_why="a substantive margin")
    assert s.band() == (190.0, 210.0)
    assert cl.decide(s, 209.9).verdict == "reproduced"
    assert cl.decide(s, 211.0).verdict == "differs"


def test_value_signed_gives_direction_only():
    s = spec(rule="value", target=0.10, tolerance=0.02, tolerance_why="x", signed=True)
    assert cl.decide(s, 0.03).verdict == "direction-only"  # right sign, far from 0.10
    assert cl.decide(s, -0.03).verdict == "differs"  # wrong sign
    s2 = spec(rule="value", target=0.10, tolerance=0.02, tolerance_why="x", signed=True, statistical=True, method="simulation")
    # interval crosses zero: the sign is not established -> differs from the band but not direction-only
    assert cl.decide(s2, 0.02, ci=(-0.01, 0.05), n=10).verdict == "differs"


def test_statistical_claim_needs_interval():
    s = spec(**VALUE, statistical=True, method="simulation")
    with pytest.raises(ValueError, match="statistical"):
        cl.decide(s, 0.75)


def test_value_outside_its_interval_is_an_error():
    s = spec(**VALUE, statistical=True, method="simulation")
    with pytest.raises(ValueError, match="outside its interval"):
        cl.decide(s, 0.9, ci=(0.7, 0.8))


# -- equivalence ---------------------------------------------------------------------------------
def test_equivalence_on_par():
    s = spec(rule="equivalence", tolerance=0.01, tolerance_why="1 pt of accuracy", statistical=True, method="simulation")
    assert cl.decide(s, 0.002, ci=(-0.004, 0.008), n=30).verdict == "reproduced"
    assert cl.decide(s, -0.03, ci=(-0.04, -0.02), n=30).verdict == "differs"
    assert cl.decide(s, 0.005, ci=(-0.002, 0.02), n=30).verdict == "inconclusive"


# -- direction / rank ----------------------------------------------------------------------------
def test_direction_sign_with_interval():
    s = spec(rule="direction", expect=">", statistical=True, method="simulation")
    assert cl.decide(s, 0.02, ci=(0.01, 0.03), n=10).verdict == "reproduced"
    assert cl.decide(s, -0.02, ci=(-0.03, -0.01), n=10).verdict == "differs"
    assert cl.decide(s, 0.01, ci=(-0.01, 0.03), n=10).verdict == "inconclusive"
    s_lt = spec(rule="direction", expect="<", reference=1.0)
    assert cl.decide(s_lt, 0.5).verdict == "reproduced"
    assert cl.decide(s_lt, 1.0).verdict == "differs"  # equality is not "<"


def test_direction_with_size_gives_direction_only():
    s = spec(rule="direction", expect=">", target=0.05, tolerance=0.01, tolerance_why="x")
    assert cl.decide(s, 0.052).verdict == "reproduced"
    assert cl.decide(s, 0.01).verdict == "direction-only"
    assert cl.decide(s, -0.01).verdict == "differs"


def test_rank_margin():
    s = spec(rule="rank", statistical=True, method="public-data")
    assert cl.decide(s, 0.004, ci=(0.001, 0.007), n=1000).verdict == "reproduced"
    assert cl.decide(s, -0.02, ci=(-0.03, -0.01), n=1000).verdict == "differs"
    assert cl.decide(s, 0.0038, ci=(-0.0062, 0.0117), n=1000).verdict == "inconclusive"


# -- bound / holds -------------------------------------------------------------------------------
def test_bound():
    s = spec(rule="bound", expect="<=", target=0.06, tolerance=0.001, tolerance_why="printed to 3 decimals")
    assert cl.decide(s, 0.057).verdict == "reproduced"
    assert cl.decide(s, 0.0609).verdict == "reproduced"  # within the slack
    assert cl.decide(s, 0.07).verdict == "differs"
    s2 = spec(rule="bound", expect=">=", target=0.25, statistical=True, method="simulation")
    assert cl.decide(s2, 0.3, ci=(0.26, 0.34), n=5).verdict == "reproduced"
    assert cl.decide(s2, 0.26, ci=(0.2, 0.3), n=5).verdict == "inconclusive"


def test_holds():
    s = spec(rule="holds")
    assert cl.decide(s, True).verdict == "reproduced"
    assert cl.decide(s, False).verdict == "differs"
    with pytest.raises(ValueError):
        cl.decide(s, 1.0)


# -- profiles and replicates ---------------------------------------------------------------------
def test_min_profile_paper_at_quick():
    s = spec(**VALUE, min_profile="paper")
    d = cl.decide(s, 0.75, profile="quick")  # a point value at the wrong scale decides nothing
    assert d.verdict == "inconclusive" and "needs --profile paper" in d.reason
    assert cl.decide(s, 0.75, profile="paper").verdict == "reproduced"
    s2 = spec(**VALUE, min_profile="paper", statistical=True, method="simulation")
    # the quick interval already decides: keep the verdict
    assert cl.decide(s2, 0.90, ci=(0.85, 0.95), n=3, profile="quick").verdict == "differs"
    # ... or does not: inconclusive, needs paper
    d = cl.decide(s2, 0.75, ci=(0.70, 0.80), n=3, profile="quick")
    assert d.verdict == "inconclusive" and "needs --profile paper" in d.reason


def test_one_replicate_is_not_a_conclusion():
    s = spec(**VALUE, statistical=True, method="simulation", min_n=3)
    d = cl.decide(s, 0.75, ci=(0.749, 0.751), n=1)
    assert d.verdict == "inconclusive" and "replicate" in d.reason
    assert cl.decide(s, 0.75, ci=(0.749, 0.751), n=3).verdict == "reproduced"


def test_changing_the_measured_value_changes_the_verdict():
    s = spec(**VALUE)
    verdicts = {cl.decide(s, v).verdict for v in (0.75, 0.9)}
    assert verdicts == {"reproduced", "differs"}


def test_not_checkable():
    s = spec(rule="not-checkable", method="not-checkable", why="needs the authors' matrices")
    assert cl.decide(s, None) == cl.Decision("not-checkable", "needs the authors' matrices")


# -- registry validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(location=["Tab. 2"]), "fixed form"),
        (dict(rule="value", target=0.5), "tolerance"),
        (dict(rule="value", tolerance=0.1, tolerance_why="x"), "target"),
        (dict(rule="not-checkable", method="not-checkable"), "why"),
        (dict(rule="direction"), "expect"),
        (dict(rule="holds", verdict="reproduced"), "unknown fields"),
        (dict(rule="holds", method="not-checkable"), "go together"),
        (dict(rule="holds", min_profile="huge"), "min_profile"),
    ],
)
def test_registry_rejects(bad, match):
    with pytest.raises(cl.RegistryError, match=match):
        spec(**bad)


def test_locations_in_the_fixed_form_are_accepted():
    for loc in ["Abstract", "Section 6.3", "Table 2", "Table 2.7", "Figure 5.4", "Equation 10", "Equation 2.17",
                "Proposition 2", "Theorem 3", "Appendix A", "Appendix 3C", "Appendix G.2"]:
        assert spec(rule="holds", location=[loc]).location == (loc,)


# -- the ledger ----------------------------------------------------------------------------------
def _registry():
    return cl.parse_registry(
        {"work": "w", "claims": [
            {"id": "a", "location": ["Abstract"], "claim": "x", "paper_value": "0.75", "method": "analytic", **VALUE},
            {"id": "b", "location": ["Table 1"], "claim": "y", "paper_value": "> 0", "rule": "direction", "expect": ">",
             "method": "simulation", "statistical": True},
            {"id": "c", "location": ["Appendix A"], "claim": "z", "paper_value": "2.5x", "rule": "not-checkable",
             "why": "authors' data"},
        ]},
        "demo",
    )


def test_ledger_rows_are_computed_and_complete():
    led = cl.Ledger("demo", profile="quick", registry=_registry())
    led.measure("a", 0.7500)
    led.measure("b", 0.02, ci=(0.01, 0.03), n=5, method="public-data")
    rows = {r.claim_id: r for r in led.complete_rows()}
    assert rows["a"].verdict == "reproduced"
    assert rows["b"].verdict == "reproduced" and rows["b"].method == "public-data"
    assert rows["b"].ci_low == 0.01 and rows["b"].n == 5
    assert rows["c"].verdict == "not-checkable" and rows["c"].reason == "authors' data"
    assert list(led.frame().columns) == list(cl.LEDGER_COLUMNS)


def test_ledger_refuses_incomplete_and_bad_records():
    led = cl.Ledger("demo", profile="quick", registry=_registry())
    led.measure("a", 0.75)
    with pytest.raises(ValueError, match=r"\['b'\]"):
        led.complete_rows()
    with pytest.raises(ValueError, match="already recorded"):
        led.measure("a", 0.75)
    with pytest.raises(KeyError):
        led.measure("zz", 1.0)
    with pytest.raises(ValueError, match="not-checkable"):
        led.measure("c", 1.0)
    with pytest.raises(ValueError, match="cannot replace"):
        led.measure("b", 0.02, ci=(0.01, 0.03), method="analytic")


def test_skip_is_not_checkable_or_needs_paper():
    reg = _registry()
    led = cl.Ledger("demo", profile="quick", registry=reg)
    r = led.skip("b", "public data absent")
    assert r.verdict == "not-checkable" and "public data absent" in r.reason
    paper_reg = cl.parse_registry({"claims": [{"id": "p", "location": ["Table 2.7"], "claim": "x", "paper_value": "1",
                                              "method": "simulation", "min_profile": "paper", **VALUE}]}, "demo")
    led2 = cl.Ledger("demo", profile="quick", registry=paper_reg)
    assert led2.skip("p", "section runs at paper scale only").verdict == "inconclusive"


def test_write_results_with_ledger(tmp_path):
    import json

    import pandas as pd

    from capfront_lib.core.results import write_results

    led = cl.Ledger("demo", profile="paper", registry=_registry())
    led.measure("a", 0.9)
    with pytest.raises(ValueError, match="without a ledger row"):
        write_results(tmp_path, "demo", results={"x": 1}, ledger=led)
    led.skip("b", "no public data")
    write_results(tmp_path, "demo", results={"x": float("nan")}, ledger=led)
    df = pd.read_csv(tmp_path / "claims.csv", dtype=str, keep_default_na=False)
    assert list(df.columns) == list(cl.LEDGER_COLUMNS)
    assert dict(zip(df.claim_id, df.verdict)) == {"a": "differs", "b": "not-checkable", "c": "not-checkable"}
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["x"] is None and res["claims_profile"] == "paper" and res["verdict_counts"]["differs"] == 1
    assert not list(tmp_path.glob(".*tmp*"))


def test_claims_csv_writes_n_as_an_integer(tmp_path):
    import pandas as pd

    from capfront_lib.core.results import write_results

    led = cl.Ledger("demo", profile="quick", registry=_registry())
    led.measure("a", 0.75)
    led.measure("b", 0.02, ci=(0.01, 0.03), n=42)
    write_results(tmp_path, "demo", results={}, ledger=led)
    df = pd.read_csv(tmp_path / "claims.csv", dtype=str, keep_default_na=False)
    assert dict(zip(df.claim_id, df.n)) == {"a": "", "b": "42", "c": ""}
