"""Tests of the repliclust chapter's studies, evidence (values + intervals for the ledger), exact checks,
parameter schema and claims registry — each against an independent computation written here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

from capfront_lib.core.claims import load_registry
from capfront_lib.core.params import ParameterError, check_parameters
from capfront_lib.repliclust import evidence as ev
from capfront_lib.repliclust import experiments as ex
from capfront_lib.repliclust import verify
from capfront_lib.repliclust.archetype import (
    BENCHMARK_ARCHETYPE_PARAMS,
    Archetype,
    covariance_matrices,
    random_axes,
)
from capfront_lib.repliclust.centers import place_centers
from capfront_lib.repliclust.overlap import exact_overlap, lda_overlap
from capfront_lib.repliclust.params import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
STEM = "repliclust"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


# ---------------------------------------------------------------------------------- studies


def test_covariance_matrices_match_the_definition():
    rng = np.random.default_rng(1)
    U = random_axes(4, 6, rng)
    L = rng.uniform(0.5, 2.0, (4, 6))
    S = covariance_matrices(U, L)
    for j in range(4):
        assert np.allclose(S[j], U[j].T @ np.diag(L[j] ** 2) @ U[j], atol=1e-12)


def test_study_seeds_are_independent_of_other_studies_and_sizes():
    a = ex.study_seeds(3, "fig54-pairs", 5)
    b = ex.study_seeds(3, "fig54-pairs", 8)
    c = ex.study_seeds(3, "benchmark-convex-1", 5)
    draw = lambda s: np.random.default_rng(s).random()  # noqa: E731
    assert [draw(x) for x in a] == [draw(x) for x in b[:5]]
    assert draw(a[0]) != draw(c[0])


def test_pair_study_is_the_same_when_jobs_run_one_by_one():
    df = ex.overlap_pairs_study(6, [2, 5], 11)
    jobs = [ex.PairJob([2, 5][i % 2], s) for i, s in enumerate(ex.study_seeds(11, "fig54-pairs", 6))]
    again = pd.DataFrame([ex.overlap_pair(j) for j in jobs])
    pd.testing.assert_frame_equal(df, again)
    # the LDA constraint window used to place the centers, and α* ≤ α_LDA
    assert ((df.lda >= 0.975 * df.target * (1 - 1e-3)) & (df.lda <= 1.025 * df.target * (1 + 1e-3))).all()
    assert (df.exact <= df.lda * (1 + 1e-12)).all()


def test_benchmark_job_rows_and_scores():
    params = dict(BENCHMARK_ARCHETYPE_PARAMS[2])  # 7 well-separated clusters in 10-D
    job = ex.BenchmarkJob(3, params, "convex", 0, ex.study_seeds(0, "t", 1)[0], ("K-Means", "Hierarchical"), {"kmeans_n_init": 2})
    rows = ex.benchmark_job(job)
    assert [r["algorithm"] for r in rows] == ["K-Means", "Hierarchical"]
    assert all(r["AMI"] > 0.8 and r["p_noise"] == 0 for r in rows)  # highly separated: easy


def test_fast_solvers_give_the_same_hdbscan_labels_in_high_dimension():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (150, 30)), rng.normal(4, 1, (150, 30))])
    a = ex.cluster(X, 2, "HDBSCAN", 0, fast_solvers=True)
    b = ex.cluster(X, 2, "HDBSCAN", 0, fast_solvers=False)
    assert np.array_equal(a, b)


def test_placement_without_backoff_and_loss_history():
    rng = np.random.default_rng(5)
    covs = covariance_matrices(random_axes(6, 3, rng), rng.uniform(0.5, 1.5, (6, 3)))
    res = place_centers(covs, 0.05, 0.005, np.random.default_rng(1), backoff=False)
    assert res.history[0] >= res.history[-1] >= 0 and len(res.history) == res.epochs + 1
    if res.converged:
        assert res.history[-1] == 0.0
    L = np.array(res.history)
    assert np.all(np.isfinite(L))


def test_loss_curve_fits_recognise_exponential_and_power_law():
    t = np.arange(12)
    e = ex.loss_curve_fits(np.exp(-0.7 * t))
    p = ex.loss_curve_fits((t + 1.0) ** -2.0)
    assert e["r2_exponential"] == pytest.approx(1.0) and e["r2_exponential"] > e["r2_power"]
    assert p["r2_power"] == pytest.approx(1.0) and p["r2_power"] > p["r2_exponential"]
    assert e["log_rate"] == pytest.approx(-0.7)
    assert ex.loss_curve_fits([1.0, 0.5, 0.0]) is None


def test_empirical_pair_overlap_matches_gaussian_formula():
    rng = np.random.default_rng(6)
    S1 = np.array([[1.0, 0.4], [0.4, 0.8]])
    S2 = np.array([[0.6, -0.2], [-0.2, 1.4]])
    m1, m2 = np.zeros(2), np.array([2.0, 1.0])
    X1 = rng.multivariate_normal(m1, S1, 100_000)
    X2 = rng.multivariate_normal(m2, S2, 100_000)
    assert ex.empirical_pair_overlap(X1, X2) == pytest.approx(lda_overlap(m1, m2, S1, S2), abs=0.005)


# ---------------------------------------------------------------------------------- evidence


def _toy_bench(seed=0, reps=6):
    """A benchmark frame with known structure: alg 'Hierarchical' = base + 0.1 on every data set."""
    rng = np.random.default_rng(seed)
    rows = []
    for conv in ("convex", "nonconvex"):
        for a in (1, 2, 3, 4, 5):
            for r in range(reps):
                base = rng.uniform(0.2, 0.8)
                for alg, off in (("EM-GMM", 0.0), ("K-Means", 0.02), ("Spectral", -0.05), ("Hierarchical", 0.1)):
                    v = base + off + rng.normal(0, 0.01)
                    rows.append(dict(convexity=conv, archetype=a, rep=r, algorithm=alg, AMI=v, ARI=v - 0.05, p_noise=0.0))
                rows.append(dict(convexity=conv, archetype=a, rep=r, algorithm="HDBSCAN", AMI=base, ARI=base, p_noise=0.1 * a))
    return pd.DataFrame(rows)


def test_rank_margin_equals_pandas_computation_and_interval_covers_it():
    b = _toy_bench()
    sc = ev.StratifiedScores.from_benchmark(b, "AMI")
    e = ev.rank_margin(sc, "Hierarchical", "convex", 500, 1)
    avg = b[(b.convexity == "convex") & (b.algorithm != "HDBSCAN")].groupby(["algorithm", "archetype"]).AMI.mean().groupby("algorithm").mean()
    assert e.value == pytest.approx(avg["Hierarchical"] - avg.drop("Hierarchical").max(), abs=1e-12)
    assert e.ci[0] <= e.value <= e.ci[1] and e.ci[0] > 0 and e.n == 6


def test_gap_to_thesis_hand_computation():
    b = _toy_bench(reps=4)
    thesis = pd.DataFrame([dict(archetype=str(a), metric="AMI", convexity="convex", algorithm="K-Means", value=0.5, se=0.02)
                           for a in (1, 2, 3, 4, 5, 6)])
    e = ev.gap_to_thesis(b, thesis, "AMI", "convex", "K-Means")
    g = b[(b.algorithm == "K-Means") & (b.convexity == "convex")].groupby("archetype").AMI
    ours = g.mean().mean()
    se_ours = np.sqrt(np.sum(g.var(ddof=1) / g.count())) / 5
    se_t = np.sqrt(5 * 0.02**2) / 5
    assert e.value == pytest.approx(ours - 0.5)
    assert e.ci[1] - e.value == pytest.approx(1.959963984540054 * np.hypot(se_ours, se_t))
    assert "archetypes 1, 2, 3, 4, 5" in e.note  # like with like: archetype 6 of the thesis not used


def test_clopper_pearson_matches_scipy():
    for k, n in ((0, 20), (7, 20), (20, 20), (512, 930)):
        lo, hi = ev.clopper_pearson(k, n)
        ci = stats.binomtest(k, n).proportion_ci(method="exact")
        assert lo == pytest.approx(ci.low, abs=1e-10) and hi == pytest.approx(ci.high, abs=1e-10)


def test_penalty_effect_counts_discordant_pairs():
    rows = []
    for r in range(10):
        rows.append(dict(k=10, p=10, rep=r, penalty=0.01, converged=True))
        rows.append(dict(k=10, p=10, rep=r, penalty=0.0, converged=r < 3))
    e = ev.penalty_effect(pd.DataFrame(rows))
    assert e.value == pytest.approx(0.7) and e.n == 10 and e.ci[0] < 0.7 < e.ci[1]


def test_table_rank_transcription_finds_spectral_best_cell():
    t = pd.read_csv(ROOT / "data" / STEM / "table_5_2.csv", dtype={"archetype": str})
    holds, cells = ev.table_rank_holds(t, "Spectral")
    # Table 5.2: convex ARI, archetype 4: Spectral 0.385 > K-Means 0.375 > Hierarchical 0.291 > EM-GMM 0.238
    assert not holds and cells == ["ARI convex archetype 4: 0.385"]
    holds_h, cells_h = ev.table_rank_holds(t, "Hierarchical")
    assert not holds_h and len(cells_h) >= 3


def test_weakest_trend_and_silhouette_drop_on_constructed_curves():
    rows = []
    for p, off in ((2, 0.6), (10, 0.3), (30, 0.1)):
        for i, o in enumerate([1e-5, 1e-3, 1e-1, 0.5]):
            for r in range(5):
                rows.append(dict(convexity="convex", p=p, max_overlap=o, rep=r, AMI=1 - 0.2 * i + 0.001 * r, ARI=1 - 0.2 * i,
                                 silhouette=off - 0.05 * i + 0.001 * r))
    c = pd.DataFrame(rows)
    e = ev.weakest_trend(c, "convex", ["AMI", "ARI"], 200, 0)
    assert e.value == pytest.approx(-1.0)
    d = ev.silhouette_drop(c, 1e-3, 200, 0)
    assert d.value == pytest.approx(0.2) and d.n == 5  # 0.55 -> 0.25 -> 0.05 at overlap 1e-3: smallest drop 0.2


def test_distort_overlap_ratio_identity_when_nothing_changes():
    study = [dict(pairs=[dict(before=b, after=b, n_min=100) for b in (0.05, 0.1, 0.3)], aspect_before=[1, 2], aspect_after=[1, 2])
             for _ in range(4)]
    e = ev.distort_overlap_ratio(study, 100, 0)
    assert e.value == 0 and e.ci == (0.0, 0.0)
    a = ev.distort_aspect_ratio(study, 100, 0)
    assert a.value == pytest.approx(0.0)


# ---------------------------------------------------------------------------------- exact checks


def test_brute_force_overlap_agrees_with_anderson_bahadur():
    rng = np.random.default_rng(7)
    for _ in range(20):
        S1, S2 = verify._spd(rng, 2, 20.0), verify._spd(rng, 2, 20.0)
        m1, m2 = rng.normal(size=2), 2 * rng.normal(size=2)
        assert verify.brute_force_overlap(m1, m2, S1, S2) == pytest.approx(exact_overlap(m1, m2, S1, S2), rel=1e-8, abs=1e-14)


def test_exact_checks_hold():
    rng = np.random.default_rng(8)
    assert verify.maxmin_invariants(rng, 50)["holds"]
    assert verify.loss_zero_iff_constraints(rng, 300)["holds"]
    assert verify.wrap_sphere_check(rng)["holds"]
    assert verify.reproducible(BENCHMARK_ARCHETYPE_PARAMS[3], 1)["holds"]
    shapes = verify.radial_shapes(rng, n=50_000)
    assert shapes["holds"]
    # bounded support: the largest radius respects the bound computed from the support by hand
    from capfront_lib.repliclust.distributions import abs_quantile

    assert shapes["bounded"]["uniform"]["bound"] == pytest.approx(np.sqrt(2) / abs_quantile("uniform"))
    pk = verify.package_aspect_ratio(1.5, 2.0)
    # (1+δ)(1+δ/2) = 2.25 → δ = (−3 + √19)/2; ratio (1+δ)/(1+δ/2)
    d = (-3 + np.sqrt(19)) / 2
    assert pk["package_ratio"] == pytest.approx((1 + d) / (1 + d / 2)) and pk["thesis_ratio"] == pytest.approx(2.0)


def test_description_checks_catch_a_wrong_archetype():
    desc = "seven clusters in 10D with very different shapes and significant overlap"
    good = dict(BENCHMARK_ARCHETYPE_PARAMS[3])
    assert all(ok for _, ok, _ in verify.description_checks(desc, good))
    for field, value in (("n_clusters", 6), ("dim", 2), ("max_overlap", 0.05), ("aspect_maxmin", 1.0)):
        bad = {**good, field: value}
        assert not all(ok for f, ok, _ in verify.description_checks(desc, bad) if f == field), field


# ---------------------------------------------------------------------------------- schema and registry


def _notebook_parameters() -> dict:
    import ast

    text = (ROOT / "notebooks" / f"{STEM}.md").read_text()
    cell = re.search(r"```\{code-cell\} ipython3\n:tags: \[parameters\]\n\n(.*?)```", text, re.S).group(1)
    out = {}
    for node in ast.parse(cell).body:
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_schema_names_equal_the_parameters_cell_and_defaults_validate():
    params = _notebook_parameters()
    assert list(params) == SCHEMA.names
    check_parameters(STEM, params)


def test_paper_profile_validates():
    import yaml

    prof = yaml.safe_load((ROOT / "data" / "profiles" / f"{STEM}.yaml").read_text())
    check_parameters(STEM, {**_notebook_parameters(), **prof["paper"]})


@pytest.mark.parametrize(
    "name,value,match",
    [
        ("seed", -1, "seed"),
        ("n_overlap_pairs", -5, "n_overlap_pairs"),
        ("curve_overlaps", [1e-3, float("nan"), 0.5], "curve_overlaps"),
        ("algorithms", ["K-Means", "bogus"], "algorithms"),
        ("embed", "umap", "embed"),
        ("benchmark_archetypes", [1, 7], "benchmark_archetypes"),
        ("benchmark_archetypes", [1, 1], "benchmark_archetypes"),
        ("n_datasets_per_archetype", 10**9, "n_datasets_per_archetype"),
        ("curve_dims", [10, 2], "curve_dims"),
    ],
)
def test_schema_rejects_bad_values_in_one_line(name, value, match):
    with pytest.raises(ParameterError, match=match) as err:
        check_parameters(STEM, {**_notebook_parameters(), name: value})
    assert "\n" not in str(err.value)


def test_schema_resource_guard_refuses_huge_runs():
    with pytest.raises(ParameterError, match="benchmark"):
        check_parameters(STEM, {**_notebook_parameters(), "n_datasets_per_archetype": 200, "benchmark_archetypes": [1, 2, 3, 4, 5, 6]})
    with pytest.raises(ParameterError, match="n_overlap_pairs"):
        check_parameters(STEM, {**_notebook_parameters(), "n_overlap_pairs": 20_000, "overlap_dims": [1000]})


def test_openai_backend_needs_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ParameterError, match="OPENAI_API_KEY"):
        check_parameters(STEM, {**_notebook_parameters(), "nl_backend": "openai"})


def test_registry_loads_and_inventory_covers_it_both_ways():
    reg = load_registry(STEM)
    inv = (ROOT / "data" / STEM / "claims.inventory.md").read_text()
    named = set()
    for line in inv.splitlines():
        cols = [c.strip() for c in line.replace("\\|", "/").strip().strip("|").split("|")]
        if line.startswith("|") and len(cols) >= 3 and not set(cols[1]) <= {"-", " "}:
            named |= set(re.findall(r"`([A-Za-z0-9_.-]+)`", cols[1]))
    ids = set(reg.ids)
    assert named <= ids, sorted(named - ids)  # the ids column names registry ids only
    assert ids <= named, sorted(ids - named)  # every registry entry is accounted for
    for needed in ("Table 5.1", "Table 5.2", "Table 5.3", "Figure 5.1 ", "Figure 5.4", "Figure 5.9", "Figure 5.10",
                   "Figure 5.11", "Theorem 6", "Appendix 4D", "Equation 5.9", "Conclusion", "Abstract"):
        assert needed in inv, needed


def test_no_verdict_literals_in_notebook_or_library():
    pat = re.compile(r"[\"'](reproduced|direction-only|differs|inconclusive)[\"']")
    files = [ROOT / "notebooks" / f"{STEM}.md", *sorted((ROOT / "capfront_lib" / "repliclust").glob("*.py"))]
    hits = [f"{f.name}:{i + 1}" for f in files for i, line in enumerate(f.read_text().splitlines()) if pat.search(line)]
    assert not hits, hits


def test_compiled_placement_matches_the_numpy_reference():
    from capfront_lib.repliclust import centers as C

    rng = np.random.default_rng(21)
    for k, p in ((2, 2), (6, 3), (12, 2), (9, 10)):
        covs = covariance_matrices(random_axes(k, p, rng), rng.uniform(0.3, 2.0, (k, p)))
        geo = C._PairGeometry(covs, "lda")
        X0 = C.initial_centers(k, p, 1.0, 0.1, rng)
        assert np.allclose(C._all_q(X0, geo, True), geo.all_q(X0), rtol=1e-12)
        order = rng.permutation(k)
        Xa, Xb = X0.copy(), X0.copy()
        C._epoch(Xa, geo, order, 1.96, 3.29, 0.01, 0.5, False)
        C._epoch(Xb, geo, order, 1.96, 3.29, 0.01, 0.5, True)
        assert np.allclose(Xa, Xb, atol=1e-12)
        a = place_centers(covs, 0.05, 0.001, np.random.default_rng(k), compiled=False)
        b = place_centers(covs, 0.05, 0.001, np.random.default_rng(k), compiled=True)
        assert a.converged == b.converged and a.epochs == b.epochs and np.allclose(a.centers, b.centers, atol=1e-9)
