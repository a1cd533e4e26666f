"""Typed parameter schema of the ``co_failure_ceiling`` chapter (checked by the runner before a kernel starts,
and by the notebook in one line: ``check_parameters("co_failure_ceiling", globals())``)."""

from __future__ import annotations

from math import comb

from capfront_lib.core.params import (
    Bool, Choice, Float, FloatList, Guard, InputPath, Int, IntList, Prob, ResultsDir, Schema, Seed,
)

__all__ = ["SCHEMA"]


def _acc_range(p) -> str | None:
    lo, hi = p["sim_acc_range"]
    if not 0 < lo <= hi < 1:
        return f"parameter 'sim_acc_range' must be [lo, hi] with 0 < lo <= hi < 1, got {p['sim_acc_range']!r}"
    return None


def _rho_sum(p) -> str | None:
    if p["sim_rho_common"] + p["sim_rho_family"] >= 1:
        return (f"parameters 'sim_rho_common' + 'sim_rho_family' must be < 1 (the idiosyncratic share 1 - sum is a "
                f"variance), got {p['sim_rho_common']} + {p['sim_rho_family']}")
    return None


def _atoms(p) -> str | None:
    if p["sim_atom_hard"] + p["sim_atom_ref"] >= 1:
        return f"parameters 'sim_atom_hard' + 'sim_atom_ref' must be < 1, got {p['sim_atom_hard']} + {p['sim_atom_ref']}"
    return None


def _samples(p) -> str | None:
    if p["eqq_kmax"] > p["sim_samples"] - 3:
        return (f"parameter 'eqq_kmax' ({p['eqq_kmax']}) must be <= sim_samples - 3 = {p['sim_samples'] - 3} "
                "(3 samples per model are held out for estimation)")
    return None


def _checks(p) -> str | None:
    if p["lp_linprog_checks"] > p["lp_budgets"]:
        return f"parameter 'lp_linprog_checks' ({p['lp_linprog_checks']}) must be <= lp_budgets ({p['lp_budgets']})"
    return None


def _families(p) -> str | None:
    if p["sim_family_size"] > p["sim_models"]:
        return f"parameter 'sim_family_size' ({p['sim_family_size']}) must be <= sim_models ({p['sim_models']})"
    return None


def _sign(p) -> str | None:
    if p["confidence_sign"] not in (-1, 1):
        return f"parameter 'confidence_sign' must be 1 or -1, got {p['confidence_sign']}"
    return None


def _triplets(p) -> float:
    m = p["sim_models"]
    return comb(m, 3) if p["max_triplets"] == 0 else min(p["max_triplets"], comb(m, 3))


SCHEMA = Schema(
    "co_failure_ceiling",
    [
        Seed("seed", "master seed; each section draws from its own SeedSequence child"),
        InputPath("outcomes_path", "evaluation log (long or wide, core loader); empty = the simulated pool"),
        InputPath("items_path", "item table: id, category, answer/gold (optional)"),
        InputPath("preds_path", "wide predicted answers: id + one column per model (optional, for the audit)"),
        InputPath("confidence_path", "wide per-model confidence table for the cascade (optional)"),
        Int("confidence_sign", min=-1, max=1, help="+1: larger = surer; -1: larger = less sure (e.g. output length)"),
        InputPath("costs_path", "CSV model,cost (USD per query); empty = the log's cost_usd or synthetic prices"),
        Choice("families", ("auto", "none"), "auto = name prefix before '/'; none = one family"),
        Choice("real_data", ("auto", "off"), "auto: like-for-like tests on the public matrices when CAPFRONT_DATA_DIR is set"),
        Prob("min_model_coverage", help="drop models answering fewer than this share of ids, then keep complete rows"),
        Int("sim_models", min=6, max=400, help="simulated pool size"),
        Int("sim_queries", min=100, max=200_000, help="simulated queries"),
        FloatList("sim_acc_range", min=0.0, max=1.0, strict_min=True, strict_max=True, length=2, help="body accuracies, evenly spaced"),
        Prob("sim_rho_common", help="common latent factor loading (squared)"),
        Prob("sim_rho_family", help="family factor loading (squared)"),
        Int("sim_family_size", min=1, help="models per family"),
        Prob("sim_atom_hard", help="genuine co-hard atom (every model wrong)"),
        Prob("sim_atom_ref", help="reference-error atom (gold label unmatchable)"),
        Int("sim_samples", min=6, max=50, help="samples per model (Self-MoA)"),
        Prob("sim_sample_rho", help="correlation of a model's samples"),
        Int("sim_n_choices", min=3, max=100, help="answer alphabet"),
        Prob("sim_popular_distractor", help="share of wrong answers going to one popular distractor"),
        Prob("delta", open=True, help="certificate error level"),
        Prob("overhead", help="accuracy a combination must gain to pay for itself"),
        Choice("zero_cell", ("clamp", "haldane"), "tetrachoric zero cells"),
        Choice("psd_method", ("higham", "clip"), "nearest PSD matrix for the full copula"),
        Int("n_boot", min=20, max=100_000, help="query bootstrap replicates"),
        Int("n_boot_full", min=10, max=20_000, help="bootstrap replicates of the full-copula residual on public GSM8K"),
        Int("n_mc", min=1000, max=50_000_000, help="Monte Carlo draws for the full-copula orthant"),
        Bool("use_genz", "also run Genz QMC (slow at m > 30)"),
        IntList("pool_sizes", min=2, max=100_000, help="pool sizes k of the resampling curve (capped at m)"),
        Int("pool_reps", min=5, max=10_000, help="random subsets per pool size"),
        Int("max_triplets", min=0, help="triplets in the vote study (0 = all)"),
        Prob("band_width", help="matched-quality band for heterogeneous fusion"),
        Int("eqq_kmax", min=3, max=47, help="largest ensemble size in the Self-MoA study"),
        Int("eqq_partitions", min=1, max=10_000, help="random EST/EVAL partitions"),
        Int("lp_budgets", min=3, max=1000, help="budgets on the value curve"),
        Int("lp_linprog_checks", min=0, max=1000, help="linprog solves cross-checking the exact curve"),
        FloatList("noise_levels", min=0.0, max=1.0, min_length=2, help="cascade score degradation eta"),
        Int("cascade_seeds", min=2, max=1000, help="noise seeds per level and held-out repeats"),
        Int("cert_pools", min=100, max=1_000_000, help="simulated pools per scenario of the certificate coverage study"),
        Prob("regime_tau", open=True, help="co-failure share threshold of the regime rule"),
        Prob("audit_consensus", help="modal-answer share that flags an all-wrong item as a suspect reference"),
        Bool("make_widgets", "show the ipywidgets explorer in live sessions"),
        ResultsDir("results_dir"),
    ],
    checks=[_acc_range, _rho_sum, _atoms, _samples, _checks, _families, _sign],
    guards=[
        Guard("sim_models × sim_queries × sim_samples (simulated latent samples)",
              lambda p: p["sim_models"] * p["sim_queries"] * p["sim_samples"], 3e7, "cells",
              "lower sim_models, sim_queries or sim_samples"),
        Guard("triplets × sim_queries (vote study on the simulated pool)", lambda p: _triplets(p) * p["sim_queries"], 2e10,
              "vote cells", "set max_triplets to a sample size"),
        Guard("n_boot × sim_models² (bootstrap pair tables)", lambda p: p["n_boot"] * p["sim_models"] ** 2, 5e9, "cells",
              "lower n_boot"),
        Guard("cert_pools × 20 × 300 (coverage simulation)", lambda p: p["cert_pools"] * 6000, 6e10, "draws", "lower cert_pools"),
    ],
)
