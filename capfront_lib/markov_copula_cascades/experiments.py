"""Experiment drivers for the chapter: calibration ablation, Proposition-2 check, RT vs GS vs BO, runtime.

Everything runs on the synthetic ground truth of :mod:`.simulate`, so every estimate can be compared with
truth. Real LLM confidences (the thesis' data) are not available offline.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .chain import ChainEvaluator
from .gof import copula_cvm, copula_gof, marginal_gof, marginal_sqrt_cvm
from .model import (CascadeModel, expected_calibration_error, fit_calibrator, fit_cascade_model, fit_gumbel_theta,
                    fit_marginal, gumbel_sample)
from .simulate import SimulatedData, Truth, balanced_subsample, simulate
from .tuning import Curve, auc_pair, grid_search, pct_change, route, tune_bo, tune_rt

DEFAULT_MISCAL_A = [-0.4, -0.2, 0.0, 0.2, 0.4]
DEFAULT_MISCAL_B = [1.6, 1.3, 1.0, 0.8, 0.6]


def sub_cascades(k_max: int, min_len: int = 2) -> list[tuple[int, ...]]:
    """All increasing sub-sequences of models 0..k_max-1 of length >= min_len (26 for k_max = 5)."""
    if k_max < 2:
        raise ValueError(f"k_max must be >= 2, got {k_max}")
    return [c for r in range(min_len, k_max + 1) for c in itertools.combinations(range(k_max), r)]


# ----------------------------------------------------------------------------------------------
# Calibration (Level B)
# ----------------------------------------------------------------------------------------------


@dataclass
class Calibrated:
    """Calibrated confidences of a train and a test set (Phi_hat), with the per-model calibrators."""

    train_phi: np.ndarray
    test_phi: np.ndarray
    calibrators: list
    n_penalised: int


def calibrate(train: SimulatedData, test: SimulatedData, kind: str) -> Calibrated:
    """Fit one logistic calibrator per model on train log p and apply it to train and test."""
    if train.log_p is None or test.log_p is None:
        raise ValueError("raw pipeline needs raw log-probabilities (simulate with miscal_a/miscal_b)")
    cals = [fit_calibrator(train.log_p[:, j], train.y[:, j], kind) for j in range(train.phi.shape[1])]
    tr = np.column_stack([c.predict(train.log_p[:, j]) for j, c in enumerate(cals)])
    te = np.column_stack([c.predict(test.log_p[:, j]) for j, c in enumerate(cals)])
    return Calibrated(tr, te, cals, sum(c.penalised for c in cals))


def ece_table(train: SimulatedData, test: SimulatedData, kind: str, names: Sequence[str]) -> pd.DataFrame:
    """Table 2.2 analogue: test ECE with the transform, without it (logistic regression on p_raw), %Delta,
    the ECE of the true Phi, and the certainty rate."""
    with_tf = calibrate(train, test, kind)
    without = calibrate(train, test, "none")
    rows = []
    for j, name in enumerate(names):
        e1 = expected_calibration_error(with_tf.test_phi[:, j], test.y[:, j])
        e0 = expected_calibration_error(without.test_phi[:, j], test.y[:, j])
        rows.append({"model": name, "ECE": e1, "ECE_TF": e0, "pct_delta": pct_change(e1, e0),
                     "ECE_true_phi": expected_calibration_error(test.phi[:, j], test.y[:, j]),
                     "cert_rate": float(np.mean(test.log_p[:, j] == 0.0)), "accuracy": float(test.y[:, j].mean())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Proposition 2 vs Monte Carlo
# ----------------------------------------------------------------------------------------------


def true_model(truth: Truth, costs: np.ndarray, u_grid: int = 801, big_sample: np.ndarray | None = None) -> CascadeModel:
    """Cascade model with the true marginals; adjacent thetas are the true ones for the Gumbel D-vine,
    independence for the independent truth; other pairs (and the survival truth) use theta from Kendall's
    tau on ``big_sample`` (a large simulated Phi matrix)."""
    k = truth.k
    th = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            if truth.kind == "independent":
                t = 1.0
            elif truth.kind == "dvine_gumbel" and j == i + 1:
                t = float(truth.thetas[i])
            elif big_sample is not None:
                t = fit_gumbel_theta(big_sample[:, i], big_sample[:, j])
            else:
                raise ValueError("big_sample is needed for non-adjacent or survival-copula thetas")
            th[i, j] = th[j, i] = t
    return CascadeModel(list(truth.marginals), th, np.asarray(costs, float), u_grid=u_grid)


def monte_carlo_cascade(phi: np.ndarray, costs: np.ndarray, cascade: Sequence[int], thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo P(correct), E[cost] from a large Phi sample (labels replaced by their mean Phi)."""
    cas = list(cascade)
    cost = np.broadcast_to(np.asarray(costs, float)[cas], (phi.shape[0], len(cas)))
    return route(phi[:, cas], phi[:, cas], cost, thresholds, chunk=8)


def prop2_check(truth: Truth, costs: np.ndarray, ks: Sequence[int], n_thresholds: int, mc_n: int,
                rng: np.random.Generator, u_grid: int = 801, chain_cells: int | None = None,
                n_batches: int = 10) -> pd.DataFrame:
    """Model (Prop. 2 / Algorithm 1 with true parameters) vs Monte Carlo at random thresholds, per k.

    The Monte Carlo sample of ``mc_n`` queries is split into ``n_batches`` equal batches; ``P_mc_b`` /
    ``C_mc_b`` hold the per-batch estimates (lists) so that intervals can be formed from batch means
    (:func:`prop2_intervals`). With ``chain_cells`` the exact chain evaluation of the same (true) model is
    added (columns ``P_chain``, ``C_chain``, ``dP_chain``, ``dC_rel_chain``).
    """
    if n_batches < 2 or mc_n < 2 * n_batches:
        raise ValueError(f"need n_batches >= 2 and mc_n >= 2 n_batches, got {n_batches}, {mc_n}")
    big = simulate(truth, mc_n, rng).phi
    model = true_model(truth, costs, u_grid, big)
    chain = ChainEvaluator(model, chain_cells) if chain_cells else None
    edges = np.linspace(0, mc_n, n_batches + 1).astype(int)
    rows = []
    for k in ks:
        if k > truth.k:
            continue
        cas = list(range(k))
        qs = rng.uniform(0.2, 0.8, size=(n_thresholds, k - 1))
        th = np.column_stack([truth.marginals[j].ppf(qs[:, j]) for j in range(k - 1)])
        p_m, c_m = model.evaluate(cas, th)
        batches = [monte_carlo_cascade(big[a:b], costs, cas, th) for a, b in zip(edges[:-1], edges[1:])]
        p_b = np.array([bp for bp, _ in batches])  # (n_batches, n_thresholds)
        c_b = np.array([bc for _, bc in batches])
        w = np.diff(edges)[:, None] / mc_n
        p_mc, c_mc = (w * p_b).sum(axis=0), (w * c_b).sum(axis=0)
        p_x, c_x = chain.evaluate(cas, th) if chain is not None else (np.full(n_thresholds, np.nan),) * 2
        for r in range(n_thresholds):
            rows.append({"truth": truth.kind, "k": k, "thresholds": th[r].tolist(), "P_model": p_m[r], "P_mc": p_mc[r],
                         "C_model": c_m[r], "C_mc": c_mc[r], "P_chain": p_x[r], "C_chain": c_x[r],
                         "P_mc_b": p_b[:, r].tolist(), "C_mc_b": c_b[:, r].tolist()})
    df = pd.DataFrame(rows)
    df["dP"] = df["P_model"] - df["P_mc"]
    df["dC_rel"] = (df["C_model"] - df["C_mc"]) / df["C_mc"]
    df["dP_chain"] = df["P_chain"] - df["P_mc"]
    df["dC_rel_chain"] = (df["C_chain"] - df["C_mc"]) / df["C_mc"]
    return df


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of a Student-t interval over independent values (NaNs dropped).

    With fewer than two values the interval is (nan, nan): one replicate gives no interval.
    """
    v = np.asarray([x for x in values if x == x], float)
    n = int(v.size)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(v.mean())
    if n < 2:
        return m, float("nan"), float("nan"), n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half, n


def prop2_intervals(p2: pd.DataFrame, truth_kind: str, k: int, what: str = "P") -> tuple[float, float, float, int]:
    """Mean over the random thresholds of model - Monte Carlo at one (truth, k), with a t-interval over batches.

    ``what`` = "P": P_model - P_MC; "C": relative cost error (C_model - C_MC) / C_MC. The batches of the Monte
    Carlo sample are independent, so the per-batch mean differences are i.i.d. (n = number of batches).
    """
    g = p2[(p2["truth"] == truth_kind) & (p2["k"] == k)]
    if g.empty:
        raise ValueError(f"no Proposition-2 rows for truth {truth_kind!r}, k = {k}")
    model = g[f"{what}_model"].to_numpy()[:, None]
    mc = np.array(g[f"{what}_mc_b"].tolist())  # (n_thresholds, n_batches)
    d = (model - mc) if what == "P" else (model - mc) / mc
    return t_interval(d.mean(axis=0))


# ----------------------------------------------------------------------------------------------
# RT vs baselines on one cascade, and the full tuning experiment
# ----------------------------------------------------------------------------------------------


def curve_on_test(curve: Curve, phi: np.ndarray, y: np.ndarray, cost: np.ndarray, cascade: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(mean cost, error) of a curve's threshold vectors on test data."""
    cas = list(cascade)
    acc, mc = route(phi[:, cas], y[:, cas], cost[:, cas], curve.thresholds)
    return mc, 1.0 - acc


#: Column prefixes of the two Rational Tuning variants in the rows of :func:`compare_cascade`.
RT_METHODS = {"RT": "", "RT-exact": "x"}


def auc_columns(method: str, base: str) -> tuple[str, str, str]:
    """Row keys (RT-variant AUC, baseline AUC, %Delta) of one RT variant against one other method.

    Both AUCs are means over the common cost range of *that pair* of curves, so the baseline's AUC
    is stored once per RT variant: ``auc_RT_vs_<m>``, ``auc_<m>``, ``pct_<m>`` for "RT" and
    ``auc_RTx_vs_<m>``, ``auc_<m>_vs_RTx``, ``pctx_<m>`` for "RT-exact".
    """
    if method not in RT_METHODS:
        raise ValueError(f"method must be one of {list(RT_METHODS)}, got {method!r}")
    px = RT_METHODS[method]
    return f"auc_RT{px}_vs_{base}", f"auc_{base}" + (f"_vs_RT{px}" if px else ""), f"pct{px}_{base}"


def compare_cascade(cascade: Sequence[int], model: CascadeModel, train_phi: np.ndarray, train_y: np.ndarray,
                    train_cost: np.ndarray, test_phi: np.ndarray, test_y: np.ndarray, test_cost: np.ndarray,
                    rng: np.random.Generator, sweep: dict, grid_levels: int = 40, bo: dict | None = None,
                    oracle: tuple[CascadeModel, np.ndarray] | None = None, chain: ChainEvaluator | None = None,
                    oracle_chain: ChainEvaluator | None = None) -> tuple[dict, dict]:
    """Tune one cascade with RT, GS (soft and hard labels), optionally BO, the oracle and the exact chain; AUCs on test.

    "RT" evaluates the fitted model with Algorithm 1 (the thesis); with ``chain`` (a
    :class:`~.chain.ChainEvaluator` of ``model``) "RT-exact" tunes the same fitted model evaluated
    exactly. The oracle uses the true parameters (``oracle`` = (true model, true test Phi)); with
    ``oracle_chain`` also "oracle-exact". Returns (row, dict of test curves (cost, error) per method);
    the row holds, for each RT variant and each other method, the keys of :func:`auc_columns`.
    """
    cas = list(cascade)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rt = tune_rt(model, cas, phi_train=train_phi[:, cas], evaluator="algorithm1", **sweep)
    curves["RT"] = curve_on_test(rt, test_phi, test_y, test_cost, cas)
    row: dict = {"cascade": "-".join(map(str, cas)), "k": len(cas), "rt_seconds": rt.seconds, "rt_evals": rt.n_evals}
    if chain is not None:
        rtx = tune_rt(model, cas, phi_train=train_phi[:, cas], evaluator=chain, **sweep)
        curves["RT-exact"] = curve_on_test(rtx, test_phi, test_y, test_cost, cas)
        row.update({"rtx_seconds": rtx.seconds, "rtx_evals": rtx.n_evals})
    gs_soft = grid_search(train_phi[:, cas], train_phi[:, cas], train_cost[:, cas], grid_levels)
    curves["GS-soft"] = curve_on_test(gs_soft, test_phi, test_y, test_cost, cas)
    gs_hard = grid_search(train_phi[:, cas], train_y[:, cas], train_cost[:, cas], grid_levels)
    curves["GS-hard"] = curve_on_test(gs_hard, test_phi, test_y, test_cost, cas)
    row["gs_seconds"] = gs_soft.seconds
    if bo is not None:
        b = tune_bo(train_phi[:, cas], train_phi[:, cas], train_cost[:, cas], rng, **bo)
        curves["BO"] = curve_on_test(b, test_phi, test_y, test_cost, cas)
        row["bo_seconds"] = b.seconds
        row["bo_iters_mean"] = float(np.mean(b.n_iters))
    if oracle is not None:
        om, true_test_phi = oracle
        o = tune_rt(om, cas, evaluator="algorithm1", **sweep)
        curves["oracle"] = curve_on_test(o, true_test_phi, test_y, test_cost, cas)
        if oracle_chain is not None:
            ox = tune_rt(om, cas, evaluator=oracle_chain, **sweep)
            curves["oracle-exact"] = curve_on_test(ox, true_test_phi, test_y, test_cost, cas)
    for method in [m for m in RT_METHODS if m in curves]:
        for base in [m for m in curves if m not in RT_METHODS]:
            a_rt, a_b = auc_pair(*curves[method], *curves[base])
            rt_col, base_col, pct_col = auc_columns(method, base)
            row[rt_col], row[base_col], row[pct_col] = a_rt, a_b, pct_change(a_rt, a_b)
    return row, curves


def _trim(d: SimulatedData, k_max: int) -> SimulatedData:
    return SimulatedData(d.phi[:, :k_max], d.y[:, :k_max], d.cost[:, :k_max], None if d.log_p is None else d.log_p[:, :k_max])


def tuning_replicate(item: dict) -> list[dict]:
    """One replicate of :func:`tuning_experiment` (a module-level function, so ``core.parallel.pmap`` can ship it).

    ``item`` carries every setting plus two seeds: ``test_seed`` (the shared test set, regenerated
    identically in every replicate) and ``seed`` (this replicate's training pool and tuners). Returns one
    row per (regime, cascade).
    """
    from ..core.threads import single_thread_blas

    truth, k_max, raw = item["truth"], item["k_max"], item["pipeline"] == "raw"
    ma, mb, cr = item["miscal_a"], item["miscal_b"], item["cert_rate"]
    trng = np.random.default_rng(item["test_seed"])
    test = _trim(simulate(truth, item["n_test"], trng, ma, mb, cr) if raw else simulate(truth, item["n_test"], trng), k_max)
    rng = np.random.default_rng(item["seed"])
    rows = []
    with single_thread_blas():  # every problem here is small: BLAS threads only cost synchronisation
        pool = simulate(truth, item["n_train"], rng, ma, mb, cr) if raw else simulate(truth, item["n_train"], rng)
        low_idx = balanced_subsample(pool.y, item["n_train_low"], rng)
        for regime, idx in (("n_train", np.arange(pool.n)), ("n_train_low", low_idx)):
            tr = _trim(pool.subset(idx), k_max)
            if raw:
                cal = calibrate(tr, test, item["transform"])
                tr_phi, te_phi, n_pen = cal.train_phi, cal.test_phi, cal.n_penalised
            else:
                tr_phi, te_phi, n_pen = tr.phi, test.phi, 0
            model = fit_cascade_model(tr_phi, tr.cost.mean(axis=0), u_grid=item["u_grid"])
            # Fig. 2.8 diagnostics: misfit of each fitted marginal and pairwise copula on (a subsample of) test
            sub = rng.choice(te_phi.shape[0], size=min(item["gof_n"], te_phi.shape[0]), replace=False)
            m_cvm = [marginal_sqrt_cvm(te_phi[sub, j], model.marginals[j]) for j in range(k_max)]
            c_cvm = {(i, j): copula_cvm(te_phi[sub, i], te_phi[sub, j], float(model.theta[i, j]))[0]
                     for i in range(k_max) for j in range(i + 1, k_max)}
            chain = ChainEvaluator(model, item["chain_cells"]) if item["chain_cells"] else None
            for cas in sub_cascades(k_max):
                row, _ = compare_cascade(cas, model, tr_phi, tr.y, tr.cost, te_phi, test.y, test.cost, rng, item["sweep"],
                                         item["grid_levels"], item["bo"], chain=chain)
                row.update({"rep": item["rep"], "regime": regime, "n_train_used": int(idx.size), "n_penalised_calibrators": n_pen,
                            "mean_marginal_cvm": float(np.mean([m_cvm[j] for j in cas])),
                            "mean_copula_cvm": float(np.mean([c_cvm[(a, b)] for a, b in zip(cas[:-1], cas[1:])]))})
                rows.append(row)
    return rows


def tuning_experiment(truth: Truth, *, pipeline: str, transform: str, k_max: int, n_train: int, n_train_low: int,
                      n_test: int, n_reps: int, rng: np.random.Generator, sweep: dict, grid_levels: int = 40,
                      bo: dict | None = None, miscal_a: Sequence[float] | None = None, miscal_b: Sequence[float] | None = None,
                      cert_rate: Sequence[float] | None = None, u_grid: int = 801, progress=None,
                      gof_n: int = 1000, chain_cells: int | None = None) -> pd.DataFrame:
    """RT vs GS (soft, hard) [vs BO] on all sub-cascades of models 0..k_max-1, for n_train and n_train_low.

    Each replicate draws a fresh training pool of ``n_train`` queries; the low-sample set is a balanced
    subsample of it (one correct + one incorrect example per model per round, <= ``n_train_low``); all
    replicates share one test set of ``n_test`` queries. Each row also carries the cascade's mean marginal
    sqrt(CvM) and mean adjacent-pair copula sqrt(n)CvM on ``gof_n`` test points (Fig. 2.8; averaged over
    the k-1 pairs, not divided by k as printed). With ``chain_cells`` every cascade is also tuned with
    "RT-exact" (the fitted model evaluated by :class:`~.chain.ChainEvaluator` instead of Algorithm 1).
    Replicates run through :func:`capfront_lib.core.parallel.pmap` (serial, or on the run's Dask cluster);
    each carries its own seed drawn from ``rng``, so the result does not depend on where it ran.
    """
    from ..core.parallel import pmap

    if pipeline not in ("phi", "raw"):
        raise ValueError(f"pipeline must be 'phi' or 'raw', got {pipeline!r}")
    if not 2 <= k_max <= truth.k:
        raise ValueError(f"k_max must be between 2 and {truth.k}, got {k_max}")
    seeds = rng.integers(0, 2**63 - 1, size=n_reps + 1)
    common = dict(truth=truth, pipeline=pipeline, transform=transform, k_max=k_max, n_train=n_train, n_train_low=n_train_low,
                  n_test=n_test, sweep=dict(sweep), grid_levels=grid_levels, bo=bo, u_grid=u_grid, gof_n=gof_n,
                  chain_cells=chain_cells, cert_rate=cert_rate, test_seed=int(seeds[0]),
                  miscal_a=miscal_a if miscal_a is not None else DEFAULT_MISCAL_A[: truth.k],
                  miscal_b=miscal_b if miscal_b is not None else DEFAULT_MISCAL_B[: truth.k])
    items = [dict(common, rep=r, seed=int(seeds[r + 1])) for r in range(n_reps)]
    out = pmap(tuning_replicate, items, desc="replicates")
    return pd.DataFrame([row for rows in out for row in rows])


# ----------------------------------------------------------------------------------------------
# Per-replicate statistics of the tuning experiment (the claims' values and t-intervals)
# ----------------------------------------------------------------------------------------------


def _pct_col(method: str, base: str) -> str:
    return auc_columns(method, base)[2]


def replicate_means(df: pd.DataFrame, regime: str, base: str, ks: Sequence[int] | None = None, method: str = "RT") -> np.ndarray:
    """Per replicate: mean %Delta AUC of ``method`` vs ``base`` over the cascades with length in ``ks`` (None: all)."""
    col = _pct_col(method, base)
    g = df[df["regime"] == regime]
    if col not in g:
        return np.array([])
    if ks is not None:
        g = g[g["k"].isin(list(ks))]
    return g.groupby("rep")[col].mean().dropna().to_numpy()


def replicate_slopes(df: pd.DataFrame, regime: str, base: str, method: str = "RT") -> np.ndarray:
    """Per replicate: least-squares slope of %Delta AUC on cascade length k over the replicate's cascades."""
    col = _pct_col(method, base)
    g = df[df["regime"] == regime]
    if col not in g:
        return np.array([])
    out = []
    for _, gr in g.groupby("rep"):
        gr = gr[["k", col]].dropna()
        if gr["k"].nunique() >= 2:
            out.append(float(np.polyfit(gr["k"].to_numpy(float), gr[col].to_numpy(float), 1)[0]))
    return np.array(out)


def replicate_widening(df: pd.DataFrame, base: str, ks: Sequence[int], method: str = "RT") -> np.ndarray:
    """Per replicate: mean %Delta (k in ks) in the low-sample regime minus the same in the n_train regime."""
    col = _pct_col(method, base)
    if col not in df:
        return np.array([])
    g = df[df["k"].isin(list(ks))]
    m = g.groupby(["rep", "regime"])[col].mean().unstack("regime")
    if not {"n_train", "n_train_low"} <= set(m.columns):
        return np.array([])
    return (m["n_train_low"] - m["n_train"]).dropna().to_numpy()


def replicate_sensitivity(df: pd.DataFrame, base: str = "GS-soft", regime: str = "n_train") -> np.ndarray:
    """Per replicate: Spearman rho(%Delta, copula misfit) - rho(%Delta, marginal misfit) over its cascades (Fig. 2.8)."""
    col = _pct_col("RT", base)
    out = []
    for _, g in df[df["regime"] == regime].groupby("rep"):
        g = g.dropna(subset=[col])
        if len(g) < 4:
            continue
        rc = stats.spearmanr(g[col], g["mean_copula_cvm"]).statistic
        rm = stats.spearmanr(g[col], g["mean_marginal_cvm"]).statistic
        if rc == rc and rm == rm:
            out.append(float(rc - rm))
    return np.array(out)


def replicate_bo_ratio(df: pd.DataFrame, regime: str = "n_train") -> np.ndarray:
    """Per replicate: median over cascades of BO seconds / RT seconds for a full error-cost curve."""
    if "bo_seconds" not in df:
        return np.array([])
    g = df[df["regime"] == regime].dropna(subset=["bo_seconds"])
    return g.assign(r=g["bo_seconds"] / g["rt_seconds"]).groupby("rep")["r"].median().to_numpy()


def largest_gain(df: pd.DataFrame, regime: str, bases: Sequence[str], method: str = "RT") -> tuple[str, int, np.ndarray]:
    """The (baseline, k) with the most negative mean %Delta in ``regime`` and that cell's per-replicate values."""
    best = None
    for base in bases:
        for k in sorted(df["k"].unique()):
            v = replicate_means(df, regime, base, [int(k)], method)
            if v.size and (best is None or v.mean() < best[2].mean()):
                best = (base, int(k), v)
    if best is None:
        raise ValueError(f"no %Delta values in regime {regime!r}")
    return best


def summarize_gains(df: pd.DataFrame, baselines: Sequence[str] = ("GS-soft", "GS-hard", "BO"), method: str = "RT") -> pd.DataFrame:
    """Mean and SEM of %Delta AUC per (regime, baseline, k) plus one-sided signed-rank p (RT better).

    Replicates of the same cascade are averaged first, so the test is paired by cascade (Sec. 1.9 of
    the spec: scipy ``wilcoxon(base, RT, alternative='greater')``). ``method`` is "RT" (Algorithm 1)
    or "RT-exact" (the exact chain evaluation, if the experiment ran it).
    """
    if method not in RT_METHODS:
        raise ValueError(f"method must be one of {list(RT_METHODS)}, got {method!r}")
    out = []
    for regime, g in df.groupby("regime"):
        for base in baselines:
            rt_col, base_col, col = auc_columns(method, base)
            if col not in g or g[col].isna().all():
                continue
            # cascades whose two curves share no cost range (AUC undefined) are left out and counted
            per_cas = g.groupby(["k", "cascade"])[[col, rt_col, base_col]].mean().reset_index().dropna()
            for k, gk in list(per_cas.groupby("k")) + [("k>=3", per_cas[per_cas["k"] >= 3]), ("all", per_cas)]:
                if len(gk) == 0:
                    continue
                vals = gk[col].to_numpy()
                reps = g[g["k"] == k][col].dropna().to_numpy() if isinstance(k, (int, np.integer)) else vals
                sem_src = reps if len(vals) < 2 else vals
                sem = float(np.std(sem_src, ddof=1) / np.sqrt(len(sem_src))) if len(sem_src) > 1 else float("nan")
                try:
                    p = float(stats.wilcoxon(gk[base_col], gk[rt_col], alternative="greater").pvalue) if len(gk) > 1 else float("nan")
                except ValueError:
                    p = float("nan")
                out.append({"method": method, "regime": regime, "baseline": base, "k": str(k), "mean_pct": float(np.mean(vals)), "sem": sem,
                            "n_cascades": len(gk), "p_signed_rank": p})
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# Runtime scaling (Fig. 2.9)
# ----------------------------------------------------------------------------------------------


def runtime_study(truth: Truth, ks: Sequence[int], resolutions: Sequence[int], n_train: int, rng: np.random.Generator,
                  sweep: dict, res_k: int = 3, u_grid: int = 801, naive_max_candidates: int | None = 64000,
                  chain_cells: int | None = None) -> pd.DataFrame:
    """Seconds and objective evaluations to produce the full error-cost curve: RT vs grid search (Fig. 2.9).

    Versus k at 40 levels; versus resolution h (GS: levels per dimension; RT: lambda growth factor paired
    with it as in the authors' code, r+1 in {3, 2, 1.5, 1.3, 1.2} for 10..50 levels, so finer resolution
    means more lambda values, column ``rt_lambdas``). RT is timed from a cold model (its tables of
    Algorithm 1 are rebuilt inside the timing). Grid search is timed twice: our factorised scorer and,
    unless ``naive_max_candidates`` is None, the naive one (route every training query for every
    candidate). The naive time is MEASURED on the whole grid when it has at most ``naive_max_candidates``
    candidates and otherwise extrapolated linearly from that many (column ``gs_naive_measured``). With
    ``chain_cells`` the curve is also timed for RT-exact (a fresh :class:`~.chain.ChainEvaluator`, so its
    set-up is inside the timing).
    """
    from ..core.threads import single_thread_blas

    train = simulate(truth, n_train, rng)
    model = fit_cascade_model(train.phi, train.cost.mean(axis=0), u_grid=u_grid)

    def timed_rt(cas: list[int], sw: dict) -> Curve:
        model.clear_cache()
        return tune_rt(model, cas, phi_train=train.phi[:, cas], evaluator="algorithm1", **sw)

    def best_grid(cas: list[int], levels: int, repeat: int = 3) -> Curve:
        """The factorised grid search is fast enough to time as the best of ``repeat`` runs (less load noise)."""
        runs = [grid_search(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], levels) for _ in range(repeat)]
        return min(runs, key=lambda c: c.seconds)

    rows = []
    with single_thread_blas():
        for k in ks:
            if k > truth.k:
                continue
            cas = list(range(k))
            rt = timed_rt(cas, sweep)
            gs = best_grid(cas, 40)
            row = {"study": "k", "k": k, "levels": 40, "rt_seconds": rt.seconds, "rt_evals": rt.n_evals, "rt_lambdas": len(rt.lambdas),
                   "gs_seconds": gs.seconds, "gs_evals": gs.n_evals}
            if chain_cells:  # a fresh evaluator builds its matrices lazily, inside tune_rt's timing
                rtx = tune_rt(model, cas, phi_train=train.phi[:, cas], evaluator=ChainEvaluator(model, chain_cells), **sweep)
                row.update({"rtx_seconds": rtx.seconds, "rtx_evals": rtx.n_evals})
            if naive_max_candidates is not None:
                sec, n_total = naive_grid_seconds(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], 40,
                                                  max_candidates=naive_max_candidates)
                row.update({"gs_naive_seconds": sec, "gs_naive_measured": n_total <= naive_max_candidates})
            rows.append(row)
        growth = {10: 3.0, 20: 2.0, 30: 1.5, 40: 1.3, 50: 1.2}
        for L in resolutions:
            g = growth.get(int(L), 1.0 + 10.0 / float(L))
            sw = dict(sweep)
            sw["lambda_r"] = g - 1.0
            sw["max_steps"] = int(np.ceil(24 * np.log(2) / np.log(g)))
            cas = list(range(res_k))
            rt = timed_rt(cas, sw)
            gs = best_grid(cas, int(L))
            rows.append({"study": "resolution", "k": res_k, "levels": int(L), "rt_seconds": rt.seconds, "rt_evals": rt.n_evals,
                         "rt_lambdas": len(rt.lambdas), "gs_seconds": gs.seconds, "gs_evals": gs.n_evals})
    return pd.DataFrame(rows)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y on log x (the exponent b of y ~ x^b)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if lx.size < 2 or np.ptp(lx) == 0:
        return float("nan")
    return float(np.polyfit(lx, ly, 1)[0])


def algorithm1_timing(model: CascadeModel, ks: Sequence[int], rows: int = 200, repeat: int = 7) -> pd.DataFrame:
    """Seconds per batched Algorithm-1 call (``rows`` threshold vectors) for cascades 0..k-1, best of ``repeat``.

    The tables are built before the timing (they are shared by every call of a tuning run)."""
    out = []
    for k in ks:
        th = np.tile(np.linspace(0.5, 0.8, k - 1), (rows, 1))
        model.evaluate(range(k), th)
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            model.evaluate(range(k), th)
            best = min(best, time.perf_counter() - t0)
        out.append({"k": int(k), "seconds_per_call": best, "rows": rows})
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# Size of the goodness-of-fit tests under a correct model (the reading of Tables 2.4 / 2.5)
# ----------------------------------------------------------------------------------------------


def copula_test_size(thetas: Sequence[float], n_fit: int, n_test: int, n_tests: int, n_boot: int,
                     rng: np.random.Generator) -> np.ndarray:
    """p-values of the copula CvM test (theta fitted on ``n_fit`` pairs, statistic on ``n_test`` others) when the
    Gumbel copula is correct; the thetas are cycled over the ``n_tests`` tests."""
    out = []
    for t in range(n_tests):
        th = float(thetas[t % len(thetas)])
        fit = gumbel_sample(n_fit, th, rng)
        test = gumbel_sample(n_test, th, rng)
        out.append(copula_gof(test[:, 0], test[:, 1], rng, n_boot, fit[:, 0], fit[:, 1])["p"])
    return np.array(out)


def marginal_test_size(marginals: Sequence, n_fit: int, n_test: int, n_tests: int, n_boot: int,
                       rng: np.random.Generator) -> np.ndarray:
    """p-values of the marginal sqrt(CvM) test of Table 2.5 (fit on ``n_fit`` draws, test on ``n_test`` others,
    bootstrap from the fitted marginal without refitting) when the beta-mixture family is correct."""
    out = []
    for t in range(n_tests):
        m = marginals[t % len(marginals)]
        fitted = fit_marginal(m.rvs(n_fit, rng))
        out.append(marginal_gof(m.rvs(n_test, rng), fitted, rng, n_boot)["p"])
    return np.array(out)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for a rejection rate k / n (scipy's Clopper-Pearson)."""
    if n < 1:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def naive_grid_seconds(phi: np.ndarray, labels: np.ndarray, cost: np.ndarray, n_levels: int, max_candidates: int = 20000) -> tuple[float, int]:
    """Time of the naive grid search (enumerate candidates, route every training query), extrapolated
    linearly from the first ``max_candidates`` candidates when the grid is larger. Returns (seconds, n)."""
    from .tuning import grid_levels as _levels

    k = phi.shape[1]
    lev = _levels(n_levels)
    tvals = np.array([np.quantile(phi[:, j], lev) for j in range(k - 1)])
    n_total = n_levels ** (k - 1)
    m = min(n_total, max_candidates)
    idx = np.array(np.unravel_index(np.arange(m), (n_levels,) * (k - 1))).T
    th = tvals[np.arange(k - 1)[None, :], idx]
    t0 = time.perf_counter()
    route(phi, labels, cost, th)
    dt = time.perf_counter() - t0
    return dt * n_total / m, n_total


def gain_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Compact view of :func:`summarize_gains`: one row per (method, regime, baseline), mean %Delta per cascade
    length, for k >= 3 and for all cascades, and the signed-rank p over all cascades."""
    s = summary.copy()
    s["col"] = s["k"].map(lambda k: f"k = {k}" if str(k).isdigit() else ("k ≥ 3" if k == "k>=3" else "all"))
    wide = s.pivot_table(index=["method", "regime", "baseline"], columns="col", values="mean_pct", sort=False)
    order = sorted([c for c in wide.columns if c.startswith("k = ")], key=lambda c: int(c[4:])) + \
        [c for c in ("k ≥ 3", "all") if c in wide.columns]
    wide = wide[order].rename(columns={"all": "all k"})
    p = s[s["k"] == "all"].set_index(["method", "regime", "baseline"])["p_signed_rank"]
    wide["p (all)"] = p.reindex(wide.index)
    return wide.reset_index()
