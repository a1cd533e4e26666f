"""The chapter's claims ledger: every registry entry measured from a run's outputs (verdicts come from core.claims).

The notebook computes the experiments; :func:`record_claims` turns their outputs into values, intervals
and sample sizes and hands them to :class:`capfront_lib.core.claims.Ledger`. No verdict is decided here:
``Ledger.measure`` applies the registry's rule (``data/markov_copula_cascades/claims.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.core import fmt
from capfront_lib.core.claims import Ledger

from . import experiments as X
from . import paper as P

SIM_NOTE = "simulated world that follows the thesis' model; the thesis measured real LLM confidences"


@dataclass
class RunOutputs:
    """What one chapter run measured (None: not run in this configuration)."""

    exp: pd.DataFrame                      # tuning experiment rows (experiments.tuning_experiment)
    prop2: pd.DataFrame                    # Proposition-2 check (experiments.prop2_check), both truths
    runtime: pd.DataFrame                  # runtime study (experiments.runtime_study)
    alg1: pd.DataFrame                     # Algorithm-1 time per call (experiments.algorithm1_timing)
    tau_batches: np.ndarray                # Kendall tau of Gumbel(theta = 2) batches (eq. 2.10 check)
    copula_size_p: np.ndarray              # p-values of the copula test under a correct copula
    marginal_size_p: np.ndarray            # p-values of the marginal test under a correct family
    k_models: int                          # models in the simulated truth
    bo_ran: bool = False                   # BO ran on every cascade of the tuning experiment
    exact_ran: bool = False                # RT-exact ran in the tuning experiment
    notes: dict = field(default_factory=dict)


def _t(values: Sequence[float]) -> tuple[float, tuple[float, float], int]:
    m, lo, hi, n = X.t_interval(values)
    return m, (lo, hi), n


def _exact_note(out: RunOutputs, values_fn, label: str) -> str:
    """'; RT-exact: x [lo, hi]' when RT-exact ran, for the same statistic."""
    if not out.exact_ran:
        return ""
    v = values_fn("RT-exact")
    if len(v) == 0:
        return ""
    m, (lo, hi), _ = _t(v)
    ci = fmt.interval(lo, hi) if lo == lo else "(one replicate)"
    return f"; {label} RT-exact (same fitted model, exact evaluation instead of Algorithm 1): {fmt.number(m)} {ci}"


def _gain(ledger: Ledger, out: RunOutputs, cid: str, regime: str, base: str, ks: Sequence[int] | None) -> None:
    if base == "BO" and not out.bo_ran:
        ledger.skip(cid, "Bayesian optimisation was not run on every cascade (bo_scope 'all' and bo_backend 'gp' run it)")
        return
    present = sorted(out.exp["k"].unique())
    if ks is not None and not set(ks) & set(present):
        ledger.skip(cid, f"no cascade of length {sorted(ks)} in this run (k_max = {max(present)})")
        return
    vals = X.replicate_means(out.exp, regime, base, ks)
    m, ci, n = _t(vals)
    label = "soft-label grid search (the authors' scorer)" if base == "GS-soft" else "Bayesian optimisation (GP + EI stand-in for HEBO)"
    hard = ""
    if base == "GS-soft":
        mh, _, _ = _t(X.replicate_means(out.exp, regime, "GS-hard", ks))
        hard = f"; vs hard-label grid search {fmt.number(mh)}%"
    note = (f"{SIM_NOTE}; vs {label}, mean over {n} replicates{hard}"
            + _exact_note(out, lambda meth: X.replicate_means(out.exp, regime, base, ks, meth), ""))
    ledger.measure(cid, m, ci=ci, n=n, note=note)


def _slope(ledger: Ledger, out: RunOutputs, cid: str, regime: str, base: str) -> None:
    if base == "BO" and not out.bo_ran:
        ledger.skip(cid, "Bayesian optimisation was not run on every cascade")
        return
    if out.exp["k"].nunique() < 2:
        ledger.skip(cid, "only one cascade length in this run")
        return
    m, ci, n = _t(X.replicate_slopes(out.exp, regime, base))
    note = (f"{SIM_NOTE}; slope of %Delta on k over k = {out.exp['k'].min()}..{out.exp['k'].max()}"
            + _exact_note(out, lambda meth: X.replicate_slopes(out.exp, regime, base, meth), ""))
    ledger.measure(cid, m, ci=ci, n=n, note=note)


def _widening(ledger: Ledger, out: RunOutputs, cid: str, base: str) -> None:
    if base == "BO" and not out.bo_ran:
        ledger.skip(cid, "Bayesian optimisation was not run on every cascade")
        return
    if out.exp["k"].max() < 3:
        ledger.skip(cid, "no cascade with k >= 3 in this run")
        return
    ks = [k for k in sorted(out.exp["k"].unique()) if k >= 3]
    m, ci, n = _t(X.replicate_widening(out.exp, base, ks))
    ledger.measure(cid, m, ci=ci, n=n, note=f"{SIM_NOTE}; %Delta(n <= n_train_low) - %Delta(n_train), k >= 3")


def record_claims(ledger: Ledger, out: RunOutputs) -> None:
    """Measure every registry entry of the chapter from one run's outputs (skips state why)."""
    e = out.exp
    # -- tuning gains ---------------------------------------------------------------------------
    for cid, regime, base, ks in (
        ("bo_k3", "n_train", "BO", range(3, 13)), ("bo_k4", "n_train", "BO", range(4, 13)), ("bo_k5", "n_train", "BO", [5]),
        ("gs_k3", "n_train", "GS-soft", range(3, 13)), ("gs_k4", "n_train", "GS-soft", range(4, 13)),
        ("gs_k5", "n_train", "GS-soft", [5]),
        ("t27_avg_gs", "n_train", "GS-soft", None), ("t27_avg_bo", "n_train", "BO", None),
        ("low_gs_k3", "n_train_low", "GS-soft", range(3, 13)), ("low_bo_k3", "n_train_low", "BO", range(3, 13)),
        ("t28_avg_gs", "n_train_low", "GS-soft", None), ("t28_avg_bo", "n_train_low", "BO", None),
        ("k2_par_gs", "n_train", "GS-soft", [2]), ("k2_par_bo", "n_train", "BO", [2]),
    ):
        _gain(ledger, out, cid, regime, base, list(ks) if ks is not None else None)
    bases = ["GS-soft", "GS-hard"] + (["BO"] if out.bo_ran else [])
    base, k, vals = X.largest_gain(e, "n_train_low", bases)
    m, ci, n = _t(vals)
    ledger.measure("low_up_to", m, ci=ci, n=n,
                   note=f"{SIM_NOTE}; largest mean gain of RT among cascade lengths and baselines: k = {k} vs {base} "
                        "(chosen after looking, so the interval is optimistic)")
    for cid, regime, base in (("growth_gs", "n_train", "GS-soft"), ("growth_bo", "n_train", "BO"),
                              ("growth_low_gs", "n_train_low", "GS-soft"), ("growth_low_bo", "n_train_low", "BO")):
        _slope(ledger, out, cid, regime, base)
    _widening(ledger, out, "low_widens_gs", "GS-soft")
    _widening(ledger, out, "low_widens_bo", "BO")
    # -- runtime --------------------------------------------------------------------------------
    rk = out.runtime[out.runtime["study"] == "k"].sort_values("k")
    slope_k = X.loglog_slope(rk["k"], rk["rt_seconds"])
    naive = []
    for _, r in rk.iterrows():
        if "gs_naive_seconds" in r and r["gs_naive_seconds"] == r["gs_naive_seconds"]:
            tag = "measured" if bool(r.get("gs_naive_measured", False)) else "extrapolated linearly in the candidate count"
            naive.append(f"k = {int(r['k'])}: {fmt.number(r['gs_naive_seconds'])} s ({tag})")
    ledger.measure("runtime_k", slope_k,
                   note=f"RT seconds {', '.join(fmt.number(s) for s in rk['rt_seconds'])} at k = {', '.join(str(int(k)) for k in rk['k'])} "
                        f"(measured); naive grid search {'; '.join(naive)}")
    rr = out.runtime[out.runtime["study"] == "resolution"].sort_values("rt_lambdas")
    ledger.measure("runtime_res", X.loglog_slope(rr["rt_lambdas"], rr["rt_seconds"]),
                   note=f"RT seconds over {', '.join(str(int(x)) for x in rr['rt_lambdas'])} lambda values (measured)")
    ledger.measure("alg1_linear", X.loglog_slope(out.alg1["k"], out.alg1["seconds_per_call"]),
                   note=f"best of 7 batched calls of {int(out.alg1['rows'].iloc[0])} threshold vectors, k = "
                        f"{out.alg1['k'].min()}..{out.alg1['k'].max()}")
    cc = P.cascade_counts(5)
    ledger.measure("cascade_counts", bool(cc == {2: 10, 3: 10, 4: 5, 5: 1} and sum(cc.values()) == 26
                                          and P.grid_sizes() == {2: 40, 3: 1600, 4: 64000, 5: 2_560_000}))

    # -- Proposition 2 ----------------------------------------------------------------------------
    p2 = out.prop2
    m, lo, hi, n = X.prop2_intervals(p2, "dvine_gumbel", 2, "P")
    ledger.measure("prop2_k2", m, ci=(lo, hi), n=n, note="true parameters; interval over independent Monte Carlo batches")
    kmax = int(p2["k"].max())
    if kmax >= 3:
        for cid, what in (("prop2_markov_p", "P"), ("prop2_markov_cost", "C")):
            m, lo, hi, n = X.prop2_intervals(p2, "dvine_gumbel", kmax, what)
            mi, _, _, _ = X.prop2_intervals(p2, "independent", kmax, what)
            ledger.measure(cid, m, ci=(lo, hi), n=n,
                           note=f"Gumbel chain of {kmax} models with true parameters; independent models at the same k: "
                                f"{fmt.number(mi)} (exact there). The proof's step (6)-(7) needs the event-level property (2.5), "
                                "which a chain in the variables does not have")
    else:
        for cid in ("prop2_markov_p", "prop2_markov_cost"):
            ledger.skip(cid, "the simulated truth has only two models")
    m, ci, n = _t(out.tau_batches)
    ledger.measure("eq210_tau", m, ci=ci, n=n, note="Kendall's tau of independent batches sampled by the chapter's Gumbel sampler")
    ledger.measure("eq217_monotone", P.is_monotone(P.xi_two_sided_as_printed, np.linspace(0.001, 0.999, 999)),
                   note="as printed, p and 1 - p get the same value (V shape); the authors' code uses the monotone odd version")

    # -- test sizes ---------------------------------------------------------------------------------
    for cid, pv in (("copula_test_size", out.copula_size_p), ("marginal_test_size", out.marginal_size_p)):
        k_rej, n_t = int(np.sum(pv < 0.05)), int(pv.size)
        lo, hi = X.clopper_pearson(k_rej, n_t)
        ledger.measure(cid, k_rej / n_t, ci=(lo, hi), n=n_t,
                       note=f"{k_rej} of {n_t} tests reject at 5% although the model is correct (Clopper-Pearson interval)")

    # -- transcription ----------------------------------------------------------------------------------
    ece = P.ece_reduction_arithmetic()
    ledger.measure("ece_28_rows", ece["mean_printed_average_delta"])
    ledger.measure("ece_28_cells", ece["mean_all_cells_delta"],
                   note=f"the printed Average rows differ from the means of their cells by up to {fmt.number(ece['max_abs_gap_average_rows'])} pp")
    t21 = P.table_2_1_checks()
    ledger.measure("ten_llms", t21["n_models"] == 10, note=f"Tables 2.1, 2.2, 2.5, 2.6 list {t21['n_models']} models")
    ledger.measure("t21_avg_rows", t21["max_avg_row_gap"], note=f"largest gap at {t21['max_avg_row_gap_at']}")
    ledger.measure("medmcqa_worst", t21["medmcqa_worst"], note=f"recomputed MedMCQA mean {fmt.number(t21['avg_ece']['MedMCQA'])}%")
    ledger.measure("gpt4o_ece", t21["gpt4o_ece_holds"])
    ledger.measure("ece_below5", t21["n_bench_below5"] > t21["n_bench"] / 2,
                   note=f"{t21['n_bench_below5']} of {t21['n_bench']} benchmark means below 5%")
    nb, nr = P.markov_predictor_share()
    ledger.measure("t23_markov", nb / nr, note=f"{nb} of {nr} rows")
    ct = P.copula_table_checks()
    ledger.measure("t24_rej_llama", ct["rej_llama_pct"])
    ledger.measure("t24_rej_other", ct["rej_other_pct"])
    ledger.measure("copula_cvm_avg", ct["cvm_pair_weighted"],
                   note=f"mean over the 16 tested pairs per benchmark; unweighted cell mean {fmt.number(ct['cvm_cell_mean'])}; "
                        f"0.006 is the mean of the two rounded group averages ({fmt.number(ct['cvm_mean_of_printed_averages'])})")
    mt = P.marginal_table_checks()
    ledger.measure("marg_cvm_avg", mt["cvm_mean"])
    ledger.measure("marg_rej", mt["rej_pct"], note=f"{mt['rej'][0]} of {mt['rej'][1]} printed p-values < 0.05; 74% would be 40")
    ledger.measure("marg_refit_cvm", mt["cvm_r_mean"])
    ledger.measure("marg_refit_rej", mt["rej_r_pct"], note=f"{mt['rej_r'][0]} of {mt['rej_r'][1]}")
    ledger.measure("triviaqa_refit_worst", mt["worst_refit"] == "TriviaQA")
    tt = P.tuning_table_checks()
    ledger.measure("t27_benchmarks", tt["2.7_holds"], note=f"{tt['2.7_n_sig']} of 12 p < 0.05")
    ledger.measure("t28_benchmarks", tt["2.8_holds"], note=f"{tt['2.8_n_sig']} of 12 p < 0.05")
    gaps = P.average_row_gaps()
    ledger.measure("avg_rows_auc", gaps["three_decimals"])
    ledger.measure("avg_rows_pct", gaps["pct"])
    for cid, base in (("k2_par_gs_tables", "GS"), ("k2_par_bo_tables", "BO")):
        k2 = P.implied_k2_change(base)
        ledger.measure(cid, k2["pooled"], ci=(k2["lo"], k2["hi"]),
                       display=f"{fmt.number(k2['pooled'])}% (pooled) / {fmt.number(k2['per_length'])}% (per-length means)",
                       note=f"k = 2 mean implied by Table 2.7's {fmt.number(k2['all_k_printed'])}% over 26 cascades and Figure 2.6; "
                            f"pooled over cascades {fmt.number(k2['pooled'])}%, from per-length means {fmt.number(k2['per_length'])}% "
                            f"(implied k = 3 / 4 / 5 means {fmt.number(k2['m3'])} / {fmt.number(k2['m4'])} / {fmt.number(k2['m5'])}%); "
                            "positive = RT worse")
    a2f = P.app2f_checks()
    ledger.measure("app2f_table", a2f["holds"],
                   display=("every mean tau and pattern tau positive" if a2f["holds"] else "some tau not positive"),
                   note=(f"weakest benchmark {a2f['weakest']}; printed p >= 0.05: {', '.join(a2f['not_significant']) or 'none'}; "
                         + ("" if a2f["taus_multiples_of_1_45"] else
                            "the printed p-values cannot be checked: the tau across pairs are not multiples of 1/45, so they do "
                            "not rest on the 10 pairs the caption names")))
    pr = P.price_ratios()
    ledger.measure("price_ratios", float(pr["abs_diff"].max()))
    from .gof import sigma_tau

    ledger.measure("sigma_tau_50", sigma_tau(50))
    ledger.record_not_checkable()
