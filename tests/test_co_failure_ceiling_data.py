"""Transcribed tables of the co-failure paper (data/co_failure_ceiling/): internal consistency and analytic
checks (Clopper-Pearson recomputed with scipy), the roster vs the authors' public registry, and the claims
registry and its inventory."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

D = Path(__file__).resolve().parents[1] / "data" / "co_failure_ceiling"


def test_every_table_has_a_source_note():
    for p in D.glob("*.csv"):
        assert (D / f"{p.stem}.source.md").is_file(), p.name


def test_roster_checks():
    r = pd.read_csv(D / "market_roster.csv")
    assert len(r) == 67 and r.model_id.is_unique and r.family.nunique() == 21
    assert r.tier.value_counts().to_dict() == {"cheap": 35, "mid": 26, "frontier": 6}
    assert round(r.usd_in_per_mtok.sum(), 4) == 46.3447 and round(r.usd_out_per_mtok.sum(), 4) == 227.9002


def test_roster_matches_public_registry(shared_data):
    p = shared_data / "co-failure-ceiling" / "market_registry.csv"
    if not p.is_file():
        pytest.skip(f"{p} absent")
    reg = pd.read_csv(p, comment="#")
    m = pd.read_csv(D / "market_roster.csv").merge(reg, on="model_id", how="outer", indicator=True)
    assert (m._merge == "both").all()
    assert (m.usd_in_per_mtok == m.price_in_per_mtok_usd).all() and (m.usd_out_per_mtok == m.price_out_per_mtok_usd).all()
    assert (m.family == m.provider_family).all() and (m.tier_x == m.tier_y).all()


def test_public_families_cover_every_public_model(shared_data):
    fam = pd.read_csv(D / "public_model_families.csv")
    assert fam.model.is_unique
    for f in ("ZeroEval/gsm8k_correct.csv", "MMLU-Pro/mmlu_pro_correct.csv"):
        p = shared_data / f
        if p.is_file():
            cols = [c for c in pd.read_csv(p, nrows=0).columns if c != "id"]
            assert set(cols) <= set(fam.model), set(cols) - set(fam.model)


def test_table1_oracle_is_one_minus_K_over_n():
    t = pd.read_csv(D / "table1_pool_summary.csv")
    for row in t.itertuples():
        assert round(1 - row.n_all_wrong / row.n_queries, 3) == row.oracle
        assert abs(row.oracle - row.single_best - row.gain) < 1.5e-3


def test_table2_cp_and_underpricing_interval():
    t = pd.read_csv(D / "table2_underpricing.csv")
    for row in t.itertuples():
        K, n = row.n_all_wrong, row.n_queries
        lo, hi = stats.beta.ppf(0.025, K, n - K + 1), stats.beta.ppf(0.975, K + 1, n - K)
        assert abs(lo - row.beta_cp_lo) < 5e-4 and abs(hi - row.beta_cp_hi) < 5e-4
        assert abs(lo / row.beta_sf_pearson - row.underpricing_ci_lo) <= 1.0 and abs(hi / row.beta_sf_pearson - row.underpricing_ci_hi) <= 1.0


def test_table3_and_audit_trace():
    t = pd.read_csv(D / "table3_regimes.csv").set_index("benchmark")
    assert abs(t.loc["MATH-500", "beta"] - 17 / 330) < 1e-3 and abs(t.loc["code", "beta"] - 5 / 63) < 1e-3
    assert abs(t.loc["code", "gain"] - (1 - 5 / 63 - 52 / 63)) <= 1e-3
    a = pd.read_csv(D / "audit_trace_rev.csv").set_index("benchmark")
    body = a.drop(index="total")
    assert (body.iloc[:, 1:].sum(axis=1) == body.v1_all_wrong_events).all()
    assert (body.sum() == a.loc["total"]).all()


def test_revision_certificates_from_counts():
    t = pd.read_csv(D / "certificates_rev.csv")
    for r in t[t.version == "rev"].itertuples():
        K, n, c, m = r.n_all_wrong, r.n_queries, r.best_correct, r.n_models
        beta_lo = 0.0 if K == 0 else stats.beta.ppf(0.025, K, n - K + 1)
        asb_lo = stats.beta.ppf(0.025 / m, c, n - c + 1)
        assert abs((1 - beta_lo) - asb_lo - r.U_printed) <= 5e-4, r.pool


def test_registry_loads_and_validates():
    from capfront_lib.core.claims import load_registry

    reg = load_registry("co_failure_ceiling")
    assert len(reg.claims) >= 60
    for c in reg.claims:
        if c.rule == "not-checkable":
            assert c.why
        if c.statistical:
            assert c.min_n >= 1


def test_inventory_covers_the_registry():
    """Every registry id appears in the inventory, every id the inventory cites exists, and every row either
    cites ids or says why it is not a headline claim."""
    from capfront_lib.core.claims import load_registry

    ids = set(load_registry("co_failure_ceiling").ids)
    text = (D / "claims.inventory.md").read_text()
    rows = [l for l in text.splitlines() if l.startswith("| ") and not l.startswith("| item") and not l.startswith("|---")]
    cited = set()
    for r in rows:
        last = r.rstrip(" |").split(" | ")[-1]
        found = set(re.findall(r"`([A-Za-z0-9_.\-]+)`", last))
        assert found or last.startswith("—"), r
        cited |= found
    assert cited <= ids, cited - ids
    assert ids <= cited, ids - cited
    for needed in ("Proposition 1", "Proposition 9", "Lemma 1", "Corollary 1", "Corollary 2", "Table 1", "Table 2", "Table 3"):
        assert needed in text
