"""Independent checks of the paper's propositions and of its printed numbers (claims of record).

Two kinds of functions, each returning plain numbers/bools for the chapter's ledger:

* **analytic checks** of Props. 2, 3, 5-7, 9 and Corollary 1 on grids of parameters (closed forms
  against quadrature, finite differences, brute force or exact rational arithmetic);
* **transcription arithmetic** on the paper's own tables (``data/co_failure_ceiling/*.csv``, each with a
  source note): identities between printed columns, Clopper-Pearson intervals of printed counts, sums.
  Such arithmetic checks that the paper's numbers agree with each other; it is never a measurement.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtr, ndtri

from capfront_lib.cofailure import theory
from capfront_lib.cofailure.copula import beta_sf, beta_sf_gh, bvn_cdf, clayton_cdf, tetrachoric_from_p11
from capfront_lib.cofailure.pool import certificate_bound, cp_interval
from capfront_lib.core.resources import data_path

__all__ = [
    "table", "PROP2_GRID", "prop2_check", "dichotomy", "prop3_exact", "prop3_extremes", "prop5_check", "prop6_check",
    "prop7_check", "prop9_check", "cor1_check", "cert_rev_check", "cp_printed_check", "t1_arith", "t2_arith", "t3_arith",
    "regime_share", "audit_trace_check", "spend_check", "cascade_volume", "roster_check", "pearson_attenuation_check",
    "lemma1_random", "prop8_auc_star_check",
]

STEM = "co_failure_ceiling"
PROP2_GRID = [(w, a) for w in (0.01, 0.05, 0.15) for a in (0.2, 0.4, 0.6)]


def table(name: str) -> pd.DataFrame:
    """A transcribed table shipped in ``data/co_failure_ceiling/`` (see its ``.source.md``)."""
    return pd.read_csv(data_path(STEM, f"{name}.csv"))


# ----------------------------------------------------------------------------------------- Proposition 2


def prop2_check(grid=PROP2_GRID, m_max: int = 200) -> dict:
    """Prop. 2 on a grid of (omega, a0): R(2) = 1, R(m) strictly increasing on 2..m_max, beta -> omega, beta_sf -> 0.

    R(2) by adaptive quadrature; the curve by Gauss-Hermite-96 (the tetrachoric r here is <= 0.6, where GH-96 is
    accurate to ~1e-6 relative). Returns per-setting diagnostics and ``holds``.
    """
    ms = np.arange(2, m_max + 1)
    rows = []
    for w, a0 in grid:
        mg = theory.shock_marginals(w, a0)
        r2 = theory.shock_ratio(w, a0, [2])["ratio"][0]
        t = np.full(m_max, mg["t"])
        bsf = np.array([beta_sf_gh(t[:k], mg["r_tet"]) for k in ms])
        b = theory.shock_beta(w, a0, ms)
        R = b / bsf
        rows.append({"omega": w, "a0": a0, "r_tet": mg["r_tet"], "R2_minus_1": float(r2 - 1),
                     "increasing": bool(np.all(np.diff(R) > 0)), "bsf_decreasing": bool(np.all(np.diff(bsf) < 0)),
                     "R_max_m": float(R[-1]),
                     "beta_gap_at_max": float(b[-1] - w), "beta_sf_at_max": float(bsf[-1])})
    tab = pd.DataFrame(rows)
    holds = bool((tab.R2_minus_1.abs() < 1e-8).all() and tab.increasing.all() and tab.bsf_decreasing.all()
                 and (tab.beta_sf_at_max < 0.05 * tab.omega).all() and (tab.beta_gap_at_max < 1e-6).all())
    return {"table": tab, "holds": holds, "max_R2_err": float(tab.R2_minus_1.abs().max())}


def dichotomy(m_star: int = 53, m_max: int = 200) -> dict:
    """Prop. 2's dichotomy: the atom (omega = 0.05, a0 = 0.40) against exchangeable Clayton (theta = 2, 4; alpha = 0.40).

    Ratios at ``m_star`` under tetrachoric calibration (quadrature), under Pearson calibration, and v1's pipeline
    (Pearson with the threshold Phi^-1(0.40) instead of the atom's true marginal 0.43); Clayton ratio curves for
    m = 2..m_max under the tetrachoric calibration (Gauss-Hermite). spec §3.3, §3.5.
    """
    atom_t = float(theory.shock_ratio(0.05, 0.40, [m_star], "tetrachoric")["ratio"][0])
    atom_p = float(theory.shock_ratio(0.05, 0.40, [m_star], "pearson")["ratio"][0])
    atom_v1 = float(theory.shock_ratio(0.05, 0.40, [m_star], "pearson", threshold=float(ndtri(0.40)))["ratio"][0])
    t40 = float(ndtri(0.40))
    out = {"atom_tet": atom_t, "atom_pearson": atom_p, "atom_v1_pipeline": atom_v1}
    ms = np.arange(2, m_max + 1)
    clay_max = {}
    for th in (2.0, 4.0):
        c = theory.clayton_exchangeable(0.40, th, m_star)
        out[f"clayton{th:g}_tet"] = c["beta"] / beta_sf(np.full(m_star, t40), c["r_tet"])
        out[f"clayton{th:g}_pearson"] = c["beta"] / beta_sf(np.full(m_star, t40), c["phi"])
        out[f"clayton{th:g}_lambda"] = c["lambda_L"]
        curve = [clayton_cdf(np.full(int(k), 0.40), th) / beta_sf_gh(np.full(int(k), t40), c["r_tet"]) for k in ms]
        clay_max[th] = float(np.max(curve))
    mg = theory.shock_marginals(0.05, 0.40)
    bsf = np.array([beta_sf_gh(np.full(int(k), mg["t"]), mg["r_tet"]) for k in ms])
    atom_curve = theory.shock_beta(0.05, 0.40, ms) / bsf
    out["clayton_max_ratio"] = max(clay_max.values())
    out["atom_increasing"] = bool(np.all(np.diff(atom_curve) > 0))
    out["atom_not_tail_holds"] = bool(out["clayton_max_ratio"] < 2 and out["atom_increasing"] and atom_t > 1e4)
    return out


# ----------------------------------------------------------------------------------------- Proposition 3


def prop3_exact() -> dict:
    """Prop. 3 in exact rational arithmetic: Example 1 (q = (1/4, 0, 3/4, 0) vs (0, 3/4, 0, 1/4)) and Example 2's
    endpoints (a = 3/10, b = 3/20) share 1-D and 2-D margins but differ in beta (spec §3.4)."""
    F = Fraction
    q1, q2 = (F(1, 4), F(0), F(3, 4), F(0)), (F(0), F(3, 4), F(0), F(1, 4))
    m1, m2 = theory.triple_margins(q1), theory.triple_margins(q2)
    ex1 = m1["p1"] == m2["p1"] == F(1, 2) and m1["p2"] == m2["p2"] == F(1, 4) and m1["beta"] != m2["beta"]
    a, b = F(3, 10), F(3, 20)
    lo, hi, q = theory.frechet_class(a, b)
    ql, qh = q(lo), q(hi)
    ml, mh = theory.triple_margins(ql), theory.triple_margins(qh)
    ex2 = (all(x >= 0 for x in ql + qh) and ml["p1"] == mh["p1"] == a and ml["p2"] == mh["p2"] == b
           and ml["beta"] == 0 and mh["beta"] == b)
    return {"holds": bool(ex1 and ex2), "example1_beta": (float(m1["beta"]), float(m2["beta"])),
            "example2_range": (float(lo), float(hi))}


def prop3_extremes(a: float = 0.3, b: float = 0.15, m: int = 2000) -> dict:
    """The common shock and the matched Gaussian copula share the pairwise law (alpha = a, p11 = b) yet
    beta_shock(m) -> omega while beta_Gauss(m) -> 0 (Prop. 3's two extremes)."""
    w, a0 = theory.shock_from_pair(a, b)
    mg = theory.shock_marginals(w, a0)
    t = float(ndtri(a))
    r = float(tetrachoric_from_p11(t, t, b))
    same_pair = abs(mg["alpha"] - a) < 1e-12 and abs(mg["p11"] - b) < 1e-12 and abs(mg["r_tet"] - r) < 1e-9
    bs = float(theory.shock_beta(w, a0, m))
    bg = beta_sf(np.full(m, t), r)
    return {"holds": bool(same_pair and abs(bs - w) < 1e-9 and bg < 1e-3 * w), "omega": w, "beta_shock": bs,
            "beta_gauss": bg, "r_tet": r}


# ----------------------------------------------------------------------------------------- Propositions 5-7, 9


def prop5_check() -> dict:
    """Prop. 5: majority error decreases over odd k toward Phi(-mu/sqrt(rho)) (k = 1001 within 1e-3), and the floor
    tends to 0 as rho -> 0 (alpha < 1/2) and to alpha as rho -> 1 (alpha in {0.1, 0.3, 0.45}, rho in {0.2, 0.6})."""
    ok = True
    worst = 0.0
    for alpha in (0.1, 0.3, 0.45):
        for rho in (0.2, 0.6):
            errs = [theory.majority_error(alpha, rho, k) for k in (1, 3, 11, 51, 1001)]
            floor = theory.majority_floor(alpha, rho)
            worst = max(worst, abs(errs[-1] - floor))
            ok &= bool(np.all(np.diff(errs) < 0) and abs(errs[0] - alpha) < 1e-9 and abs(errs[-1] - floor) < 1e-3)
        ok &= theory.majority_floor(alpha, 1e-6) < 1e-6 and abs(theory.majority_floor(alpha, 1 - 1e-10) - alpha) < 1e-3
    return {"holds": bool(ok), "worst_gap_k1001": worst, "floor_example": theory.majority_floor(0.3, 0.4)}


def _brute_size(lam: float, c: float, rho: float, kmax: int = 2000) -> int:
    """Ensemble size maximising lambda * (V(1) - V(k)) - c k with V(k) = rho + (1 - rho)/k (sigma^2 = 1)."""
    k = np.arange(1, kmax + 1)
    return int(k[np.argmax(-lam * theory.vote_variance(rho, k) - c * k)])


def prop6_check(n: int = 400, seed: int = 0) -> dict:
    """Prop. 6 on a random grid of (lambda, c, rho): brute-force optimal size vs floor(k*) + 1 (rev) and the
    nearest integer to k* (v1); and the comparative statics of k* (increasing in lambda, decreasing in c and rho)."""
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(np.log(0.05), np.log(5), n))
    c = np.exp(rng.uniform(np.log(1e-4), np.log(1e-1), n))
    rho = rng.uniform(0.05, 0.95, n)
    rev_ok = v1_ok = 0
    for L, C, R in zip(lam, c, rho):
        ks, size = theory.optimal_size(L, C, R)
        best = _brute_size(L, C, R)
        rev_ok += size == best
        v1_ok += max(int(round(ks)), 1) == best
    ks0 = lambda L, C, R: theory.optimal_size(L, C, R)[0]  # noqa: E731
    statics = all(ks0(1.2 * L, C, R) > ks0(L, C, R) and ks0(L, 1.2 * C, R) < ks0(L, C, R) and ks0(L, C, min(R + 0.04, 0.99)) < ks0(L, C, R)
                  for L, C, R in zip(lam[:50], c[:50], rho[:50]))
    return {"n": n, "rev_frac": rev_ok / n, "v1_frac": v1_ok / n, "statics": bool(statics),
            "example_c01": theory.optimal_size(float(theory.vote_lambda(ndtri(0.7), theory.vote_variance(0.4, 3))), 0.01, 0.4)}


def prop7_check() -> dict:
    """Prop. 7: lambda(V) equals -dP/dV by central differences (relative 1e-6) and sign(lambda) = sign(1/2 - alpha)."""
    ok = True
    worst = 0.0
    for alpha in (0.1, 0.3, 0.45, 0.55, 0.7, 0.9):
        mu = float(ndtri(1 - alpha))
        for V in (0.2, 0.45, 0.7, 1.0):
            h = 1e-6
            fd = -(theory.vote_value(mu, V + h) - theory.vote_value(mu, V - h)) / (2 * h)
            lam = float(theory.vote_lambda(mu, V))
            worst = max(worst, abs(fd - lam) / max(abs(lam), 1e-12))
            ok &= abs(fd - lam) <= 1e-6 * max(abs(lam), 1e-8) + 1e-10 and np.sign(lam) == np.sign(0.5 - alpha)
    return {"holds": bool(ok), "worst_rel_err": worst}


def prop9_check(rng: np.random.Generator, n_draws: int = 200_000) -> dict:
    """Prop. 9: E[max(mu + eta Z, 0)] closed form vs Monte Carlo (within 4 SE) on a grid, and V_R, delta* increasing in eta."""
    ok = True
    worst_z = 0.0
    for mu in (-0.05, 0.0, 0.05):
        for eta in (0.05, 0.1, 0.3):
            g = np.maximum(mu + eta * rng.standard_normal(n_draws), 0)
            z = abs(g.mean() - theory.prop9(mu, eta)["Eg"]) / (g.std() / np.sqrt(n_draws))
            worst_z = max(worst_z, z)
            ok &= z < 4
            p, q = theory.prop9(mu, eta), theory.prop9(mu, eta * 1.01)
            ok &= q["V_R"] > p["V_R"] and q["delta_star"] > p["delta_star"]
    return {"holds": bool(ok), "worst_z": worst_z, "Eg_example": theory.prop9(0.05, 0.1)["Eg"]}


def cor1_check(yL, yH, score) -> dict:
    """Corollary 1: with H's answers on L's errors replaced by L's (no edge on the deferred tail), no threshold lifts
    the cascade above a_L, even with a perfect verifier; with the real H a perfect verifier does."""
    yL, yH = np.asarray(yL, float), np.asarray(yH, float)
    no_edge = np.where(yL == 0, yL, yH)  # H no better than L where L is wrong
    perfect = -(1 - yL) + 1e-9 * np.asarray(score, float)  # errors first
    q_none = theory.cascade_curve(yL, no_edge, perfect)["Q"]
    q_real = theory.cascade_curve(yL, yH, perfect)["Q"]
    a_L = yL.mean()
    return {"holds": bool(q_none.max() <= a_L + 1e-12 and (q_real.max() > a_L or yH[yL == 0].sum() == 0)),
            "max_no_edge": float(q_none.max()), "max_real": float(q_real.max()), "a_L": float(a_L)}


# ----------------------------------------------------------------------------------------- transcription arithmetic


def cert_rev_check(delta: float = 0.05) -> dict:
    """Recompute the revision's certified maximum gains from its counts (spec §2.2 rule); largest |ours - printed|."""
    t = table("certificates_rev")
    rows = []
    for r in t.itertuples():
        U = certificate_bound(int(r.n_all_wrong), int(r.n_queries), [r.best_correct] + [0] * (int(r.n_models) - 1), delta)["U"]
        rows.append({"pool": r.pool, "version": r.version, "K": int(r.n_all_wrong), "n": int(r.n_queries),
                     "best": int(r.best_correct), "m": int(r.n_models), "U": U,
                     "U_printed": r.U_printed, "G": (1 - r.n_all_wrong / r.n_queries) - r.best_correct / r.n_queries})
    tab = pd.DataFrame(rows)
    rev = tab[tab.version == "rev"]
    return {"table": tab, "max_dev": float((rev.U - rev.U_printed).abs().max()), "n": int(len(rev))}


def cp_printed_check(delta: float = 0.05) -> dict:
    """Table 2's printed 95% Clopper-Pearson intervals vs the intervals of their counts; largest deviation."""
    t = table("table2_underpricing")
    dev = 0.0
    for r in t.itertuples():
        lo, hi = cp_interval(int(r.n_all_wrong), int(r.n_queries), delta)
        dev = max(dev, abs(lo - r.beta_cp_lo), abs(hi - r.beta_cp_hi), abs(r.n_all_wrong / r.n_queries - r.beta))
    return {"max_dev": dev}


def t1_arith() -> dict:
    """Table 1: G = oracle - single best and oracle = 1 - K/n (Table 2's counts); largest deviation."""
    t = table("table1_pool_summary")
    dev = max(float((t.oracle - t.single_best - t.gain).abs().max()),
              float((t.oracle - (1 - t.n_all_wrong / t.n_queries)).abs().max()))
    return {"max_dev": dev}


def t2_arith() -> dict:
    """Table 2: does some beta_sf within the printed rounding of 0.0011 / 0.0050 turn CP(beta) into the printed
    underpricing interval (endpoints rounded to integers) and point (beta/beta_sf rounded)? Interval arithmetic."""
    t = table("table2_underpricing")
    rows = []
    for r in t.itertuples():
        lo, hi = cp_interval(int(r.n_all_wrong), int(r.n_queries))
        dec = -int(math.floor(math.log10(r.beta_sf_pearson))) + 1  # two significant digits printed
        half = 0.5 * 10.0 ** (-dec)
        grid = np.linspace(r.beta_sf_pearson - half, r.beta_sf_pearson + half, 2001)[1:-1]
        ok = (np.round(lo / grid) == r.underpricing_ci_lo) & (np.round(hi / grid) == r.underpricing_ci_hi)
        rows.append({"pool": r.pool, "consistent": bool(ok.any()),
                     "beta_sf_range": (float(grid[ok].min()), float(grid[ok].max())) if ok.any() else None,
                     "at_printed": (lo / r.beta_sf_pearson, hi / r.beta_sf_pearson)})
    return {"holds": all(x["consistent"] for x in rows), "rows": rows}


def t3_arith() -> dict:
    """Table 3: beta = K/n, oracle = 1 - beta, G = oracle - single best; largest deviation."""
    t = table("table3_regimes")
    dev = max(float((t.beta - t.n_all_wrong / t.n_queries).abs().max()), float((t.oracle - (1 - t.beta)).abs().max()),
              float((t.gain - (t.oracle - t.single_best)).abs().max()))
    return {"max_dev": dev}


def regime_share(K: int, n: int, best_correct: int, delta: float = 0.05) -> dict:
    """Co-failure share s = beta/(1 - a_sb) from counts, with the interval of beta's two-sided CP limits (spec §2.17)."""
    a_sb = best_correct / n
    lo, hi = cp_interval(int(K), int(n), delta)
    d = 1 - a_sb
    return {"s": K / n / d, "ci": (lo / d, min(hi / d, 1.0)), "beta": K / n, "beta_ci": (lo, hi), "a_sb": a_sb}


def audit_trace_check() -> dict:
    """The revision's audit trace: each benchmark's categories sum to its v1 count, the rows sum to the total row."""
    a = table("audit_trace_rev").set_index("benchmark")
    body = a.drop(index="total")
    rows_ok = bool((body.iloc[:, 1:].sum(axis=1) == body.v1_all_wrong_events).all())
    total_ok = bool((body.sum() == a.loc["total"]).all())
    return {"holds": rows_ok and total_ok, "total": a.loc["total"].to_dict()}


def spend_check() -> dict:
    """Sum of the three printed cost components against the printed $270."""
    s = table("spend").set_index("item")["usd"]
    total = float(s.drop(index="reported-experiment total").sum())
    return {"sum": total, "printed": float(s["reported-experiment total"])}


def cascade_volume() -> dict:
    """v1's Pillar-C volume ceiling 1 - a_L/a_H from its printed accuracies (arithmetic, not a measurement)."""
    p = table("pillar_c")
    v1 = p[p.version == "v1"].set_index("quantity")["value"]
    return {"value": float(1 - v1["a_L"] / v1["a_H"]), "printed": float(v1["volume_ceiling"])}


def roster_check(data_dir) -> dict:
    """The authors' public registries: 67 models / 21 families / tiers 6-26-35 equal to the Appendix D transcription;
    the 15-model pool's 9 families; the churn pool's 18 models and release dates."""
    from pathlib import Path

    d = Path(data_dir) / "co-failure-ceiling"
    out: dict = {}
    mk = d / "market_registry.csv"
    if mk.is_file():
        reg = pd.read_csv(mk, comment="#")
        ours = table("market_roster")
        mm = ours.merge(reg, on="model_id", how="outer", indicator=True)
        same = bool((mm._merge == "both").all() and (mm.family == mm.provider_family).all()
                    and (mm.usd_in_per_mtok == mm.price_in_per_mtok_usd).all()
                    and (mm.usd_out_per_mtok == mm.price_out_per_mtok_usd).all())
        tiers = reg.tier.value_counts().to_dict()
        out["market"] = {"n": len(reg), "families": int(reg.provider_family.nunique()), "tiers": tiers, "same_as_appD": same,
                         "holds": bool(len(reg) == 67 and reg.provider_family.nunique() == 21 and same
                                       and tiers == {"cheap": 35, "mid": 26, "frontier": 6})}
    mr = d / "model_registry.csv"
    if mr.is_file():
        reg = pd.read_csv(mr, comment="#")
        out["pillar"] = {"n": len(reg), "families": int(reg.provider_family.nunique()),
                         "holds": bool(len(reg) == 15 and reg.provider_family.nunique() == 9)}
    ch = d / "churn_registry.csv"
    if ch.is_file():
        reg = pd.read_csv(ch, comment="#")
        dates = pd.to_datetime(reg.created_date)
        out["churn"] = {"n": len(reg), "first": str(dates.min().date()), "last": str(dates.max().date()),
                        "holds": bool(len(reg) == 18 and dates.min().strftime("%Y-%m") == "2024-03"
                                      and dates.max().strftime("%Y-%m") == "2026-02")}
    return out


# ----------------------------------------------------------------------------------------- Pearson vs latent correlation


def pearson_attenuation_check(n_grid: int = 25) -> dict:
    """The Pearson coefficient of two error indicators never exceeds the latent (tetrachoric) correlation in size.

    For a bivariate normal with correlation r dichotomised at thresholds (t_i, t_j), the indicators' Pearson
    correlation is phi = (Phi2(t_i, t_j; r) - a_i a_j) / sqrt(a_i(1-a_i) a_j(1-a_j)), a_i = Phi(t_i). Gebelein's
    maximal-correlation theorem gives |phi| <= |r| with the sign of r; v1 (Section 5, Proposition 7) relies on it
    ("the Pearson coefficient of indicators biases rho downward"). Checked on a grid of error rates in
    [0.01, 0.99]^2 and r in [-0.99, 0.99]. Because the tetrachoric r of a 2x2 table is by definition the r whose
    dichotomised normal reproduces the table, the same inequality holds pair by pair on any data set: a data set
    cannot contradict it, so the chapter checks it here, as mathematics.
    """
    a = np.linspace(0.01, 0.99, n_grid)
    r = np.concatenate([np.linspace(-0.99, -0.01, n_grid), np.linspace(0.01, 0.99, n_grid)])
    ai, aj, rr = np.meshgrid(a, a, r, indexing="ij")
    p11 = bvn_cdf(ndtri(ai), ndtri(aj), rr)
    phi = (p11 - ai * aj) / np.sqrt(ai * (1 - ai) * aj * (1 - aj))
    worst = float(np.max(np.abs(phi) - np.abs(rr)))
    same_sign = bool(np.all(np.sign(phi) == np.sign(rr)))
    ratio = float(np.max(np.abs(phi) / np.abs(rr)))
    return {"holds": bool(worst <= 1e-12 and same_sign), "max_excess": worst, "max_ratio": ratio,
            "n_cases": int(phi.size)}


# ----------------------------------------------------------------------------------------- Lemma 1


def lemma1_random(rng: np.random.Generator, n_cases: int = 2000) -> dict:
    """Lemma 1 on random quality matrices: V(pi) <= V_o for random routing policies, and G > 0 iff no model is
    uniformly best pi-almost everywhere.

    Each case draws m in 2..5 models, T in 2..7 types with a random prior (some types of zero weight, to exercise
    "almost everywhere") and qualities q_i(t) in [0, 1]; in half of the cases one model is made uniformly best on
    the support of the prior (and arbitrary off it). Both directions of the equivalence are exercised.
    """
    ok_env = ok_iff = True
    n_dom = 0
    worst_env = -np.inf
    for c in range(int(n_cases)):
        m, T = int(rng.integers(2, 6)), int(rng.integers(2, 8))
        p = rng.dirichlet(np.ones(T))
        p[rng.random(T) < 0.25] = 0.0
        if p.sum() == 0:
            p[rng.integers(T)] = 1.0
        p /= p.sum()
        q = rng.random((m, T))
        if c % 2 == 0:
            i = int(rng.integers(m))
            sup = p > 0
            q[i, sup] = q[:, sup].max(axis=0) + rng.choice([0.0, 0.01], size=int(sup.sum()))  # ties allowed
        V_o = float(p @ q.max(axis=0))
        G = V_o - float((q @ p).max())
        sup = p > 0
        dominant = bool(np.any(np.all(q[:, sup] >= q[:, sup].max(axis=0) - 1e-15, axis=1)))
        n_dom += dominant
        ok_iff &= (G > 1e-12) == (not dominant) and G >= -1e-12
        pol = rng.dirichlet(np.ones(m), size=T).T           # m x T stochastic routing policy
        v = float(p @ (pol * q).sum(axis=0))
        worst_env = max(worst_env, v - V_o)
        ok_env &= v <= V_o + 1e-12
    return {"holds": bool(ok_env and ok_iff), "n_cases": int(n_cases), "n_dominant": int(n_dom),
            "worst_envelope_gap": float(worst_env)}


# ----------------------------------------------------------------------------------------- Proposition 8, AUC*


def _cascade_binormal(a_L: float, a_H: float, d: float, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Escalation share gamma(tau) and accuracy Q(tau) of a cascade whose verifier score is N(d, 1) when L is right
    and N(0, 1) when L is wrong (AUC = Phi(d / sqrt 2)); H is right with probability a_H independently of L and
    of the score, i.e. a_H(tau) = a_H (no adverse selection on the deferred tail). Escalate iff score < tau:
    Q = a_L - a_L Phi(tau - d) + a_H gamma (Prop. 8's Q = a_L + gamma [a_H(tau) - 1 + w])."""
    c = a_L * ndtr(tau - d)
    gam = c + (1 - a_L) * ndtr(tau)
    return gam, a_L - c + a_H * gam


def _min_escalation(a_L: float, a_H: float, d: float, q: float, tau: np.ndarray) -> float:
    """Smallest escalation share whose cascade accuracy reaches the floor q (inf if none), on a fine tau grid refined
    by bisection on the first crossing."""
    gam, Q = _cascade_binormal(a_L, a_H, d, tau)
    hit = np.flatnonzero(Q >= q)
    if not hit.size:
        return float("inf")
    k = int(hit[0])
    if k == 0:
        return float(gam[0])
    lo, hi = float(tau[k - 1]), float(tau[k])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _cascade_binormal(a_L, a_H, d, np.array([mid]))[1][0] >= q:
            hi = mid
        else:
            lo = mid
    return float(_cascade_binormal(a_L, a_H, d, np.array([hi]))[0][0])


def prop8_auc_star_check() -> dict:
    """Prop. 8, last part: in a one-parameter family of verifiers ordered by AUC, the escalation share gamma(q) needed
    to meet a quality floor q decreases in AUC, so there is a critical AUC* below which no threshold meets the floor
    at lower dollars per correct than the strong model alone (when c_L / c_H < q / a_H).

    Family: the binormal verifier of :func:`_cascade_binormal`, d in a grid (AUC from 0.51 to 0.98). Settings:
    (a_L, a_H) in {(0.75, 0.92), (0.6, 0.9), (0.8, 0.95)}, floors q at 30%, 60% and 90% of the way from a_L to a_H,
    price ratios c_L / c_H in {0.02, 0.1, 0.3} below q / a_H. Checks: gamma(q) strictly decreasing in AUC; the set of
    AUCs that beat H alone on dollars per correct is an up-set with an interior threshold AUC*; and a perfect
    verifier needs gamma = (q - a_L) / a_H (at most 1 - a_L/a_H at q = a_H), independent of price.
    """
    tau = np.linspace(-9.0, 12.0, 6001)
    ds = np.linspace(0.04, 2.9, 40)
    aucs = ndtr(ds / np.sqrt(2))
    ok = True
    stars = []
    for a_L, a_H in ((0.75, 0.92), (0.6, 0.9), (0.8, 0.95)):
        for frac in (0.3, 0.6, 0.9):
            q = a_L + frac * (a_H - a_L)
            g = np.array([_min_escalation(a_L, a_H, d, q, tau) for d in ds])
            ok &= bool(np.all(np.isfinite(g)) and np.all(np.diff(g) < 0))
            g_perfect = (q - a_L) / a_H  # escalate exactly L's errors first: each escalation gains a_H
            ok &= bool(g[-1] > g_perfect - 1e-9)
            for ratio in (0.02, 0.1, 0.3):
                if not ratio < q / a_H:
                    continue
                beats = (ratio + g) / q < 1.0 / a_H          # dollars per correct in units of c_H
                if beats.any():
                    first = int(np.argmax(beats))
                    ok &= bool(beats[first:].all())           # an up-set in AUC: a threshold AUC*
                    if first > 0:
                        stars.append(float(aucs[first]))
    return {"holds": bool(ok), "auc_star_examples": stars, "n_interior": len(stars)}
