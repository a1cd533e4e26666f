"""One run of the chapter: the computations behind each notebook section, returned as plain
arrays/DataFrames (no plotting). Each function names the paper equations it combines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing import frontier as fr
from capfront_lib.oracle_debiasing import simulate as sim
from capfront_lib.oracle_debiasing import theory as th

__all__ = [
    "G_grid",
    "bias_anatomy",
    "bias_value_table",
    "slope_table",
    "fig3_closeup",
    "SeedResult",
    "debias_seed",
    "debiasing_table",
    "frontier_bundle",
    "cost_bias_table",
    "cost_estimate_table",
    "kshot_table",
    "reliability_table",
    "counts_from_array",
    "debias_world",
    "simulate_worlds",
]


def G_grid(G_max: int, n: int = 60) -> np.ndarray:
    """Integer G values from 1 to G_max: every G up to 20, then log-spaced."""
    if G_max < 1:
        raise ValueError("G_max must be >= 1")
    small = np.arange(1, min(G_max, 20) + 1)
    big = np.unique(np.round(np.logspace(np.log10(21), np.log10(G_max), n)).astype(int)) if G_max > 20 else np.array([], int)
    return np.unique(np.concatenate([small, big[big <= G_max]]))


def bias_anatomy(L_list, p_list, G_max: int, mc_reps: int, rng: np.random.Generator, mc_G=(1, 2, 5, 10, 20, 50, 100)) -> dict:
    """Exact Bernoulli bias curves (corrected eq. 10) on a G grid, Monte Carlo dots (binomial counts) with SE,
    and the Gaussian overlays e_L sqrt(p(1-p)/G) (exact eq. 6) and sqrt(2 ln L p(1-p)/G) (eq. 7)."""
    p = np.asarray(p_list, dtype=float)
    G = G_grid(int(G_max))
    curves, mc = {}, []
    for L in L_list:
        curves[int(L)] = th.bernoulli_bias_curve(G, p, int(L))
        for g in [x for x in mc_G if x <= G_max]:
            m = rng.binomial(g, p[None, None, :], size=(int(mc_reps), int(L), p.size)).max(axis=1) / g
            for j, pp in enumerate(p):
                mc.append({"L": int(L), "p": float(pp), "G": int(g), "mc_bias": float(m[:, j].mean() - pp),
                           "se": float(m[:, j].std(ddof=1) / np.sqrt(mc_reps))})
    sd = np.sqrt(p * (1 - p))
    gauss = {int(L): th.gaussian_bias_exact(G[:, None], int(L), sd[None, :]) for L in L_list}
    asym = {int(L): th.gaussian_bias_asymptotic(G[:, None], int(L), sd[None, :]) for L in L_list}
    return {"G": G, "p": p, "curves": curves, "mc": pd.DataFrame(mc), "gauss_exact": gauss, "gauss_asym": asym}


def bias_value_table(L_list, p_list, G_values=(1, 10, 50, 100)) -> pd.DataFrame:
    """Exact Bias_B at a few G (the Fig. 2 analogue as numbers)."""
    rows = []
    for L in L_list:
        for pp in p_list:
            rows.append({"L": int(L), "p": float(pp), **{f"G={g}": float(th.bernoulli_bias(int(g), pp, int(L))) for g in G_values}})
    return pd.DataFrame(rows)


def slope_table(L_list, p_list, target: float = 0.45, G_max: int = 400) -> pd.DataFrame:
    """First G at which the local log-log slope of Bias_B reaches ``target`` (the 'G^-0.5 regime' onset)."""
    rows = []
    for L in L_list:
        for pp in p_list:
            if 0 < pp < 1 and L > 1:
                rows.append({"L": int(L), "p": float(pp), "first_G_slope_ge": th.first_G_slope_reaches(float(pp), int(L), target, G_max)})
    return pd.DataFrame(rows)


def fig3_closeup(L: int, p: float, fit_G_max: int = 10, G_eval: int = 1000, **fit_kw) -> dict:
    """Fit eqs. (11)/(12) to the exact E O_biased(G) for G <= fit_G_max; compare the extrapolation at G_eval
    and at infinity (the true value p) with the exact curve."""
    Gf = np.arange(1, fit_G_max + 1)
    yf = th.bernoulli_bias_curve(Gf, np.array(p), int(L)) + p
    Ge = G_grid(G_eval)
    ye = th.bernoulli_bias_curve(Ge, np.array(p), int(L)) + p
    fits = {"11": est.fit_extrapolation(Gf, yf, "11", **fit_kw), "11(lambda=.5)": est.fit_extrapolation(Gf, yf, "11", fixed_lambda=0.5),
            "12": est.fit_extrapolation(Gf, yf, "12", **fit_kw)}
    return {"G_fit": Gf, "y_fit": yf, "G_eval": Ge, "y_exact": ye, "fits": fits, "truth": float(p)}


@dataclass
class SeedResult:
    """Every oracle estimate for one simulated world (section 4 of the notebook)."""

    seed: int
    o_true: float
    o_biased: float
    o_split: float
    best_single: float
    uplift: float
    G_primes: np.ndarray
    curve: np.ndarray
    fit11: est.ExtrapFit
    fit11_half: est.ExtrapFit
    fit12: est.ExtrapFit
    o_pgm: float = float("nan")
    o_pgm_functional: tuple = (float("nan"),) * 3
    o_pgm_known: float = float("nan")
    pgm_iters: int = 0
    pgm_known_iters: int = 0
    hetero_slope: float = float("nan")
    pgm_fit: object = None
    world: sim.World | None = None
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {"seed": self.seed, "o_true": self.o_true, "o_biased": self.o_biased, "o_split": self.o_split,
                "o_extrap11": self.fit11_half.a_inf, "o_extrap11_free": self.fit11.a_inf, "o_extrap12": self.fit12.a_inf,
                "o_pgm": self.o_pgm, "o_pgm_known": self.o_pgm_known, "best_single": self.best_single, "uplift": self.uplift,
                "lambda12": self.fit12.params["lam"], "fit12_on_bound": ",".join(self.fit12.on_bound),
                "pgm_iters": self.pgm_iters, "pgm_known_iters": self.pgm_known_iters, "hetero_slope": self.hetero_slope}


def debias_seed(seed: int, world_kw: dict, *, fit_pgm: bool, pgm_kw: dict | None = None, fit_kw: dict | None = None,
                keep_world: bool = False, hetero_G: tuple[int, int] | None = (500, 1000)) -> SeedResult:
    """Simulate one world (eqs. 13-17) and apply every quality debiaser: naive (5), split bracket,
    extrapolation (11)/(12) on the exact hypergeometric curve, and the PGM (18) with latent and known topics.

    ``hetero_G`` = (G1, G2): also the exact local decay exponent of the world's bias between G1 and G2
    (heterogeneous models, Sec. 4.2.1); None skips it.
    """
    rng = np.random.default_rng(seed)
    w = sim.simulate_world(rng, **world_kw)
    fit_kw = fit_kw or {}
    gp, curve = est.subsample_curve_exact(w.s, w.G)
    fit11_free = est.fit_extrapolation(gp, curve, "11", lambda_bounds=fit_kw.get("lambda_bounds", (0.25, 0.75)))
    fit11_half = est.fit_extrapolation(gp, curve, "11", fixed_lambda=0.5)
    fit12 = est.fit_extrapolation(gp, curve, "12", **fit_kw)
    r = SeedResult(seed=seed, o_true=est.oracle_value(w.pi), o_biased=est.oracle_value(w.phibar),
                   o_split=est.split_sample_oracle(w.s, w.G, rng), best_single=est.best_single(w.phibar),
                   uplift=est.uplift(w.pi), G_primes=gp, curve=curve, fit11=fit11_free, fit11_half=fit11_half, fit12=fit12,
                   world=w if keep_world else None)
    if hetero_G is not None:
        from capfront_lib.oracle_debiasing.decay import hetero_local_slope

        r.hetero_slope = hetero_local_slope(w.pi, *hetero_G)["slope"]
    if fit_pgm:
        from capfront_lib.oracle_debiasing.pgm import fit_pgm as _fit

        pgm_kw = pgm_kw or {}
        f_lat = _fit(w.s, w.G, w.A.shape[0], rng, **pgm_kw)
        f_known = _fit(w.s, w.G, w.A.shape[0], rng, topics=w.T, **pgm_kw)
        r.o_pgm, r.o_pgm_functional, r.o_pgm_known = f_lat.o_plugin, f_lat.o_functional, f_known.o_plugin
        r.pgm_iters, r.pgm_known_iters = f_lat.iters_run, f_known.iters_run
        r.pgm_fit = f_lat
    return r


def debias_world(item: dict) -> SeedResult:
    """:func:`debias_seed` on one item ``{"seed": ..., "world_kw": ..., ...}`` (for ``core.parallel.pmap``)."""
    item = dict(item)
    return debias_seed(item.pop("seed"), item.pop("world_kw"), **item)


def simulate_worlds(n_worlds: int, seed: int, world_kw: dict, *, pgm_worlds: int, pgm_kw: dict, fit_kw: dict,
                    hetero_G=(500, 1000)) -> list[SeedResult]:
    """``n_worlds`` independent simulated worlds (seeds ``seed * 1000 + i``), the PGM fitted on the first
    ``pgm_worlds``; world 0 keeps its tensors. Runs through ``core.parallel.pmap`` (a Dask cluster when configured)."""
    from capfront_lib.core.parallel import pmap

    items = [{"seed": int(seed) * 1000 + i, "world_kw": dict(world_kw), "fit_pgm": i < pgm_worlds, "pgm_kw": dict(pgm_kw),
              "fit_kw": dict(fit_kw), "keep_world": i == 0, "hetero_G": hetero_G} for i in range(int(n_worlds))]
    return pmap(debias_world, items, desc="worlds")


def debiasing_table(results: list[SeedResult]) -> pd.DataFrame:
    """Error against the known O_true (mean and sd over seeds) for every estimator."""
    df = pd.DataFrame([r.row() for r in results])
    labels = {"o_biased": "naive (5)", "o_split": "split-sample bracket", "o_extrap11": "(11), lambda = .5",
              "o_extrap11_free": "(11), lambda free", "o_extrap12": "(12), all free", "o_pgm": "PGM (18), latent topics",
              "o_pgm_known": "PGM (18), known topics"}
    rows = []
    for key, lab in labels.items():
        err = df[key] - df["o_true"]
        ok = err.dropna()
        rows.append({"estimator": lab, "key": key, "n_seeds": int(ok.size), "mean_error": float(ok.mean()) if ok.size else np.nan,
                     "sd_error": float(ok.std(ddof=1)) if ok.size > 1 else np.nan,
                     "mean_abs_error": float(ok.abs().mean()) if ok.size else np.nan})
    return pd.DataFrame(rows)


def frontier_bundle(w: sim.World, rng: np.random.Generator, *, pihat=None, muhat_c=None, B: int = 200, n_lambdas: int = 20,
                    form: str = "12", fit_kw: dict | None = None) -> dict:
    """True, naive, PGM and extrapolation frontiers (eqs. 19-21) of one world with the SOTA metrics (Tables 1-2).

    PGM frontier: route and score with pihat and ``muhat_c``, the expected cost of the LogNormal cost PGM
    (``pgm.cost_pgm_expected``); when it is None, the closed-form two-way least-squares fit on log cost
    (``simulate.cost_two_way_fit``) stands in. Extrapolation frontier:
    for n_lambdas trade-offs (from the naive frontier's breakpoints, plus lambda -> 0+), trace the routed
    quality and cost over G' by Monte Carlo subsets and extrapolate each coordinate with eq. (12).
    """
    fit_kw = fit_kw or {}
    q_true, c_true = w.pi, w.muC
    q_nv, c_nv = w.phibar, w.cbar
    R_Q = 1.0
    R_C = float(np.ptp(w.C)) if w.C is not None else float(np.ptp(c_nv))
    fronts = {"true": fr.frontier_exact(q_true, c_true, R_Q=R_Q, R_C=R_C), "naive": fr.frontier_exact(q_nv, c_nv, R_Q=R_Q, R_C=R_C)}
    muhat_c_ls = sim.cost_two_way_fit(w.C)
    muhat_c = muhat_c_ls if muhat_c is None else np.asarray(muhat_c, dtype=float)
    if muhat_c.shape != w.muC.shape:
        raise ValueError(f"muhat_c must have shape {w.muC.shape}, got {muhat_c.shape}")
    if pihat is not None:
        fronts["pgm"] = fr.frontier_exact(pihat, muhat_c, R_Q=R_Q, R_C=R_C)
    # extrapolation frontier
    sl = fronts["naive"].slope
    lams = np.r_[1e-9, np.quantile(sl, np.linspace(0.02, 0.98, max(n_lambdas - 1, 1)))] if sl.size else np.array([1e-9])
    gp, cs, qs = fr.subsample_route_curves(w.Q, w.C, lams, rng, B=B)
    c_inf, q_inf = fr.frontier_extrapolated(gp, cs, qs, form=form, **fit_kw)
    fronts["extrap"] = fr.frontier_from_points(c_inf, q_inf)
    # SOTA: highest sample-mean quality, ties to the cheaper model
    qm, cm = q_nv.mean(axis=0), c_nv.mean(axis=0)
    S = fr.sota(qm, cm)
    metrics = {k: fr.frontier_metrics(f, float(qm[S]), float(cm[S])) for k, f in fronts.items()}
    # routing shares at a few alphas on the true and naive frontiers
    shares = []
    for alpha in (0.25, 0.5, 0.75, 0.9, 1.0):
        lam = 0.0 if alpha == 1 else (1 - alpha) * R_Q / (alpha * R_C)
        for name, (qq, cc) in {"true": (q_true, c_true), "naive": (q_nv, c_nv)}.items():
            ch = fr.route(qq, cc, lam if lam > 0 else 1e-12)
            cnt = np.bincount(ch, minlength=qq.shape[1]) / qq.shape[0]
            shares.append({"frontier": name, "alpha": alpha, **{f"model {l}": float(cnt[l]) for l in range(qq.shape[1])}})
    return {"fronts": fronts, "metrics": metrics, "sota": S, "R_Q": R_Q, "R_C": R_C, "world": w, "q_sota": float(qm[S]), "c_sota": float(cm[S]),
            "q_sota_true": float(q_true.mean(axis=0)[S]), "c_sota_true": float(c_true.mean(axis=0)[S]),
            "model_q": qm, "model_c": cm, "lams": lams, "G_primes": gp, "route_cost": cs, "route_quality": qs,
            "extrap_points": (c_inf, q_inf), "muhat_c": muhat_c, "muhat_c_ls": muhat_c_ls, "shares": pd.DataFrame(shares)}


def cost_bias_table(bundle: dict) -> pd.DataFrame:
    """Table 6 analogue at alpha = 1 (lambda -> 0+): quality and cost of each frontier's end point,
    with the caption-style bias relative to the true value (quality: (biased - true)/true; cost: (true - biased)/true)."""
    rows = []
    t_c, t_q = bundle["fronts"]["true"].end
    for name, f in bundle["fronts"].items():
        c, q = f.end
        rows.append({"oracle": name, "quality": q, "cost_usd": c, "quality_bias_pct": 100 * (q - t_q) / t_q,
                     "cost_bias_pct": 100 * (t_c - c) / t_c})
    return pd.DataFrame(rows)


def cost_estimate_table(muC_true, estimates: dict) -> pd.DataFrame:
    """Error of per-(prompt, model) expected-cost estimates against the simulator's true mu^C: RMS and mean of
    log(estimate / truth), mean relative error, and the largest |log ratio|."""
    muC_true = np.asarray(muC_true, dtype=float)
    rows = []
    for name, est_c in estimates.items():
        lr = np.log(np.asarray(est_c, dtype=float) / muC_true)
        rows.append({"estimate": name, "rms_log_error": float(np.sqrt(np.mean(lr**2))), "mean_log_error": float(lr.mean()),
                     "mean_rel_error_pct": float(100 * np.mean(np.expm1(lr))), "max_abs_log_error": float(np.abs(lr).max())})
    return pd.DataFrame(rows)


def kshot_table(s, G: int, k_max: int, pi_true=None, pihat=None, cbar=None) -> pd.DataFrame:
    """Posthoc oracle O_kshot(k) for k = 1..k_max: any-model form from data, printed (22), and (23) from pi."""
    rows = []
    for k in range(1, int(k_max) + 1):
        r = {"k": k, "any_model_data": est.kshot_any(s, G, k), "printed_22": est.kshot_route_then_sample(s, G, k)}
        if pi_true is not None:
            r["eq23_truth"] = float(est.kshot_population(pi_true, k)[0])
        if pihat is not None:
            r["eq23_pgm"] = float(est.kshot_population(pihat, k)[0])
        if cbar is not None:
            r["cost_usd"] = k * float(np.mean(np.sum(cbar, axis=1)))
        rows.append(r)
    return pd.DataFrame(rows)


def reliability_table(phibar, G: int, pi=None, models=None) -> pd.DataFrame:
    """Table 3 analogue: per-model quality and reliability (24), with the exact expectation under pi."""
    rel = est.reliability(phibar)
    L = phibar.shape[1]
    df = pd.DataFrame({"model": models if models is not None else [f"model {l}" for l in range(L)],
                       "quality": np.nanmean(phibar, axis=0), "reliability": rel})
    if pi is not None:
        df["reliability_expected"] = est.reliability_expected(int(G), pi).mean(axis=0)
    return df.sort_values("reliability", ascending=False).reset_index(drop=True)


def counts_from_array(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Success counts s_nl and generation counts G_nl from an (N, L, G) 0/1 array with NaN = not run."""
    x = np.asarray(correct, dtype=float)
    if x.ndim != 3:
        raise ValueError("correct must be an (N, L, G) array")
    ok = ~np.isnan(x)
    vals = x[ok]
    if np.any((vals != 0) & (vals != 1)):
        raise ValueError("correct must be binary (0/1) for the count-based estimators")
    return np.nansum(x, axis=2).astype(int), ok.sum(axis=2).astype(int)
