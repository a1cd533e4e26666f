"""Library pieces behind the chapter's claims ledger and its your-log section, against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib.core.claims import Ledger, load_registry
from capfront_lib.core.evallog import load_log
from capfront_lib.markov_copula_cascades import experiments as X
from capfront_lib.markov_copula_cascades import paper as P
from capfront_lib.markov_copula_cascades import simulate as S
from capfront_lib.markov_copula_cascades import yourlog as Y

SWEEP = dict(lambda_start=[0.0, 1e-10, 1e-8, 1e-6], lambda_r=1.0, max_steps=24, cost_stop=1.25, eps=1e-3, infill_q=0.1)


def test_registry_loads_and_covers_every_rule():
    reg = load_registry("markov_copula_cascades")
    assert len(reg.claims) >= 60
    assert {c.rule for c in reg.claims} >= {"value", "equivalence", "direction", "bound", "holds", "not-checkable"}
    for c in reg.claims:
        if c.statistical:
            assert c.min_n >= 5 and c.method == "simulation", c.id


def test_t_interval_matches_scipy():
    x = np.array([0.3, -1.2, 0.8, 2.1, -0.4, 0.9])
    m, lo, hi, n = X.t_interval(x)
    elo, ehi = stats.t.interval(0.95, 5, loc=x.mean(), scale=stats.sem(x))
    assert (m, n) == (pytest.approx(x.mean()), 6) and lo == pytest.approx(elo) and hi == pytest.approx(ehi)
    m1, lo1, hi1, n1 = X.t_interval([1.5, float("nan")])
    assert n1 == 1 and m1 == 1.5 and np.isnan(lo1) and np.isnan(hi1)


def test_clopper_pearson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in ((0, 20), (3, 20), (20, 20), (7, 54)):
        assert X.clopper_pearson(k, n) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="beta"), abs=1e-12)


def test_prop2_intervals_by_hand():
    df = pd.DataFrame({"truth": ["t", "t"], "k": [3, 3], "P_model": [0.6, 0.7], "C_model": [2.0, 4.0],
                       "P_mc_b": [[0.58, 0.59, 0.61], [0.69, 0.70, 0.68]], "C_mc_b": [[2.0, 1.9, 2.1], [4.2, 4.0, 3.8]]})
    m, lo, hi, n = X.prop2_intervals(df, "t", 3, "P")
    per_batch = [np.mean([0.6 - 0.58, 0.7 - 0.69]), np.mean([0.6 - 0.59, 0.7 - 0.70]), np.mean([0.6 - 0.61, 0.7 - 0.68])]
    elo, ehi = stats.t.interval(0.95, 2, loc=np.mean(per_batch), scale=stats.sem(per_batch))
    assert n == 3 and m == pytest.approx(np.mean(per_batch)) and (lo, hi) == pytest.approx((elo, ehi))
    mc, _, _, _ = X.prop2_intervals(df, "t", 3, "C")
    rel = [np.mean([(2.0 - a) / a, (4.0 - b) / b]) for a, b in zip([2.0, 1.9, 2.1], [4.2, 4.0, 3.8])]
    assert mc == pytest.approx(np.mean(rel))
    with pytest.raises(ValueError, match="no Proposition-2 rows"):
        X.prop2_intervals(df, "t", 4)


def test_replicate_statistics_by_hand():
    rows = []
    rng = np.random.default_rng(3)
    for rep in range(3):
        for k, cas in ((2, "0-1"), (2, "1-2"), (3, "0-1-2")):
            for regime in ("n_train", "n_train_low"):
                rows.append({"rep": rep, "k": k, "cascade": cas, "regime": regime, "pct_GS-soft": float(rng.normal()),
                             "mean_copula_cvm": float(rng.uniform()), "mean_marginal_cvm": float(rng.uniform()),
                             "bo_seconds": 2.0 + rep, "rt_seconds": 0.5})
    df = pd.DataFrame(rows)
    g = df[df.regime == "n_train"]
    assert X.replicate_means(df, "n_train", "GS-soft", [3]) == pytest.approx(g[g.k == 3].sort_values("rep")["pct_GS-soft"].to_numpy())
    sl = [stats.linregress(g[g.rep == r].k, g[g.rep == r]["pct_GS-soft"]).slope for r in range(3)]
    assert X.replicate_slopes(df, "n_train", "GS-soft") == pytest.approx(sl)
    low = df[(df.regime == "n_train_low") & (df.k == 3)].sort_values("rep")["pct_GS-soft"].to_numpy()
    assert X.replicate_widening(df, "GS-soft", [3]) == pytest.approx(low - g[g.k == 3].sort_values("rep")["pct_GS-soft"].to_numpy())
    assert X.replicate_bo_ratio(df) == pytest.approx([4.0, 6.0, 8.0])
    base, k, vals = X.largest_gain(df, "n_train", ["GS-soft"])
    means = {kk: g[g.k == kk].groupby("rep")["pct_GS-soft"].mean().mean() for kk in (2, 3)}
    assert (base, k) == ("GS-soft", min(means, key=means.get))
    assert X.replicate_means(df, "n_train", "BO") .size == 0


def test_loglog_slope_recovers_exponents():
    k = np.array([2.0, 3.0, 4.0, 5.0])
    assert X.loglog_slope(k, 0.1 * k**2) == pytest.approx(2.0)
    assert X.loglog_slope(k, 3.0 * k) == pytest.approx(1.0)
    assert np.isnan(X.loglog_slope([2.0], [1.0]))


def test_paper_checks_by_hand():
    assert P.markov_predictor_share() == (15, 18)
    ct = P.copula_table_checks()
    assert ct["rej_llama_pct"] == pytest.approx(100 / 60) and ct["rej_other_pct"] == pytest.approx(800 / 36)
    assert ct["cvm_pair_weighted"] == pytest.approx((10 * 0.015 + 6 * 0.047) / 96)
    t21 = P.table_2_1_checks()
    assert t21["n_models"] == 9 and t21["medmcqa_worst"] and t21["gpt4o_ece_holds"] and t21["n_bench_below5"] == 4
    assert t21["max_avg_row_gap_at"] == "GSM8K pct_cert"
    tt = P.tuning_table_checks()
    assert tt["2.7_holds"] and tt["2.8_holds"] and tt["2.7_n_sig"] == 10
    p = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    printed = P.xi_two_sided_as_printed(p)
    assert printed[0] == pytest.approx(printed[-1]) and printed[1] == pytest.approx(printed[3])
    assert not P.is_monotone(P.xi_two_sided_as_printed, np.linspace(0.01, 0.99, 99))
    assert P.is_monotone(np.log, np.linspace(0.01, 0.99, 99))


def test_ledger_verdict_moves_with_the_measured_value():
    """Same registry entry, different measurements: the computed verdict follows the value and its interval."""
    reg = load_registry("markov_copula_cascades")
    a, b, c = (Ledger("markov_copula_cascades", profile="paper", registry=reg) for _ in range(3))
    a.measure("gs_k3", -2.1, ci=(-2.6, -1.6), n=6)
    b.measure("gs_k3", 0.7, ci=(0.3, 1.1), n=6)
    c.measure("gs_k3", -0.2, ci=(-0.9, 0.5), n=6)
    assert (a.verdict("gs_k3"), b.verdict("gs_k3"), c.verdict("gs_k3")) == ("reproduced", "differs", "inconclusive")


# ---------------------------------------------------------------------------------------------- your log


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    truth = S.Truth.from_params(S.REFERENCE_MARGINALS[:3], S.REFERENCE_THETAS[:2], prices=[0.1, 0.9, 3.0])
    path = d / "log.csv"
    df = Y.write_demo_log(path, truth, 600, np.random.default_rng(5), ["small", "mid", "big"])
    df.sample(frac=1.0, random_state=1).to_csv(path, index=False)  # row order must not matter
    noconf = d / "noconf.csv"
    df.drop(columns=["confidence"]).to_csv(noconf, index=False)
    return path, noconf, df


def test_log_without_confidence_gives_one_line_naming_the_column(demo):
    _, noconf, _ = demo
    with pytest.raises(Y.LogError) as err:
        Y.cascade_data(load_log(noconf))
    msg = str(err.value)
    assert "'confidence'" in msg and "noconf.csv" in msg and "\n" not in msg


def test_log_errors_name_models_and_cells(demo, tmp_path):
    path, _, df = demo
    log = load_log(path)
    with pytest.raises(Y.LogError, match="'huge'"):
        Y.cascade_data(log, ["small", "huge"])
    bad = df.copy()
    bad.loc[bad.index[0], "confidence"] = 1.7
    p = tmp_path / "bad.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(Y.LogError, match="probability in \\[0, 1\\]"):
        Y.cascade_data(load_log(p))


def test_default_order_is_by_mean_cost_and_user_order_is_kept(demo):
    path, _, df = demo
    log = load_log(path)
    mean_cost = df.groupby("model")["cost_usd"].mean().sort_values()
    assert Y.cascade_data(log).models == list(mean_cost.index)
    assert Y.cascade_data(log, ["big", "small"]).models == ["big", "small"]


def test_tune_on_log_against_independent_computations(demo):
    import statsmodels.api as sm

    path, _, df = demo
    data = Y.cascade_data(load_log(path), ["small", "mid", "big"])
    res = Y.tune_on_log(data, transform="two_sided", train_fraction=0.4, seed=7, sweep=SWEEP)
    tr, te = Y.split_queries(len(data.query_ids), 0.4, 7)
    assert (res.n_train, res.n_test) == (tr.size, te.size) == (240, 360)
    wide = lambda col: df.pivot(index="query_id", columns="model", values=col).loc[data.query_ids, ["small", "mid", "big"]].to_numpy()
    y, conf, cost = wide("correct"), wide("confidence"), wide("cost_usd") * 1e6
    # calibrators: an independent statsmodels fit on the two-sided transform of the training confidences
    for j in range(3):
        p = conf[tr, j]
        xi = np.where(p >= 0.5, -np.log(2 * (1 - p)), np.log(2 * p))
        fit = sm.Logit(y[tr, j], sm.add_constant(xi)).fit(disp=0)
        phi = 1 / (1 + np.exp(-(fit.params[0] + fit.params[1] * np.where(conf[te, j] >= 0.5, -np.log(2 * (1 - conf[te, j])),
                                                                              np.log(2 * conf[te, j])))))
        assert res.test_phi[:, j] == pytest.approx(phi, abs=1e-6)
    # every test curve point by a plain loop over queries (cascade semantics of eq. 2.1)
    for name in ("RT", "GS-soft"):
        for t, c_rep, e_rep in zip(res.thresholds[name][:5], *res.curves[name]):
            correct = total = 0.0
            for q in range(te.size):
                paid = 0.0
                for j in range(3):
                    paid += cost[te[q], j]
                    if j == 2 or res.test_phi[q, j] > t[j]:
                        correct += y[te[q], j]
                        break
                total += paid
            assert c_rep == pytest.approx(total / te.size) and e_rep == pytest.approx(1 - correct / te.size)
    # the AUC table: %Delta from its own columns
    # (one row per tuner and baseline: RT with Algorithm 1 and RT-exact, against GS-soft and GS-hard)
    assert sorted(zip(res.auc["method"], res.auc["baseline"])) == [
        ("RT", "GS-hard"), ("RT", "GS-soft"), ("RT-exact", "GS-hard"), ("RT-exact", "GS-soft")]
    for _, row in res.auc.iterrows():
        assert row["%Δ (RT vs baseline)"] == pytest.approx(100 * (row["AUC RT"] - row["AUC baseline"]) / row["AUC baseline"])
    assert all(t > 1 for t in res.theta_adjacent)


def test_marginal_em_survives_tiny_peaked_samples():
    """Low-sample regime: few interior points can make a beta component collapse; the EM must stay finite
    (it overflowed in linear space before the log-space E-step) and return a proper distribution."""
    import warnings

    from capfront_lib.markov_copula_cascades.model import fit_marginal

    rng = np.random.default_rng(0)
    samples = [np.r_[0.1, 0.9, 0.5 + 1e-9 * np.arange(8), 0.3, 0.7]]
    samples += [np.round(rng.beta(8, 1.2, size=int(rng.integers(5, 30))), 3) for _ in range(100)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in samples:
            m = fit_marginal(x)
            assert all(np.isfinite([m.pi, m.a1, m.b1, m.a2, m.b2])) and 0 <= m.pi <= 1
            grid = np.linspace(m.phi_min, m.phi_max, 201)
            F = m.cdf(grid)
            assert np.all(np.diff(F) >= -1e-12) and F[-1] == pytest.approx(1.0)
            # the point masses are the observed frequencies of the extremes
            assert m.w_max == pytest.approx(np.mean(x == x.max()))


@pytest.mark.parametrize("n,decimals", [(1, None), (7, None), (300, None), (300, 1), (1000, 2)])
def test_fenwick_kendall_values_equal_the_comparison_matrix(n, decimals):
    from capfront_lib.markov_copula_cascades import gof
    from capfront_lib.markov_copula_cascades.model import gumbel_sample

    uv = gumbel_sample(n, 2.0, np.random.default_rng(n))
    if decimals is not None:  # ties, as from point masses of the marginals
        uv = np.round(uv, decimals)
    u, v = gof.pseudo_observations(uv[:, 0], uv[:, 1])
    assert np.array_equal(gof.empirical_kendall_values(u, v), gof.empirical_kendall_values_reference(u, v))


def test_replicates_carry_their_own_seeds():
    """Each replicate of the tuning experiment is a pure function of its item (so a Dask cluster gives the serial result)."""
    truth = S.Truth.from_params(S.REFERENCE_MARGINALS[:2], S.REFERENCE_THETAS[:1])
    kw = dict(pipeline="phi", transform="two_sided", k_max=2, n_train=120, n_train_low=20, n_test=600, n_reps=2,
              sweep=dict(SWEEP, max_steps=6), grid_levels=10)
    a = X.tuning_experiment(truth, rng=np.random.default_rng(11), **kw)
    b = X.tuning_experiment(truth, rng=np.random.default_rng(11), **kw)
    cols = [c for c in a.columns if not c.endswith("seconds")]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    seeds = np.random.default_rng(11).integers(0, 2**63 - 1, size=3)
    item = dict(truth=truth, pipeline="phi", transform="two_sided", k_max=2, n_train=120, n_train_low=20, n_test=600,
                sweep=dict(SWEEP, max_steps=6), grid_levels=10, bo=None, u_grid=801, gof_n=1000, chain_cells=None,
                cert_rate=None, miscal_a=None, miscal_b=None, test_seed=int(seeds[0]), rep=1, seed=int(seeds[2]))
    one = pd.DataFrame(X.tuning_replicate(item))
    pd.testing.assert_frame_equal(one[cols].reset_index(drop=True), a[a.rep == 1][cols].reset_index(drop=True))


def test_public_agreement_is_the_phi_coefficient(shared_data):
    """For 0/1 variables Kendall's tau-b equals the Pearson correlation (phi): an independent computation."""
    tau, acc = Y.public_agreement(shared_data)
    w = pd.read_csv(shared_data / Y.GSM8K_FILE, dtype={"id": str}).set_index("id")[[m for m, _ in Y.GSM8K_POOL]].dropna()
    assert tau.to_numpy() == pytest.approx(np.corrcoef(w.to_numpy(float).T), abs=1e-10)
    assert acc.to_numpy() == pytest.approx(w.mean().to_numpy())
    assert len(w) == 1319
