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
from .gof import copula_cvm, marginal_sqrt_cvm
from .model import CascadeModel, expected_calibration_error, fit_calibrator, fit_cascade_model, fit_gumbel_theta
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
                rng: np.random.Generator, u_grid: int = 801, chain_cells: int | None = None) -> pd.DataFrame:
    """Model (Prop. 2 / Algorithm 1 with true parameters) vs Monte Carlo at random thresholds, per k.

    With ``chain_cells`` the exact chain evaluation of the same (true) model is added
    (columns ``P_chain``, ``C_chain``, ``dP_chain``, ``dC_rel_chain``).
    """
    big = simulate(truth, mc_n, rng).phi
    model = true_model(truth, costs, u_grid, big)
    chain = ChainEvaluator(model, chain_cells) if chain_cells else None
    rows = []
    for k in ks:
        if k > truth.k:
            continue
        cas = list(range(k))
        qs = rng.uniform(0.2, 0.8, size=(n_thresholds, k - 1))
        th = np.column_stack([truth.marginals[j].ppf(qs[:, j]) for j in range(k - 1)])
        p_m, c_m = model.evaluate(cas, th)
        p_mc, c_mc = monte_carlo_cascade(big, costs, cas, th)
        p_x, c_x = chain.evaluate(cas, th) if chain is not None else (np.full(n_thresholds, np.nan),) * 2
        for r in range(n_thresholds):
            rows.append({"truth": truth.kind, "k": k, "thresholds": th[r].tolist(), "P_model": p_m[r], "P_mc": p_mc[r],
                         "C_model": c_m[r], "C_mc": c_mc[r], "P_chain": p_x[r], "C_chain": c_x[r]})
    df = pd.DataFrame(rows)
    df["dP"] = df["P_model"] - df["P_mc"]
    df["dC_rel"] = (df["C_model"] - df["C_mc"]) / df["C_mc"]
    df["dP_chain"] = df["P_chain"] - df["P_mc"]
    df["dC_rel_chain"] = (df["C_chain"] - df["C_mc"]) / df["C_mc"]
    return df


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
    rt = tune_rt(model, cas, phi_train=train_phi[:, cas], **sweep)
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
        o = tune_rt(om, cas, **sweep)
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


def tuning_experiment(truth: Truth, *, pipeline: str, transform: str, k_max: int, n_train: int, n_train_low: int,
                      n_test: int, n_reps: int, rng: np.random.Generator, sweep: dict, grid_levels: int = 40,
                      bo: dict | None = None, miscal_a: Sequence[float] | None = None, miscal_b: Sequence[float] | None = None,
                      cert_rate: Sequence[float] | None = None, u_grid: int = 801, progress=lambda x: x,
                      gof_n: int = 1000, chain_cells: int | None = None) -> pd.DataFrame:
    """RT vs GS (soft, hard) [vs BO] on all sub-cascades of models 0..k_max-1, for n_train and n_train_low.

    Each replicate draws a fresh training pool of ``n_train`` queries; the low-sample set is a balanced
    subsample of it (one correct + one incorrect example per model per round, <= ``n_train_low``).
    Each row also carries the cascade's mean marginal sqrt(CvM) and mean adjacent-pair copula sqrt(n)CvM
    on ``gof_n`` test points (Fig. 2.8; averaged over the k-1 pairs, not divided by k as printed).
    With ``chain_cells`` every cascade is also tuned with "RT-exact" (the fitted model evaluated by
    :class:`~.chain.ChainEvaluator` on that many cells instead of Algorithm 1).
    """
    if pipeline not in ("phi", "raw"):
        raise ValueError(f"pipeline must be 'phi' or 'raw', got {pipeline!r}")
    raw = pipeline == "raw"
    ma = miscal_a if miscal_a is not None else DEFAULT_MISCAL_A[: truth.k]
    mb = miscal_b if miscal_b is not None else DEFAULT_MISCAL_B[: truth.k]
    test = simulate(truth, n_test, rng, ma, mb, cert_rate) if raw else simulate(truth, n_test, rng)
    test = type(test)(test.phi[:, :k_max], test.y[:, :k_max], test.cost[:, :k_max], None if test.log_p is None else test.log_p[:, :k_max])
    cascades = sub_cascades(k_max)
    rows = []
    for rep in progress(range(n_reps)):
        pool = simulate(truth, n_train, rng, ma, mb, cert_rate) if raw else simulate(truth, n_train, rng)
        low_idx = balanced_subsample(pool.y, n_train_low, rng)
        for regime, idx in (("n_train", np.arange(pool.n)), ("n_train_low", low_idx)):
            tr = pool.subset(idx)
            tr = type(tr)(tr.phi[:, :k_max], tr.y[:, :k_max], tr.cost[:, :k_max], None if tr.log_p is None else tr.log_p[:, :k_max])
            if raw:
                cal = calibrate(tr, test, transform)
                tr_phi, te_phi, n_pen = cal.train_phi, cal.test_phi, cal.n_penalised
            else:
                tr_phi, te_phi, n_pen = tr.phi, test.phi, 0
            model = fit_cascade_model(tr_phi, tr.cost.mean(axis=0), u_grid=u_grid)
            # Fig. 2.8 diagnostics: misfit of each fitted marginal and pairwise copula on (a subsample of) test
            sub = rng.choice(te_phi.shape[0], size=min(gof_n, te_phi.shape[0]), replace=False)
            m_cvm = [marginal_sqrt_cvm(te_phi[sub, j], model.marginals[j]) for j in range(k_max)]
            c_cvm = {(i, j): copula_cvm(te_phi[sub, i], te_phi[sub, j], float(model.theta[i, j]))[0]
                     for i in range(k_max) for j in range(i + 1, k_max)}
            chain = ChainEvaluator(model, chain_cells) if chain_cells else None
            for cas in cascades:
                row, _ = compare_cascade(cas, model, tr_phi, tr.y, tr.cost, te_phi, test.y, test.cost, rng, sweep,
                                         grid_levels, bo, chain=chain)
                row.update({"rep": rep, "regime": regime, "n_train_used": int(idx.size), "n_penalised_calibrators": n_pen,
                            "mean_marginal_cvm": float(np.mean([m_cvm[j] for j in cas])),
                            "mean_copula_cvm": float(np.mean([c_cvm[(a, b)] for a, b in zip(cas[:-1], cas[1:])]))})
                rows.append(row)
    return pd.DataFrame(rows)


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
                  sweep: dict, res_k: int = 3, u_grid: int = 801, naive_max_candidates: int | None = 4000,
                  chain_cells: int | None = None) -> pd.DataFrame:
    """Seconds and objective evaluations to produce the full error-cost curve: RT vs grid search.

    Versus k at 40 levels; versus resolution h (GS: levels per dimension; RT: lambda growth factor
    paired with it as in the authors' code, r+1 in {3, 2, 1.5, 1.3, 1.2} for 10..50 levels). RT is timed
    from a cold model (its tables of Algorithm 1 are rebuilt inside the timing). Grid search is timed
    twice: our factorised scorer and, unless ``naive_max_candidates`` is None, the naive one (route every
    training query for every candidate, extrapolated from that many candidates, see
    :func:`naive_grid_seconds`). With ``chain_cells`` the curve is also timed for RT-exact (a fresh
    :class:`~.chain.ChainEvaluator`, so its set-up is inside the timing).
    """
    train = simulate(truth, n_train, rng)
    model = fit_cascade_model(train.phi, train.cost.mean(axis=0), u_grid=u_grid)

    def timed_rt(cas: list[int], sw: dict) -> Curve:
        model.clear_cache()
        return tune_rt(model, cas, phi_train=train.phi[:, cas], **sw)

    rows = []
    for k in ks:
        if k > truth.k:
            continue
        cas = list(range(k))
        rt = timed_rt(cas, sweep)
        gs = grid_search(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], 40)
        row = {"study": "k", "k": k, "levels": 40, "rt_seconds": rt.seconds, "rt_evals": rt.n_evals,
               "gs_seconds": gs.seconds, "gs_evals": gs.n_evals}
        if chain_cells:  # a fresh evaluator builds its matrices lazily, inside tune_rt's timing
            rtx = tune_rt(model, cas, phi_train=train.phi[:, cas], evaluator=ChainEvaluator(model, chain_cells), **sweep)
            row.update({"rtx_seconds": rtx.seconds, "rtx_evals": rtx.n_evals})
        if naive_max_candidates is not None:
            row["gs_naive_seconds"] = naive_grid_seconds(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], 40,
                                                         max_candidates=naive_max_candidates)[0]
        rows.append(row)
    growth = {10: 3.0, 20: 2.0, 30: 1.5, 40: 1.3, 50: 1.2}
    for L in resolutions:
        g = growth.get(int(L), 1.0 + 10.0 / float(L))
        sw = dict(sweep)
        sw["lambda_r"] = g - 1.0
        sw["max_steps"] = int(np.ceil(24 * np.log(2) / np.log(g)))
        cas = list(range(res_k))
        rt = timed_rt(cas, sw)
        gs = grid_search(train.phi[:, cas], train.phi[:, cas], train.cost[:, cas], int(L))
        rows.append({"study": "resolution", "k": res_k, "levels": int(L), "rt_seconds": rt.seconds, "rt_evals": rt.n_evals,
                     "gs_seconds": gs.seconds, "gs_evals": gs.n_evals})
    return pd.DataFrame(rows)


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
