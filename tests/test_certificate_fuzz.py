"""Property-based fuzzing of ``capfront certificate`` (issue 17).

Hypothesis writes malformed and well-formed logs (duplicate or empty header names, ragged rows, missing-value
tokens, non-binary cells, blank ids, odd alphas). For every input the command must either

- exit 2 with exactly one line on stderr that names the file, or
- exit 0 with JSON free of NaN/Infinity whose numbers equal an independent computation made here with
  Python's csv module and scipy.stats (the coverage rule, complete rows, K, the single best model and the
  Clopper–Pearson certificate U = (1 - beta_lo) - asb_lo).

Never a traceback, never a NaN token.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
import numpy as np
from scipy import optimize, special, stats

from capfront_lib import cli

TOKENS = ["0", "1", "0", "1", "0", "1", "", "NA", "null", "2", "x", "0.5", " ", "1.0"]
NAMES = ["id", "a", "b", "c", "gpt-4", "gpt-4.1", "category", "", "m 1"]


@st.composite
def logs(draw):
    clean = draw(st.integers(0, 2)) == 0  # a third of the cases are well formed (0/1/blank only)
    n_models = draw(st.integers(2 if clean else 1, 5))
    if clean:
        header = ["id"] + [f"m{i}" for i in range(n_models)]
    else:
        header = ["id"] + draw(st.lists(st.sampled_from(NAMES[1:]), min_size=n_models, max_size=n_models))
        if draw(st.integers(0, 9)) == 0:
            header[0] = "x"  # no id column
    n_rows = draw(st.integers(1 if clean else 0, 25))
    rows = []
    for r in range(n_rows):
        width = len(header) if (clean or draw(st.integers(0, 9)) > 0) else draw(st.integers(1, len(header) + 2))
        ident = f"q{r}" if (clean or draw(st.integers(0, 19)) > 0) else draw(st.sampled_from(["", "q0"]))
        pool = ["0", "1"] * 12 + ["1.0", ""] if clean else TOKENS
        cells = [draw(st.sampled_from(pool)) for _ in range(width - 1)]
        rows.append([ident] + cells)
    alpha = draw(st.sampled_from([0.05, 0.2, 1e-150, 1e-300, 0.999] + ([] if clean else [0.0, 1.0, -0.1])))
    policy = draw(st.sampled_from(["--drop-incomplete", "--keep-partial"]))
    return header, rows, alpha, policy


def _write(path: Path, header, rows) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


def _expected(header, rows, alpha, policy):
    """Independent certificate of a well-formed wide log, or None when the input is not one."""
    if not (0 < alpha < 1) or header[0] != "id" or len(set(header)) != len(header) or "" in header:
        return None
    models = header[1:]
    if "category" in models or not rows or any(len(r) != len(header) for r in rows):
        return None
    ids = [r[0] for r in rows]
    if any(not i.strip() for i in ids) or len(set(ids)) != len(ids):
        return None
    def value(c: str) -> str:  # "" = not run; a number equal to 0 or 1 is that outcome; anything else invalid
        if c == "":
            return ""
        try:
            v = float(c)
        except ValueError:
            return "bad"
        return {0.0: "0", 1.0: "1"}.get(v, "bad")

    rows = [[r[0]] + [value(c) for c in r[1:]] for r in rows]
    if any(c == "bad" for r in rows for c in r[1:]):
        return None
    cols = {m: [r[j + 1] for r in rows] for j, m in enumerate(models)}
    if any(all(c == "" for c in v) for v in cols.values()):
        return None  # a model with no result at all is refused by the loader
    kept = [m for m in models if sum(c != "" for c in cols[m]) / len(rows) >= 0.95]
    if len(kept) < 2:
        return None
    idx = range(len(rows))
    if policy == "--drop-incomplete":
        idx = [i for i in idx if all(cols[m][i] != "" for m in kept)]
        if not idx:
            return None
    idx = list(idx)
    n, m = len(idx), len(kept)
    correct = {k: sum(cols[k][i] == "1" for i in idx) for k in kept}
    answered = {k: sum(cols[k][i] != "" for i in idx) for k in kept}
    if any(answered[k] == 0 for k in kept):
        return None
    any_right = [any(cols[k][i] == "1" for k in kept) for i in idx]
    complete = [all(cols[k][i] != "" for k in kept) for i in idx]
    K = sum(not a for a in any_right)
    K_complete = sum((not a) and c for a, c in zip(any_right, complete))

    def lower(k, level):
        """Clopper-Pearson lower limit: the p with P(X >= k | n, p) = level, found by bisection on log p
        with the tail summed from log binomial pmfs (independent of the beta quantile the CLI uses, and
        finite for levels as small as 1e-300, where scipy's beta.ppf returns nan)."""
        if k == 0:
            return 0.0
        js = np.arange(k, n + 1)

        def excess(lp):
            return special.logsumexp(stats.binom.logpmf(js, n, math.exp(lp))) - math.log(level)

        lo = -745.0
        if excess(lo) >= 0:
            return 0.0
        return math.exp(optimize.brentq(excess, lo, 0.0, xtol=1e-14, rtol=1e-15, maxiter=500))

    beta_lo = lower(K_complete, alpha / 2)
    asb_lo = max(lower(correct[k], alpha / (2 * m)) for k in kept)
    acc = {k: correct[k] / answered[k] for k in kept}
    return {"n_queries": n, "n_models": m, "n_all_wrong": K, "beta": K / n, "accuracy": acc,
            "single_best_accuracy": max(acc.values()), "certified_max_gain": (1 - beta_lo) - asb_lo,
            "beta_lo": beta_lo, "asb_lo": asb_lo}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
# found by hypothesis: the reference's beta.ppf was nan at this level (by hand beta_lo = (1e-151)^(1/4))
@example((["id", "m0", "m1"], [["q0", "0", "0"], ["q1", "0", "0"], ["q2", "0", "0"], ["q3", "0", "0"], ["q4", "0", "1"]],
          1e-150, "--drop-incomplete"))
def test_certificate_never_tracebacks_and_matches_independent_computation(case):
    header, rows, alpha, policy = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        _write(path, header, rows)
        code, out, err = _run(["certificate", str(path), "--json", "--alpha", repr(alpha), policy])
    expected = _expected(header, rows, alpha, policy)
    event(f"exit {code}")
    if code == 2:
        assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err, err
        assert "Traceback" not in err
        assert expected is None, f"a well-formed log was refused: {err}"
        return
    assert code == 0, (code, err)
    assert "NaN" not in out and "Infinity" not in out
    got = json.loads(out)
    assert expected is not None, "an input the independent reader rejects was accepted"
    for key in ("n_queries", "n_models", "n_all_wrong"):
        assert got[key] == expected[key]
    for key in ("beta", "single_best_accuracy", "certified_max_gain", "beta_lo", "asb_lo"):
        assert math.isclose(got[key], expected[key], rel_tol=1e-9, abs_tol=1e-12), (key, got[key], expected[key])
    for k, v in expected["accuracy"].items():
        assert math.isclose(got["accuracy"][k], v, rel_tol=1e-12)


@pytest.mark.parametrize("alpha", ["1e-150", "1e-300", "5e-324"])
def test_tiny_alpha_gives_finite_certificate(tmp_path, alpha):
    """--alpha 1e-150 printed 'certified maximum gain ... = nan' (text) and a traceback (--json)."""
    p = tmp_path / "log.csv"
    _write(p, ["id", "a", "b", "c"], [[f"q{i}", str(i % 2), str((i // 2) % 2), "1" if i % 5 else "0"] for i in range(40)])
    code, out, err = _run(["certificate", str(p), "--json", "--alpha", alpha])
    assert code == 0, err
    got = json.loads(out)
    assert 0 <= got["beta_lo"] <= got["beta"] and got["beta_ci"][1] <= 1
    assert math.isfinite(got["certified_max_gain"])
    code, out, err = _run(["certificate", str(p), "--alpha", alpha])
    assert code == 0 and "nan" not in out.lower()
