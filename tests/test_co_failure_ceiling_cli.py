"""``capfront certificate`` and the certificate report (spec §2.18, §5 items 3 and 18), plus the
public GSM8K / MMLU-Pro matrices. References: scipy.stats.beta limits and hand counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib.cofailure import pool
from capfront_lib.cofailure.report import JSON_KEYS, certificate

CMD = [sys.executable, "-m", "capfront_lib.cli", "certificate"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=120)


def _log(tmp_path: Path, Y: np.ndarray, name="log.csv", missing=None) -> Path:
    df = pd.DataFrame(Y.T, columns=[f"m{i}" for i in range(Y.shape[0])])
    df.insert(0, "id", [f"q{j}" for j in range(Y.shape[1])])
    if missing is not None:
        for i, j in missing:
            df.iat[j, i + 1] = np.nan
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def _toy(seed=0, m=5, n=120):
    rng = np.random.default_rng(seed)
    acc = np.linspace(0.55, 0.8, m)
    Z = rng.standard_normal(n)
    X = 0.7 * Z + np.sqrt(1 - 0.49) * rng.standard_normal((m, n))
    return (X >= stats.norm.ppf(1 - acc)[:, None]).astype(int)


def _independent(Y: np.ndarray, alpha: float) -> dict:
    m, n = Y.shape
    K = int(np.sum(Y.sum(0) == 0))
    c = Y.sum(1)
    lo = 0.0 if K == 0 else stats.beta.ppf(alpha / 2, K, n - K + 1)
    hi = 1.0 if K == n else stats.beta.ppf(1 - alpha / 2, K + 1, n - K)
    asb_lo = max(stats.beta.ppf(alpha / (2 * m), ci, n - ci + 1) if ci > 0 else 0.0 for ci in c)
    return {"K": K, "beta": K / n, "lo": lo, "hi": hi, "U": (1 - lo) - asb_lo, "best": int(np.argmax(c))}


def test_json_keys_and_values(tmp_path):
    Y = _toy()
    p = _log(tmp_path, Y)
    out = _run(str(p), "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert tuple(d) == JSON_KEYS
    lib = certificate(pd.read_csv(p), alpha=0.05, input=str(p))
    for k in JSON_KEYS:
        if isinstance(d[k], float):
            assert abs(d[k] - lib[k]) < 1e-12, k
        elif k != "input":
            assert d[k] == pytest.approx(lib[k], abs=1e-12) if isinstance(d[k], list) else d[k] == lib[k], k
    ref = _independent(Y, 0.05)
    assert d["n_all_wrong"] == ref["K"] and abs(d["beta"] - ref["beta"]) < 1e-15
    assert abs(d["beta_ci"][0] - ref["lo"]) < 1e-12 and abs(d["beta_ci"][1] - ref["hi"]) < 1e-12
    assert abs(d["certified_max_gain"] - ref["U"]) < 1e-12
    assert d["single_best"] == f"m{ref['best']}"


def test_alpha_changes_interval(tmp_path):
    Y = _toy(1)
    p = _log(tmp_path, Y)
    d = json.loads(_run(str(p), "--json", "--alpha", "0.1").stdout)
    ref = _independent(Y, 0.1)
    assert abs(d["beta_ci"][0] - ref["lo"]) < 1e-12 and abs(d["beta_ci"][1] - ref["hi"]) < 1e-12
    assert d["alpha"] == 0.1


def test_text_report(tmp_path):
    p = _log(tmp_path, _toy(2))
    out = _run(str(p))
    assert out.returncode == 0
    assert "no policy whose output is one member's answer gains more than" in out.stdout
    assert "Clopper-Pearson" in out.stdout and "regime" not in out.stderr


def test_complete_log_policies_agree(tmp_path):
    Y = _toy(3)
    a = certificate(pd.read_csv(_log(tmp_path, Y)), missing="drop-incomplete")
    b = certificate(pd.read_csv(_log(tmp_path, Y)), missing="keep-partial")
    for k in JSON_KEYS:
        if k != "missing_policy":
            assert a[k] == b[k], k


def test_keep_partial_bounds_by_hand(tmp_path):
    Y = np.array([[0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 0]])
    p = _log(tmp_path, Y, missing=[(0, 3), (2, 5)])  # q3: m0 missing (others wrong); q5: m2 missing
    d = certificate(pd.read_csv(p), missing="keep-partial", min_model_coverage=0.5)
    assert d["n_queries"] == 6 and d["n_missing_cells"] == 2 and d["n_dropped_queries"] == 0
    assert d["n_all_wrong"] == 2 and d["n_all_wrong_complete"] == 0  # q3, q5 have no correct answer, none complete
    assert d["beta_ci"][0] == 0.0 and abs(d["beta_ci"][1] - stats.beta.ppf(0.975, 3, 4)) < 1e-12
    assert d["n_answered"] == {"m0": 5, "m1": 6, "m2": 5}
    c = np.array([2, 2, 2])
    asb_lo = max(stats.beta.ppf(0.025 / 3, ci, 6 - ci + 1) for ci in c)
    assert abs(d["certified_max_gain"] - (1 - asb_lo)) < 1e-12
    e = certificate(pd.read_csv(p), missing="drop-incomplete", min_model_coverage=0.5)
    assert e["n_queries"] == 4 and e["n_dropped_queries"] == 2


def _coverage_run(rng, adversarial: bool, R: int = 300) -> float:
    m, n = 5, 150
    acc = np.linspace(0.55, 0.75, m)
    t = stats.norm.ppf(1 - acc)
    from capfront_lib.cofailure.copula import beta_sf
    atom = 0.02
    beta_true = atom + (1 - atom) * beta_sf(t, 0.5)
    gain_true = (1 - beta_true) - (1 - atom) * acc.max()
    hit = 0
    for _ in range(R):
        X = np.sqrt(0.5) * rng.standard_normal(n) + np.sqrt(0.5) * rng.standard_normal((m, n))
        Y = (X >= t[:, None]).astype(float)
        Y[:, rng.uniform(size=n) < atom] = 0
        mask = rng.uniform(size=Y.shape) < 0.10
        if adversarial:
            mask &= Y == 1  # delete only correct answers
        Y[mask] = np.nan
        df = pd.DataFrame(Y.T, columns=[f"m{i}" for i in range(m)])
        d = certificate(df, missing="keep-partial", min_model_coverage=0.0)
        hit += gain_true <= d["certified_max_gain"]
    return hit / R


@pytest.mark.parametrize("adversarial", [False, True])
def test_keep_partial_coverage(adversarial):
    p = _coverage_run(np.random.default_rng(10 + adversarial), adversarial)
    assert p >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / 300)


@pytest.mark.parametrize("content,needle", [
    ("id,a,b\nq1,1,0\nq2,2,1\n", "'a'"),            # non-binary cell
    ("x,a,b\nq1,1,0\n", "id"),                       # no id column
    ("id,a,b\nq1,1,0\nq1,0,1\n", "duplicated"),     # duplicated query
    ("id,a\nq1,1\nq2,0\n", "fewer than two models"),
    (None, "no complete rows"),
])
def test_bad_input_exit_2(tmp_path, content, needle):
    p = tmp_path / "bad.csv"
    if content is None:  # 20 models each missing one row: coverage 0.95 each, yet no complete row
        Y = np.ones((20, 20))
        _log(tmp_path, Y, name="bad.csv", missing=[(i, i) for i in range(20)])
    else:
        p.write_text(content)
    out = _run(str(p), "--json")
    assert out.returncode == 2 and out.stdout == ""
    assert needle in out.stderr and str(p) in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bad_alpha_and_missing_file(tmp_path):
    p = _log(tmp_path, _toy(4))
    out = _run(str(p), "--alpha", "1.5")
    assert out.returncode == 2 and "alpha" in out.stderr
    out = _run(str(tmp_path / "nope.csv"))
    assert out.returncode == 2 and "nope.csv" in out.stderr


def test_long_form(tmp_path):
    Y = _toy(5)
    rows = [(f"q{j}", f"m{i}", int(Y[i, j])) for i in range(Y.shape[0]) for j in range(Y.shape[1])]
    p = tmp_path / "long.csv"
    pd.DataFrame(rows, columns=["query_id", "model", "correct"]).to_csv(p, index=False)
    d = json.loads(_run(str(p), "--json").stdout)
    assert abs(d["certified_max_gain"] - _independent(Y, 0.05)["U"]) < 1e-12


# ------------------------------------------------------------------ public matrices (spec §3.9)

def _matrix(shared_data: Path, rel: str) -> Path:
    p = shared_data / rel
    if not p.is_file():
        pytest.skip(f"public matrix {p} absent")
    return p


def _hand_counts(df: pd.DataFrame):
    Y = df.to_numpy(dtype=float).T
    m, n = Y.shape
    col = Y.sum(0)
    K = int(np.sum(col == 0))
    c = Y.sum(1)
    b = int(np.argmax(c))
    return m, n, K, c, b, int(np.sum((Y[b] == 0) & (col >= 1)))


@pytest.mark.parametrize("rel,cov,m,n,K,best,nbest,res,U,regime,cert", [
    ("ZeroEval/gsm8k_correct.csv", 0.0, 42, 681, 2, "o1-mini-2024-09-12", 661, 18, 0.056, "realizability-bound", False),
    ("ZeroEval/gsm8k_correct.csv", 0.95, 41, 1319, 5, "gpt-4o-2024-08-06", 1269, 45, 0.057, "realizability-bound", True),
    ("MMLU-Pro/mmlu_pro_correct.csv", 0.0, 29, 10326, 528, "gemini-1.5-pro-002", 7416, 2382, 0.249, "realizability-bound", True),
    ("MMLU-Pro/mmlu_pro_correct.csv", 0.95, 28, 12002, 664, "gemini-1.5-pro-002", 8430, 2908, 0.260, "realizability-bound", True),
])
def test_public_matrices(shared_data, rel, cov, m, n, K, best, nbest, res, U, regime, cert):
    p = _matrix(shared_data, rel)
    raw = pd.read_csv(p, index_col="id")
    d = certificate(raw.reset_index(), min_model_coverage=cov)
    assert (d["n_models"], d["n_queries"], d["n_all_wrong"]) == (m, n, K)
    assert d["single_best"] == best and d["n_correct"][best] == nbest
    assert round(d["certified_max_gain"], 3) == U
    assert d["regime"] == regime and d["regime_certified"] is cert
    # independent recomputation with pandas on the same rows
    keep = raw.loc[:, raw.notna().mean() >= cov].dropna()
    hm, hn, hK, hc, hb, hres = _hand_counts(keep)
    assert (hm, hn, hK, hres) == (m, n, K, res)
    assert d["oracle"] == 1 - hK / hn
    assert round(d["gain"] * hn) == hres and abs(d["gain"] * hn - hres) < 1e-8  # localisation, integer form
    lo = stats.beta.ppf(0.025, hK, hn - hK + 1)
    hi = stats.beta.ppf(0.975, hK + 1, hn - hK)
    assert abs(d["beta_ci"][0] - lo) < 1e-12 and abs(d["beta_ci"][1] - hi) < 1e-12
    assert abs(d["single_best_accuracy"] - hc[hb] / hn) < 1e-15


def test_public_cli_speed_and_identity(shared_data):
    p = _matrix(shared_data, "MMLU-Pro/mmlu_pro_correct.csv")
    out = _run(str(p), "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["dropped_models"] == ["DeepSeek-Coder-V2"] and d["n_all_wrong"] == 664
