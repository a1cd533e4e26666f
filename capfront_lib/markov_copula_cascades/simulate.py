"""Simulator with a known Markov-copula ground truth (the chapter's stand-in for real LLM confidences).

Level A ("phi"): U_1 ~ U(0,1), U_i | U_{i-1} by inverting the Gumbel h-function (a D-vine chain),
Phi_i = Q_i(U_i) with known scaled-beta-mixture marginals, labels Y_i ~ Bernoulli(Phi_i) (calibrated by
construction). Level B ("raw"): raw log-probabilities obtained by inverting the two-sided transform of a
known miscalibration xi = (logit Phi - a_i) / b_i, with a fraction of "certain" answers (p_raw = 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special

from .model import MixedBetaMarginal, _check_theta, gumbel_h_inverse, inverse_two_sided

TRUTHS = ("dvine_gumbel", "independent", "dvine_survival_gumbel")

#: Reference preset of the spec (phi_min, phi_max, pi, a1, b1, a2, b2), increasing accuracy.
REFERENCE_MARGINALS: list[list[float]] = [
    [0.05, 0.95, 0.5, 2, 5, 5, 2],
    [0.05, 0.97, 0.4, 2, 4, 6, 2],
    [0.10, 0.98, 0.3, 2, 3, 7, 2],
    [0.10, 0.99, 0.3, 2, 3, 8, 1.5],
    [0.15, 0.995, 0.2, 2, 2, 9, 1.5],
]
REFERENCE_THETAS: list[float] = [1.6, 2.0, 2.4, 2.0]
#: Llama 3.2 1B, 3B; Llama 3.1 8B, 70B, 405B list prices, $ per million tokens (Dec 2024, input = output).
LLAMA_PRICES: list[float] = [0.10, 0.10, 0.20, 0.90, 3.00]
LLAMA_NAMES: list[str] = ["llama3.2-1b", "llama3.2-3b", "llama3.1-8b", "llama3.1-70b", "llama3.1-405b"]


@dataclass
class Truth:
    """Known ground truth: marginals, adjacent Gumbel thetas, dependence type, per-model prices."""

    marginals: list[MixedBetaMarginal]
    thetas: np.ndarray
    kind: str = "dvine_gumbel"
    prices: np.ndarray | None = None
    tokens_in: float = 300.0
    tokens_out: float = 5.0

    def __post_init__(self) -> None:
        k = len(self.marginals)
        self.thetas = np.asarray(self.thetas, float)
        if k < 2:
            raise ValueError("true_marginals must describe at least 2 models")
        if self.thetas.shape != (k - 1,):
            raise ValueError(f"true_thetas needs {k - 1} adjacent thetas for {k} models, got {self.thetas.size}")
        for t in self.thetas:
            _check_theta(t)
        if self.kind not in TRUTHS:
            raise ValueError(f"truth must be one of {TRUTHS}, got {self.kind!r}")
        if self.prices is None:
            self.prices = np.asarray(LLAMA_PRICES[:k], float)
        self.prices = np.asarray(self.prices, float)
        if self.prices.shape != (k,) or np.any(self.prices < 0):
            raise ValueError(f"prices must be {k} non-negative numbers")
        if self.tokens_in < 0 or self.tokens_out < 0:
            raise ValueError("tokens_in and tokens_out must be >= 0")

    @property
    def k(self) -> int:
        return len(self.marginals)

    @property
    def mean_costs(self) -> np.ndarray:
        """Expected per-query cost of each model in $ per million queries."""
        return self.prices * (self.tokens_in + self.tokens_out)

    @classmethod
    def from_params(cls, marginals: Sequence[Sequence[float]], thetas: Sequence[float], kind: str = "dvine_gumbel",
                    prices: Sequence[float] | None = None, tokens_in: float = 300.0, tokens_out: float = 5.0) -> "Truth":
        return cls([MixedBetaMarginal.from_preset(r) for r in marginals], np.asarray(thetas, float), kind,
                   None if prices is None else np.asarray(prices, float), tokens_in, tokens_out)


def simulate_uniforms(truth: Truth, n: int, rng: np.random.Generator) -> np.ndarray:
    """Copula sample (n, k): a Gumbel D-vine chain, independent uniforms, or the survival-Gumbel chain."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    k = truth.k
    u = np.empty((n, k))
    u[:, 0] = rng.uniform(size=n)
    for i in range(1, k):
        w = rng.uniform(size=n)
        if truth.kind == "independent" or truth.thetas[i - 1] == 1.0:
            u[:, i] = w
        else:
            u[:, i] = gumbel_h_inverse(u[:, i - 1], w, truth.thetas[i - 1])
    if truth.kind == "dvine_survival_gumbel":
        u = 1.0 - u  # every adjacent pair becomes a survival (rotated 180 deg) Gumbel: lower-tail dependence
    return u


@dataclass
class SimulatedData:
    """Calibrated confidences Phi (n, k), labels Y, per-query costs ($/M queries) and raw log p (Level B)."""

    phi: np.ndarray
    y: np.ndarray
    cost: np.ndarray
    log_p: np.ndarray | None = None

    def subset(self, idx: np.ndarray) -> "SimulatedData":
        return SimulatedData(self.phi[idx], self.y[idx], self.cost[idx], None if self.log_p is None else self.log_p[idx])

    @property
    def n(self) -> int:
        return self.phi.shape[0]


def simulate(truth: Truth, n: int, rng: np.random.Generator, miscal_a: Sequence[float] | None = None,
             miscal_b: Sequence[float] | None = None, cert_rate: Sequence[float] | None = None) -> SimulatedData:
    """Draw n queries from the ground truth.

    Labels are binomial(1, Phi) draws; per-query token counts are Poisson around ``tokens_in`` (shared by
    all models: same prompt) and ``tokens_out`` (per model), independent of Phi as Proposition 2 assumes.
    If ``miscal_a``/``miscal_b`` are given, raw log-probabilities are emitted with
    xi = (logit Phi - a) / b mapped through the inverse two-sided transform, and the top ``cert_rate``
    fraction of each model's confidences is set to certainty (log p = 0).
    """
    k = truth.k
    u = simulate_uniforms(truth, n, rng)
    phi = np.column_stack([truth.marginals[j].ppf(u[:, j]) for j in range(k)])
    y = (rng.uniform(size=phi.shape) < phi).astype(np.int8)
    t_in = rng.poisson(truth.tokens_in, size=(n, 1)).astype(float)
    t_out = rng.poisson(truth.tokens_out, size=(n, k)).astype(float)
    cost = (t_in + t_out) * truth.prices[None, :]
    log_p = None
    if miscal_a is not None or miscal_b is not None:
        a = np.zeros(k) if miscal_a is None else np.asarray(miscal_a, float)
        b = np.ones(k) if miscal_b is None else np.asarray(miscal_b, float)
        if a.shape != (k,) or b.shape != (k,) or np.any(b <= 0):
            raise ValueError(f"miscal_a / miscal_b need {k} values each, with miscal_b > 0")
        xi = (special.logit(np.clip(phi, 1e-12, 1 - 1e-12)) - a[None, :]) / b[None, :]
        log_p = inverse_two_sided(xi)
        if cert_rate is not None:
            cr = np.asarray(cert_rate, float)
            if cr.shape != (k,) or np.any((cr < 0) | (cr >= 1)):
                raise ValueError(f"cert_rate needs {k} values in [0, 1)")
            for j in range(k):
                m = int(round(cr[j] * n))
                if m > 0:
                    top = np.argsort(-phi[:, j], kind="stable")[:m]
                    log_p[top, j] = 0.0
    return SimulatedData(phi, y, cost, log_p)


def balanced_subsample(y: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Low-sample training set: ceil(target / (2k)) rounds of one correct + one incorrect example per model.

    Collisions are removed, so the result has at most ``target`` distinct indices (Sec. 2.4, n <= 30).
    """
    yy = np.asarray(y)
    if yy.ndim != 2:
        raise ValueError("y must be an (n, k) label matrix")
    n, k = yy.shape
    rounds = int(np.ceil(target / (2 * k)))
    picks: list[int] = []
    for _ in range(rounds):
        for j in range(k):
            for lab in (1, 0):
                pool = np.flatnonzero(yy[:, j] == lab)
                if pool.size == 0:
                    raise ValueError(f"model {j} has no {'correct' if lab else 'incorrect'} training example")
                picks.append(int(rng.choice(pool)))
    return np.unique(np.asarray(picks))
