"""Optional comparison with the authors' reference package ``repliclust`` (spec §4.4, D1).

Skipped unless the package is installed; it is never a dependency of this project. Its mixture models
(``centers``, ``axes_list``, ``axis_lengths_list``) must satisfy the archetype's overlap constraints when
measured with this book's overlap functions, and its max-min aspect ratios must agree in distribution
with ours under the package's reading of ``aspect_maxmin`` (not bitwise).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

repliclust = pytest.importorskip("repliclust")

from capfront_lib.repliclust.archetype import BENCHMARK_ARCHETYPE_PARAMS, Archetype, sample_mixture_model  # noqa: E402
from capfront_lib.repliclust.overlap import pairwise_overlaps  # noqa: E402


def _package_model(params, seed):
    kw = {k: v for k, v in params.items() if k != "name"}
    repliclust.set_seed(seed)
    arch = repliclust.Archetype(**kw)
    return arch.sample_mixture_model()


def _covs(model):
    U = np.stack([np.asarray(u) for u in model.axes_list])
    L = np.stack([np.asarray(v) for v in model.axis_lengths_list])
    return np.einsum("kai,ka,kaj->kij", U, L**2, U), L


@pytest.mark.parametrize("idx", [0, 2, 3])
def test_package_models_meet_constraints_under_our_overlaps(idx, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    params = BENCHMARK_ARCHETYPE_PARAMS[idx]
    ok_min = 0
    n = 10
    for s in range(n):
        m = _package_model(params, s)
        S, _ = _covs(m)
        L = pairwise_overlaps(np.asarray(m.centers), S, "lda")
        E = pairwise_overlaps(np.asarray(m.centers), S, "exact")
        assert np.nanmax(L) <= params["max_overlap"] * (1 + 1e-3)
        assert np.nanmax(E) <= params["max_overlap"] * (1 + 1e-3)
        ok_min += bool(np.all(np.nanmax(L, axis=1) >= params["min_overlap"] * (1 - 1e-3)))
    assert ok_min >= 0.95 * n


def test_aspect_ratios_agree_in_distribution_with_package_reading(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    params = dict(BENCHMARK_ARCHETYPE_PARAMS[2])  # 7 clusters in 10-D, aspect 1.5 / 3.0
    theirs, ours = [], []
    rng = np.random.default_rng(0)
    ours_arch = Archetype.from_params({k: v for k, v in params.items() if k != "name"}, aspect_semantics="package")
    for s in range(30):
        _, L = _covs(_package_model(params, s))
        theirs.extend(L.max(axis=1) / L.min(axis=1))
        m = sample_mixture_model(ours_arch, rng)
        ours.extend(m.lengths.max(axis=1) / m.lengths.min(axis=1))
    assert stats.ks_2samp(theirs, ours).pvalue > 1e-3
