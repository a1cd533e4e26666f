"""What each section of the chapter measures for the claims registry (``data/oracle_debiasing/claims.yaml``).

Every function computes from the section's own results and returns :class:`record.Measure` objects (value,
interval, replicates, note) plus the numbers the prose quotes. Intervals: Student-t over independent simulated
worlds, percentile bootstrap over seeds or Monte Carlo draws, delta method for a ratio of Monte Carlo means.
Nothing here decides a verdict; ``core.claims.decide`` does, from the registry's rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from capfront_lib.core.fmt import number
from capfront_lib.oracle_debiasing import decay
from capfront_lib.oracle_debiasing import estimators as est
from capfront_lib.oracle_debiasing import theory as th
from capfront_lib.oracle_debiasing.record import Measure, bootstrap_interval, t_interval

__all__ = ["bias_measures", "decay_measures", "simulation_measures", "eq23_measure", "entropy_measures",
           "APPA_L", "APPA_P", "LP_L", "LP_P"]

# Appendix A's regime "L <= 10, 0.3 <= p <= 0.7" and the (L, p) grid of its "increasing in L and p" statement
APPA_L, APPA_P = (2, 5, 10), (0.3, 0.5, 0.7)
LP_L, LP_P = (2, 10, 21), (0.1, 0.3, 0.5, 0.7, 0.9)


def _zero(x: float) -> float:
    """A floating-point zero (|x| < 1e-12) shown as 0."""
    return 0.0 if abs(x) < 1e-12 else x


def bias_measures(L_list, p_list, mc_reps: int, rng: np.random.Generator, closeup: dict, G_max: int) -> tuple[list[Measure], dict]:
    """Sec. 4.2-4.2.1 and Figs. 2-3: eqs. (7), (8), (10), the limit exponent, the Fig. 3 onset and fits."""
    out: list[Measure] = []
    info: dict = {}
    ratios = {L: th.eq7_overstatement(L) for L in (2, 10, 21)}
    out.append(Measure("eq7-approx", ratios[21], display=f"{number(ratios[21], 3)} × at L = 21",
                       note=f"{number(ratios[10], 3)} × at L = 10, {number(ratios[2], 3)} × at L = 2: sqrt(2 ln L) "
                            "is the large-L asymptote of e_L, the expected maximum of L standard normals"))
    mc = th.gaussian_decay_mc(21, (1, 100), reps=mc_reps, rng=rng)
    info["gauss_mc"] = mc
    out.append(Measure("eq8-decay", mc["slope"], ci=mc["ci"], n=mc["reps"],
                       note=f"bias {number(mc['bias'][1][0], 3)} at G = 1 and {number(mc['bias'][100][0], 3)} at G = 100; "
                            f"exact e_L/sqrt(G): {number(mc['exact'][1], 3)} and {number(mc['exact'][100], 3)}"))
    eL = np.array([th.expected_max_std_normal(L) for L in range(1, 51)])
    out.append(Measure("eq8-increasing-L", bool(np.all(np.diff(eL) > 0)),
                       display=f"e_L from {number(eL[1], 3)} (L = 2) to {number(eL[-1], 3)} (L = 50), increasing"))
    b21 = float(th.bernoulli_bias(10, 0.5, 21))
    info["bias_G10_L21"] = b21
    out.append(Measure("sec42-G10-L21", b21, note="exact Bernoulli bias at p = 0.5 (the largest-variance case)"))
    printed = float(th.bernoulli_bias_printed_eq10(1, 0.5, 2)) + 0.5
    exact = float(th.bernoulli_bias(1, 0.5, 2)) + 0.5
    info["eq10_printed"], info["eq10_exact"] = printed, exact
    out.append(Measure("eq10-printed", printed, display=f"{number(printed, 3)} (printed sum) vs {number(exact, 3)} (corrected)",
                       note="the printed sum runs over g = 1..G instead of y = 0..G-1: it drops the y = 0 term and "
                            "adds a g = G term that is always 0"))
    shape = th.fig2_shape(sorted(set(map(int, L_list)) | {2, 10, 21}), sorted(set(map(float, p_list)) | {0.0, 1.0}), G_max)
    info["fig2_shape"] = shape
    out.append(Measure("bern-p01", shape["zero_at_p01"], display="0 for every G and L" if shape["zero_at_p01"] else "non-zero"))
    ok = shape["non_increasing"] and shape["max_at_G1"] and shape["tends_to_zero"]
    out.append(Measure("fig2-shape", bool(ok), display=", ".join(k.replace("_", " ") + (" ✓" if v else " ✗")
                                                                 for k, v in shape.items() if k != "zero_at_p01")))
    inner = np.array([p for p in sorted(set(map(float, p_list)) | {0.1, 0.5, 0.9}) if 0 < p < 1])
    slopes = np.array([th.tied_slope_at(10_000, inner, L) for L in sorted(set(map(int, L_list)) | {2, 10, 21})])
    worst = float(slopes.flat[int(np.argmax(np.abs(slopes - 0.5)))])
    info["limit_slopes"] = (float(slopes.min()), float(slopes.max()))
    out.append(Measure("bern-limit-tied", worst, display=f"{number(worst, 3)} (slopes {number(slopes.min(), 3)}"
                                                         f" to {number(slopes.max(), 3)} at G = 10,000)"))
    s21 = float(th.tied_slope_at(21, np.array(0.9), 10))
    onset = th.first_G_table([10], [0.9], 0.45, 400)[0, 0]
    info["fig3_slope_G21"], info["fig3_onset_045"] = s21, int(onset)
    out.append(Measure("fig3-G20", s21, note=f"the local slope first reaches 0.45 at G = {onset}"))
    f11, f12 = closeup["fits"]["11"], closeup["fits"]["12"]
    out.append(Measure("fig3-eq12-fits", bool(f12.rss < f11.rss),
                       display=f"RSS (12) {number(f12.rss, 2)} vs (11) {number(f11.rss, 2)}",
                       note=f"extrapolated limits: (12) {number(f12.a_inf, 3)}, (11) {number(f11.a_inf, 3)}, truth {closeup['truth']:g}"))
    return out, info


def decay_measures(per_seed: pd.DataFrame, corr: dict, need: dict, first_G: np.ndarray) -> tuple[list[Measure], dict]:
    """Appendix A: G needed (eq. 25; ``need`` from ``theory.G_needed_eq25`` on APPA_L x APPA_P), the dependence on
    L and p (``first_G`` from ``theory.first_G_table`` on LP_L x LP_P), correlated generations (``corr`` from
    ``decay.correlated_exponents``), heterogeneous models (``hetero_slope`` of the simulated worlds)."""
    out: list[Measure] = []
    info: dict = {}
    scan = list(need["G_scan"][: len(need["exponents"])])
    onset = th.slope_band_onset(APPA_L, APPA_P, max(max(scan), 200))
    last = need["exponents"][max(need["exponents"])]
    info.update(G_needed=need, slope_onset=onset)
    reading = (f"the local log-log slope itself stays in [0.4, 0.6] from G = {onset} on; the least-squares fit from "
               "G' = 1 is dominated by the small-G plateau (absolute residuals are largest there)")
    skipped: list[tuple[str, str]] = []
    if need["G_needed"] is not None:
        out.append(Measure("appA-G50", int(need["G_needed"]), note=reading))
    elif max(scan) > 75:  # not reached: the true G needed exceeds the scan, which already lies above the band
        i, j = np.unravel_index(int(np.argmin(last)), last.shape)
        out.append(Measure("appA-G50", int(max(scan)),
                           display=f"more than {number(max(scan))} (fitted exponent {number(float(last.min()), 2)} "
                                   f"at L = {APPA_L[i]}, p = {APPA_P[j]})",
                           note=f"not reached by G = {number(max(scan))}, the end of the scan (bias_G_max); " + reading))
    else:
        skipped.append(("appA-G50", f"the scan ends at G = {max(scan)} (bias_G_max), inside the claimed band"))
    info["skipped"] = skipped
    tab = np.asarray(first_G)
    info["first_G_table"] = tab
    incr_L = bool(np.all(np.diff(tab, axis=0) >= 0))
    incr_p = bool(np.all(np.diff(tab, axis=1) >= 0))
    rows = "; ".join(f"L = {L}: " + "/".join(str(v) for v in tab[i]) for i, L in enumerate(LP_L))
    out.append(Measure("appA-L-p", incr_L and incr_p,
                       display=f"first G with slope >= 0.45 at p = {'/'.join(f'{p:g}' for p in LP_P)}: {rows}",
                       note=("grows with L only for p >= 0.5 and with p only for L > 2 (L = 2 is symmetric in p)"
                             if not (incr_L and incr_p) else "")))
    wv, wci = corr["worst"]
    t = pd.DataFrame(corr["table"])
    out.append(Measure("corr-exponent", wv, ci=wci, n=corr["R"],
                       display=f"{number(wv, 3)} (exponents {number(t['lambda'].min(), 3)} to {number(t['lambda'].max(), 3)})",
                       note="with identical models a shared per-round latent leaves the G^-1/2 law intact (it lowers the "
                            "constant); the spread over [0.25, 0.75] the paper reports is not seen with this mechanism"))
    row = t[(t.rho == t.rho.max()) & (t.p == 0.5) & (t.L == 10)].iloc[0]
    d = float(row.bias_G_small - row.bias_G_small_indep)
    se = float(row.bias_G_small_se)
    out.append(Measure("corr-bias-smaller", d, ci=(d - 1.96 * se, d + 1.96 * se), n=corr["R"],
                       display=f"{number(d, 3)} ({number(row.bias_G_small, 3)} with correlation {row.rho:g} vs "
                               f"{number(row.bias_G_small_indep, 3)} without)"))
    hs = per_seed["hetero_slope"].to_numpy(dtype=float)
    hs = hs[np.isfinite(hs)]
    if hs.size >= 2:
        m, ci, n = t_interval(hs)
        out.append(Measure("bern-limit-hetero", m, ci=ci, n=n,
                           note="distinct models are eventually told apart, so each prompt's bias dies exponentially; "
                                "averaged over prompts the decay is about G^-1"))
    info["hetero_slopes"] = hs
    return out, info


def simulation_measures(per_seed: pd.DataFrame) -> tuple[list[Measure], list[tuple[str, str]]]:
    """Errors against the known truth over independent simulated worlds (Student-t intervals).

    Returns the measures and (claim id, reason) pairs for claims this run could not measure."""
    out: list[Measure] = []
    skipped: list[tuple[str, str]] = []
    err = lambda k: (per_seed[k] - per_seed["o_true"]).to_numpy(dtype=float)  # noqa: E731
    m, ci, n = t_interval(err("o_biased"))
    out.append(Measure("naive-positive", m, ci=ci, n=n, note=f"positive in {int((err('o_biased') > 0).sum())} of {n} worlds"))
    m, ci, n = t_interval(err("o_extrap12"))
    out.append(Measure("eq12-debias", m, ci=ci, n=n,
                       note=f"naive error {number(float(err('o_biased').mean()), 2)}; eq. (11) with lambda = 0.5: "
                            f"{number(float(err('o_extrap11').mean()), 2)}"))
    e = err("o_pgm")
    e = e[np.isfinite(e)]
    if e.size >= 2:
        m, ci, n = t_interval(e)
        ek = err("o_pgm_known")
        ek = ek[np.isfinite(ek)]
        its = per_seed["pgm_iters"][per_seed["pgm_iters"] > 0]
        out.append(Measure("eq18-pgm", m, ci=ci, n=n,
                           note=f"known topics: {number(float(ek.mean()), 2)}; ADVI stopped at "
                                f"{number(int(its.min()))}-{number(int(its.max()))} iterations (ELBO converged)"))
    else:
        skipped.append(("eq18-pgm", f"the PGM was fitted on {e.size} world(s); an interval needs replicate worlds"))
    return out, skipped


def eq23_measure(pi: np.ndarray, k: int, R: int, rng: np.random.Generator) -> Measure:
    """Eq. (23) against a direct simulation of the posthoc judge: every model draws k generations per prompt and the
    prompt counts as solved if any generation is correct; the mean over R repeats minus the formula."""
    pi = np.asarray(pi, dtype=float)
    N, L = pi.shape
    formula = float(est.kshot_population(pi, k)[0])
    vals = np.empty(int(R))
    for r in range(int(R)):
        solved = (rng.random((N, L, int(k))) < pi[..., None]).any(axis=(1, 2))
        vals[r] = solved.mean() - formula
    m, ci, n = t_interval(vals)
    return Measure("eq23-posthoc", m, ci=ci, n=n, note=f"k = {k}, formula {number(formula, 4)}, {N} prompts x {L} models")


def entropy_measures(sweep: dict, rng: np.random.Generator, B: int = 2000) -> tuple[list[Measure], dict]:
    """Fig. 5 / Sec. 6.5: rank correlation of the mean uplift with the entropy, the smallest step of the mean curve,
    and the margin of the uniform end; percentile bootstrap over seeds."""
    up = np.asarray(sweep["uplift"], dtype=float)  # (seeds, steps), s increasing = entropy decreasing
    H = np.asarray(sweep["H"], dtype=float)
    n = up.shape[0]
    out: list[Measure] = []
    info: dict = {}
    if n < 2:
        return out, {"skipped": "one seed: no interval"}
    rho, ci = bootstrap_interval(lambda a: stats.spearmanr(H, a.mean(axis=0))[0], up, rng, B=B)
    info["spearman"] = (rho, ci)
    share = float(np.mean([np.all(np.diff(u) < 0) for u in up]))
    out.append(Measure("entropy-near-monotone", rho, ci=ci, n=n, note=f"{number(100 * share, 2)} % of single seeds strictly monotone"))
    step, sci = bootstrap_interval(lambda a: float(np.min(-np.diff(a.mean(axis=0)))), up, rng, B=B)
    info["min_step"] = (step, sci)
    out.append(Measure("entropy-monotone", step, ci=sci, n=n,
                       note="a negative step means the mean uplift falls somewhere as the entropy rises"))
    marg, mci = bootstrap_interval(lambda a: float(a.mean(axis=0)[0] - a.mean(axis=0)[1:].max()), up, rng, B=B)
    info["uniform_margin"] = (marg, mci)
    out.append(Measure("entropy-extremes", marg, ci=mci, n=n,
                       note=f"uplift at one topic {number(_zero(float(up[:, -1].mean())), 3)} (exactly 0 under the multiplicative link)"))
    info["monotone_share"] = share
    return out, info
