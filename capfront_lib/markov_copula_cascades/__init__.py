"""Rational Tuning of LLM cascades with a Markov-copula model (thesis ch. 2; Zellinger & Thomson, TMLR 2025).

Submodules: :mod:`.model` (transforms, calibration, ECE, marginals, Gumbel copulas, Proposition 2),
:mod:`.simulate` (known ground truth), :mod:`.tuning` (Rational Tuning, grid search, BO, routing, AUC),
:mod:`.gof` (goodness of fit, Markov diagnostics), :mod:`.experiments` (drivers), :mod:`.paper`
(transcribed tables and their arithmetic), :mod:`.plots` (figures and the interactive explorer).
"""

from .model import (
    CascadeModel,
    Calibrator,
    MixedBetaMarginal,
    conditional_accuracy,
    expected_calibration_error,
    fit_calibrator,
    fit_cascade_model,
    fit_gumbel_theta,
    fit_marginal,
    gumbel_cdf,
    gumbel_h,
    gumbel_h_inverse,
    gumbel_sample,
    inverse_two_sided,
    kendall_distribution,
    replace_infinite,
    theta_from_tau,
    transform_confidence,
    xi_one_sided,
    xi_two_sided,
)
from .simulate import REFERENCE_MARGINALS, REFERENCE_THETAS, LLAMA_PRICES, LLAMA_NAMES, Truth, balanced_subsample
from .tuning import auc_pair, grid_scores, grid_search, pareto_front, pct_change, route, tune_bo, tune_rt

__all__ = [n for n in dir() if not n.startswith("_")]
