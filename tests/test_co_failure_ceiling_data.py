"""Transcribed tables of the co-failure paper (data/co_failure_ceiling/): internal consistency and
analytic checks (Clopper-Pearson recomputed with scipy), and the roster vs the authors' public registry."""

from __future__ import annotations

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


def test_table1_oracle_is_one_minus_K_over_n():
    t = pd.read_csv(D / "table1_pool_summary.csv")
    for row in t.itertuples():
        assert round(1 - row.n_all_wrong / row.n_queries, 3) == row.oracle
        assert abs(row.oracle - row.single_best - row.gain) < 1.5e-3


def test_table2_underpricing_interval_is_cp_over_beta_sf():
    t = pd.read_csv(D / "table2_underpricing.csv")
    for row in t.itertuples():
        K, n = row.n_all_wrong, row.n_queries
        lo = stats.beta.ppf(0.025, K, n - K + 1) / row.beta_sf_pearson
        hi = stats.beta.ppf(0.975, K + 1, n - K) / row.beta_sf_pearson
        assert abs(lo - row.underpricing_ci_lo) <= 1.0 and abs(hi - row.underpricing_ci_hi) <= 1.0
        assert abs(K / n - row.beta) < 1e-3


def test_table3_and_audit_trace():
    t = pd.read_csv(D / "table3_regimes.csv").set_index("benchmark")
    assert abs(t.loc["MATH-500", "beta"] - 17 / 330) < 1e-3 and abs(t.loc["code", "beta"] - 5 / 63) < 1e-3
    assert abs(t.loc["code", "gain"] - (1 - 5 / 63 - 52 / 63)) <= 1e-3
    a = pd.read_csv(D / "audit_trace_rev.csv").set_index("benchmark")
    body = a.drop(index="total")
    assert (body.iloc[:, 1:].sum(axis=1) == body.v1_all_wrong_events).all()
    assert (body.sum() == a.loc["total"]).all()
