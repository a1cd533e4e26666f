"""The quick run of the co_failure_ceiling notebook: results.json checked against independent recomputations
(numpy/scipy only, from the simulated matrix it wrote and from the public matrices), and the claims ledger
checked against the registry."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import ndtr, ndtri, owens_t

STEM = "co_failure_ceiling"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(quick_results):
    res, claims, nb = quick_results(STEM)
    p = ROOT / "results" / STEM / "sim_pool.csv"
    Y = pd.read_csv(p, index_col="id").to_numpy(float).T if p.is_file() else None
    return res, claims, Y


def _sim(run):
    res, claims, Y = run
    if res["source"] != "simulated" or Y is None:
        pytest.skip("quick run is not the simulated default")
    return res, Y


# ------------------------------------------------------------------ independent bivariate normal (Owen's T)

def bvn_owen(h, k, r):
    """Phi2(h, k; r) by Owen's (1956) T-function formula — independent of the chapter's Gauss-Legendre integral."""
    h, k, r = np.broadcast_arrays(*(np.asarray(x, float) for x in (h, k, r)))
    s = np.sqrt(1 - r * r)
    with np.errstate(divide="ignore", invalid="ignore"):
        ah = (k - r * h) / (h * s)
        ak = (h - r * k) / (k * s)
    beta = np.where((h * k > 0) | ((h * k == 0) & (h + k >= 0)), 0.0, 0.5)
    return 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, ah) - owens_t(k, ak) - beta


def tetrachoric_owen(ti, tj, p11, iters=80):
    lo, hi = np.full(ti.shape, -0.999999), np.full(ti.shape, 0.999999)
    for _ in range(iters):
        mid = (lo + hi) / 2
        below = bvn_owen(ti, tj, mid) < p11
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def test_owen_formula_against_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, k = rng.uniform(-2, 1, 2)
        r = rng.uniform(-0.9, 0.9)
        ref = stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([h, k])
        assert abs(bvn_owen(h, k, r) - ref) < 1e-6


# ------------------------------------------------------------------ the run's pool

def test_pool_summary_independent(run):
    res, Y = _sim(run)
    m, n = Y.shape
    col = Y.sum(0)
    K = int(np.sum(col == 0))
    acc = Y.mean(1)
    b = int(np.argmax(acc))
    assert (res["m"], res["n"], res["K"]) == (m, n, K)
    assert abs(res["beta"] - K / n) < 1e-15 and abs(res["a_sb"] - acc.max()) < 1e-15
    assert abs(res["oracle"] - np.mean(col >= 1)) < 1e-15
    assert res["n_resolvable"] == int(np.sum((Y[b] == 0) & (col >= 1)))
    assert abs(res["gain"] * n - res["n_resolvable"]) < 1e-8
    assert res["data_source"] == "simulated"


def test_certificate_independent(run):
    res, Y = _sim(run)
    m, n = Y.shape
    K = res["K"]
    lo = 0.0 if K == 0 else stats.beta.ppf(0.025, K, n - K + 1)
    hi = stats.beta.ppf(0.975, K + 1, n - K)
    assert abs(res["beta_ci"][0] - lo) < 1e-12 and abs(res["beta_ci"][1] - hi) < 1e-12
    asb_lo = max(stats.beta.ppf(0.025 / m, c, n - c + 1) for c in Y.sum(1))
    assert abs(res["U"] - ((1 - lo) - asb_lo)) < 1e-12


def test_correlations_and_single_factor_independent(run):
    res, Y = _sim(run)
    W = 1 - Y
    iu = np.triu_indices(Y.shape[0], 1)
    assert abs(res["phibar"] - np.corrcoef(W)[iu].mean()) < 1e-10
    a = W.mean(1)
    t = ndtri(a)
    p11 = (W @ W.T / Y.shape[1])[iu]
    r = tetrachoric_owen(t[iu[0]], t[iu[1]], p11)
    assert abs(res["rbar"] - r.mean()) < 1e-6
    # the single-factor prediction by Monte Carlo with the run's thresholds and rbar
    rng = np.random.default_rng(0)
    N = 400_000
    X = np.sqrt(res["rbar"]) * rng.standard_normal((N, 1)) + np.sqrt(1 - res["rbar"]) * rng.standard_normal((N, len(t)))
    pm = np.mean(np.all(X < t, axis=1))
    assert abs(pm - res["beta_sf"]) < 4 * np.sqrt(pm * (1 - pm) / N)
    assert res["pool_ratio_of_means"][0] == pytest.approx(1.0, abs=1e-8)


def test_analytic_numbers(run):
    res = run[0]
    assert abs(res["prop2_R53_tet"] / 1.30e5 - 1) < 0.01 and abs(res["prop2_R53_pearson"] / 8.36e6 - 1) < 0.01
    assert abs(res["cert_math500_rev_U"] - 0.048) < 5e-4 and abs(res["cert_math500_v1_U"] - 0.211) < 5e-4
    assert abs(res["maj_floor"] - 0.20351) < 1e-5 and res["size_c01"] == 3
    assert res["lp_max_abs_diff"] < 1e-8 and abs(res["lp_V_cmin"] - res["lp_cheapest_acc"]) < 1e-12


# ------------------------------------------------------------------ the ledger

def test_every_registry_claim_has_one_row(run):
    from capfront_lib.core.claims import VERDICTS, load_registry

    claims = run[1]
    reg = load_registry(STEM)
    assert sorted(claims.claim_id) == sorted(reg.ids)
    assert claims.claim_id.is_unique and (claims.chapter == STEM).all()
    assert set(claims.verdict) <= set(VERDICTS)
    spec = {c.id: c for c in reg.claims}
    for row in claims.itertuples():
        s = spec[row.claim_id]
        measured = row.our_value != ""
        if s.statistical and measured:
            assert row.ci_low != "" and row.ci_high != "", row.claim_id  # statistical rows carry their interval
        if s.rule == "not-checkable":
            assert row.verdict == "not-checkable"


def test_verdict_counts_in_results(run):
    res, claims = run[0], run[1]
    assert res["verdict_counts"] == {v: int((claims.verdict == v).sum()) for v in res["verdict_counts"]}


def test_no_typed_verdict_in_chapter():
    pat = r"[\"'](reproduced|direction-only|differs|inconclusive)[\"']"
    files = [ROOT / "notebooks" / f"{STEM}.md", *sorted((ROOT / "capfront_lib" / "cofailure").glob("*.py"))]
    hits = [f"{f.name}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1) if re.search(pat, line)]
    assert not hits, hits


def test_headline_json(run):
    res = run[0]
    h = json.loads((ROOT / "results" / STEM / "headline.json").read_text())
    for k in ("m", "n", "K", "beta", "beta_ci", "U", "regime", "rbar", "beta_sf", "ratio_sf", "data_source"):
        assert k in h and h[k] == res[k]


# ------------------------------------------------------------------ public data, recomputed independently

def _gsm8k(shared_data):
    df = pd.read_csv(shared_data / "ZeroEval" / "gsm8k_correct.csv", index_col="id")
    cov = df.notna().mean()
    df = df.loc[:, cov >= 0.95].dropna()
    return df


def test_public_gsm8k_independent(run, shared_data):
    res = run[0]
    if "public" not in res:
        pytest.skip("the quick run had no CAPFRONT_DATA_DIR, so no public section")
    df = _gsm8k(shared_data)
    Y = df.to_numpy(float).T
    g = res["public"]["gsm8k"]
    m, n = Y.shape
    K = int(np.sum(Y.sum(0) == 0))
    assert (g["n_models"], g["n_queries"], g["n_all_wrong"]) == (m, n, K) == (41, 1319, 5)
    W = 1 - Y
    iu = np.triu_indices(m, 1)
    t = ndtri(W.mean(1))
    r = tetrachoric_owen(t[iu[0]], t[iu[1]], (W @ W.T / n)[iu])
    assert abs(g["mean_tetrachoric"] - r.mean()) < 1e-6
    # tetrachoric single factor by Monte Carlo (importance is not needed: beta_sf ~ 5e-4)
    rng = np.random.default_rng(1)
    N = 2_000_000
    hits = 0
    for _ in range(4):
        X = np.sqrt(r.mean()) * rng.standard_normal((N // 4, 1)) + np.sqrt(1 - r.mean()) * rng.standard_normal((N // 4, m))
        hits += int(np.all(X < t, axis=1).sum())
    p = hits / N
    ratio = (K / n) / p
    se = ratio * np.sqrt((1 - p) / (p * N))
    assert abs(ratio - g["underpricing_ratio"]) < 4 * se
    # co-failure share with scipy CP limits
    best = Y.mean(1).max()
    lo, hi = stats.beta.ppf(0.025, K, n - K + 1), stats.beta.ppf(0.975, K + 1, n - K)
    assert g["co_failure_share_ci"][0] == pytest.approx(lo / (1 - best)) and g["co_failure_share_ci"][1] == pytest.approx(hi / (1 - best))


def test_public_triplets_and_escalation_independent(run, shared_data):
    res = run[0]
    if "public" not in res:
        pytest.skip("no public section in this run")
    Y = _gsm8k(shared_data).to_numpy(float).T
    acc = Y.mean(1)
    gains = [np.mean(Y[list(t)].sum(0) >= 2) - acc[list(t)].max() for t in combinations(range(Y.shape[0]), 3)]
    assert res["public"]["triplets"]["GSM8K"]["mean"] == pytest.approx(np.mean(gains), abs=1e-12)
    c = res["public"]["cascade"]
    df = _gsm8k(shared_data)
    yL, yH = df[c["L"]].to_numpy(float), df[c["H"]].to_numpy(float)
    assert c["a_L"] == pytest.approx(yL.mean()) and c["a_H"] == pytest.approx(yH.mean())
    assert c["escalation_relative"] == pytest.approx(yH.mean() / yH[yL == 0].mean())
    assert c["H"] == df.columns[np.argmax(df.mean().to_numpy())]


def test_public_mmlu_pro_audit_independent(run, shared_data):
    res = run[0]
    if "public_audit" not in res:
        pytest.skip("no public audit in this run")
    df = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_correct.csv", dtype={"id": str}).set_index("id")
    df = df.loc[:, df.notna().mean() >= 0.95].dropna()
    Y = df.to_numpy(float)
    allw = df.index[Y.sum(1) == 0]
    preds = pd.read_csv(shared_data / "MMLU-Pro" / "mmlu_pro_pred.csv", dtype=str).set_index("id").loc[allw, df.columns]
    share = preds.apply(lambda r: r.dropna().value_counts().iloc[0] / df.shape[1] if r.notna().any() else 0.0, axis=1)
    assert res["public_audit"]["K"] == len(allw)
    assert res["public_audit"]["flagged"] == int((share >= 0.5).sum())


# ------------------------------------------------------------------ the parameter schema

def _notebook_parameters() -> dict:
    text = (ROOT / "notebooks" / f"{STEM}.md").read_text()
    cell = re.search(r"```\{code-cell\} ipython3\n:tags: \[parameters\]\n\n(.*?)```", text, re.S).group(1)
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell).body if isinstance(n, ast.Assign)}


def test_schema_names_equal_the_parameters_cell():
    from capfront_lib.cofailure.params import SCHEMA

    params = _notebook_parameters()
    assert SCHEMA.names == list(params)
    SCHEMA.validate(params)  # the defaults are valid


@pytest.mark.parametrize("name,value,needle", [
    ("sim_models", -5, "sim_models"), ("seed", -1, "seed"), ("delta", float("nan"), "delta"),
    ("zero_cell", "bogus", "zero_cell"), ("sim_models", 1_000_000_000, "sim_models"),
    ("sim_acc_range", [0.9, 0.5], "sim_acc_range"), ("sim_rho_family", 0.5, "sim_rho"),
    ("n_boot", 10_000_000_000, "n_boot"), ("confidence_sign", 0, "confidence_sign"),
    ("outcomes_path", "/nonexistent/log.csv", "outcomes_path"),
])
def test_schema_refuses_bad_values(name, value, needle):
    from capfront_lib.core.params import ParameterError
    from capfront_lib.cofailure.params import SCHEMA

    params = _notebook_parameters() | {name: value}
    with pytest.raises(ParameterError) as err:
        SCHEMA.validate(params)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_runner_refuses_huge_pool_before_a_kernel_starts(tmp_path):
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "capfront"), "run", STEM, "-p", "sim_models", "1000000000",
                          "--results-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "sim_models" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "results.json").exists()


# ------------------------------------------------------------------ your log through the whole chapter

@pytest.mark.paper
def test_notebook_on_a_small_long_log(tmp_path):
    """The chapter runs end to end on a user's long log (costs, confidences, categories; no answers): the data are
    labelled 'your log', the sections that need answers say so, and results match an independent recomputation."""
    from capfront_lib import runner

    rng = np.random.default_rng(5)
    n, m = 400, 8
    z = rng.normal(size=(n, 1))
    acc = np.linspace(0.55, 0.85, m)
    latent = np.sqrt(0.5) * z + np.sqrt(0.5) * rng.normal(size=(n, m))
    Y = (latent > stats.norm.ppf(1 - acc)).astype(int)
    rows = [{"query_id": f"q{j}", "model": f"p{i % 3}/model{i}", "correct": int(Y[j, i]), "cost_usd": 1e-4 * (i + 1),
             "confidence": float(latent[j, i] + rng.normal(0, 0.5)), "category": f"c{j % 4}"}
            for j in range(n) for i in range(m)]
    log = tmp_path / "my_log.csv"
    pd.DataFrame(rows).to_csv(log, index=False)
    out = tmp_path / "out"
    runner.run_chapter(STEM, [("outcomes_path", str(log)), ("real_data", "off"), ("n_boot", "40"), ("cert_pools", "200"),
                              ("max_triplets", "0")], output=tmp_path / "nb.ipynb", results_dir=out)
    res = json.loads((out / "results.json").read_text())
    assert res["data_source"] == "your log" and res["data_label"] == "your log (my_log.csv)"
    K = int(np.sum(Y.sum(1) == 0))
    assert (res["m"], res["n"], res["K"]) == (m, n, K)
    claims = pd.read_csv(out / "claims.csv", dtype=str, keep_default_na=False).set_index("claim_id")
    assert claims.loc["prop1_ceiling", "method"] == "your-log"
    assert "public" not in res and claims.loc["underpricing_open_math", "verdict"] == "not-checkable"
    assert res["coverage"]["cost_source"] == "log"


@pytest.mark.paper
def test_gsm8k_notebook_run(shared_data, tmp_path):
    """The notebook on the public GSM8K matrix with the coverage rule off reproduces K = 2, n = 681 (spec §5 item 17)."""
    from capfront_lib import runner

    p = shared_data / "ZeroEval" / "gsm8k_correct.csv"
    if not p.is_file():
        pytest.skip(f"{p} absent")
    runner.run_chapter(STEM, [("outcomes_path", str(p)), ("min_model_coverage", "0.0"), ("real_data", "off"),
                              ("n_boot", "40"), ("cert_pools", "200")], output=tmp_path / "nb.ipynb", results_dir=tmp_path)
    res = json.loads((tmp_path / "results.json").read_text())
    Y = pd.read_csv(p, index_col="id").dropna().to_numpy(float).T
    assert (res["m"], res["n"], res["K"]) == (42, 681, 2) == (Y.shape[0], Y.shape[1], int(np.sum(Y.sum(0) == 0)))
    assert res["n_resolvable"] == 18 and abs(res["U"] - 0.056) < 5e-4
    assert res["data_source"] == "public data"
