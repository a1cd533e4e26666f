"""The co-failure certificate report (spec §2.18): ``certificate()`` and its text rendering.

``capfront certificate`` is a thin wrapper around :func:`certificate`; the JSON keys are documented
in the README (section on ``capfront certificate``) and are stable (``schema_version`` 1).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from capfront_lib.cofailure.copula import beta_sf, pairwise_summary
from capfront_lib.cofailure.pool import cp_lower, cp_upper, regime, single_best

__all__ = ["JSON_KEYS", "coverage_filter", "outcome_frame", "outcome_matrix", "certificate", "format_certificate"]

JSON_KEYS: tuple[str, ...] = (
    "schema_version", "input", "alpha", "missing_policy", "min_model_coverage", "n_queries", "n_models", "models",
    "dropped_models", "n_dropped_queries", "n_missing_cells", "n_correct", "n_answered", "accuracy", "single_best",
    "single_best_accuracy", "oracle", "gain", "n_all_wrong", "n_all_wrong_complete", "beta", "beta_ci", "beta_lo",
    "asb_lo", "certified_max_gain", "mean_pearson", "mean_tetrachoric", "n_pairs_clamped", "n_models_degenerate",
    "beta_sf", "beta_sf_pearson", "underpricing_ratio", "underpricing_ratio_pearson", "co_failure_share",
    "co_failure_share_ci", "regime", "regime_certified", "regime_tau", "n_pairs", "n_pairs_used", "pairs_sampled",
    "mean_pearson_exact",
)

MISSING = ("drop-incomplete", "keep-partial")


def outcome_frame(outcomes, source: str = "outcomes") -> pd.DataFrame:
    """Wide queries x models frame of 0/1 floats (NaN = not run) from an EvalLog or a DataFrame."""
    A, models, ids, source = outcome_matrix(outcomes, source)
    return pd.DataFrame(A, index=ids, columns=models)


def outcome_matrix(outcomes, source: str = "outcomes") -> tuple[np.ndarray, list[str], list, str]:
    """(A, models, query ids, source): A is the n x m float array of 0/1 (NaN = not run), no copy for a log."""
    if hasattr(outcomes, "array") and hasattr(outcomes, "n_generations"):
        if outcomes.n_generations != 1:
            raise ValueError(f"{outcomes.source}: the certificate needs one generation per (query, model); "
                             f"the log has {outcomes.n_generations}")
        A = outcomes.array("correct")[:, :, 0]
        models, ids, source = list(outcomes.models), list(outcomes.query_ids), outcomes.source
    elif isinstance(outcomes, pd.DataFrame):
        df = outcomes.copy()
        if "id" in df.columns:
            df = df.set_index("id")
        df = df.drop(columns=[c for c in ("category",) if c in df.columns])
        df = df.apply(pd.to_numeric, errors="raise").astype(float)
        A, models, ids = df.to_numpy(), [str(c) for c in df.columns], list(df.index)
    else:
        raise ValueError(f"{source}: outcomes must be an EvalLog or a wide DataFrame, got {type(outcomes).__name__}")
    bad = ~(np.isnan(A) | (A == 0) | (A == 1))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{source}: column {models[j]!r} must be binary 0/1; first offending row {ids[i]!r} = {A[i, j]!r}")
    return A, models, ids, source


def coverage_filter(df: pd.DataFrame, min_model_coverage: float = 0.95) -> tuple[pd.DataFrame, list[str]]:
    """Drop models that answered fewer than ``min_model_coverage`` of the ids (spec §1, authors' rule)."""
    keep = _coverage_mask(df.notna().to_numpy(), min_model_coverage)
    return df.loc[:, keep], [str(c) for c, k in zip(df.columns, keep) if not k]


def _coverage_mask(obs: np.ndarray, min_model_coverage: float) -> np.ndarray:
    if not 0 <= min_model_coverage <= 1:
        raise ValueError(f"min_model_coverage must lie in [0, 1], got {min_model_coverage}")
    return obs.mean(axis=0) >= min_model_coverage


def _num(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def certificate(outcomes, alpha: float = 0.05, missing: str = "drop-incomplete", *, min_model_coverage: float = 0.95,
                zero_cell: str = "clamp", regime_tau: float = 0.25, input: str | None = None, source: str | None = None) -> dict:
    """Certificate report of spec §2.18 on a wide outcome log (Prop. 1 + §2.3–§2.4 + §2.17).

    ``alpha`` is delta of Prop. 1(iii): two-sided CP interval on beta at level 1 - alpha, one-sided
    limits at alpha/2 (beta) and alpha/(2m) (each model, Bonferroni) in U = (1 - beta_lo) - asb_lo.
    ``missing``: "drop-incomplete" (complete rows after the coverage rule) or "keep-partial" (every row
    kept; sound bounds: K_complete for lower limits, K for the upper limit, missing = wrong per model).
    Returns a dict with exactly the keys :data:`JSON_KEYS` (undefined values are ``None``).
    """
    src = source or input or getattr(outcomes, "source", "outcomes")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"{src}: alpha must lie in (0, 1), got {alpha!r}")
    if missing not in MISSING:
        raise ValueError(f"{src}: missing must be one of {MISSING}, got {missing!r}")
    A, models, _, _ = outcome_matrix(outcomes, src)
    if A.shape[0] == 0:
        raise ValueError(f"{src}: the log has no rows")
    obs = ~np.isnan(A)
    keep = _coverage_mask(obs, min_model_coverage)
    dropped_models = [mdl for mdl, k in zip(models, keep) if not k]
    if keep.sum() < 2:
        raise ValueError(f"{src}: fewer than two models left after the coverage rule (min_model_coverage = "
                         f"{min_model_coverage}); dropped {dropped_models}")
    if not keep.all():
        A, obs = A[:, keep], obs[:, keep]
        models = [mdl for mdl, k in zip(models, keep) if k]
    n_rows_in = A.shape[0]
    if missing == "drop-incomplete":
        rows = obs.all(axis=1)
        if not rows.any():
            raise ValueError(f"{src}: no complete rows left after the coverage rule (try --keep-partial)")
        if not rows.all():
            A, obs = A[rows], obs[rows]
    n_dropped = n_rows_in - A.shape[0]
    n, m = A.shape
    n_missing = int((~obs).sum())
    right = obs & (A == 1)
    c = right.sum(axis=0).astype(float)
    ans = obs.sum(axis=0)
    if np.any(ans == 0):
        raise ValueError(f"{src}: model(s) {[models[i] for i in np.flatnonzero(ans == 0)]} answered no remaining row")
    acc = c / ans
    b = single_best(acc)
    a_sb = float(acc[b])
    any_right = right.any(axis=1)
    K = int(np.sum(~any_right))
    K_complete = int(np.sum(obs.all(axis=1) & ~any_right))
    del right
    beta = K / n
    oracle = 1 - beta
    # CP limits: lower from K_complete, upper from K (equal under drop-incomplete)
    lo = float((alpha / 2) ** (1 / n)) if K_complete == n else float(cp_lower(K_complete, n, alpha / 2))
    hi = float(1 - (alpha / 2) ** (1 / n)) if K == 0 else float(cp_upper(K, n, alpha / 2))
    beta_lo = float(cp_lower(K_complete, n, alpha / 2))
    asb_lo = float(np.max(cp_lower(c, n, alpha / (2 * m))))  # missing counts as wrong: c_i out of n
    U = (1 - beta_lo) - asb_lo
    # correlations (pairwise-complete rows); beyond EXACT_PAIRS_MAX pairs rbar uses a stated sample of pairs
    pw = pairwise_summary(A, zero_cell=zero_cell)
    good = ~pw.degenerate
    phibar, rbar = pw.phibar, pw.rbar
    if good.sum() >= 2:
        t = pw.thresholds[good]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bsf = beta_sf(t, rbar) if math.isfinite(rbar) else float("nan")
            bsf_p = beta_sf(t, phibar) if math.isfinite(phibar) else float("nan")
    else:
        bsf = bsf_p = float("nan")
    ratio = beta / bsf if (math.isfinite(bsf) and bsf > 0) else None
    ratio_p = beta / bsf_p if (math.isfinite(bsf_p) and bsf_p > 0) else None
    if a_sb < 1:
        s = beta / (1 - a_sb)
        s_ci = [lo / (1 - a_sb), min(hi / (1 - a_sb), 1.0)]
        lab, cert = regime(s, s_ci[0], s_ci[1], regime_tau)
    else:
        s, s_ci, lab, cert = None, [None, None], "realizability-bound", False
    out = {
        "schema_version": 1,
        "input": input if input is not None else str(src),
        "alpha": float(alpha),
        "missing_policy": missing,
        "min_model_coverage": float(min_model_coverage),
        "n_queries": int(n),
        "n_models": int(m),
        "models": models,
        "dropped_models": dropped_models,
        "n_dropped_queries": int(n_dropped),
        "n_missing_cells": n_missing,
        "n_correct": {k: int(v) for k, v in zip(models, c)},
        "n_answered": {k: int(v) for k, v in zip(models, ans)},
        "accuracy": {k: float(v) for k, v in zip(models, acc)},
        "single_best": models[b],
        "single_best_accuracy": a_sb,
        "oracle": float(oracle),
        "gain": float(oracle - a_sb),
        "n_all_wrong": K,
        "n_all_wrong_complete": K_complete,
        "beta": float(beta),
        "beta_ci": [lo, hi],
        "beta_lo": beta_lo,
        "asb_lo": asb_lo,
        "certified_max_gain": float(U),
        "mean_pearson": _num(phibar),
        "mean_tetrachoric": _num(rbar),
        "n_pairs_clamped": int(pw.n_clamped),
        "n_models_degenerate": int(pw.degenerate.sum()),
        "beta_sf": _num(bsf),
        "beta_sf_pearson": _num(bsf_p),
        "underpricing_ratio": _num(ratio),
        "underpricing_ratio_pearson": _num(ratio_p),
        "co_failure_share": _num(s),
        "co_failure_share_ci": [_num(s_ci[0]), _num(s_ci[1])],
        "regime": lab,
        "regime_certified": bool(cert),
        "regime_tau": float(regime_tau),
        "n_pairs": int(pw.n_pairs),
        "n_pairs_used": int(pw.n_pairs_used),
        "pairs_sampled": bool(pw.sampled),
        "mean_pearson_exact": bool(pw.phibar_exact),
    }
    assert tuple(out) == JSON_KEYS
    _check_finite(out, src)
    return out


def _check_finite(obj: Any, src: str, path: str = "") -> None:
    """A success output never carries NaN or infinity (JSON has no token for them)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, src, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_finite(v, src, f"{path}[{i}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{src}: internal error, {path} is not finite ({obj}); please report this input")


def _f(x, fmt=".4f") -> str:
    return "n/a" if x is None else format(x, fmt)


def format_certificate(r: dict) -> str:
    """Plain-text rendering of a :func:`certificate` result, in the order of spec §2.18."""
    a = r["alpha"]
    lines = [f"co-failure certificate for {r['input']}  (alpha = {a:g}, missing policy: {r['missing_policy']})", ""]
    lines.append(f"1. queries n = {r['n_queries']}, models m = {r['n_models']}")
    lines.append(f"   coverage rule (min_model_coverage = {r['min_model_coverage']:g}) dropped {len(r['dropped_models'])} model(s)"
                 + (f": {', '.join(r['dropped_models'])}" if r["dropped_models"] else ""))
    lines.append(f"   dropped rows: {r['n_dropped_queries']}; missing cells kept: {r['n_missing_cells']}")
    lines.append("2. per-model accuracy (correct / answered), best first:")
    order = sorted(r["models"], key=lambda k: -r["accuracy"][k])
    w = max(len(k) for k in order)
    for k in order:
        lines.append(f"   {k:<{w}}  {r['n_correct'][k]:>7d} / {r['n_answered'][k]:<7d} {r['accuracy'][k]:.4f}")
    lines.append(f"3. single best: {r['single_best']} ({r['single_best_accuracy']:.4f})")
    lines.append(f"4. oracle V_o = 1 - beta = {r['oracle']:.4f}; point gain G = V_o - a_sb = {r['gain']:.4f}")
    lo, hi = r["beta_ci"]
    lines.append(f"5. all-wrong rate beta = K/n = {r['n_all_wrong']}/{r['n_queries']} = {r['beta']:.5f}, "
                 f"{100 * (1 - a):g}% Clopper-Pearson [{lo:.5f}, {hi:.5f}]"
                 + (f" (K_complete = {r['n_all_wrong_complete']})" if r["missing_policy"] == "keep-partial" else ""))
    lines.append(f"6. certified maximum gain U = (1 - beta_lo) - asb_lo = (1 - {r['beta_lo']:.5f}) - {r['asb_lo']:.4f} = "
                 f"{r['certified_max_gain']:.4f}")
    lines.append(f"   with probability >= 1 - {a:g}, no policy whose output is one member's answer gains more than "
                 f"{r['certified_max_gain']:.4f} over the best single model")
    lines.append(f"7. mean pairwise Pearson phibar = {_f(r['mean_pearson'], '.3f')}, mean tetrachoric rbar = "
                 f"{_f(r['mean_tetrachoric'], '.3f')} (clamped zero-cell pairs: {r['n_pairs_clamped']}; models left out "
                 f"of the copula fit, accuracy 0 or 1: {r['n_models_degenerate']})")
    if r["pairs_sampled"]:
        lines.append(f"   rbar over a uniform random sample of {r['n_pairs_used']:,} of the {r['n_pairs']:,} pairs (seed 0); "
                     f"phibar {'exact over all pairs' if r['mean_pearson_exact'] else 'over the same sample'}")
    lines.append(f"8. single-factor predicted beta: beta_sf(t, rbar) = {_f(r['beta_sf'], '.3g')} (tetrachoric, primary); "
                 f"beta_sf(t, phibar) = {_f(r['beta_sf_pearson'], '.3g')} (Pearson trap)")
    lines.append(f"9. underpricing ratio beta / beta_sf = {_f(r['underpricing_ratio'], '.3g')} (Pearson-calibrated: "
                 f"{_f(r['underpricing_ratio_pearson'], '.3g')})")
    s_lo, s_hi = r["co_failure_share_ci"]
    lines.append(f"10. co-failure share s = beta/(1 - a_sb) = {_f(r['co_failure_share'], '.3f')} "
                 f"[{_f(s_lo, '.3f')}, {_f(s_hi, '.3f')}] -> {r['regime']}"
                 + (", certified" if r["regime_certified"] else ", not certified") + f" (tau = {r['regime_tau']:g})")
    return "\n".join(lines)
