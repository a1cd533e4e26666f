"""PyTensor configuration (capfront_lib.core.pytensor_setup): BLAS from scipy-openblas32, compile cache.

Each PyTensor check runs in a fresh interpreter (PyTensor reads its flags once, at import). References:
numpy's own products for the BLAS operations; for the PGM, the posterior of the same ADVI fit under
PyTensor's defaults (no BLAS), compared within the Monte Carlo error of the posterior draws.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from capfront_lib.core import pytensor_setup as P

pytest.importorskip("scipy_openblas32")


def _run(code: str, env_extra: dict | None = None, timeout: int = 900) -> dict:
    env = dict(os.environ, **(env_extra or {}))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("JSON")][-1]
    return json.loads(line[4:])


def test_blas_flags_rename_every_declared_routine_that_exists():
    flags = P.blas_ldflags()
    assert "-lscipy_openblas" in flags and "-Ddgemm_=scipy_dgemm_" in flags and "-Ddgemv_=scipy_dgemv_" in flags
    assert "," not in flags  # PYTENSOR_FLAGS is comma-separated
    renamed = [t.split("=")[0][2:] for t in flags.split() if t.startswith("-D")]
    assert set(renamed) <= set(P.BLAS_ROUTINES) and len(renamed) >= 100


def test_merge_keeps_the_users_own_flags():
    merged = P._merge("floatX=float32,blas__ldflags=-lmyblas", {"blas__ldflags": "-lx", "base_compiledir": "/tmp/c"})
    assert merged == "floatX=float32,blas__ldflags=-lmyblas,base_compiledir=/tmp/c"


def test_compiledir_moves_when_home_cache_is_not_writable(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(P.os, "access", lambda path, mode: False)  # root ignores permission bits: simulate
    flag = P.compiledir_flag()
    assert flag == f"base_compiledir={tmp_path / 'capfront-pytensor'}" and (tmp_path / "capfront-pytensor").is_dir()
    monkeypatch.setattr(P.os, "access", lambda path, mode: True)
    assert P.compiledir_flag() == ""


_BLAS_CODE = r"""
import json, warnings
caught = []
warnings.showwarning = lambda message, *a, **k: caught.append(str(message))
from capfront_lib.core.pytensor_setup import configure_pytensor
applied = configure_pytensor()
import numpy as np, pytensor, pytensor.tensor as pt
A, B, v = pt.matrix("A"), pt.matrix("B"), pt.vector("v")
f = pytensor.function([A, B, v], [A @ B, A @ v, pt.outer(v, v) + 2.0 * A])
rng = np.random.default_rng(0)
a, b, x = rng.normal(size=(40, 30)), rng.normal(size=(30, 20)), rng.normal(size=30)
r = f(a[:30, :30], b[:, :20], x)
print("JSON" + json.dumps({"ops": [type(n.op).__name__ for n in f.maker.fgraph.toposort()],
    "err": [float(np.abs(r[0] - a[:30, :30] @ b).max()), float(np.abs(r[1] - a[:30, :30] @ x).max()),
            float(np.abs(r[2] - (np.outer(x, x) + 2.0 * a[:30, :30])).max())],
    "warnings": caught, "ldflags": pytensor.config.blas__ldflags, "applied": applied}))
"""


def test_pytensor_links_the_pypi_openblas_without_warning():
    out = _run(_BLAS_CODE)
    assert not any("BLAS" in w for w in out["warnings"]), out["warnings"]
    assert out["ldflags"] == P.blas_ldflags() == out["applied"]["blas__ldflags"]
    # CGemv / CGer are only inserted when blas__ldflags is set (pytensor/tensor/rewriting/blas_c.py)
    assert "CGemv" in out["ops"] and {"Gemm", "Dot22"} & set(out["ops"]), out["ops"]
    assert max(out["err"]) < 1e-12


def test_switch_off_gives_pytensor_defaults():
    out = _run(_BLAS_CODE, {"CAPFRONT_PYTENSOR_SETUP": "off"})
    assert out["applied"] == {}
    if not out["ldflags"]:  # no system BLAS on this machine: PyTensor's own search warns (the issue 18 symptom)
        assert any("could not link to a BLAS" in w for w in out["warnings"])
        assert "CGemv" not in out["ops"]
    assert max(out["err"]) < 1e-12


_PGM_CODE = r"""
import json
import numpy as np
from capfront_lib.oracle_debiasing import simulate as sim
from capfront_lib.oracle_debiasing.pgm import fit_pgm
w = sim.simulate_world(np.random.default_rng(3), 40, 3, 2, 10, keep_tensors=False)
f = fit_pgm(w.s, w.G, 2, np.random.default_rng(4), iters=400, n_draws=300)
print("JSON" + json.dumps({"func": f.functional_draws.tolist(), "pihat": f.pihat.tolist()}))
"""


def test_pgm_posterior_is_the_same_with_and_without_the_configuration():
    """Small PGM (N=40, L=3, K=2): the posterior mean of the oracle functional under the configured PyTensor
    agrees with PyTensor's defaults within 4 Monte Carlo standard errors of the difference."""
    a = _run(_PGM_CODE)
    b = _run(_PGM_CODE, {"CAPFRONT_PYTENSOR_SETUP": "off"})
    da, db = np.asarray(a["func"]), np.asarray(b["func"])
    se = np.sqrt(da.var(ddof=1) / da.size + db.var(ddof=1) / db.size)
    assert abs(da.mean() - db.mean()) <= 4 * se + 1e-12
    pa, pb = np.asarray(a["pihat"]), np.asarray(b["pihat"])
    assert pa.shape == (40, 3) and np.all((pa > 0) & (pa < 1))
    assert np.max(np.abs(pa - pb)) < 0.05
