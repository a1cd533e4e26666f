"""Method 2: the probabilistic graphical model of eqs. (13)-(18), fitted by ADVI in PyMC.

D_n ~ Beta(1,1), T_n ~ Cat(theta), theta ~ Dir(1), A_tl ~ Beta(1,1), phi_nlg ~ Bernoulli(pi_nl) with
the multiplicative link pi_nl = (1 - D_n) A_{T_n,l}. The discrete topic is marginalised through a
Potential (sum_n logsumexp_t [log theta_t + sum_l Binomial(s_nl; G_nl, pi_ntl)]), so ADVI sees only
continuous latents; responsibilities are recomputed per posterior draw.

The cost half of the PGM (the paper, Sec. 4.4: "for cost ... we replace the Bernoulli likelihood with
LogNormal") is :func:`fit_cost_pgm`: log C_nlg ~ N(b_l + u_n, s_l^2), also fitted by ADVI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from capfront_lib.core.pytensor_setup import configure_pytensor
from capfront_lib.oracle_debiasing.estimators import check_counts

__all__ = ["PGMFit", "ELBOConvergence", "kmeans_init", "fit_pgm", "pgm_oracle", "CostPGMFit", "fit_cost_pgm",
           "cost_pgm_expected"]

_EPS = 1e-6


class ELBOConvergence:
    """ADVI stopping rule of the chapter spec (§1.5): stop when the mean loss (negative ELBO) of the last
    ``every`` iterations differs from that of the ``every`` before by less than ``tolerance`` (relative).

    The paper runs its variational inference "until convergence"; ``iters`` of :func:`fit_pgm` is the cap.
    """

    def __init__(self, every: int = 1000, tolerance: float = 1e-4) -> None:
        if every < 10 or not tolerance > 0:
            raise ValueError("every must be >= 10 and tolerance > 0")
        self.every = int(every)
        self.tolerance = float(tolerance)

    def __call__(self, approx, hist, i) -> None:
        if i < 2 * self.every or i % self.every:
            return
        h = np.asarray(hist[-2 * self.every:], dtype=float)
        prev, last = h[: self.every].mean(), h[self.every:].mean()
        if np.isfinite(prev) and np.isfinite(last) and abs(last - prev) <= self.tolerance * abs(last):
            raise StopIteration(f"ELBO converged: relative change {abs(last - prev) / abs(last):.2e} over {self.every} iterations")


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
    stop: str = "elbo",
) -> PGMFit:
    """Fit eqs. (13)-(17) by mean-field ADVI (Adam) and return the posterior summary for eq. (18).

    ``topics`` (N,) of known topic labels turns off the mixture (known-topic PGM). Otherwise topics
    are latent and marginalised; A is initialised from k-means clusters of the success profiles.
    ``iters`` caps the Adam iterations; the fit stops earlier when the ELBO has converged
    (:class:`ELBOConvergence`, relative change ``tol`` over 1,000 iterations; ``PGMFit.iters_run`` says when).
    ``stop="parameters"`` uses PyMC's ``CheckParametersConvergence`` (relative change of the variational
    parameters) instead, the rule of the chapter's first version, kept for the benchmark's before/after.
    """
    if stop not in ("elbo", "parameters"):
        raise ValueError(f"stop must be 'elbo' or 'parameters', got {stop!r}")
    configure_pytensor()  # BLAS + compile cache, before PyMC imports PyTensor (core/pytensor_setup.py)
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
        cb = [ELBOConvergence(every=1000, tolerance=tol) if stop == "elbo" else
              pm.callbacks.CheckParametersConvergence(every=1000, tolerance=tol, diff="relative")]
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


# ---------------------------------------------------------------------------------------------- cost
@dataclass
class CostPGMFit:
    """Posterior summary of the LogNormal cost model (see :func:`fit_cost_pgm`)."""

    muhat: np.ndarray          # (N, L) posterior mean of E[C_nlg] = exp(b_l + u_n + s_l^2/2)
    log_median: np.ndarray     # (N, L) posterior mean of b_l + u_n (log of the median cost)
    b_mean: np.ndarray         # (L,) per-model log-cost effect
    u_mean: np.ndarray         # (N,) per-prompt (difficulty/length) log-cost effect
    s_mean: np.ndarray         # (L,) per-model log-sd of the generation noise
    tau_mean: float            # sd of the prompt effects
    elbo_last: float
    iters_run: int


def fit_cost_pgm(
    C,
    rng: np.random.Generator,
    *,
    iters: int = 3000,
    lr: float = 0.01,
    n_draws: int = 200,
) -> CostPGMFit:
    """Cost half of the PGM (eqs. 13-18 with the Bernoulli likelihood (16) replaced by a LogNormal, as the
    paper's Sec. 4.4 prescribes), fitted by mean-field ADVI in PyMC:

        C_nlg ~ LogNormal(b_l + u_n, s_l),   u_n ~ N(0, tau^2),   b_l ~ N(median log C, 2^2),
        tau ~ HalfNormal(1),   s_l ~ HalfNormal(1),

    u_n is the per-prompt (difficulty / length) effect and b_l the per-model (price) effect; the paper names
    only "LogNormal", so this additive log-scale form is the chapter spec's (§1.5) reading. The expected cost
    used by the frontier is mu^C_nl = E C_nlg = exp(b_l + u_n + s_l^2 / 2), averaged over posterior draws.

    ``C`` is an (N, L, G) array of positive costs; NaN marks a generation that was not run (unequal G_nl
    allowed). Every prompt and every model needs at least one observed cost.
    """
    configure_pytensor()  # BLAS + compile cache, before PyMC imports PyTensor (core/pytensor_setup.py)
    import pymc as pm
    import pytensor

    C = np.asarray(C, dtype=float)
    if C.ndim != 3:
        raise ValueError(f"C must be an (N, L, G) array, got shape {C.shape}")
    ok = np.isfinite(C)
    if np.any(C[ok] <= 0):
        raise ValueError("costs must be positive (LogNormal likelihood)")
    N, L, _ = C.shape
    if not (ok.any(axis=(1, 2)).all() and ok.any(axis=(0, 2)).all()):
        raise ValueError("every prompt and every model needs at least one observed cost")
    if ok.sum() < N + L + 2:
        raise ValueError("too few observed costs to fit the cost model")
    if iters < 100:
        raise ValueError("iters must be >= 100")
    n_idx, l_idx, _ = np.nonzero(ok)
    y = np.log(C[ok])
    # initial values: two-way means of log cost (only a starting point; the fit is the posterior)
    cnt = np.zeros((N, L))
    np.add.at(cnt, (n_idx, l_idx), 1.0)
    m = np.zeros((N, L))
    np.add.at(m, (n_idx, l_idx), y)
    m = np.where(cnt > 0, m / np.maximum(cnt, 1), np.nan)
    b0 = np.nanmean(m, axis=0)
    u0 = np.nan_to_num(np.nanmean(m - b0[None, :], axis=1))
    u0 -= u0.mean()
    r0 = y - b0[l_idx] - u0[n_idx]
    s0 = np.sqrt(np.maximum(np.bincount(l_idx, r0**2, minlength=L) / np.maximum(np.bincount(l_idx, minlength=L), 1), 1e-4))
    seed = int(rng.integers(2**31 - 1))
    logging.getLogger("pymc").setLevel(logging.ERROR)
    with pm.Model():
        b = pm.Normal("b", mu=float(np.median(y)), sigma=2.0, shape=L, initval=b0)
        tau = pm.HalfNormal("tau", sigma=1.0, initval=max(float(u0.std()), 1e-2))
        u = pm.Normal("u", mu=0.0, sigma=tau, shape=N, initval=u0)
        s = pm.HalfNormal("s", sigma=1.0, shape=L, initval=s0)
        pm.LogNormal("C_obs", mu=b[l_idx] + u[n_idx], sigma=s[l_idx], observed=C[ok])
        # start the variational sds near the expected posterior sds (data precision), not at softplus(0) = .69,
        # so that a short run at a small learning rate is enough
        n_obs_l = np.bincount(l_idx, minlength=L)
        n_obs_n = np.bincount(n_idx, minlength=N)
        start_sigma = {"b": s0 / np.sqrt(n_obs_l), "u": np.full(N, float(s0.mean())) / np.sqrt(n_obs_n),
                       "s_log__": 1.0 / np.sqrt(2.0 * n_obs_l), "tau_log__": np.array(1.0 / np.sqrt(2.0 * N))}
        # Adam's normalised steps leave the means jittering by about lr; decay the rate geometrically to lr/50 over
        # the second half of the run (a shared variable, so the schedule needs no recompilation)
        lr_sh = pytensor.shared(np.asarray(lr, dtype=pytensor.config.floatX), "cost_lr")
        half = int(iters) // 2

        def _decay(_approx, _hist, i):
            if i >= half:
                lr_sh.set_value(np.asarray(lr * 0.02 ** ((i - half) / max(int(iters) - half, 1)), dtype=pytensor.config.floatX))

        approx = pm.fit(n=int(iters), method="advi", obj_optimizer=pm.adam(learning_rate=lr_sh), random_seed=seed,
                        progressbar=False, callbacks=[_decay], start_sigma=start_sigma)
    # draw from the fitted mean-field Gaussian directly (cheaper than compiling approx.sample's function)
    mu_q = np.asarray(approx.params[0].get_value(), dtype=float)
    sd_q = np.logaddexp(0.0, np.asarray(approx.params[1].get_value(), dtype=float))  # softplus(rho)
    z = np.random.default_rng(seed).standard_normal((int(n_draws), mu_q.size))
    flat = mu_q[None, :] + sd_q[None, :] * z
    slc = {name: sl for name, sl, *_ in approx.groups[0].ordering.values()}
    bd = flat[:, slc["b"]]
    ud = flat[:, slc["u"]]
    sd = np.exp(flat[:, slc["s_log__"]])
    tau_d = np.exp(flat[:, slc["tau_log__"]])
    logmed = bd[:, None, :] + ud[:, :, None]                      # (S, N, L)
    muhat = np.exp(logmed + 0.5 * sd[:, None, :] ** 2).mean(axis=0)
    hist = np.asarray(approx.hist)
    return CostPGMFit(muhat=muhat, log_median=logmed.mean(axis=0), b_mean=bd.mean(axis=0), u_mean=ud.mean(axis=0),
                      s_mean=sd.mean(axis=0), tau_mean=float(tau_d.mean()),
                      elbo_last=float(-hist[-1]) if hist.size else float("nan"), iters_run=int(hist.size))


def cost_pgm_expected(C, rng: np.random.Generator, **kw) -> np.ndarray:
    """Inferred expected cost per (prompt, model), mu^C_nl = E_q exp(b_l + u_n + s_l^2/2) of the LogNormal cost
    model (:func:`fit_cost_pgm`); a drop-in replacement for ``simulate.cost_two_way_fit`` in the frontier."""
    return fit_cost_pgm(C, rng, **kw).muhat
