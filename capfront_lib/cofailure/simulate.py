"""Simulated model pool with known truth (spec §4): a two-level Gaussian copula body plus two atoms.

Body: latent ``X_ij = sqrt(rg) Z_j + sqrt(rf) F_{f(i),j} + sqrt(1-rg-rf) e_ij``; model i is wrong iff
``X_ij < t_i``. Atoms: a "hard" atom (every model wrong, wrong answers spread out) and a "ref" atom
(the recorded gold label is unmatchable: latently-right models all give the true answer and are graded
wrong, i.e. a grader/reference defect). Everything here is simulated and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from capfront_lib.cofailure.copula import bvn_cdf, gauss_hermite

__all__ = ["SimPool", "simulate_pool", "sim_truth_beta", "sim_truth_pairs", "sim_thresholds"]


@dataclass
class SimPool:
    """A simulated pool: correctness ``Y`` (m x n), answers ``preds`` (m x n ints), ``gold`` (n),
    ``kind`` per query ("body" | "hard" | "ref"), model ``names``, ``families`` (int per model),
    ``costs`` per query, multi-sample correctness ``Ys`` (m x n x S), latent ``margin`` (X - t)."""

    Y: np.ndarray
    preds: np.ndarray
    gold: np.ndarray
    kind: np.ndarray
    names: list
    families: np.ndarray
    costs: np.ndarray
    Ys: np.ndarray
    margin: np.ndarray
    t: np.ndarray
    params: dict


def sim_thresholds(n_models: int, acc_range=(0.45, 0.92)) -> np.ndarray:
    """Body thresholds t_i = Phi^-1(1 - acc_i), body accuracies evenly spaced over ``acc_range``."""
    acc = np.linspace(acc_range[0], acc_range[1], n_models)
    return ndtri(1 - acc)


def _families(n_models: int, size: int) -> np.ndarray:
    return np.arange(n_models) // max(int(size), 1)


def _check(n_models, n_queries, acc_range, rho_common, rho_family, atom_hard, atom_ref):
    if int(n_models) < 2:
        raise ValueError(f"sim_models must be >= 2, got {n_models}")
    if int(n_queries) < 1:
        raise ValueError(f"sim_queries must be >= 1, got {n_queries}")
    lo, hi = acc_range
    if not 0 < lo <= hi < 1:
        raise ValueError(f"sim_acc_range must satisfy 0 < lo <= hi < 1, got {acc_range}")
    if rho_common < 0 or rho_family < 0 or rho_common + rho_family >= 1:
        raise ValueError("sim_rho_common, sim_rho_family must be >= 0 with sum < 1")
    if atom_hard < 0 or atom_ref < 0 or atom_hard + atom_ref >= 1:
        raise ValueError("sim_atom_hard, sim_atom_ref must be >= 0 with sum < 1")


def simulate_pool(rng: np.random.Generator, n_models: int = 40, n_queries: int = 1500, acc_range=(0.45, 0.92),
                  rho_common: float = 0.55, rho_family: float = 0.15, family_size: int = 4,
                  atom_hard: float = 0.004, atom_ref: float = 0.004, n_samples: int = 9, sample_rho: float = 0.85,
                  n_choices: int = 10, popular_distractor: float = 0.3, conf_noise: float = 0.5) -> SimPool:
    """Draw a simulated pool (spec §4). Answers: gold = option 0, option 1 is the popular distractor.

    Wrong body answers pick the distractor with probability ``popular_distractor``, else a uniform
    other wrong option. Hard-atom answers are uniform over wrong options. In the ref atom the
    recorded gold is an option no model gives (``n_choices``), latently-right models answer 0.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    _check(n_models, n_queries, acc_range, rho_common, rho_family, atom_hard, atom_ref)
    if n_choices < 3:
        raise ValueError(f"sim_n_choices must be >= 3, got {n_choices}")
    m, n = int(n_models), int(n_queries)
    t = sim_thresholds(m, acc_range)
    fam = _families(m, family_size)
    nf = int(fam.max()) + 1
    Z = rng.standard_normal(n)
    F = rng.standard_normal((nf, n))
    e = rng.standard_normal((m, n))
    X = np.sqrt(rho_common) * Z[None, :] + np.sqrt(rho_family) * F[fam] + np.sqrt(1 - rho_common - rho_family) * e
    u = rng.uniform(size=n)
    kind = np.where(u < atom_hard, "hard", np.where(u < atom_hard + atom_ref, "ref", "body"))
    right = X >= t[:, None]
    # answers
    distract = rng.uniform(size=(m, n)) < popular_distractor
    other = rng.integers(2, n_choices, size=(m, n))
    wrong_ans = np.where(distract, 1, other)
    spread = rng.integers(1, n_choices, size=(m, n))
    preds = np.where(right, 0, wrong_ans)
    hard = kind == "hard"
    preds[:, hard] = spread[:, hard]
    gold = np.zeros(n, int)
    gold[kind == "ref"] = n_choices  # unmatchable reference
    Y = (preds == gold[None, :]).astype(np.int8)
    # multi-sample correctness: sample latent sqrt(rs) X + sqrt(1-rs) nu
    S = int(n_samples)
    nu = rng.standard_normal((m, n, S))
    Xs = np.sqrt(sample_rho) * X[:, :, None] + np.sqrt(1 - sample_rho) * nu
    Ys = (Xs >= t[:, None, None]).astype(np.int8)
    Ys[:, kind != "body", :] = 0
    margin = X - t[:, None] + conf_noise * rng.standard_normal((m, n))
    # synthetic prices: log-uniform, rising with accuracy (USD per query)
    base = np.exp(np.linspace(np.log(2e-5), np.log(2e-2), m))
    costs = base * np.exp(0.3 * rng.standard_normal(m))
    names = [f"fam{fam[i]:02d}/model-{i:02d}" for i in range(m)]
    params = dict(n_models=m, n_queries=n, acc_range=tuple(acc_range), rho_common=rho_common, rho_family=rho_family,
                  family_size=family_size, atom_hard=atom_hard, atom_ref=atom_ref)
    return SimPool(Y=Y, preds=preds, gold=gold, kind=kind, names=names, families=fam, costs=costs, Ys=Ys,
                   margin=margin, t=t, params=params)


def sim_truth_beta(t, families, rho_common: float, rho_family: float, atom: float, nodes: int = 64) -> float:
    """Population all-wrong rate of the simulator by nested Gauss–Hermite (spec §4):

    beta = w + (1-w) int phi(z) prod_f [int phi(u) prod_{i in f} Phi((t_i - sqrt(rg) z - sqrt(rf) u)/sqrt(1-rg-rf)) du] dz.
    """
    t = np.asarray(t, float)
    fam = np.asarray(families)
    x, w = gauss_hermite(nodes)
    c = np.sqrt(1 - rho_common - rho_family)
    logprod = np.zeros(nodes)
    for f in np.unique(fam):
        tf = t[fam == f]
        arg = (tf[None, None, :] - np.sqrt(rho_common) * x[:, None, None] - np.sqrt(rho_family) * x[None, :, None]) / c
        inner = np.exp(np.log(np.clip(ndtr(arg), 1e-300, None)).sum(axis=2)) @ w  # over u
        logprod += np.log(np.clip(inner, 1e-300, None))
    body = float(np.exp(logprod) @ w)
    return atom + (1 - atom) * body


def sim_truth_pairs(t, families, rho_common: float, rho_family: float, atom: float) -> tuple[np.ndarray, np.ndarray]:
    """Population error rates alpha_i = w + (1-w)Phi(t_i) and co-error p11 = w + (1-w) Phi2(t_i, t_j; rg + rf 1[same family]).

    (The spec's a_i = (1-w)(1 - Phi(t_i)) is the accuracy, i.e. 1 - alpha_i.)
    """
    t = np.asarray(t, float)
    fam = np.asarray(families)
    alpha = atom + (1 - atom) * ndtr(t)
    r = rho_common + rho_family * (fam[:, None] == fam[None, :])
    p11 = atom + (1 - atom) * bvn_cdf(t[:, None], t[None, :], r)
    np.fill_diagonal(p11, alpha)
    return alpha, p11
