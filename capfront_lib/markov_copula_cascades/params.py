"""Typed parameter schema of the ``markov_copula_cascades`` chapter (checked by the runner before a kernel starts).

Names equal the notebook's ``parameters`` cell (a test checks it); defaults live in the notebook. Errors are
one-line :class:`~capfront_lib.core.params.ParameterError` messages naming the parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from capfront_lib.core.params import (
    Bool, Choice, Float, FloatList, Guard, InputPath, Int, IntList, Param, ParameterError, Prob, ResultsDir, Schema,
    Seed, StrList,
)

from .model import TRANSFORMS
from .simulate import TRUTHS

#: values held in memory at once by the largest simulated array (queries x models, float64 + labels + costs)
MAX_CELLS = 30_000_000
#: grid-search candidates of the longest cascade (levels^(k-1); the thesis' k = 5 grid has 2,560,000)
MAX_GRID = 5_000_000
#: tuned error-cost curves in the tuning experiment (cascades x regimes x replicates x methods)
MAX_CURVES = 20_000


@dataclass(frozen=True)
class MarginalRows(Param):
    """A list of per-model rows (phi_min, phi_max, pi, a1, b1, a2, b2) of the true beta-mixture marginals."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or len(value) < 2:
            self._fail(f"must be a list of at least 2 rows (one per model), got {value!r}")
        if self.max_length is not None and len(value) > self.max_length:
            self._fail(f"must describe at most {self.max_length} models, got {len(value)}")
        out = []
        for i, row in enumerate(value):
            if not isinstance(row, (list, tuple)) or len(row) != 7:
                self._fail(f"row {i} must be 7 numbers (phi_min, phi_max, pi, a1, b1, a2, b2), got {row!r}")
            vals = []
            for j, x in enumerate(row):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
                    self._fail(f"row {i} item {j} must be a finite number, got {x!r}")
                vals.append(float(x))
            lo, hi, pi, a1, b1, a2, b2 = vals
            if not 0.0 <= lo < hi <= 1.0:
                self._fail(f"row {i} needs 0 <= phi_min < phi_max <= 1, got {lo:g}, {hi:g}")
            if not 0.0 <= pi <= 1.0:
                self._fail(f"row {i} mixture weight pi must be in [0, 1], got {pi:g}")
            if min(a1, b1, a2, b2) <= 0:
                self._fail(f"row {i} beta shapes must be > 0, got {a1:g}, {b1:g}, {a2:g}, {b2:g}")
            out.append(vals)
        return out

    def describe(self) -> str:
        return "list of [phi_min, phi_max, pi, a1, b1, a2, b2] rows, one per model"


def _n_models(p: Mapping[str, Any]) -> int:
    return len(p["true_marginals"])


def _per_model_lengths(p: Mapping[str, Any]) -> str | None:
    k = _n_models(p)
    if len(p["true_thetas"]) != k - 1:
        return f"parameter 'true_thetas' needs {k - 1} values (one per adjacent pair of the {k} models), got {len(p['true_thetas'])}"
    for name in ("cert_rate", "miscal_a", "miscal_b", "prices"):
        if len(p[name]) != k:
            return f"parameter {name!r} needs {k} values (one per model of true_marginals), got {len(p[name])}"
    return None


def _sizes(p: Mapping[str, Any]) -> str | None:
    k = _n_models(p)
    if p["k_max"] > k:
        return f"parameter 'k_max' ({p['k_max']}) cannot exceed the number of models in true_marginals ({k})"
    if p["n_train_low"] > p["n_train"]:
        return f"parameter 'n_train_low' ({p['n_train_low']}) cannot exceed n_train ({p['n_train']})"
    if p["gof_n_test"] > p["n_test"]:
        return f"parameter 'gof_n_test' ({p['gof_n_test']}) cannot exceed n_test ({p['n_test']})"
    if 0 < p["chain_cells"] < 10:
        return f"parameter 'chain_cells' must be 0 (off) or at least 10, got {p['chain_cells']}"
    ex = p["example_cascade"]
    if len(set(ex)) != len(ex) or list(ex) != sorted(ex) or max(ex) >= k:
        return f"parameter 'example_cascade' must be >= 2 increasing model indices below {k}, got {ex}"
    if max(p["runtime_ks"]) > k:
        return f"parameter 'runtime_ks' holds cascade lengths up to {k} (the number of models), got {p['runtime_ks']}"
    if p["mc_N"] < 20 * 10:
        return f"parameter 'mc_N' must be at least 200 (10 Monte Carlo batches of 20), got {p['mc_N']}"
    return None


def _log_order(p: Mapping[str, Any]) -> str | None:
    order = p["cascade_models"]
    if len(set(order)) != len(order):
        return f"parameter 'cascade_models' must not repeat a model, got {order}"
    if order and len(order) < 2:
        return f"parameter 'cascade_models' needs at least 2 models (or [] for all models by mean cost), got {order}"
    return None


def _cells(p: Mapping[str, Any]) -> float:
    k = _n_models(p)
    return float(max(p["n_test"], p["mc_N"], p["n_train"])) * k * 4


def _grid(p: Mapping[str, Any]) -> float:
    return float(max(p["grid_levels"], 40)) ** (max(p["k_max"], max(p["runtime_ks"])) - 1)


def _curves(p: Mapping[str, Any]) -> float:
    from math import comb

    n_cas = sum(comb(p["k_max"], r) for r in range(2, p["k_max"] + 1))
    return float(n_cas) * 2 * p["n_reps"] * 5


SCHEMA = Schema(
    "markov_copula_cascades",
    [
        Seed("seed"),
        Choice("pipeline", ["phi", "raw"], help="phi: tuners see the true calibrated confidence; raw: fitted calibrators"),
        Choice("transform", list(TRANSFORMS), help="calibrator feature (eqs. 2.16-2.17) or 'none' (ablation)"),
        Choice("truth", list(TRUTHS), help="dependence of the simulated ground truth"),
        FloatList("true_thetas", min=1.0, help="Gumbel theta of each adjacent pair (>= 1)"),
        MarginalRows("true_marginals", "float-matrix", "true beta-mixture marginal per model", max_length=12),
        FloatList("cert_rate", min=0.0, max=1.0, help="fraction of raw confidences equal to 1 per model"),
        FloatList("miscal_a", help="raw-signal miscalibration offset per model"),
        FloatList("miscal_b", min=0.0, strict_min=True, help="raw-signal miscalibration slope per model (> 0)"),
        FloatList("prices", min=0.0, help="$ per million tokens per model"),
        Float("tokens_in", min=0.0, max=1e6, help="mean input tokens per query"),
        Float("tokens_out", min=0.0, max=1e6, help="mean output tokens per query"),
        Int("k_max", min=2, max=12, help="cascades of length 2..k_max over the first k_max models"),
        Int("n_train", min=20, max=1_000_000, help="training pool per replicate"),
        Int("n_train_low", min=4, max=1_000_000, help="low-sample regime (balanced pairs)"),
        Int("n_test", min=200, max=5_000_000, help="simulated test queries"),
        Int("n_reps", min=1, max=1000, help="replicate training draws"),
        FloatList("lambda_start", min=0.0, help="first lambdas of the sweep"),
        Float("lambda_r", min=0.0, strict_min=True, max=100.0, help="lambda <- (1 + r) lambda (eq. 2.12)"),
        Int("lambda_max_steps", min=1, max=1000, help="geometric lambda steps after the start values"),
        Float("cost_stop", min=1.0, max=1000.0, help="stop when E[cost] <= cost_stop * E[C_1]"),
        Prob("infill_q", open=True, help="largest probability-mass gap between consecutive thresholds (eq. 2.13)"),
        Float("eps_box", min=0.0, strict_min=True, max=0.05, help="interior margin of the threshold box"),
        Int("grid_levels", min=2, max=60, help="grid-search quantile levels per threshold"),
        Choice("bo_backend", ["gp", "none"], help="Bayesian optimisation baseline: Gaussian process + EI, or off"),
        Choice("bo_scope", ["example", "all"], help="BO on the example cascade only, or on every cascade"),
        Int("bo_batch", min=1, max=64, help="suggestions per BO iteration"),
        Float("bo_tol", min=0.0, strict_min=True, max=1.0, help="BO stops when the best loss changes less than this"),
        Int("bo_max_iter", min=2, max=1000, help="cap on BO iterations per lambda"),
        Bool("bo_fit_kernel", help="refit the GP kernel by marginal likelihood at every BO iteration"),
        IntList("example_cascade", min=0, min_length=2, help="model indices of the error-cost figure"),
        IntList("runtime_ks", min=2, min_length=1, sorted=True, help="cascade lengths of the runtime study"),
        IntList("runtime_resolutions", min=2, max=60, min_length=2, sorted=True, help="grid levels of the resolution study"),
        Int("u_grid", min=51, max=100_001, help="integration grid of Algorithm 1"),
        Int("chain_cells", min=0, max=5000, help="cells of the exact chain evaluation (RT-exact); 0 = off"),
        Int("gof_B", min=10, max=100_000, help="bootstrap size of the goodness-of-fit tables"),
        Int("gof_n_test", min=50, max=5_000_000, help="test points per goodness-of-fit test"),
        Int("size_tests", min=1, max=10_000, help="goodness-of-fit tests per test-size check (Tables 2.4/2.5 reading)"),
        Int("size_B", min=10, max=100_000, help="bootstrap size of the test-size checks"),
        Int("mc_N", min=200, max=10_000_000, help="Monte Carlo size of the Proposition-2 check"),
        Int("n_prop2_thresholds", min=1, max=10_000, help="random threshold vectors per cascade length"),
        InputPath("outcomes_path", help="your evaluation log with per-model 'confidence' and 'cost_usd' ('' = none)"),
        StrList("cascade_models", help="your log: models in cascade order ([] = all models, cheapest first)"),
        Prob("log_train_fraction", open=True, help="your log: fraction of queries used to fit and tune"),
        ResultsDir("results_dir"),
    ],
    checks=[_per_model_lengths, _sizes, _log_order],
    guards=[
        Guard("max(n_test, mc_N, n_train) x models x 4 arrays", _cells, MAX_CELLS, "values", "lower n_test / mc_N"),
        Guard("grid-search candidates levels^(k-1) of the longest cascade", _grid, MAX_GRID, "candidates",
              "lower k_max / runtime_ks or grid_levels"),
        Guard("tuned curves: cascades x 2 regimes x n_reps x methods", _curves, MAX_CURVES, "curves", "lower k_max or n_reps"),
    ],
)

__all__ = ["SCHEMA", "MarginalRows", "ParameterError"]
