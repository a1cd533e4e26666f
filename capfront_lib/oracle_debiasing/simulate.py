"""Simulator of the paper's probabilistic graphical model (eqs. 13-17, Appendix G) with lognormal costs,
drawn with binomial sufficient statistics; the entropy sweep of Appendix G (eqs. 26-27)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from capfront_lib.oracle_debiasing.estimators import best_single, oracle_value, topic_entropy, topic_probs

__all__ = ["World", "simulate_world", "counts_to_tensor", "assign_prices", "cost_two_way_fit", "entropy_sweep",
           "draw_topics"]


@dataclass
class World:
    """One simulated world: latents, true success probabilities and costs, observed counts and tensors."""

    D: np.ndarray          # (N,) difficulty
    T: np.ndarray          # (N,) topic index
    A: np.ndarray          # (K, L) aptitude
    theta: np.ndarray      # (K,) topic probabilities
    pi: np.ndarray         # (N, L) true success probabilities (mu for quality)
    s: np.ndarray          # (N, L) success counts out of G
    G: int
    price: np.ndarray      # (L,) USD per call (mean over prompts of exp(u_n) is ~1)
    u: np.ndarray          # (N,) log prompt cost factor
    muC: np.ndarray        # (N, L) true expected cost per call
    Q: np.ndarray | None   # (N, L, G) 0/1 outcomes (None when not kept)
    C: np.ndarray | None   # (N, L, G) per-generation cost

    @property
    def phibar(self) -> np.ndarray:
        return self.s / self.G

    @property
    def cbar(self) -> np.ndarray:
        return self.C.mean(axis=2) if self.C is not None else self.muC


def _check_beta(name, ab):
    a, b = ab
    if not (a > 0 and b > 0):
        raise ValueError(f"{name} Beta parameters must be positive, got {ab}")
    return float(a), float(b)


def draw_topics(rng: np.random.Generator, theta: np.ndarray, N: int, u: np.ndarray | None = None) -> np.ndarray:
    """T_n ~ Cat(theta) by inverse CDF (pass common uniforms ``u`` for common random numbers across theta)."""
    u = rng.random(N) if u is None else u
    cdf = np.cumsum(theta)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, u, side="right").clip(0, theta.size - 1)


def counts_to_tensor(s: np.ndarray, G: int, rng: np.random.Generator) -> np.ndarray:
    """A 0/1 (N, L, G) tensor with the given success counts, successes placed at random generations.

    Given the count, the positions of iid Bernoulli successes are a uniform random subset, so this has
    exactly the law of G iid Bernoulli draws.
    """
    ranks = np.argsort(np.argsort(rng.random(s.shape + (G,)), axis=2), axis=2)
    return (ranks < s[..., None]).astype(float)


def assign_prices(rng: np.random.Generator, strength: np.ndarray, price_log10=(-4.0, -1.5), corr: float = 0.5) -> np.ndarray:
    """Evenly log-spaced prices assigned to models by a Gaussian copula with rank correlation ~``corr`` to ``strength``."""
    if not -1.0 <= corr <= 1.0:
        raise ValueError(f"price_apt_corr must be in [-1, 1], got {corr}")
    lo, hi = price_log10
    if not lo <= hi:
        raise ValueError("price_log10 must be (low, high) with low <= high")
    L = strength.size
    z = stats.rankdata(strength)
    z = (z - z.mean()) / (z.std() + 1e-12)
    score = corr * z + np.sqrt(max(0.0, 1 - corr**2)) * rng.standard_normal(L)
    levels = 10 ** np.linspace(lo, hi, L)
    price = np.empty(L)
    price[np.argsort(score)] = levels
    return price


def simulate_world(
    rng: np.random.Generator,
    n_prompts: int = 300,
    n_models: int = 6,
    n_topics: int = 4,
    n_gens: int = 10,
    *,
    d_beta=(1.0, 1.0),
    apt_beta=(5.0, 5.0),
    theta=None,
    price_log10=(-4.0, -1.5),
    price_apt_corr: float = 0.5,
    cost_prompt_sd: float = 0.3,
    cost_noise_sd: float = 0.6,
    keep_tensors: bool = True,
    gen_corr: float = 0.0,
) -> World:
    """Draw a world from eqs. (13)-(17) with the multiplicative link pi = (1 - D_n) A_{T_n, l}.

    Quality counts s_nl ~ Binomial(G, pi_nl) (eq. 9's sufficient statistic). Costs follow the spec's
    simulator: C_nlg = price_l exp(u_n) LogNormal(-s^2/2, s), so E C_nlg = price_l exp(u_n) exactly.

    ``gen_corr`` = rho > 0 correlates the models within a round (spec's "shared per-round Gaussian
    latent"): phi_nlg = 1[sqrt(rho) z_ng + sqrt(1-rho) e_nlg < Phi^-1(pi_nl)], which keeps every
    marginal Bernoulli(pi_nl) but needs the per-generation tensor (no binomial shortcut).
    """
    for name, v, lo in (("n_prompts", n_prompts, 1), ("n_models", n_models, 2), ("n_topics", n_topics, 1), ("n_gens", n_gens, 1)):
        if int(v) != v or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if cost_prompt_sd < 0 or cost_noise_sd < 0:
        raise ValueError("cost_prompt_sd and cost_noise_sd must be >= 0")
    N, L, K, G = int(n_prompts), int(n_models), int(n_topics), int(n_gens)
    aD, bD = _check_beta("d_beta", d_beta)
    aA, bA = _check_beta("apt_beta", apt_beta)
    theta = np.full(K, 1.0 / K) if theta is None else np.asarray(theta, dtype=float)
    if theta.shape != (K,) or np.any(theta < 0) or not np.isclose(theta.sum(), 1):
        raise ValueError("theta must be a probability vector of length n_topics")
    D = rng.beta(aD, bD, N)
    A = rng.beta(aA, bA, (K, L))
    T = draw_topics(rng, theta, N)
    pi = (1.0 - D)[:, None] * A[T]
    if not 0.0 <= gen_corr < 1.0:
        raise ValueError(f"gen_corr must be in [0, 1), got {gen_corr}")
    Qcorr = None
    if gen_corr > 0:
        z = rng.standard_normal((N, 1, G))
        e = rng.standard_normal((N, L, G))
        Qcorr = (np.sqrt(gen_corr) * z + np.sqrt(1 - gen_corr) * e < stats.norm.ppf(pi)[..., None]).astype(float)
        s = Qcorr.sum(axis=2).astype(np.int64)
    else:
        s = rng.binomial(G, pi)
    price = assign_prices(rng, theta @ A, price_log10, price_apt_corr)
    u = rng.normal(0.0, cost_prompt_sd, N)
    muC = price[None, :] * np.exp(u)[:, None]
    Q = C = None
    if keep_tensors:
        Q = Qcorr if Qcorr is not None else counts_to_tensor(s, G, rng)
        sd = cost_noise_sd
        C = muC[..., None] * np.exp(rng.normal(-0.5 * sd**2, sd, (N, L, G)))
    return World(D=D, T=T, A=A, theta=theta, pi=pi, s=s, G=G, price=price, u=u, muC=muC, Q=Q, C=C)


def cost_two_way_fit(C: np.ndarray) -> np.ndarray:
    """Quick cost debiaser (spec §1.5): log C_nlg = b_l + u_n + e, e ~ N(0, s_l^2) by two-way least squares;
    returns muhat^C_nl = exp(b_l + u_n + s_l^2/2). Needs a complete (N, L, G) tensor with G >= 2."""
    C = np.asarray(C, dtype=float)
    if C.ndim != 3 or np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise ValueError("C must be a complete (N, L, G) tensor of positive costs")
    N, L, G = C.shape
    if G < 2:
        raise ValueError("cost_two_way_fit needs G >= 2 to estimate the noise variance")
    lc = np.log(C)
    m = lc.mean(axis=2)
    grand = m.mean()
    b = m.mean(axis=0)
    u = m.mean(axis=1) - grand
    fit = b[None, :] + u[:, None]
    resid = lc - fit[..., None]
    dof = N * G - N * (L - 1) / L - 1  # per-model share of the (N + L - 1) fitted parameters
    s2 = (resid**2).sum(axis=(0, 2)) / max(dof, 1)
    return np.exp(fit + 0.5 * s2[None, :])


def entropy_sweep(
    rng: np.random.Generator,
    steps: int = 11,
    n_seeds: int = 5,
    N: int = 1000,
    L: int = 10,
    K: int = 30,
    G: int | None = None,
    *,
    d_beta=(1.0, 1.0),
    apt_beta=(5.0, 5.0),
    topic_mode: str = "linear",
    dir_conc: float = 30.0,
) -> dict:
    """Appendix G: uplift (eq. 26) vs topic entropy (eq. 27) with theta(s) = (1-s)/K + s e_1.

    Common random numbers across s within a seed (same D, A, topic uniforms). G=None: population mode
    (uplift from pi); otherwise s_nl ~ Binomial(G, pi) and uplift = O_true - best single of phibar.
    Returns s grid, entropy H, uplift (n_seeds, steps), empirical entropy of the topic counts.
    """
    if steps < 2 or n_seeds < 1:
        raise ValueError("steps must be >= 2 and n_seeds >= 1")
    if topic_mode not in ("linear", "dirichlet"):
        raise ValueError(f"topic_mode must be 'linear' or 'dirichlet', got {topic_mode!r}")
    grid = np.linspace(0.0, 1.0, steps)
    H = np.array([topic_entropy(topic_probs(x, K)) for x in grid])
    up = np.zeros((n_seeds, steps))
    Hemp = np.zeros((n_seeds, steps))
    for r in range(n_seeds):
        D = rng.beta(*d_beta, N)
        A = rng.beta(*apt_beta, (K, L))
        uu = rng.random(N)
        for j, x in enumerate(grid):
            th = topic_probs(x, K)
            if topic_mode == "dirichlet":
                conc = dir_conc * th
                g = np.where(conc > 0, rng.standard_gamma(np.where(conc > 0, conc, 1.0)), 0.0)
                th = g / g.sum()
            T = draw_topics(rng, th, N, uu)
            pi = (1.0 - D)[:, None] * A[T]
            if G is None:
                up[r, j] = oracle_value(pi) - best_single(pi)
            else:
                ph = rng.binomial(int(G), pi) / G
                up[r, j] = oracle_value(pi) - best_single(ph)
            cnt = np.bincount(T, minlength=K) / N
            Hemp[r, j] = topic_entropy(cnt)
    return {"s": grid, "H": H, "uplift": up, "H_empirical": Hemp}
