"""Unit tests of capfront_lib.cofailure against independent references (spec §5).

References: closed forms, scipy (multivariate_normal, beta, linprog), Monte Carlo inside the test,
brute-force enumeration and exact Fraction arithmetic. Values quoted from the spec's [A] list are
analytic (recomputable by hand / scipy), never numbers printed by this library.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import comb

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from capfront_lib.cofailure import budget, copula, ensemble, pool, theory
from capfront_lib.cofailure.analysis import audit_all_wrong, pool_curve, predictions
from capfront_lib.cofailure.simulate import sim_thresholds, sim_truth_beta, sim_truth_pairs, simulate_pool


def _rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ §5.1 Clopper–Pearson

@pytest.mark.parametrize("n", [20, 63, 130, 330])
def test_cp_exact_coverage(n):
    ks = np.arange(n + 1)
    lims = np.array([pool.cp_interval(int(k), n, 0.05) for k in ks])
    for b in np.linspace(0.001, 0.999, 400):
        cover = (lims[:, 0] <= b) & (b <= lims[:, 1])
        assert stats.binom.pmf(ks, n, b)[cover].sum() >= 0.95 - 1e-12


@pytest.mark.parametrize("k,n,lo,hi", [
    (17, 330, 0.0303, 0.0812), (16, 330, 0.0280, 0.0775), (13, 298, 0.0234, 0.0734), (5, 63, 0.0263, 0.1756),
    (0, 130, 0.0, 0.0280), (16, 480, 0.0192, 0.0536), (6, 200, 0.0111, 0.0642), (10, 79, 0.0624, 0.2205),
    (19, 79, 0.1514, 0.3498), (3, 79, 0.0079, 0.1070), (1, 124, 0.0002, 0.0441), (2, 200, 0.0012, 0.0357),
])
def test_cp_reference_intervals(k, n, lo, hi):
    a, b = pool.cp_interval(k, n, 0.05)
    assert abs(a - lo) < 5e-5 and abs(b - hi) < 5e-5


def test_cp_closed_forms():
    for n in (1, 7, 42, 330):
        assert abs(pool.cp_interval(0, n)[1] - (1 - 0.025 ** (1 / n))) < 1e-12
        assert abs(pool.cp_interval(n, n)[0] - 0.025 ** (1 / n)) < 1e-12
    # one-sided upper 0/130 at 0.05
    assert abs(float(pool.cp_upper(0, 130, 0.05)) - 0.0228) < 5e-5
    # generic k: scipy's beta quantiles
    assert abs(pool.cp_interval(7, 50)[0] - stats.beta.ppf(0.025, 7, 44)) < 1e-14
    with pytest.raises(ValueError, match="k must"):
        pool.cp_interval(5, 3)


# ------------------------------------------------------------------ §5.2 certificate

@pytest.mark.parametrize("K,n,best,m,U", [
    (0, 330, 326, 67, 0.048), (0, 298, 296, 67, 0.041), (0, 42, 37, 52, 0.358), (0, 130, 110, 52, 0.281),
    (1, 124, 119, 67, 0.136), (0, 63, 57, 18, 0.254), (0, 480, 462, 15, 0.070), (2, 200, 182, 15, 0.164),
    (17, 330, 276, 67, 0.211), (13, 298, 262, 67, 0.173), (5, 63, 52, 18, 0.328), (16, 480, 443, 15, 0.100),
    (6, 200, 170, 15, 0.226),
])
def test_certificate_reference(K, n, best, m, U):
    c = [best] + [0] * (m - 1)
    out = pool.certificate_bound(K, n, c, 0.05)
    beta_lo = 0.0 if K == 0 else stats.beta.ppf(0.025, K, n - K + 1)
    asb_lo = stats.beta.ppf(0.025 / m, best, n - best + 1)
    assert abs(out["U"] - ((1 - beta_lo) - asb_lo)) < 1e-12
    assert round(out["U"], 3) == U


def _random_pool(rng, m, n, acc, rho, atom):
    """Exchangeable-ish probit pool with an atom; returns Y and the population (1-beta) - max acc."""
    t = ndtri(1 - acc)
    Z = rng.standard_normal(n)
    X = np.sqrt(rho) * Z + np.sqrt(1 - rho) * rng.standard_normal((m, n))
    Y = (X >= t[:, None]).astype(float)
    Y[:, rng.uniform(size=n) < atom] = 0
    return Y


def test_certificate_coverage_and_direction():
    rng = _rng(1)
    m, n, acc, rho, atom = 6, 150, np.linspace(0.6, 0.8, 6), 0.5, 0.02
    t = ndtri(1 - acc)
    beta_true = atom + (1 - atom) * copula.beta_sf(t, rho)
    gain_true = (1 - beta_true) - (1 - atom) * acc.max()
    ok, bad = 0, 0
    R = 300
    for _ in range(R):
        Y = _random_pool(rng, m, n, acc, rho, atom)
        K = int(np.sum(Y.sum(0) == 0))
        c = Y.sum(1)
        U = pool.certificate_bound(K, n, c, 0.05)["U"]
        ok += gain_true <= U
        # v1's direction error: an *upper* limit on a_sb
        beta_lo = float(pool.cp_lower(K, n, 0.025))
        U_wrong = (1 - beta_lo) - float(np.max(pool.cp_upper(c, n, 0.025 / m)))
        bad += gain_true <= U_wrong
    p = ok / R
    assert p >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / R)
    assert bad / R < 0.5  # the unsound direction breaks coverage


# ------------------------------------------------------------------ §5.3 localisation

def test_localisation_identity_simulated():
    P = simulate_pool(_rng(3), n_models=12, n_queries=2000)
    s = pool.pool_summary(P.Y)
    Y = P.Y.astype(int)
    col = Y.sum(0)
    res = int(np.sum((Y[s.best] == 0) & (col >= 1)))
    assert s.n_resolvable == res
    assert round(s.gain * s.n) == res and abs(s.gain * s.n - res) < 1e-9
    assert s.oracle == 1 - s.K / s.n
    # brute force oracle: per query, any model right
    assert s.oracle == np.mean([Y[:, j].max() for j in range(Y.shape[1])])


def test_partition_oracle_bounds():
    P = simulate_pool(_rng(4), n_models=8, n_queries=600)
    s = pool.pool_summary(P.Y)
    coarse = np.arange(600) % 3
    fine = np.arange(600) % 12  # refines coarse
    vc, vf = pool.partition_oracle(P.Y, coarse), pool.partition_oracle(P.Y, fine)
    assert s.a_sb - 1e-12 <= vc <= vf + 1e-12 <= s.oracle + 1e-12
    assert abs(pool.partition_oracle(P.Y, np.zeros(600)) - s.a_sb) < 1e-12
    assert abs(pool.partition_oracle(P.Y, np.arange(600)) - s.oracle) < 1e-12


def test_single_best_ties_and_bad_input():
    assert pool.single_best([0.5, 0.7, 0.7], costs=[1, 3, 2]) == 2
    assert pool.single_best([0.5, 0.7, 0.7]) == 1
    with pytest.raises(ValueError, match="0/1"):
        pool.pool_summary(np.array([[0, 2], [1, 1]]))


def test_optimism_bias_positive():
    rng = _rng(5)
    Y = (rng.uniform(size=(30, 200)) < 0.7).astype(float)  # identical models: a_sb is pure optimism
    o = pool.optimism(Y, 200, rng)
    assert o["boot_bias"] > 0
    assert abs(o["crossfit"] - 0.7) < 0.03
    assert o["a_sb"] > o["crossfit"]


def test_optimism_bootstrap_standard_error_matches_replicate_spread():
    """boot_bias_se is the Monte Carlo error of boot_bias: the sd of boot_bias over independent bootstrap runs."""
    Y = (_rng(6).uniform(size=(10, 150)) < 0.6).astype(float)
    runs = [pool.optimism(Y, 100, _rng(100 + r), n_splits=1) for r in range(40)]
    spread = np.std([o["boot_bias"] for o in runs], ddof=1)
    se = np.mean([o["boot_bias_se"] for o in runs])
    assert 0.7 < se / spread < 1.4


# ------------------------------------------------------------------ §5.4 Phi2, tetrachoric

def test_bvn_cdf_vs_scipy():
    rng = _rng(6)
    h, k, r = rng.normal(0, 1.5, 300), rng.normal(0, 1.5, 300), rng.uniform(-0.99, 0.99, 300)
    ours = copula.bvn_cdf(h, k, r)
    for i in range(300):
        ref = stats.multivariate_normal([0, 0], [[1, r[i]], [r[i], 1]]).cdf([h[i], k[i]])
        assert abs(ours[i] - ref) < 1e-12


def test_tetrachoric_round_trip():
    rng = _rng(7)
    h, k, r = rng.normal(0, 1.2, 2000), rng.normal(0, 1.2, 2000), rng.uniform(-0.99, 0.99, 2000)
    p = copula.bvn_cdf(h, k, r)
    rr = copula.tetrachoric_from_p11(h, k, p)
    assert np.max(np.abs(copula.bvn_cdf(h, k, rr) - p)) < 1e-12
    well = copula.bvn_pdf(h, k, r) >= 1e-4
    assert np.max(np.abs(rr - r)[well]) < 1e-8


def test_bvn_pdf_is_derivative():
    h, k, r = 0.3, -0.7, 0.4
    e = 1e-6
    fd = (copula.bvn_cdf(h, k, r + e) - copula.bvn_cdf(h, k, r - e)) / (2 * e)
    assert abs(fd - copula.bvn_pdf(h, k, r)) < 1e-7


def _pair(n11, n10, n01, n00):
    """2-model correctness matrix (rows models) with the given both-wrong / i-only / j-only / none-wrong counts."""
    wi = [1] * n11 + [1] * n10 + [0] * n01 + [0] * n00
    wj = [1] * n11 + [0] * n10 + [1] * n01 + [0] * n00
    return 1 - np.array([wi, wj], float)


def test_zero_cells():
    T = copula.tetrachoric_matrix(_pair(0, 10, 10, 30))  # p11 = 0 -> lower bound
    assert T.r[0, 1] == pytest.approx(-(1 - 1e-6)) and T.n_clamped == 1
    T = copula.tetrachoric_matrix(_pair(10, 0, 10, 30))  # p11 = min alpha -> upper bound
    assert T.r[0, 1] == pytest.approx(1 - 1e-6) and T.n_clamped == 1
    T = copula.tetrachoric_matrix(_pair(10, 20, 20, 0))  # p00 = 0 -> lower bound
    assert T.r[0, 1] == pytest.approx(-(1 - 1e-6))
    H = copula.tetrachoric_matrix(_pair(10, 0, 10, 30), zero_cell="haldane")
    assert np.isfinite(H.r[0, 1]) and 0 < H.r[0, 1] < 1 - 1e-6 and H.n_clamped == 1
    # Haldane value = independent solve on the corrected table
    # corrected table (10.5, 0.5, 10.5, 30.5), n = 52: alpha_i = 11/52, alpha_j = 21/52, p11 = 10.5/52
    a_i, a_j, p11 = 11 / 52, 21 / 52, 10.5 / 52
    ref = copula.tetrachoric_from_p11(ndtri(a_i), ndtri(a_j), p11)
    assert abs(H.r[0, 1] - ref) < 1e-12
    T = copula.tetrachoric_matrix(_pair(10, 20, 20, 50))
    assert T.n_clamped == 0
    with pytest.raises(ValueError, match="zero_cell"):
        copula.tetrachoric_matrix(_pair(10, 20, 20, 50), zero_cell="nope")


def test_pearson_matches_numpy():
    rng = _rng(8)
    Y = (rng.uniform(size=(5, 300)) < 0.6).astype(float)
    assert np.allclose(copula.pearson_matrix(Y), np.corrcoef(1 - Y), atol=1e-12)


def test_degenerate_model_left_out():
    rng = _rng(9)
    Y = (rng.uniform(size=(4, 200)) < 0.6).astype(float)
    Y[2] = 1.0
    T = copula.tetrachoric_matrix(Y)
    assert T.degenerate.tolist() == [False, False, True, False]
    assert np.all(np.isnan(T.r[2])) and np.isfinite(T.r[0, 1])


# ------------------------------------------------------------------ §5.5 single factor, full Sigma

def test_beta_sf_gh_vs_quad_and_m2():
    rng = _rng(10)
    t = ndtri(rng.uniform(0.1, 0.5, 30))
    for rho in (0.1, 0.3, 0.5, 0.6):
        q = copula.beta_sf(t, rho)
        assert abs(copula.beta_sf_gh(t, rho) / q - 1) < 1e-5
    for rho in (0.2, 0.7, 0.95):
        assert abs(copula.beta_sf(t[:2], rho) - stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf(t[:2])) < 1e-10


def test_beta_sf_vs_monte_carlo():
    rng = _rng(11)
    t = ndtri(np.linspace(0.2, 0.5, 8))
    rho = 0.5
    N = 1_000_000
    Z = rng.standard_normal((N, 1))
    X = np.sqrt(rho) * Z + np.sqrt(1 - rho) * rng.standard_normal((N, 8))
    p = np.mean(np.all(X < t, axis=1))
    se = np.sqrt(p * (1 - p) / N)
    assert abs(copula.beta_sf(t, rho) - p) < 4 * se


def test_beta_sf_independence_and_warning():
    t = ndtri(np.array([0.3, 0.4]))
    with pytest.warns(RuntimeWarning):
        assert abs(copula.beta_sf(t, -0.2) - 0.12) < 1e-12
    assert abs(copula.beta_sf(t, 0.0) - 0.12) < 1e-12


def test_full_sigma_equicorrelated_equals_single_factor():
    rng = _rng(12)
    t = ndtri(np.linspace(0.25, 0.5, 10))
    rho = 0.5
    S = np.full((10, 10), rho)
    np.fill_diagonal(S, 1)
    ref = copula.beta_sf(t, rho)
    p, se = copula.orthant_mc(S, t, 400_000, rng)
    assert abs(p - ref) < 4 * se
    g = copula.orthant_genz(S, t, maxpts=400_000, abseps=1e-7)
    assert abs(g - ref) < 1e-5
    v, se = copula.orthant_sov(S, t, 1 << 14, rng)
    assert abs(v - ref) < 4 * se + 1e-9 and se < 0.01 * ref


def test_sov_block_matrix_vs_nested_gh():
    m = 24
    t = sim_thresholds(m)
    fam = np.arange(m) // 4
    S = (0.55 + 0.15 * (fam[:, None] == fam[None, :])).astype(float)
    np.fill_diagonal(S, 1.0)
    v, se = copula.orthant_sov(S, t, 1 << 15, _rng(30))
    truth = sim_truth_beta(t, fam, 0.55, 0.15, 0.0)
    assert abs(v - truth) < 4 * se + 1e-9 and se < 0.01 * truth


def test_implied_rho_inverts():
    t = ndtri(np.linspace(0.2, 0.5, 12))
    b = copula.beta_sf(t, 0.63)
    assert abs(copula.implied_rho(t, b) - 0.63) < 1e-8


# ------------------------------------------------------------------ §5.6 Prop. 2

def test_prop2_closed_forms():
    mg = theory.shock_marginals(0.05, 0.40)
    assert abs(mg["alpha"] - 0.43) < 1e-12 and abs(mg["p11"] - 0.202) < 1e-12
    assert abs(mg["phi"] - 0.0698) < 1e-4 and abs(mg["r_tet"] - 0.1104) < 1e-4
    r = theory.shock_ratio(0.05, 0.40, [2, 3, 5, 10, 20, 53, 67])
    ref = [1.000, 1.087, 1.947, 17.08, 422.3, 1.30e5, 6.05e5]
    assert np.all(np.abs(r["ratio"] / ref - 1) < 0.01)
    assert abs(r["ratio"][0] - 1) < 1e-8
    assert abs(r["beta_sf"][5] / 3.844e-7 - 1) < 0.01
    assert abs(theory.shock_ratio(0.05, 0.40, [53], "pearson")["ratio"][0] / 8.36e6 - 1) < 0.01
    # the authors' mismatched threshold Phi^-1(0.40) with Pearson calibration: "past 10^7"
    assert abs(theory.shock_ratio(0.05, 0.40, [53], "pearson", threshold=ndtri(0.40))["ratio"][0] / 2.99e7 - 1) < 0.01
    w, a0 = 0.05, (0.40 - 0.05) / 0.95
    r2 = theory.shock_ratio(w, a0, [10, 53])
    assert abs(r2["rho"] - 0.1261) < 1e-4 and abs(r2["ratio"][0] / 20.69 - 1) < 0.01 and abs(r2["ratio"][1] / 1.01e5 - 1) < 0.01


def test_prop2_ratio_increasing():
    r = theory.shock_ratio(0.05, 0.40, np.arange(2, 201))["ratio"]
    assert np.all(np.diff(r) > 0)


def test_prop2_simulation():
    rng = _rng(13)
    w, a0, N, m = 0.05, 0.40, 200_000, 5
    shock = rng.uniform(size=N) < w
    W = (rng.uniform(size=(N, m)) < a0) | shock[:, None]
    alpha = W[:, 0].mean()
    mg = theory.shock_marginals(w, a0)
    assert abs(alpha - mg["alpha"]) < 4 * np.sqrt(mg["alpha"] * (1 - mg["alpha"]) / N)
    phi = np.corrcoef(W[:, 0], W[:, 1])[0, 1]
    assert abs(phi - mg["phi"]) < 4 / np.sqrt(N)
    b = W.all(axis=1).mean()
    bt = theory.shock_beta(w, a0, m)
    assert abs(b - bt) < 4 * np.sqrt(bt * (1 - bt) / N)


# ------------------------------------------------------------------ §5.7 Prop. 3

def test_prop3_example1_exact():
    qa = (Fraction(1, 4), Fraction(0), Fraction(3, 4), Fraction(0))
    qb = (Fraction(0), Fraction(3, 4), Fraction(0), Fraction(1, 4))
    ma, mb = theory.triple_margins(qa), theory.triple_margins(qb)
    assert ma["p1"] == mb["p1"] == Fraction(1, 2) and ma["p2"] == mb["p2"] == Fraction(1, 4)
    assert ma["beta"] == 0 and mb["beta"] == Fraction(1, 4)
    # brute-force margins by enumerating the 8 outcomes of an exchangeable triple
    for q, m in ((qa, ma), (qb, mb)):
        probs = {}
        for bits in np.ndindex(2, 2, 2):
            j = sum(bits)
            probs[bits] = q[j] / comb(3, j)
        p1 = sum(p for b, p in probs.items() if b[0] == 1)
        p2 = sum(p for b, p in probs.items() if b[0] == 1 and b[1] == 1)
        assert p1 == m["p1"] and p2 == m["p2"]


def test_prop3_example2():
    a, b = Fraction(3, 10), Fraction(15, 100)
    lo, hi, q = theory.frechet_class(a, b)
    assert lo == 0 and hi == Fraction(15, 100)
    assert q(lo) == (Fraction(55, 100), 0, Fraction(45, 100), 0)
    assert q(hi) == (Fraction(40, 100), Fraction(45, 100), 0, Fraction(15, 100))
    for beta in (lo, hi):
        assert all(x >= 0 for x in q(beta))
        mg = theory.triple_margins(q(beta))
        assert mg["p1"] == a and mg["p2"] == b
    t = ndtri(0.3)
    r = float(copula.tetrachoric_from_p11(t, t, 0.15))
    assert abs(r - 0.45501) < 1e-5
    assert abs(copula.beta_sf(np.full(3, t), r) - 0.09238) < 1e-5
    th = copula.clayton_calibrate(np.full(3, 0.3), 0.15)
    assert abs(th - 0.5972) < 1e-4
    assert abs(copula.clayton_cdf(np.full(3, 0.3), th) - 0.09201) < 1e-5
    w, a0 = theory.shock_from_pair(0.3, 0.15)
    assert abs(w - 6 / 55) < 1e-12 and abs(a0 - 3 / 14) < 1e-12
    assert abs(theory.shock_beta(w, a0, 3) - 33 / 280) < 1e-12


# ------------------------------------------------------------------ §5.8 Clayton

def test_clayton_closed_form_vs_frailty_mc():
    rng = _rng(14)
    alpha = np.array([0.3, 0.4, 0.5, 0.35])
    th = 1.3
    p, se = copula.clayton_mc(alpha, th, 1_000_000, rng)
    assert abs(copula.clayton_cdf(alpha, th) - p) < 4 * se


def test_clayton_calibration_and_table():
    alpha = np.array([0.2, 0.3, 0.45, 0.5])
    th = 2.345
    iu = combinations(range(4), 2)
    p11 = np.mean([copula.clayton_cdf(alpha[[i, j]], th) for i, j in iu])
    assert abs(copula.clayton_calibrate(alpha, p11) - th) < 1e-8
    t = ndtri(0.40)
    for th, lam, p11, phi, rt, b53, rp, rtt in ((2, 0.7071, 0.29488, 0.5620, 0.7757, 0.05984, 4.18, 0.840),
                                                (4, 0.8409, 0.33744, 0.7393, 0.9187, 0.14919, 2.66, 0.849)):
        c = theory.clayton_exchangeable(0.40, th, 53)
        assert abs(c["lambda_L"] - 2 ** (-1 / th)) < 1e-15 and abs(c["lambda_L"] - lam) < 1e-4
        assert abs(c["p11"] - p11) < 1e-4 and abs(c["phi"] - phi) < 1e-4 and abs(c["r_tet"] - rt) < 1e-4
        assert abs(c["beta"] - b53) < 1e-4
        assert abs(c["beta"] / copula.beta_sf(np.full(53, t), c["phi"]) - rp) < 0.01
        assert abs(c["beta"] / copula.beta_sf(np.full(53, t), c["r_tet"]) - rtt) < 0.001


# ------------------------------------------------------------------ §5.9 Higham

def test_higham_projection():
    rng = _rng(15)
    m = 12
    X = rng.standard_normal((m, 3))
    C = np.corrcoef(X @ X.T + 0.1 * rng.standard_normal((m, m)))
    S = C + 0.25 * np.triu(rng.uniform(-1, 1, (m, m)), 1)
    S = np.triu(S, 1) + np.triu(S, 1).T + np.eye(m)
    S = np.clip(S, -0.99, 0.99)
    np.fill_diagonal(S, 1)
    assert np.linalg.eigvalsh(S).min() < 0  # indefinite input
    H, _ = copula.nearest_correlation(S)
    Cl = copula.clip_correlation(S)
    assert np.linalg.eigvalsh(H).min() >= -1e-8
    assert np.max(np.abs(np.diag(H) - 1)) < 1e-12
    assert np.linalg.norm(H - S) <= np.linalg.norm(Cl - S) + 1e-9
    V = np.corrcoef(rng.standard_normal((m, 50)))
    H2, _ = copula.nearest_correlation(V)
    assert np.max(np.abs(H2 - V)) < 1e-8


# ------------------------------------------------------------------ §5.10 simulation truth

def test_simulation_truth_vs_empirical():
    rng = _rng(16)
    P = simulate_pool(rng, n_models=12, n_queries=50_000, atom_hard=0.004, atom_ref=0.004, n_samples=1)
    b = np.mean(P.Y.sum(0) == 0)
    bt = sim_truth_beta(P.t, P.families, 0.55, 0.15, 0.008)
    assert abs(b - bt) < 4 * np.sqrt(bt * (1 - bt) / 50_000)
    alpha, p11 = sim_truth_pairs(P.t, P.families, 0.55, 0.15, 0.008)
    assert np.max(np.abs((1 - P.Y.mean(1)) - alpha)) < 4 * np.sqrt(0.25 / 50_000)


def test_simulation_truth_vs_genz_no_atom():
    """Nested GH truth vs an independent Genz orthant on the block correlation matrix (w = 0)."""
    m = 16
    t = sim_thresholds(m)
    fam = np.arange(m) // 4
    S = 0.55 + 0.15 * (fam[:, None] == fam[None, :])
    S = S.astype(float)
    np.fill_diagonal(S, 1.0)
    g = copula.orthant_genz(S, t, maxpts=500_000, abseps=1e-8, releps=1e-4)
    assert abs(sim_truth_beta(t, fam, 0.55, 0.15, 0.0) / g - 1) < 2e-3


def test_population_ratio_increasing_in_m():
    ratios = []
    for m in (8, 16, 24, 40):
        t = sim_thresholds(m)
        fam = np.arange(m) // 4
        alpha, p11 = sim_truth_pairs(t, fam, 0.55, 0.15, 0.008)
        ta = ndtri(alpha)
        iu = np.triu_indices(m, 1)
        rbar = copula.tetrachoric_from_p11(ta[iu[0]], ta[iu[1]], p11[iu]).mean()
        ratios.append(sim_truth_beta(t, fam, 0.55, 0.15, 0.008) / copula.beta_sf(ta, rbar))
    assert np.all(np.diff(ratios) > 0)


# ------------------------------------------------------------------ §5.11 pool curve

def test_pool_curve_pairs_and_submatrix():
    rng = _rng(17)
    P = simulate_pool(rng, n_models=10, n_queries=800)
    T = copula.tetrachoric_matrix(P.Y)
    pc = pool_curve(P.Y, T.r, [2, 4, "all"], 30, rng)
    row2 = pc[pc.k == 2].iloc[0]
    assert abs(row2.median_ratio - 1) < 1e-8 and abs(row2.ratio_p05 - 1) < 1e-8 and abs(row2.ratio_p95 - 1) < 1e-8
    sub = [1, 4, 7, 8]
    resolved = copula.tetrachoric_matrix(P.Y[sub]).r
    assert abs(copula.mean_offdiag(T.r[np.ix_(sub, sub)]) - copula.mean_offdiag(resolved)) < 1e-10


# ------------------------------------------------------------------ §5.12 LP

@pytest.fixture(scope="module")
def lp_case():
    rng = _rng(18)
    m, n = 8, 400
    acc = np.linspace(0.5, 0.9, m)
    Y = (rng.uniform(size=(m, n)) < acc[:, None]).astype(float)
    c = np.sort(rng.uniform(0.1, 2.0, m))
    q, p = budget.pattern_types(Y)
    return Y, q, p, c, budget.value_curve(q, p, c)


def test_lp_matches_dual_and_hull(lp_case):
    Y, q, p, c, cv = lp_case
    for B in np.linspace(c.min(), cv["cost"][-1] * 1.05, 10):
        v, lam = budget.solve_lp(q, p, c, B)
        assert abs(v - budget.value_at(cv, B)) < 1e-9
        assert abs(v - budget.dual_value(q, p, c, B)[0]) < 1e-9


def test_lp_slopes_and_facts(lp_case):
    Y, q, p, c, cv = lp_case
    x, s = cv["cost"], cv["slopes"]
    assert np.all(np.diff(s) <= 1e-9)  # concave
    for i in range(len(s)):
        B = 0.5 * (x[i] + x[i + 1])
        _, lam = budget.solve_lp(q, p, c, B)
        h = 1e-7 * (x[i + 1] - x[i])
        fd = (budget.value_at(cv, B + h) - budget.value_at(cv, B - h)) / (2 * h)
        assert abs(lam - fd) < 1e-6 * max(1, abs(fd))
    for i in range(1, len(x) - 1):  # kinks
        _, lam = budget.solve_lp(q, p, c, x[i])
        assert s[i] - 1e-6 <= lam <= s[i - 1] + 1e-6
    cheapest = int(np.argmin(c))
    assert abs(budget.value_at(cv, c.min()) - Y[cheapest].mean()) < 1e-12
    beta = np.mean(Y.sum(0) == 0)
    # pi_o: cheapest correct model per query (cheapest overall when none is correct)
    cost_o = np.mean([c[np.flatnonzero(Y[:, j])].min() if Y[:, j].any() else c.min() for j in range(Y.shape[1])])
    v, lam = budget.solve_lp(q, p, c, cost_o * 1.01)
    assert abs(v - (1 - beta)) < 1e-9 and abs(lam) < 1e-9


# ------------------------------------------------------------------ §5.13 cascade

def test_cascade_identity_random_and_perfect():
    rng = _rng(19)
    n = 5000
    yL = (rng.uniform(size=n) < 0.75).astype(float)
    yH = (rng.uniform(size=n) < 0.92).astype(float)
    s = yL + rng.normal(0, 0.8, n)
    cc = theory.cascade_curve(yL, yH, s)
    err, ok = s[yL == 0], s[yL == 1]
    auc = np.mean(err[:, None] < ok[None, :])  # brute force P(s_error < s_success)
    assert abs(cc["auc"] - auc) < 1e-12
    assert abs(cc["int_A1"] - theory.cascade_integral_identity(yL.mean(), auc)) < 1e-12
    # random verifier: integral ~ 0 (sd of a_L(1-a_L)(AUC - 1/2) under the null)
    ints = [theory.cascade_curve(yL, yH, rng.uniform(size=n))["int_A1"] for _ in range(30)]
    se_auc = np.sqrt((len(err) + len(ok) + 1) / (12 * len(err) * len(ok)))
    assert abs(np.mean(ints)) < 3 * yL.mean() * (1 - yL.mean()) * se_auc / np.sqrt(30) + 1e-12
    # perfect verifier and a perfect H: escalation ratio 1 - a_L/a_H at the kink
    yH2 = np.ones(n)
    yH2[: int(0.05 * n)] = 0
    yL2 = yH2 * (rng.uniform(size=n) < 0.8)
    cc2 = theory.cascade_curve(yL2, yH2, yL2 + 1e-3 * rng.uniform(size=n))
    gam_star = 1 - yL2.mean()  # escalate exactly L's errors
    k = int(round(gam_star * n))
    assert cc2["Q"][k] == pytest.approx(yH2.mean())
    assert gam_star == pytest.approx(1 - yL2.mean() / 1.0)


# ------------------------------------------------------------------ §5.14 Props 5–7, 9

def test_props_5_to_9():
    fl = theory.majority_floor(0.3, 0.4)
    assert abs(fl - 0.20351) < 1e-5
    errs = [theory.majority_error(0.3, 0.4, k) for k in (1, 3, 5, 11, 51, 1001)]
    assert np.allclose(errs, [0.3, 0.26062, 0.24399, 0.22508, 0.20874, 0.20379], atol=1e-5)
    assert abs(errs[-1] - fl) < 1e-3 and np.all(np.diff(errs) < 0)
    # Monte Carlo check of k = 3 (independent reference)
    rng = _rng(20)
    N = 400_000
    mu = ndtri(0.7)
    S = mu + np.sqrt(0.4) * rng.standard_normal((N, 1)) + np.sqrt(0.6) * rng.standard_normal((N, 3))
    mc = np.mean((S > 0).sum(1) < 2)
    assert abs(mc - errs[1]) < 4 * np.sqrt(mc * (1 - mc) / N)
    V = theory.vote_variance(0.4, 3)
    e = 1e-6
    fd = -(theory.vote_value(mu, V + e) - theory.vote_value(mu, V - e)) / (2 * e)
    assert abs(theory.vote_lambda(mu, V) - fd) < 1e-7
    assert abs(theory.vote_lambda(mu, V) - 0.178975) < 1e-6
    assert theory.vote_lambda(ndtri(0.7), 1.0) > 0 and theory.vote_lambda(ndtri(0.3), 1.0) < 0
    lam = float(theory.vote_lambda(mu, V))
    for c, ks, size in ((0.01, 2.815, 3), (0.001, 9.875, 10)):
        k, sz = theory.optimal_size(lam, c, 0.4)
        assert abs(k - ks) < 1e-3 and sz == size
        assert abs(k * (k + 1) - lam * 0.6 / c) < 1e-9
    pr = theory.prop9(0.05, 0.1)
    assert abs(pr["Eg"] - 0.069780) < 1e-6
    g = 0.05 + 0.1 * rng.standard_normal(1_000_000)
    mg = np.maximum(g, 0)
    assert abs(mg.mean() - pr["Eg"]) < 4 * mg.std() / 1000


# ------------------------------------------------------------------ §5.15 triplets

def test_triplets_vectorised_vs_loop():
    rng = _rng(21)
    Y = (rng.uniform(size=(6, 300)) < np.linspace(0.5, 0.85, 6)[:, None]).astype(float)
    trip = ensemble.triplet_index(6, None, rng)
    assert len(trip) == comb(6, 3)
    v = ensemble.vote_accuracy(Y, trip)
    for (i, j, k), vv in zip(trip, v):
        loop = np.mean([1.0 if Y[i, q] + Y[j, q] + Y[k, q] >= 2 else 0.0 for q in range(300)])
        assert vv == loop
    tab = ensemble.triplet_table(Y, trip)
    reg = ensemble.triplet_regression(tab, 6)
    X = np.column_stack([np.ones(len(trip)), tab["rho"], tab["headroom"]])
    import statsmodels.api as sm
    b = sm.OLS(tab["gain"], X).fit().params
    assert np.allclose([reg["b0"], reg["b_rho"], reg["b_head"]], b, atol=1e-10)


def test_plurality_vote_tie_break():
    rng = _rng(22)
    ans = np.array([[0, 1, 2], [0, 2, 2], [1, 1, -1]])
    v = ensemble.vote(ans, rng)
    assert v[0] == 0 and v[1] == 1 and v[2] == 2
    wins = [ensemble.vote(np.array([[0], [1]]), np.random.default_rng(s))[0] for s in range(200)]
    assert 0.3 < np.mean(wins) < 0.7


# ------------------------------------------------------------------ §5.16 audit (simulated)

def test_audit_flags_reference_atom():
    rng = _rng(23)
    P = simulate_pool(rng, n_models=30, n_queries=20_000, atom_hard=0.004, atom_ref=0.004, n_samples=1)
    au = audit_all_wrong(P.Y, P.preds, P.gold, consensus=0.5)
    tab = au["table"]
    ref_ids = np.flatnonzero(P.kind == "ref")
    assert set(ref_ids) <= set(tab["id"])  # every ref atom item is all-wrong
    flagged = set(tab.loc[tab.suspect, "id"])
    hard = set(np.flatnonzero(P.kind == "hard"))
    # recall: a ref item is flagged when >= 50% of models are latently right; with the strong common
    # factor (0.55) about a fifth of ref items fall on a low-Z query, so recall sits near 0.8 (spec said 0.9)
    assert len(flagged & set(ref_ids)) / len(ref_ids) >= 0.75
    assert len(flagged - hard) / max(len(flagged), 1) >= 0.8


def test_predictions_smoke_values():
    rng = _rng(24)
    P = simulate_pool(rng, n_models=12, n_queries=1500)
    pr = predictions(P.Y, n_mc=50_000, rng=rng)
    # independent recomputation of beta and the Pearson mean
    assert pr["beta"] == np.mean(P.Y.sum(0) == 0)
    iu = np.triu_indices(12, 1)
    assert abs(pr["phibar"] - np.corrcoef(1 - P.Y.astype(float))[iu].mean()) < 1e-12
    assert pr["beta_sf_pearson"] < pr["beta_sf"]  # the Pearson trap underprices


# ---- pairwise statistics for pools of any size (issue 16 item 5) ----
def _factor_pool(n, m, rho, seed, missing=0.0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.5, 0.5, size=m)
    z = np.sqrt(rho) * rng.normal(size=(n, 1)) + np.sqrt(1 - rho) * rng.normal(size=(n, m))
    A = (z > t).astype(float)
    if missing:
        A[rng.random(A.shape) < missing] = np.nan
    return A


def test_pair_index_inverts_the_upper_triangle():
    from capfront_lib.cofailure.copula import _pair_index

    for g in (2, 3, 41, 500):
        iu = np.triu_indices(g, 1)
        i, j = _pair_index(np.arange(len(iu[0])), g)
        assert (i == iu[0]).all() and (j == iu[1]).all()


def test_phibar_from_sufficient_statistics_equals_the_matrix_mean():
    from capfront_lib.cofailure.copula import _phibar_complete, mean_offdiag, pearson_matrix

    A = _factor_pool(700, 60, 0.3, 3)
    A[:, 5] = 1.0  # a degenerate model (never wrong) is left out of both
    W = 1 - A
    alpha = W.mean(axis=0)
    good = (alpha > 0) & (alpha < 1)
    phi = pearson_matrix(A.T)
    assert _phibar_complete(W, alpha, good) == pytest.approx(mean_offdiag(phi[np.ix_(good, good)]), abs=1e-12)


@pytest.mark.parametrize("missing", [0.0, 0.05])
def test_sampled_pairs_agree_with_all_pairs_within_sampling_error(missing):
    from capfront_lib.cofailure.copula import pairwise_summary

    A = _factor_pool(900, 150, 0.35, 7, missing)
    full = pairwise_summary(A)  # 11,175 pairs: every pair
    samp = pairwise_summary(A, max_pairs=2000)
    assert not full.sampled and samp.sampled and samp.n_pairs == full.n_pairs == 150 * 149 // 2
    # tetrachoric values of this pool spread with sd ~0.05; a 2,000-pair mean is within ~4 standard errors
    tet = copula.tetrachoric_matrix(A.T).r
    sd = np.nanstd(tet[np.triu_indices(150, 1)])
    fpc = np.sqrt(1 - 2000 / full.n_pairs)
    assert abs(samp.rbar - full.rbar) <= 4 * sd / np.sqrt(2000) * fpc
    if missing == 0.0:
        assert samp.phibar_exact and samp.phibar == pytest.approx(full.phibar, abs=1e-12)
    else:
        assert not samp.phibar_exact and abs(samp.phibar - full.phibar) < 0.02


def test_certificate_reports_the_pair_sample(tmp_path):
    from capfront_lib.cofailure.report import certificate

    A = _factor_pool(400, 520, 0.3, 11)  # 134,940 pairs > 125,000: sampled
    import pandas as pd

    d = certificate(pd.DataFrame(A, columns=[f"m{i}" for i in range(520)]))
    assert d["pairs_sampled"] and d["n_pairs_used"] == 125_000 and d["mean_pearson_exact"]
    assert 0.2 < d["mean_tetrachoric"] < 0.4  # the generating factor correlation is 0.3


# ------------------------------------------------------------------ vectorised bootstrap (resample)

from capfront_lib.cofailure import claims_run, coverage, public, resample, verify  # noqa: E402
from capfront_lib.cofailure.analysis import _replicate  # noqa: E402


@pytest.fixture(scope="module")
def small_pool():
    P = simulate_pool(_rng(31), n_models=10, n_queries=1500, atom_hard=0.01, atom_ref=0.0, n_samples=1)
    return P.Y.astype(float)


def test_replicate_stats_equals_per_replicate_recomputation(small_pool):
    """Weights w (counts of a resample) give the same statistics as recomputing on the resampled matrix."""
    A = small_pool
    n = A.shape[1]
    rng = _rng(32)
    subsets = resample.half_pool_subsets(A.shape[0], 6, rng)
    for _ in range(3):
        idx = rng.integers(0, n, n)
        w = np.bincount(idx, minlength=n)[None, :].astype(float)
        s = resample.replicate_stats(A, w, subsets=subsets)
        Ab = A[:, idx]
        beta, b_t, b_p, b_cl = _replicate(Ab, "clamp")  # independent: full tetrachoric matrix + quadrature per replicate
        assert s["beta"][0] == pytest.approx(beta, abs=1e-15)
        assert s["beta_sf"][0] == pytest.approx(b_t, rel=1e-5)
        assert s["beta_sf_pearson"][0] == pytest.approx(b_p, rel=1e-5)
        assert s["beta_clayton"][0] == pytest.approx(b_cl, rel=1e-8)
        tet = copula.tetrachoric_matrix(Ab)
        assert s["rbar"][0] == pytest.approx(copula.mean_offdiag(tet.r), abs=1e-10)
        assert s["rho_eff"][0] == pytest.approx(copula.implied_rho(tet.thresholds, beta), abs=1e-4)
        # ratio of means over the fixed subsets, recomputed subset by subset with quadrature
        bk, bs = [], []
        for sub in subsets:
            bk.append(np.mean(Ab[sub].sum(0) == 0))
            bs.append(copula.beta_sf(tet.thresholds[sub], copula.mean_offdiag(tet.r[np.ix_(sub, sub)])))
        assert s["ratio_half"][0] == pytest.approx(np.mean(bk) / np.mean(bs), rel=1e-4)
        acc = Ab.mean(1)
        assert s["gain"][0] == pytest.approx(np.mean(Ab.max(0)) - acc.max(), abs=1e-15)


def test_tetrachoric_warm_matches_cold_solver():
    rng = _rng(33)
    ti, tj = rng.uniform(-1.5, 0.5, 500), rng.uniform(-1.5, 0.5, 500)
    r = rng.uniform(-0.9, 0.95, 500)
    p11 = copula.bvn_cdf(ti, tj, r)
    start = np.clip(r + rng.normal(0, 0.1, 500), -0.99, 0.99)
    warm = resample.tetrachoric_warm(ti, tj, p11, start)
    assert np.max(np.abs(copula.bvn_cdf(ti, tj, warm) - p11)) < 1e-10
    tight = resample.tetrachoric_warm(ti, tj, p11, start, tol=1e-13)
    ok = copula.bvn_pdf(ti, tj, r) > 1e-3
    assert np.max(np.abs(tight[ok] - r[ok])) < 1e-8
    assert np.max(np.abs(tight[ok] - copula.tetrachoric_from_p11(ti, tj, p11)[ok])) < 1e-8


def test_gh_batch_vs_quadrature():
    rng = _rng(34)
    t = rng.uniform(-2, 0, (6, 15))
    rho = np.array([0.05, 0.3, 0.55, 0.69, 0.8, 0.9])
    got = resample.gh_beta_sf_batch(t, rho)
    ref = np.array([copula.beta_sf(t[i], rho[i]) for i in range(6)])
    assert np.allclose(got, ref, rtol=1e-5)


def test_bootstrap_pool_chunks_reproducible_and_drop_count(small_pool):
    a = resample.bootstrap_pool(small_pool, 30, 7, chunk=10, implied=False)
    b = resample.bootstrap_pool(small_pool, 30, 7, chunk=10, implied=False)
    assert a.n_ok + a.n_dropped == 30
    assert np.array_equal(a.draws["beta"], b.draws["beta"])
    lo, hi = resample.percentile_ci(a.draws["beta"], 0.9)
    assert lo == pytest.approx(np.quantile(a.draws["beta"], 0.05)) and hi == pytest.approx(np.quantile(a.draws["beta"], 0.95))


# ------------------------------------------------------------------ certificate coverage (coverage)

def test_coverage_certificates_match_scalar_rule():
    rng = _rng(35)
    sc = coverage.SCENARIOS[0]
    K, C = coverage.simulate_counts(sc, 20, rng)
    u_rev, u_v1 = coverage.certificates(K, C, sc.n, 0.05)
    for k in range(20):
        assert u_rev[k] == pytest.approx(pool.certificate_bound(int(K[k]), sc.n, C[k], 0.05)["U"], abs=1e-12)
        beta_lo = 0.0 if K[k] == 0 else stats.beta.ppf(0.025, K[k], sc.n - K[k] + 1)
        c = C[k].max()
        asb_hi = 1.0 if c == sc.n else stats.beta.ppf(0.975, c + 1, sc.n - c)
        assert u_v1[k] == pytest.approx((1 - beta_lo) - asb_hi, abs=1e-10)


def test_coverage_true_gain_by_monte_carlo():
    sc = coverage.Scenario("t", 0.05, (0.2, 0.3, 0.4), 50)
    rng = _rng(36)
    N = 400_000
    shock = rng.uniform(size=N) < sc.omega
    err = shock[:, None] | (rng.uniform(size=(N, 3)) < np.array(sc.alpha))
    g = (1 - err.all(1).mean()) - (1 - err.mean(0)).max()
    assert abs(g - coverage.true_gain(sc)) < 4 * np.sqrt(0.25 / N) * 2


def test_coverage_study_sound_covers_v1_does_not():
    rows = coverage.coverage_study(600, 3)
    assert all(r["ci_rev"][0] >= 0.95 for r in rows)
    assert any(r["ci_v1"][1] < 0.95 for r in rows)


# ------------------------------------------------------------------ public-data helpers (public)

def test_router_share_vectorised_equals_loop():
    rng = _rng(37)
    A = (rng.uniform(size=(5, 600)) < np.linspace(0.4, 0.8, 5)[:, None]).astype(float)
    cats = rng.choice(["a", "b", "c", "d"], 600)
    mask = np.zeros(600, bool)
    mask[rng.permutation(600)[:300]] = True
    import pandas as pd

    codes, uniq = pd.factorize(pd.Series(cats))
    oh = np.zeros((600, len(uniq)))
    oh[np.arange(600), codes] = 1
    got = public._router_split(A, oh, np.ones(600), mask)
    tr, te = np.flatnonzero(mask), np.flatnonzero(~mask)
    best = int(np.argmax(A[:, tr].mean(1)))
    router = sum(A[int(np.argmax(A[:, tr[cats[tr] == c]].sum(1))), te[cats[te] == c]].sum() for c in np.unique(cats))
    assert got == (router, A[best, te].sum(), A[:, te].max(0).sum())


def test_escalation_ratio_hand_example():
    # L wrong on 4 of 10; H right on 2 of those 4 and on all 6 others: a_H = 0.8, P(H right | L wrong) = 0.5
    yL = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], float)
    yH = np.array([1, 1, 0, 0, 1, 1, 1, 1, 1, 1], float)
    es = public.escalation_ratio(yL, yH, _rng(38), 50)
    assert es["predicted"] == pytest.approx(1 - 0.6 / 0.8)
    assert es["measured"] == pytest.approx((0.8 - 0.6) / 0.5)
    assert es["relative"] == pytest.approx(0.8 / 0.5)
    # the definition: quality gain per strong call, perfect verifier vs random mixing
    gain_per_call_perfect = yH[yL == 0].mean()
    gain_per_call_mix = yH.mean() - yL.mean()
    assert es["measured"] == pytest.approx(gain_per_call_mix / gain_per_call_perfect)


def test_max_advantage_equals_cascade_curve():
    rng = _rng(39)
    yL = (rng.uniform(size=400) < 0.7).astype(float)
    yH = (rng.uniform(size=400) < 0.85).astype(float)
    s = rng.normal(size=400) + yL
    assert public._max_advantage(yL, yH, s) == pytest.approx(theory.cascade_curve(yL, yH, s)["max_A"], abs=1e-15)


def test_family_gap_and_triplet_jackknife_by_hand(small_pool):
    A = small_pool
    fam = np.arange(A.shape[0]) // 3
    fg = public.family_gap(A, fam)
    C = np.corrcoef(1 - A)
    iu = np.triu_indices(A.shape[0], 1)
    same = fam[iu[0]] == fam[iu[1]]
    assert fg["gap"] == pytest.approx(C[iu][same].mean() - C[iu][~same].mean(), abs=1e-12)
    trip = ensemble.triplet_index(A.shape[0], None, _rng(0))
    tab = ensemble.triplet_table(A, trip)
    t = public.triplet_mean_ci(tab, A.shape[0])
    loo = np.array([tab["gain"][~np.any(trip == l, axis=1)].mean() for l in range(A.shape[0])])
    se = np.sqrt((len(loo) - 1) / len(loo) * np.sum((loo - loo.mean()) ** 2))
    assert t["se"] == pytest.approx(se) and t["ci"][0] == pytest.approx(tab["gain"].mean() - 1.959963984540054 * se)


# ------------------------------------------------------------------ analytic and transcription checks (verify)

def test_prop6_size_rule_hand_case():
    # lambda sigma^2 (1 - rho)/c = R with k*(k*+1) = R: R = 5.29 gives k* = 1.82... ; R = 2*3 + 0.5 -> k* in (2, 3)
    lam, c, rho = 6.5, 1.0, 0.0
    ks, size = theory.optimal_size(lam, c, rho)
    assert 2 < ks < 3 and ks - 2 < 0.5  # round(k*) = 2 (v1) but the third member still pays
    U = {k: -lam * (1 / k) - c * k for k in range(1, 10)}  # V(k) = 1/k at rho = 0, sigma^2 = 1
    assert max(U, key=U.get) == 3 == size


def test_regime_share_and_cert_rev_independent():
    r = verify.regime_share(17, 330, 276)
    lo, hi = stats.beta.ppf(0.025, 17, 314), stats.beta.ppf(0.975, 18, 313)
    assert r["s"] == pytest.approx((17 / 330) / (1 - 276 / 330))
    assert r["ci"][0] == pytest.approx(lo / (54 / 330)) and r["ci"][1] == pytest.approx(hi / (54 / 330))
    cr = verify.cert_rev_check()
    t = cr["table"]
    row = t[(t.pool == "AIME") & (t.version == "rev")].iloc[0]
    m = 52
    assert row.U == pytest.approx(1 - stats.beta.ppf(0.025 / m, 37, 42 - 37 + 1), abs=1e-12)  # K = 0: beta_lo = 0


def test_t2_arith_interval_arithmetic():
    out = verify.t2_arith()
    lo, hi = stats.beta.ppf(0.025, 16, 465), stats.beta.ppf(0.975, 17, 464)
    rng_ = out["rows"][0]["beta_sf_range"]
    assert round(lo / rng_[0]) == 17 and round(hi / rng_[1]) == 48 and 0.00105 <= rng_[0] <= rng_[1] <= 0.00115


def test_dichotomy_values_match_spec_closed_forms():
    d = verify.dichotomy()
    assert d["atom_tet"] == pytest.approx(1.30e5, rel=0.01) and d["atom_pearson"] == pytest.approx(8.36e6, rel=0.01)
    assert d["clayton2_pearson"] == pytest.approx(4.18, abs=0.01) and d["clayton2_tet"] == pytest.approx(0.840, abs=0.001)
    # Clayton lambda_L = 2^(-1/theta)
    assert d["clayton2_lambda"] == pytest.approx(2 ** -0.5)


def test_claims_run_verdict_follows_the_value():
    """Changing a measured value changes the computed verdict (no verdict is typed in the chapter)."""
    from capfront_lib.core.claims import Ledger

    led = Ledger("co_failure_ceiling", profile="quick")
    claims_run.fill(led, {"cascade_volume": claims_run.Entry(0.1878), "spend_total": claims_run.Entry(270.0)})
    led2 = Ledger("co_failure_ceiling", profile="quick")
    claims_run.fill(led2, {"cascade_volume": claims_run.Entry(0.15), "spend_total": claims_run.Entry(268.0)})
    assert (led.verdict("cascade_volume"), led.verdict("spend_total")) != (led2.verdict("cascade_volume"), led2.verdict("spend_total"))
    assert led.verdict("cascade_volume") != led2.verdict("cascade_volume")


# ------------------------------------------------------------------ your log through the core loader (chapter)

def _long_log(tmp_path, n=60, m=4, seed=40):
    rng = _rng(seed)
    rows = []
    for j in range(n):
        for i in range(m):
            rows.append({"query_id": f"q{j}", "model": f"prov{i % 2}/m{i}", "correct": int(rng.uniform() < 0.4 + 0.1 * i),
                         "cost_usd": 0.001 * (i + 1) * (1 + 0.1 * rng.uniform()), "confidence": rng.uniform(),
                         "category": "ab"[j % 2]})
    df = pd.DataFrame(rows)
    p = tmp_path / "log.csv"
    df.to_csv(p, index=False)
    return p, df


import pandas as pd  # noqa: E402


def test_pool_from_long_log_uses_optional_columns(tmp_path):
    from capfront_lib.cofailure import chapter

    p, df = _long_log(tmp_path)
    P = chapter.pool_from_files(str(p), _rng(0), min_model_coverage=0.95)
    assert P.source == "your log" and P.coverage["cost_source"] == "log"
    wide = df.pivot(index="query_id", columns="model", values="correct").loc[list(P.ids), P.names]
    assert np.array_equal(P.Y, wide.to_numpy(float).T)
    cost = df.groupby("model")["cost_usd"].mean().loc[P.names].to_numpy()
    assert np.allclose(P.costs, cost)
    conf = df.pivot(index="query_id", columns="model", values="confidence").loc[list(P.ids), P.names]
    assert np.allclose(P.score, conf.to_numpy().T)
    cats = df.drop_duplicates("query_id").set_index("query_id")["category"].loc[list(P.ids)]
    assert list(P.categories) == list(cats)


def test_pool_from_wide_log_reports_what_the_coverage_rule_drops(tmp_path):
    from capfront_lib.cofailure import chapter

    rng = _rng(41)
    Y = (rng.uniform(size=(40, 5)) < 0.6).astype(float)
    df = pd.DataFrame(Y, columns=[f"m{i}" for i in range(5)])
    df.insert(0, "id", [f"q{j}" for j in range(40)])
    df.loc[:20, "m4"] = np.nan  # m4 answered only 19 of 40
    df.loc[30, "m1"] = np.nan  # one missing cell of a kept model: that row is dropped
    p = tmp_path / "wide.csv"
    df.to_csv(p, index=False)
    P = chapter.pool_from_files(str(p), _rng(0), min_model_coverage=0.95)
    assert P.coverage["dropped_models"] == ["m4"] and P.coverage["n_dropped_queries"] == 1
    assert P.Y.shape == (4, 39) and P.coverage["cost_source"] == "synthetic" and P.score is None
    with pytest.raises(ValueError, match=r"costs\.csv: column 'cost' has no value for models \['m2', 'm3'\]"):
        chapter.pool_from_files(str(p), _rng(0), min_model_coverage=0.95, costs_path=str(_costs(tmp_path)))


def _costs(tmp_path):
    p = tmp_path / "costs.csv"
    pd.DataFrame({"model": ["m0", "m1"], "cost": [0.1, 0.2]}).to_csv(p, index=False)
    return p


def test_full_sigma_replicate_matches_direct_path(small_pool):
    """One full-copula bootstrap replicate equals re-solving, projecting and integrating the resampled matrix."""
    A = small_pool
    n = A.shape[1]
    seed = 11
    got = public._full_sigma_reps({"A": A, "seed": seed, "n_rep": 1, "n_sov": 1 << 15})[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, n)  # the same draw the replicate makes first
    Ab = A[:, idx]
    tet = copula.tetrachoric_matrix(Ab)
    S, _ = copula.nearest_correlation(tet.r)
    mc, se = copula.orthant_mc(S, tet.thresholds, 400_000, np.random.default_rng(1))
    ref = np.mean(Ab.sum(0) == 0) / mc
    assert abs(got / ref - 1) < 4 * se / mc + 0.02


def test_lp_dominance_reduction_keeps_value_and_price():
    rng = _rng(42)
    Y = (rng.uniform(size=(12, 300)) < np.linspace(0.3, 0.9, 12)[:, None]).astype(float)
    q, p = budget.pattern_types(Y)
    c = np.exp(rng.uniform(-6, -2, 12))
    for B in np.geomspace(c.min() * 1.01, c.max(), 6):
        v_full, lam_full = budget.solve_lp(q, p, c, float(B), reduce=False)
        v_red, lam_red = budget.solve_lp(q, p, c, float(B), reduce=True)
        assert v_red == pytest.approx(v_full, abs=1e-9)
        assert v_red == pytest.approx(budget.dual_value(q, p, c, float(B))[0], abs=1e-9)
        hull = budget.value_curve(q, p, c)
        slopes = np.r_[hull["slopes"], 0.0]
        k = np.searchsorted(hull["cost"], B) - 1
        if 0 <= k < len(hull["slopes"]) and not np.isclose(B, hull["cost"]).any():
            assert lam_red == pytest.approx(slopes[k], rel=1e-6) and lam_full == pytest.approx(slopes[k], rel=1e-6)
