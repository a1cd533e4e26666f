"""``capfront sweep`` (issue 14 §2): grid expansion, validation before any run, one process per point on a
local pool or a real Dask LocalCluster (2 worker processes, loopback), byte-identical results, resume after
a kill, summary.parquet and the figure."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capfront_lib import cli, execute, runner, sweep
from capfront_lib.core import params as core_params

TOY = textwrap.dedent(
    '''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # Toy

    ```{code-cell} ipython3
    :tags: [parameters]

    seed = 0
    a = 1
    b = 0.5
    sleep_s = 0.0
    counter = ""
    results_dir = "results/toy"
    ```

    ```{code-cell} ipython3
    import json, os, time
    import numpy as np
    import psutil
    from capfront_lib.core.claims import Ledger, parse_registry
    from capfront_lib.core.results import write_results
    x = np.random.default_rng([seed, a]).normal(b, 1.0, 1000)
    m = float(x.mean())
    reg = parse_registry({"work": "toy", "claims": [{"id": "pos", "location": ["Section 1"], "claim": "mean above 0.25",
                          "paper_value": "> 0.25", "rule": "bound", "expect": ">=", "target": 0.25, "method": "simulation"}]}, "toy")
    ledger = Ledger("toy", profile="quick", registry=reg)
    ledger.measure("pos", m)
    time.sleep(sleep_s)
    write_results(results_dir, "toy", results={"mean": m, "stats": {"sd": float(x.std())}, "a": a, "source": "simulated"}, ledger=ledger)
    with open(os.path.join(results_dir, "where.json"), "w") as fh:
        json.dump([p.pid for p in psutil.Process().parents()[:3]], fh)
    if counter:
        with open(counter, "a") as fh:
            fh.write(f"a={a} b={b} seed={seed}\\n")
    ```
    '''
)


def expected_mean(seed: int, a: int, b: float) -> float:
    return float(np.random.default_rng([seed, a]).normal(b, 1.0, 1000).mean())


@pytest.fixture()
def root(tmp_path, monkeypatch):
    r = tmp_path / "root"
    (r / "notebooks").mkdir(parents=True)
    (r / "data" / "profiles").mkdir(parents=True)
    (r / "notebooks" / "toy.md").write_text(TOY)
    (r / "data" / "profiles" / "toy.yaml").write_text("quick: {}\npaper: {b: 1.0}\n")
    monkeypatch.setenv("CAPFRONT_ROOT", str(r))
    monkeypatch.chdir(tmp_path)
    return r


GRID = ["-p", "a", "1,2", "-p", "b", "0.0,0.5", "--seeds", "0-1"]


def test_values_seeds_and_grid_expansion(root):
    assert sweep.split_values("1,2, 3") == ["1", "2", "3"]
    assert sweep.split_values("[1, 2],[3],'x,y'") == ["[1, 2]", "[3]", "'x,y'"]
    assert sweep.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    plan = sweep.plan_sweep("toy", [("a", "1,2"), ("b", "0.0,0.5")], seeds="0-1", root=root)
    got = [(p.swept["a"], p.swept["b"], p.swept["seed"]) for p in plan.points]
    assert got == [(a, b, s) for a in (1, 2) for b in (0.0, 0.5) for s in (0, 1)]
    assert plan.name == "toy-a-b-seeds" and plan.out_dir == Path.cwd() / "sweeps" / "toy-a-b-seeds"
    assert len({p.key for p in plan.points}) == 8 and len({p.folder for p in plan.points}) == 8
    # point key = hash(chapter source key, parameters): the same point, same key; a changed notebook, new keys
    again = sweep.plan_sweep("toy", [("a", "1,2"), ("b", "0.0,0.5")], seeds="0-1", root=root)
    assert [p.key for p in again.points] == [p.key for p in plan.points]
    (root / "notebooks" / "toy.md").write_text(TOY + "\nA new sentence.\n")
    changed = sweep.plan_sweep("toy", [("a", "1,2"), ("b", "0.0,0.5")], seeds="0-1", root=root)
    assert not {p.key for p in changed.points} & {p.key for p in plan.points}


@pytest.mark.parametrize(
    "args,msg",
    [
        (["-p", "nope", "1,2"], "has no parameter 'nope'"),
        (["-p", "a", "1,x"], "point a=x: parameter 'a' expects int"),
        (["-p", "a", "1,0,3"], "point a=0: toy: parameter 'a' must be >= 1, got 0"),
        (["-p", "b", "0.1,nan"], "parameter 'b' must be a finite number"),
        (["-p", "a", "1,2", "--seeds", "3-1"], "--seeds range '3-1' is empty"),
        (["-p", "seed", "1,2", "--seeds", "0-1"], "either with --seeds or with -p seed"),
        (["-p", "a", "1,1"], "values repeated"),
        (["-p", "results_dir", "x,y"], "results_dir cannot be swept"),
        (["-p", "a", "1,2", "-p", "a", "3"], "given twice"),
    ],
)
def test_bad_grid_is_rejected_before_any_run(root, monkeypatch, capsys, args, msg):
    mod = types.ModuleType("capfront_test_toy_params")
    P = core_params
    mod.SCHEMA = P.Schema("toy", [P.Seed(), P.Int("a", min=1), P.Float("b"), P.Float("sleep_s", min=0), P.Str("counter"), P.ResultsDir()])
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(P.SCHEMA_MODULES, "toy", mod.__name__)
    started = []
    monkeypatch.setattr(execute, "run_task", lambda spec: started.append(spec) or {"ok": False})
    assert cli.main(["sweep", "toy", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and msg in err, err
    assert not started and not (Path.cwd() / "sweeps").exists()


def _results(folder: Path) -> dict[str, bytes]:
    return {p.name: (p / "results.json").read_bytes() for p in sorted(folder.iterdir()) if (p / "point.json").is_file()}


def test_dask_local_cluster_gives_results_byte_identical_to_serial(root, capsys):
    pytest.importorskip("distributed")
    out_dask, out_serial = Path.cwd() / "sweeps" / "dask", Path.cwd() / "sweeps" / "serial"
    assert cli.main(["sweep", "toy", *GRID, "--dask-local", "2", "--name", "dask", "--plot", "mean"]) == 0
    assert "Dask LocalCluster of 2 worker processes" in capsys.readouterr().out
    assert cli.main(["sweep", "toy", *GRID, "--workers", "1", "--name", "serial"]) == 0
    on_dask, serial = _results(out_dask), _results(out_serial)
    assert len(on_dask) == 8 and on_dask == serial, "results.json must be byte-identical on Dask and serially"
    me = os.getpid()
    for name in on_dask:
        rec = json.loads((out_dask / name / "point.json").read_text())
        p = rec["parameters"]
        assert json.loads(on_dask[name])["mean"] == pytest.approx(expected_mean(p["seed"], p["a"], p["b"]), abs=0)
        # kernel -> run process -> (Dask worker process ->) this test process
        d = json.loads((out_dask / name / "where.json").read_text())
        s = json.loads((out_serial / name / "where.json").read_text())
        assert s[1] == me, "serial points run in a process started by the sweep"
        assert d[1] != me and d[2] == me, "Dask points run in a process started by a LocalCluster worker"
    assert (out_dask / "mean.png").stat().st_size > 10_000

    df = pd.read_parquet(out_dask / "summary.parquet")
    assert len(df) == 8 and set(df["status"]) == {"done"}
    for _, row in df.iterrows():
        assert row["mean"] == expected_mean(row["seed"], row["a"], row["b"])
        claims = pd.read_csv(out_dask / row["point"] / "claims.csv")
        assert row["verdicts.reproduced"] == int((claims["verdict"] == "reproduced").sum())
        assert row["verdicts.differs"] == int((claims["verdict"] == "differs").sum())
        assert row["stats.sd"] == json.loads((out_dask / row["point"] / "results.json").read_text())["stats"]["sd"]
    assert {"a", "b", "seed", "mean", "stats.sd", "results.a", "source", "seconds", "point"} <= set(df.columns)


def test_band_over_seeds_is_the_t_interval_of_the_mean():
    df = pd.DataFrame({"x": [1, 1, 1, 2, 2, 2], "y": [0.1, 0.3, 0.2, 1.0, 1.4, 1.3]})
    band = sweep.band_over_seeds(df, "y", "x").set_index("x")
    for xv, g in df.groupby("x"):
        lo, hi = stats.t.interval(0.95, len(g) - 1, loc=g["y"].mean(), scale=stats.sem(g["y"]))
        assert band.loc[xv, "lo"] == pytest.approx(lo) and band.loc[xv, "hi"] == pytest.approx(hi)
    one = sweep.band_over_seeds(df.iloc[:1], "y", "x")
    assert math.isnan(one["lo"].iloc[0]), "one seed gives no interval"


def test_killed_sweep_resumes_without_rerunning_finished_points(root, tmp_path):
    counter = tmp_path / "executions.txt"
    args = ["sweep", "toy", "-p", "a", "1,2,3", "--seeds", "0-1", "-p", "sleep_s", "2", "-p", "counter", str(counter),
            "--workers", "2", "--name", "kill"]
    out = Path.cwd() / "sweeps" / "kill"
    exe = str(Path(sys.executable).parent / "capfront")
    proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def finished() -> dict[str, bytes]:
        return {p.name: (p / "point.json").read_bytes() for p in out.glob("*") if (p / "point.json").is_file()} if out.exists() else {}

    t0 = time.time()
    while not finished() and proc.poll() is None and time.time() - t0 < 600:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = finished()
    assert 1 <= len(before) < 6, "the kill must come mid-way"
    assert cli.main(args) == 0
    after = finished()
    assert len(after) == 6
    for name, record in before.items():
        assert after[name] == record, f"finished point {name} was run again"
    lines = counter.read_text().splitlines()
    done_before = {(json.loads(r)["parameters"]["a"], json.loads(r)["parameters"]["seed"]) for r in before.values()}
    for a, s in done_before:
        assert lines.count(f"a={a} b=0.5 seed={s}") == 1, "a point finished before the kill was executed again"
    df = pd.read_parquet(out / "summary.parquet")
    assert len(df) == 6 and set(df["status"]) == {"done"}


def test_failing_point_is_recorded_and_others_continue(root, capsys):
    # b = "x" is not a float, so make the notebook fail instead: a negative sleep raises ValueError in time.sleep
    assert cli.main(["sweep", "toy", "-p", "sleep_s", "0.0,-1.0", "--workers", "2", "--name", "fail"]) == 1
    err = capsys.readouterr().err
    assert "failed" in err and "ValueError" in err
    df = pd.read_parquet(Path.cwd() / "sweeps" / "fail" / "summary.parquet").set_index("sleep_s")
    assert df.loc[0.0, "status"] == "done" and df.loc[-1.0, "status"] == "failed"
    assert "sleep length must be non-negative" in df.loc[-1.0, "error"]
    failed_dir = Path.cwd() / "sweeps" / "fail" / df.loc[-1.0, "point"]
    assert (failed_dir / "toy.failed.ipynb").exists() and not (failed_dir / "results.json").exists()
