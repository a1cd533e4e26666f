"""Method 2: the probabilistic graphical model of eqs. (13)-(18), fitted by ADVI in PyMC.

D_n ~ Beta(1,1), T_n ~ Cat(theta), theta ~ Dir(1), A_tl ~ Beta(1,1), phi_nlg ~ Bernoulli(pi_nl) with
the multiplicative link pi_nl = (1 - D_n) A_{T_n,l}. The discrete topic is marginalised through a
Potential (sum_n logsumexp_t [log theta_t + sum_l Binomial(s_nl; G_nl, pi_ntl)]), so ADVI sees only
continuous latents; responsibilities are recomputed per posterior draw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from capfront_lib.oracle_debiasing.estimators import check_counts

__all__ = ["PGMFit", "kmeans_init", "fit_pgm", "pgm_oracle"]

_EPS = 1e-6


@dataclass
class PGMFit:
    """Posterior summary: plug-in pihat (eq. 18 input), posterior functional draws, fitted aptitudes."""

    pihat: np.ndarray          # (N, L) posterior mean success probability (mixed over responsibilities)
    functional_draws: np.ndarray  # (n_draws,) (1/N) sum_n max_l pi_nl per draw
    A_mean: np.ndarray         # (K, L)
    resp: np.ndarray           # (N, K) mean responsibilities
    elbo_last: float
    iters_run: int

    @property
    def o_plugin(self) -> float:
        """Eq. (18): (1/N) sum_n max_l pihat_nl."""
        return float(np.mean(self.pihat.max(axis=1)))

    @property
    def o_functional(self) -> tuple[float, float, float]:
        """Posterior functional E_q[(1/N) sum_n max_l pi_nl] with a 90% interval."""
        d = self.functional_draws
        return float(d.mean()), float(np.quantile(d, 0.05)), float(np.quantile(d, 0.95))


def kmeans_init(s, G, K: int, rng: np.random.Generator, n_iter: int = 50) -> np.ndarray:
    """k-means (Lloyd, k-means++ seeding) on the profiles (s_nl+.5)/(sum_l s_nl+.5L); returns labels (N,)."""
    s, Gm = check_counts(s, G)
    prof = (s + 0.5) / (s.sum(axis=1, keepdims=True) + 0.5 * s.shape[1])
    N = prof.shape[0]
    K = int(min(K, N))
    centers = [prof[rng.integers(N)]]
    for _ in range(1, K):
        d2 = np.min(((prof[:, None, :] - np.asarray(centers)[None]) ** 2).sum(-1), axis=1)
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(N, 1.0 / N)
        centers.append(prof[rng.choice(N, p=p)])
    centers = np.asarray(centers)
    labels = np.zeros(N, dtype=int)
    for _ in range(n_iter):
        d = ((prof[:, None, :] - centers[None]) ** 2).sum(-1)
        new = d.argmin(axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for k in range(K):
            if np.any(labels == k):
                centers[k] = prof[labels == k].mean(axis=0)
    return labels


def fit_pgm(
    s,
    G,
    K: int,
    rng: np.random.Generator,
    *,
    topics=None,
    iters: int = 8000,
    lr: float = 0.02,
    n_draws: int = 100,
    tol: float = 1e-4,
) -> PGMFit:
    """Fit eqs. (13)-(17) by mean-field ADVI (Adam) and return the posterior summary for eq. (18).

    ``topics`` (N,) of known topic labels turns off the mixture (known-topic PGM). Otherwise topics
    are latent and marginalised; A is initialised from k-means clusters of the success profiles.
    """
    import pymc as pm
    import pytensor.tensor as pt

    s, Gm = check_counts(s, G)
    N, L = s.shape
    if int(K) != K or K < 1:
        raise ValueError(f"K (number of topics) must be a positive integer, got {K!r}")
    K = int(K)
    if iters < 100:
        raise ValueError("iters must be >= 100")
    ph = (s + 0.5) / (Gm + 1.0)
    if topics is not None:
        topics = np.asarray(topics)
        if topics.shape != (N,):
            raise ValueError(f"topics must have one label per prompt ({N}), got shape {topics.shape}")
        _, labels = np.unique(topics, return_inverse=True)
        K = int(labels.max()) + 1
    else:
        labels = kmeans_init(s, Gm, K, rng)
    # initial values: D from the prompt's mean success, A from cluster means
    D0 = np.clip(1.0 - ph.mean(axis=1) / max(ph.mean(), 1e-3) * 0.5, 0.05, 0.95)
    A0 = np.full((K, L), 0.5)
    for k in range(K):
        m = labels == k
        if m.any():
            A0[k] = np.clip(ph[m].mean(axis=0) / np.mean(1 - D0[m]), 0.05, 0.95)
    seed = int(rng.integers(2**31 - 1))
    logging.getLogger("pymc").setLevel(logging.ERROR)
    with pm.Model() as model:
        D = pm.Beta("D", 1.0, 1.0, shape=N, initval=D0)
        A = pm.Beta("A", 1.0, 1.0, shape=(K, L), initval=A0)
        if topics is not None:
            pi = pt.clip((1.0 - D)[:, None] * A[labels], _EPS, 1 - _EPS)
            pm.Potential("lik", pt.sum(s * pt.log(pi) + (Gm - s) * pt.log1p(-pi)))
        else:
            theta0 = np.bincount(labels, minlength=K) + 1.0
            theta = pm.Dirichlet("theta", a=np.ones(K), initval=theta0 / theta0.sum())
            pik = pt.clip((1.0 - D)[:, None, None] * A[None, :, :], _EPS, 1 - _EPS)  # (N, K, L)
            ll = pt.sum(s[:, None, :] * pt.log(pik) + (Gm - s)[:, None, :] * pt.log1p(-pik), axis=2)  # (N, K)
            pm.Potential("lik", pt.sum(pm.math.logsumexp(pt.log(theta)[None, :] + ll, axis=1)))
        cb = [pm.callbacks.CheckParametersConvergence(every=1000, tolerance=tol, diff="relative")]
        approx = pm.fit(n=int(iters), method="advi", obj_optimizer=pm.adam(learning_rate=lr), random_seed=seed,
                        progressbar=False, callbacks=cb)
        idata = approx.sample(int(n_draws), random_seed=seed)
    post = idata.posterior
    Dd = post["D"].values.reshape(-1, N)
    Ad = post["A"].values.reshape(-1, K, L)
    pik = np.clip((1.0 - Dd)[:, :, None, None] * Ad[:, None, :, :], _EPS, 1 - _EPS)  # (S, N, K, L)
    if topics is not None:
        resp = np.zeros((Dd.shape[0], N, K))
        resp[:, np.arange(N), labels] = 1.0
    else:
        th = post["theta"].values.reshape(-1, K)
        ll = (s[None, :, None, :] * np.log(pik) + (Gm - s)[None, :, None, :] * np.log1p(-pik)).sum(-1)
        lw = np.log(th)[:, None, :] + ll
        lw -= lw.max(axis=2, keepdims=True)
        resp = np.exp(lw)
        resp /= resp.sum(axis=2, keepdims=True)
    pi_draw = np.einsum("snk,snkl->snl", resp, pik)
    pihat = pi_draw.mean(axis=0)
    func = pi_draw.max(axis=2).mean(axis=1)
    hist = np.asarray(approx.hist)
    return PGMFit(pihat=pihat, functional_draws=func, A_mean=Ad.mean(axis=0), resp=resp.mean(axis=0),
                  elbo_last=float(-hist[-1]) if hist.size else float("nan"), iters_run=int(hist.size))


def pgm_oracle(fit: PGMFit) -> float:
    """Eq. (18): O_true_PGM = (1/N) sum_n max_l pihat_nl."""
    return fit.o_plugin
