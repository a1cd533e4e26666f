"""Issue 18: the PGM's ADVI problem is compiled once per shape and reused across worlds (``fit_pgm(reuse=True)``).

The reference is PyMC's own ``pm.fit`` on a freshly built model (``reuse=False``): with the same seed the reused
compile must give the same fit (same data, start, optimiser and random stream), and with different seeds the two
paths must agree to Monte Carlo error, estimated from the posterior draws and from the run-to-run spread of the
stochastic optimisation over seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from capfront_lib.oracle_debiasing import simulate as sim

SHAPE = dict(n_prompts=60, n_models=3, n_topics=2, n_gens=6)
ITERS = 1000  # fixed: the ELBO rule cannot stop before 2,000 iterations
SEEDS = (0, 1, 2)


def _worlds():
    return [sim.simulate_world(np.random.default_rng(s), keep_tensors=False, **SHAPE) for s in (11, 12)]


@pytest.fixture(scope="module")
def fits():
    """Fresh and reused fits of two worlds of one shape; reused fits interleave the worlds so that every fit starts
    from state the other world left in the compiled problem."""
    from capfront_lib.oracle_debiasing.pgm import fit_pgm

    ws = _worlds()
    out = {"fresh": {}, "same": {}, "other": {}}
    for wi, w in enumerate(ws):
        for sd in SEEDS:
            out["fresh"][wi, sd] = fit_pgm(w.s, w.G, 2, np.random.default_rng(sd), iters=ITERS, reuse=False)
    for sd in SEEDS:
        for wi, w in enumerate(ws):
            out["same"][wi, sd] = fit_pgm(w.s, w.G, 2, np.random.default_rng(sd), iters=ITERS, reuse=True)
            out["other"][wi, sd] = fit_pgm(w.s, w.G, 2, np.random.default_rng(100 + sd), iters=ITERS, reuse=True)
    return out


def test_reused_compile_reproduces_a_fresh_pm_fit_with_the_same_seed(fits):
    """Same data, same k-means start, same Adam, same random stream: the reused compile is the fresh fit."""
    for key, f in fits["fresh"].items():
        r = fits["same"][key]
        assert r.iters_run == f.iters_run == ITERS
        np.testing.assert_allclose(r.functional_draws, f.functional_draws, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.pihat, f.pihat, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.elbo_last, f.elbo_last, rtol=1e-9)
    # and the two worlds really differ (the reset is not vacuous)
    assert abs(fits["same"][0, 0].o_functional[0] - fits["same"][1, 0].o_functional[0]) > 1e-3


def test_reused_compile_matches_fresh_fits_to_monte_carlo_error(fits):
    """Different seeds: posterior means of the oracle functional and of pihat agree within Monte Carlo error, which
    is the larger of the draws' standard error and the run-to-run spread over seeds (optimisation noise)."""
    n = len(SEEDS)
    for wi in (0, 1):
        fr = [fits["fresh"][wi, sd] for sd in SEEDS]
        ot = [fits["other"][wi, sd] for sd in SEEDS]
        a = np.array([f.functional_draws.mean() for f in fr])
        b = np.array([f.functional_draws.mean() for f in ot])
        run_var = (a.var(ddof=1) + b.var(ddof=1)) / 2
        draw_var = np.mean([f.functional_draws.var(ddof=1) / f.functional_draws.size for f in fr + ot])
        se = np.sqrt(max(run_var, draw_var) * 2 / n)
        assert abs(a.mean() - b.mean()) <= 4 * se, (wi, a, b, se)
        pa = np.stack([f.pihat for f in fr])
        pb = np.stack([f.pihat for f in ot])
        se_p = np.sqrt(np.maximum((pa.var(axis=0, ddof=1) + pb.var(axis=0, ddof=1)) / 2, 1e-12) * 2 / n)
        z = (pa.mean(axis=0) - pb.mean(axis=0)) / se_p
        assert np.sqrt(np.mean(z**2)) <= 3.0, (wi, np.sqrt(np.mean(z**2)))
        # and Monte Carlo error is small against the posterior itself
        assert se < 0.01


def test_second_fit_of_a_shape_does_not_compile(fits, monkeypatch):
    import pytensor

    from capfront_lib.oracle_debiasing import pgm

    w = _worlds()[1]
    key = (SHAPE["n_prompts"], SHAPE["n_models"], 2, False, 0.02)
    entry = pgm._pgm_cache()[key]
    n0 = pgm.pgm_compile_count()
    calls = []
    real = pytensor.function
    monkeypatch.setattr(pytensor, "function", lambda *a, **k: calls.append(1) or real(*a, **k))
    pgm.fit_pgm(w.s, w.G, 2, np.random.default_rng(7), iters=200)
    assert calls == [] and pgm.pgm_compile_count() == n0 and pgm._pgm_cache()[key] is entry


def test_a_new_shape_gets_its_own_compiled_problem(fits):
    from capfront_lib.oracle_debiasing import pgm

    n0 = pgm.pgm_compile_count()
    old = pgm._pgm_cache()[(SHAPE["n_prompts"], SHAPE["n_models"], 2, False, 0.02)]
    w = sim.simulate_world(np.random.default_rng(3), **dict(SHAPE, n_prompts=40), keep_tensors=False)
    f = pgm.fit_pgm(w.s, w.G, 2, np.random.default_rng(0), iters=200)
    assert pgm.pgm_compile_count() == n0 + 1
    new = pgm._pgm_cache()[(40, SHAPE["n_models"], 2, False, 0.02)]
    assert new is not old and new.step is not old.step and f.pihat.shape == (40, SHAPE["n_models"])
    # known topics are another problem (no mixture), also compiled separately
    pgm.fit_pgm(w.s, w.G, 2, np.random.default_rng(0), iters=200, topics=w.T)
    assert pgm.pgm_compile_count() == n0 + 2


@pytest.mark.parametrize("stop,tol", [("elbo", 1e-2), ("parameters", 10.0)])
def test_stop_rules_stop_where_pm_fit_stops(stop, tol):
    """The reused loop applies the stop rules as pm.fit does: same iteration count, same fit. (PyMC's parameter
    rule compares the largest relative change of any variational parameter, so it needs a loose tolerance to stop
    on this small world.)"""
    from capfront_lib.oracle_debiasing.pgm import fit_pgm

    w = _worlds()[0]
    kw = dict(iters=6000, tol=tol, stop=stop, topics=w.T)
    f = fit_pgm(w.s, w.G, 2, np.random.default_rng(4), reuse=False, **kw)
    r = fit_pgm(w.s, w.G, 2, np.random.default_rng(4), reuse=True, **kw)
    assert f.iters_run < 6000
    assert r.iters_run == f.iters_run
    np.testing.assert_allclose(r.pihat, f.pihat, rtol=0, atol=1e-9)


def test_threads_get_their_own_compiled_problem(fits):
    """A compiled problem carries its data and optimiser state in shared variables, so another thread (a threaded
    Dask worker) must not reuse this thread's: it compiles its own, and its fit is still the fresh pm.fit's."""
    import threading

    from capfront_lib.oracle_debiasing import pgm

    w = _worlds()[0]
    n0 = pgm.pgm_compile_count()
    out = {}
    th = threading.Thread(target=lambda: out.update(
        f=pgm.fit_pgm(w.s, w.G, 2, np.random.default_rng(SEEDS[0]), iters=ITERS),
        entry=pgm._pgm_cache()[(SHAPE["n_prompts"], SHAPE["n_models"], 2, False, 0.02)]))
    th.start()
    th.join()
    assert pgm.pgm_compile_count() == n0 + 1
    assert out["entry"] is not pgm._pgm_cache()[(SHAPE["n_prompts"], SHAPE["n_models"], 2, False, 0.02)]
    np.testing.assert_allclose(out["f"].pihat, fits["fresh"][0, SEEDS[0]].pihat, rtol=0, atol=1e-9)


def test_the_cache_is_bounded(fits, monkeypatch):
    """A sweep over sizes does not keep every compiled problem: beyond the bound the oldest one is dropped."""
    from capfront_lib.oracle_debiasing import pgm

    monkeypatch.setattr(pgm, "_PGM_CACHE_MAX", 1)
    w = sim.simulate_world(np.random.default_rng(5), **dict(SHAPE, n_prompts=30), keep_tensors=False)
    pgm.fit_pgm(w.s, w.G, 2, np.random.default_rng(0), iters=200, topics=w.T)
    assert list(pgm._pgm_cache()) == [(30, SHAPE["n_models"], 2, True, 0.02)]
