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
import threading
from dataclasses import dataclass

import numpy as np

from capfront_lib.core.pytensor_setup import configure_pytensor
from capfront_lib.oracle_debiasing.estimators import check_counts

__all__ = ["PGMFit", "ELBOConvergence", "kmeans_init", "fit_pgm", "pgm_compile_count", "pgm_oracle", "CostPGMFit", "fit_cost_pgm",
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


def _pgm_init(s: np.ndarray, Gm: np.ndarray, K: int, rng: np.random.Generator, topics) -> tuple:
    """Starting point of the fit: topic labels (known, or k-means of the success profiles), D0 from the prompt's mean
    success, A0 from the cluster means, theta0 from the cluster sizes. Returns (K, labels, D0, A0, theta0)."""
    N, L = s.shape
    ph = (s + 0.5) / (Gm + 1.0)
    if topics is not None:
        topics = np.asarray(topics)
        if topics.shape != (N,):
            raise ValueError(f"topics must have one label per prompt ({N}), got shape {topics.shape}")
        _, labels = np.unique(topics, return_inverse=True)
        K = int(labels.max()) + 1
    else:
        labels = kmeans_init(s, Gm, K, rng)
    D0 = np.clip(1.0 - ph.mean(axis=1) / max(ph.mean(), 1e-3) * 0.5, 0.05, 0.95)
    A0 = np.full((K, L), 0.5)
    for k in range(K):
        m = labels == k
        if m.any():
            A0[k] = np.clip(ph[m].mean(axis=0) / np.mean(1 - D0[m]), 0.05, 0.95)
    theta0 = np.bincount(labels, minlength=K) + 1.0
    return K, labels, D0, A0, theta0 / theta0.sum()


def _pgm_model(pm, pt, N: int, L: int, K: int, s, f, labels, known: bool, init: dict | None = None):
    """Eqs. (13)-(17) as a PyMC model (call inside ``with pm.Model()``). ``s``/``f`` (successes, failures) and
    ``labels`` are arrays or PyTensor shared variables; ``init`` (D0, A0, theta0) sets the model's initial values."""
    init = init or {}
    D = pm.Beta("D", 1.0, 1.0, shape=N, initval=init.get("D"))
    A = pm.Beta("A", 1.0, 1.0, shape=(K, L), initval=init.get("A"))
    if known:
        pi = pt.clip((1.0 - D)[:, None] * A[labels], _EPS, 1 - _EPS)
        pm.Potential("lik", pt.sum(s * pt.log(pi) + f * pt.log1p(-pi)))
    else:
        theta = pm.Dirichlet("theta", a=np.ones(K), initval=init.get("theta"))
        pik = pt.clip((1.0 - D)[:, None, None] * A[None, :, :], _EPS, 1 - _EPS)  # (N, K, L)
        ll = pt.sum(s[:, None, :] * pt.log(pik) + f[:, None, :] * pt.log1p(-pik), axis=2)  # (N, K)
        pm.Potential("lik", pt.sum(pm.math.logsumexp(pt.log(theta)[None, :] + ll, axis=1)))


@dataclass
class _CompiledPGM:
    """One compiled ADVI problem of a given shape (issue 18): the model with its data as shared variables, the
    mean-field approximation, the compiled Adam step (returns the loss) and the compiled posterior sampler."""

    model: object
    approx: object
    step: object
    sampler: object
    data: dict            # name -> shared variable ("s", "f", and "labels" for the known-topic model)
    mu: object            # shared variational means (unconstrained space)
    rho: object           # shared variational log-scale parameters (sd = softplus(rho))
    rngs: list            # the step function's random generators
    opt_state: list       # (shared variable, value right after compiling): Adam's accumulators and step count
    ordering: dict        # value-variable name -> slice of the flat parameter vector


_PGM_LOCAL = threading.local()  # one cache per thread: a compiled problem holds its data and state in shared variables
_PGM_COMPILES = 0
_PGM_LOCK = threading.Lock()
_PGM_CACHE_MAX = 8  # compiled problems kept per thread; the least recently compiled one is dropped beyond it


def _pgm_cache() -> dict[tuple, _CompiledPGM]:
    """This thread's compiled ADVI problems, keyed by (N, L, K, known topics, lr). Per thread so that two fits of
    one shape running at once in a threaded worker (Dask) never share the shared variables."""
    if not hasattr(_PGM_LOCAL, "cache"):
        _PGM_LOCAL.cache = {}
    return _PGM_LOCAL.cache


def pgm_compile_count() -> int:
    """How many ADVI problems :func:`fit_pgm` has compiled in this process (reused fits do not add to it)."""
    return _PGM_COMPILES


def _compiled_pgm(N: int, L: int, K: int, known: bool, lr: float) -> _CompiledPGM:
    """The cached compiled ADVI problem for this shape and learning rate, compiling it on first use."""
    global _PGM_COMPILES
    key = (int(N), int(L), int(K), bool(known), float(lr))
    cache = _pgm_cache()
    if key in cache:
        return cache[key]
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import RandomGeneratorSharedVariable

    fx = pytensor.config.floatX
    data = {"s": pytensor.shared(np.zeros((N, L), dtype=fx), "pgm_s"),
            "f": pytensor.shared(np.ones((N, L), dtype=fx), "pgm_f")}
    if known:
        data["labels"] = pytensor.shared(np.arange(N) % K, "pgm_labels")
    with pm.Model() as model:
        _pgm_model(pm, pt, N, L, K, data["s"], data["f"], data.get("labels"), known)
        advi = pm.ADVI(random_seed=0)
        step = advi.objective.step_function(score=True, obj_optimizer=pm.adam(learning_rate=lr))
        approx = advi.approx
        sampler = approx.sample_dict_fn
    group = approx.groups[0]
    mu, rho = group.params_dict["mu"], group.params_dict["rho"]
    skip = {id(v) for v in (mu, rho, *data.values())}
    shared = step.get_shared()
    rngs = [v for v in shared if isinstance(v, RandomGeneratorSharedVariable)]
    opt_state = [(v, np.array(v.get_value(), copy=True)) for v in shared
                 if id(v) not in skip and not isinstance(v, RandomGeneratorSharedVariable)]
    ordering = {name: sl for name, sl, *_ in group.ordering.values()}
    with _PGM_LOCK:
        _PGM_COMPILES += 1
    entry = _CompiledPGM(model, approx, step, sampler, data, mu, rho, rngs, opt_state, ordering)
    while len(cache) >= max(int(_PGM_CACHE_MAX), 1):  # a parameter sweep over sizes must not keep every compile
        cache.pop(next(iter(cache)))
    cache[key] = entry
    return entry


def _logit(x: np.ndarray) -> np.ndarray:
    return np.log(x / (1.0 - x))


def _expit(y: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-y))


def _simplex_forward(x: np.ndarray) -> np.ndarray:
    """PyMC's SimplexTransform.forward: log x[:-1] - mean(log x)."""
    lx = np.log(x)
    return lx[..., :-1] - lx.mean(axis=-1, keepdims=True)


def _simplex_backward(y: np.ndarray) -> np.ndarray:
    """PyMC's SimplexTransform.backward: softmax of (y, -sum y)."""
    z = np.concatenate([y, -y.sum(axis=-1, keepdims=True)], axis=-1)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _advi_loop(step, approx, iters: int, callbacks: list) -> np.ndarray:
    """PyMC's ``Inference._iterate_with_loss`` without the progress bar: run the compiled step, record the loss,
    call the callbacks, stop on StopIteration (dropping the last loss, as PyMC does), refuse a NaN loss."""
    scores = np.full(int(iters), np.nan)
    i = 0
    try:
        for i in range(int(iters)):
            e = step()
            if np.isnan(e):
                raise FloatingPointError(f"NaN occurred in ADVI optimisation at iteration {i}")
            scores[i] = e
            for cb in callbacks:
                cb(approx, scores[: i + 1], i + 1)
    except StopIteration:
        scores = scores[:i]
    return scores


def _fit_reused(s, Gm, K, labels, D0, A0, theta0, known: bool, seed: int, iters: int, lr: float, n_draws: int,
                callbacks: list) -> tuple[dict, np.ndarray]:
    """One ADVI fit on the cached compiled problem of this shape: set the data, put the variational means at this
    world's starting point (the model's transforms: logit for D and A, PyMC's simplex transform for theta) and the
    scales at PyMC's start (rho = 0), reset Adam, reseed the step's random stream exactly as ``pm.fit(random_seed=
    seed)`` would, iterate, and draw ``n_draws`` from the fitted approximation (seeded as ``approx.sample``)."""
    import pytensor
    from pymc.pytensorf import reseed_rngs
    from pymc.util import _get_seeds_per_chain

    N, L = s.shape
    e = _compiled_pgm(N, L, K, known, lr)
    fx = pytensor.config.floatX
    e.data["s"].set_value(s.astype(fx))
    e.data["f"].set_value((Gm - s).astype(fx))
    if known:
        e.data["labels"].set_value(np.asarray(labels, dtype=e.data["labels"].get_value().dtype))
    start = {"D_logodds__": _logit(D0), "A_logodds__": _logit(A0), "theta_simplex__": _simplex_forward(theta0)}
    mu0 = np.zeros(e.mu.get_value().shape, dtype=fx)
    for name, sl in e.ordering.items():
        mu0[sl] = np.ravel(start[name])
    e.mu.set_value(mu0)
    e.rho.set_value(np.zeros_like(mu0))
    for v, val in e.opt_state:
        v.set_value(np.array(val, copy=True))
    rs = np.random.RandomState(seed)   # pm.fit: the group's RandomState draws the start's seed, then the step's
    rs.randint(2**30, dtype=np.int64)
    reseed_rngs(e.rngs, rs.randint(2**30, dtype=np.int64))
    hist = _advi_loop(e.step, e.approx, iters, callbacks)
    (draw_seed,) = _get_seeds_per_chain(seed, 1)
    raw = e.sampler(int(n_draws), random_seed=draw_seed)
    post = {"D": _expit(np.asarray(raw["D_logodds__"])), "A": _expit(np.asarray(raw["A_logodds__"]))}
    if not known:
        post["theta"] = _simplex_backward(np.asarray(raw["theta_simplex__"]))
    return post, hist


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
    reuse: bool = True,
) -> PGMFit:
    """Fit eqs. (13)-(17) by mean-field ADVI (Adam) and return the posterior summary for eq. (18).

    ``topics`` (N,) of known topic labels turns off the mixture (known-topic PGM). Otherwise topics
    are latent and marginalised; A is initialised from k-means clusters of the success profiles.
    ``iters`` caps the Adam iterations; the fit stops earlier when the ELBO has converged
    (:class:`ELBOConvergence`, relative change ``tol`` over 1,000 iterations; ``PGMFit.iters_run`` says when).
    ``stop="parameters"`` uses PyMC's ``CheckParametersConvergence`` (relative change of the variational
    parameters) instead, the rule of the chapter's first version, kept for the benchmark's before/after.

    ``reuse=True`` (issue 18) compiles the ADVI step and the posterior sampler once per (N, L, K, known topics?,
    lr) in this process and reuses them for every later world of that shape, resetting the data, the starting
    point, Adam's state and the random stream per fit (most of a fresh fit's time is PyTensor's graph rewriting of
    the step). ``reuse=False`` builds the model and calls ``pm.fit`` afresh, as before.
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
    K, labels, D0, A0, theta0 = _pgm_init(s, Gm, K, rng, topics)
    known = topics is not None
    seed = int(rng.integers(2**31 - 1))
    logging.getLogger("pymc").setLevel(logging.ERROR)
    cb = [ELBOConvergence(every=1000, tolerance=tol) if stop == "elbo" else
          pm.callbacks.CheckParametersConvergence(every=1000, tolerance=tol, diff="relative")]
    if reuse:
        post, hist = _fit_reused(s, Gm, K, labels, D0, A0, theta0, known, seed, int(iters), float(lr), int(n_draws), cb)
    else:
        with pm.Model():
            _pgm_model(pm, pt, N, L, K, s, Gm - s, labels, known, init={"D": D0, "A": A0, "theta": theta0})
            approx = pm.fit(n=int(iters), method="advi", obj_optimizer=pm.adam(learning_rate=lr), random_seed=seed,
                            progressbar=False, callbacks=cb)
            idata = approx.sample(int(n_draws), random_seed=seed)
        post = {k: idata.posterior[k].values for k in idata.posterior.data_vars}
        hist = np.asarray(approx.hist)
    return _pgm_summary(post, s, Gm, K, labels, known, hist)


def _pgm_summary(post: dict, s, Gm, K: int, labels, known: bool, hist: np.ndarray) -> PGMFit:
    """Posterior draws of D, A (and theta) -> pihat, the functional draws of eq. (18) and the responsibilities."""
    N, L = s.shape
    Dd = np.asarray(post["D"]).reshape(-1, N)
    Ad = np.asarray(post["A"]).reshape(-1, K, L)
    pik = np.clip((1.0 - Dd)[:, :, None, None] * Ad[:, None, :, :], _EPS, 1 - _EPS)  # (S, N, K, L)
    if known:
        resp = np.zeros((Dd.shape[0], N, K))
        resp[:, np.arange(N), labels] = 1.0
    else:
        th = np.asarray(post["theta"]).reshape(-1, K)
        ll = (s[None, :, None, :] * np.log(pik) + (Gm - s)[None, :, None, :] * np.log1p(-pik)).sum(-1)
        lw = np.log(th)[:, None, :] + ll
        lw -= lw.max(axis=2, keepdims=True)
        resp = np.exp(lw)
        resp /= resp.sum(axis=2, keepdims=True)
    pi_draw = np.einsum("snk,snkl->snl", resp, pik)
    pihat = pi_draw.mean(axis=0)
    func = pi_draw.max(axis=2).mean(axis=1)
    hist = np.asarray(hist)
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
