"""Rational Tuning on your evaluation log: calibrate, fit the Markov-copula model, tune, compare on held-out queries.

The log is the core evaluation log (:func:`capfront_lib.core.evallog.load_log`, long form) with, per
(query, model), the 0/1 ``correct`` label, the model's raw ``confidence`` in its answer (a probability in
[0, 1], e.g. the largest answer-letter probability or P("Y") to a verification question) and the
``cost_usd`` of the call. Every model must have been run on every query (a cascade may ask any of them).
The cascade order is the user's (``order``) or, by default, all models from the cheapest to the most
expensive mean cost, as in the thesis' size-ordered cascades.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.core.evallog import EvalLog

from .model import CascadeModel, expected_calibration_error, fit_calibrator, fit_cascade_model
from .tuning import auc_pair, grid_search, pct_change, route, tune_rt

REQUIRED_FIELDS = ("confidence", "cost_usd")
#: cost_usd per query -> USD per million queries (the unit of the thesis' code and of the lambda sweep)
COST_SCALE = 1e6


class LogError(ValueError):
    """The log cannot feed the cascade pipeline (a missing column, a model not in the log, bad confidences)."""


@dataclass
class LogCascadeData:
    """Per-query arrays of one cascade order (queries x models, in cascade order)."""

    models: list[str]
    query_ids: np.ndarray
    y: np.ndarray
    confidence: np.ndarray
    cost: np.ndarray


def cascade_data(log: EvalLog, order: Sequence[str] = ()) -> LogCascadeData:
    """Arrays of the cascade ``order`` (default: all models by increasing mean cost) from generation 0 of ``log``.

    Raises :class:`LogError` with one line naming the file and what is missing: the ``confidence`` /
    ``cost_usd`` columns, models not in the log, confidences outside [0, 1], or cells not run.
    """
    missing = [f for f in REQUIRED_FIELDS if not log.has(f)]
    if missing:
        raise LogError(
            f"{log.source}: the cascade chapter needs the per-model column(s) {missing} (each model's raw confidence in "
            f"its answer, a probability in [0, 1], and the cost of the call in USD); the log has {log.fields}"
        )
    models = list(order) if order else list(log.models)
    unknown = [m for m in models if m not in log.models]
    if unknown:
        raise LogError(f"{log.source}: cascade_models names {unknown}, which the log does not have; its models are {log.models}")
    if len(models) < 2:
        raise LogError(f"{log.source}: a cascade needs at least 2 models, the log has {log.models}")
    sub = log.select(models=models)
    y = sub.array("correct")[:, :, 0]
    conf = sub.array("confidence")[:, :, 0]
    cost = sub.array("cost_usd")[:, :, 0]
    qids = sub.query_ids.to_numpy()
    for name, a in (("correct", y), ("confidence", conf), ("cost_usd", cost)):
        bad = np.argwhere(np.isnan(a))
        if bad.size:
            cells = ", ".join(f"(query {qids[i]!r}, model {models[j]!r})" for i, j in bad[:5])
            raise LogError(f"{log.source}: column {name!r} is empty at {cells}" + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
                           + "; every model of the cascade must have a result on every query")
    bad = np.argwhere((conf < 0) | (conf > 1))
    if bad.size:
        cells = ", ".join(f"(query {qids[i]!r}, model {models[j]!r}) = {conf[i, j]:g}" for i, j in bad[:5])
        raise LogError(f"{log.source}: column 'confidence' must be a probability in [0, 1]; offending cells {cells}")
    if not order:
        idx = np.argsort(cost.mean(axis=0), kind="stable")
        models = [models[i] for i in idx]
        y, conf, cost = y[:, idx], conf[:, idx], cost[:, idx]
    return LogCascadeData(models, qids, y, conf, cost)


@dataclass
class LogCascadeResult:
    """What :func:`tune_on_log` found: calibration, the fitted model, and test curves / AUCs per method."""

    models: list[str]
    n_train: int
    n_test: int
    ece: pd.DataFrame
    theta_adjacent: list[float]
    model: CascadeModel
    test_phi: np.ndarray
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    thresholds: dict[str, np.ndarray]
    auc: pd.DataFrame


def split_queries(n: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train / test split of n queries (each side gets at least 10)."""
    if n < 20:
        raise LogError(f"the log has {n} queries; the cascade pipeline needs at least 20 (10 to fit, 10 to test)")
    n_tr = int(min(max(round(train_fraction * n), 10), n - 10))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_tr]), np.sort(perm[n_tr:])


def tune_on_log(data: LogCascadeData, *, transform: str, train_fraction: float, seed: int, sweep: dict,
                grid_levels: int = 40, u_grid: int = 801) -> LogCascadeResult:
    """Calibrate each model on the training queries (eq. 2.3 on the transform of eqs. 2.16-2.18), fit marginals and
    Gumbel copulas (eqs. 2.7-2.10), tune thresholds with Rational Tuning (eq. 2.11) and grid search (soft and hard
    labels), and compare the curves on the held-out queries by AUC (Sec. 2.4).

    Costs are used in USD per million queries (as in the thesis' code), so the lambda sweep of eq. (2.12) spans
    the cost range of typical API prices; the returned curves are in the same unit.
    """
    tr, te = split_queries(len(data.query_ids), train_fraction, seed)
    cost = data.cost * COST_SCALE
    k = len(data.models)
    for j, m in enumerate(data.models):
        yt = data.y[tr, j]
        if yt.min() == yt.max():
            raise LogError(f"model {m!r} is {'always' if yt[0] == 1 else 'never'} correct on the {tr.size} training queries: "
                           "its confidence cannot be calibrated (raise log_train_fraction or drop the model)")
    with np.errstate(divide="ignore"):
        log_p = np.log(data.confidence)
    cals = [fit_calibrator(log_p[tr, j], data.y[tr, j], transform if transform != "none" else "two_sided") for j in range(k)]
    phi_tr = np.column_stack([c.predict(log_p[tr, j]) for j, c in enumerate(cals)])
    phi_te = np.column_stack([c.predict(log_p[te, j]) for j, c in enumerate(cals)])
    ece = pd.DataFrame({
        "model": data.models,
        "accuracy (test)": data.y[te].mean(axis=0),
        "mean cost (USD per 1M queries)": cost[te].mean(axis=0),
        "ECE (test)": [expected_calibration_error(phi_te[:, j], data.y[te, j]) for j in range(k)],
        "penalised calibrator": [c.penalised for c in cals],
    })
    model = fit_cascade_model(phi_tr, cost[tr].mean(axis=0), u_grid=u_grid)
    cas = list(range(k))
    curves_tr = {
        "RT": tune_rt(model, cas, phi_train=phi_tr, evaluator="algorithm1", **sweep),  # the thesis' method
        "RT-exact": tune_rt(model, cas, phi_train=phi_tr, **sweep),  # the default tuner: exact chain evaluation
        "GS-soft": grid_search(phi_tr, phi_tr, cost[tr], grid_levels),
        "GS-hard": grid_search(phi_tr, data.y[tr], cost[tr], grid_levels),
    }
    curves, thresholds = {}, {}
    for name, c in curves_tr.items():
        acc, mc = route(phi_te, data.y[te], cost[te], c.thresholds)
        curves[name] = (mc, 1.0 - acc)
        thresholds[name] = c.thresholds
    rows = []
    for method in ("RT", "RT-exact"):
        for base in ("GS-soft", "GS-hard"):
            a_rt, a_b = auc_pair(*curves[method], *curves[base])
            rows.append({"method": method, "baseline": base, "AUC RT": a_rt, "AUC baseline": a_b,
                         "%Δ (RT vs baseline)": pct_change(a_rt, a_b)})
    return LogCascadeResult(data.models, int(tr.size), int(te.size), ece,
                            [float(model.theta[i, i + 1]) for i in range(k - 1)], model, phi_te, curves, thresholds,
                            pd.DataFrame(rows))


def write_demo_log(path, truth, n: int, rng: np.random.Generator, names: Sequence[str] | None = None,
                   with_confidence: bool = True) -> pd.DataFrame:
    """Write a long-form log simulated from ``truth`` (raw confidence p, 0/1 correct, cost_usd) for tests and examples."""
    from .simulate import simulate

    d = simulate(truth, n, rng, [0.0] * truth.k, [1.0] * truth.k, [0.0] * truth.k)
    names = list(names) if names is not None else [f"model_{j}" for j in range(truth.k)]
    rows = []
    for i in range(n):
        for j, m in enumerate(names):
            r = {"query_id": f"q{i}", "model": m, "correct": int(d.y[i, j]), "cost_usd": float(d.cost[i, j]) * 1e-6}
            if with_confidence:
                r["confidence"] = float(np.exp(d.log_p[i, j]))
            rows.append(r)
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


#: GSM8K (ZeroEval, public data): the thesis' pool where the public matrix has it (Llama 3.1 8B / 70B / 405B, GPT-4o
#: mini / 4o) plus Qwen2 7B / 72B, ordered by family and size as in the thesis' mixed cascade of Figure 2.1.
GSM8K_POOL: tuple[tuple[str, str], ...] = (
    ("Meta-Llama-3.1-8B-Instruct", "Llama 8B"), ("Meta-Llama-3.1-70B-Instruct", "Llama 70B"),
    ("Llama-3.1-405B-Instruct-Turbo", "Llama 405B"), ("Qwen2-7B-Instruct", "Qwen2 7B"), ("Qwen2-72B-Instruct", "Qwen2 72B"),
    ("gpt-4o-mini-2024-07-18", "GPT-4o mini"), ("gpt-4o-2024-08-06", "GPT-4o"),
)
GSM8K_FILE = "ZeroEval/gsm8k_correct.csv"


def public_agreement(root) -> tuple[pd.DataFrame, pd.Series]:
    """Kendall's tau-b between the 0/1 correctness of every pair of :data:`GSM8K_POOL` models on GSM8K, and accuracies.

    The public matrix has correctness only, no confidences: this is the agreement of the models' answers, a
    coarser relative of Figure 2.1's rank correlation of calibrated confidences (it cannot test that figure).
    """
    from pathlib import Path

    from capfront_lib.core.evallog import load_log
    from scipy import stats as _stats

    log = load_log(Path(root) / GSM8K_FILE, missing="keep_partial")  # other models' blanks must not drop queries
    names = [m for m, _ in GSM8K_POOL]
    absent = [m for m in names if m not in log.models]
    if absent:
        raise LogError(f"{GSM8K_FILE}: the public matrix lacks models {absent}")
    w = log.select(models=names).wide().dropna()
    labels = [lab for _, lab in GSM8K_POOL]
    k = len(names)
    tau = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            tau[i, j] = tau[j, i] = _stats.kendalltau(w.iloc[:, i], w.iloc[:, j]).statistic
    return pd.DataFrame(tau, index=labels, columns=labels), pd.Series(w.mean().to_numpy(), index=labels, name="accuracy")
