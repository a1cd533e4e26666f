"""The runner: parameters read from the notebook, typed overrides, profiles, failures, the CLI, and the
run-safety cases of issue 17 (atomic runs, output paths checked first, one-line errors, Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import psutil
import pytest

from capfront_lib import cli, execute, runner
from capfront_lib.core import params as core_params

TINY = textwrap.dedent(
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

    # A tiny chapter

    ```{code-cell} ipython3
    :tags: [parameters]

    n = 3  # a count
    x = 0.5
    name = "a"
    flag = False
    fail = False
    in_path = ""
    results_dir = "results/tiny"
    ```

    ```{code-cell} ipython3
    from capfront_lib.core.results import write_results
    if fail:
        raise ValueError("boom: n must be small")
    write_results(results_dir, "tiny", results={"n": n, "x": x, "name": name, "flag": flag, "in_path": in_path})
    ```
    '''
)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "tiny.md").write_text(TINY)
    (tmp_path / "data" / "profiles").mkdir(parents=True)
    (tmp_path / "data" / "profiles" / "tiny.yaml").write_text("quick: {}\npaper:\n  n: 300\n  x: 2\n")
    return tmp_path


def test_parameters_are_read_from_the_tagged_cell(project):
    ch = runner.chapter("tiny", project)
    assert ch.title == "A tiny chapter"
    assert {k: p.default for k, p in ch.parameters.items()} == {
        "n": 3, "x": 0.5, "name": "a", "flag": False, "fail": False, "in_path": "", "results_dir": "results/tiny"
    }
    assert ch.parameters["n"].help == "a count"
    assert ch.profiles == {"quick": {}, "paper": {"n": 300, "x": 2.0}}


def test_values_are_typed_and_profiles_layer(project):
    ch = runner.chapter("tiny", project)
    v = runner.resolve_parameters(ch, [("n", "7"), ("flag", "true"), ("x", "1e-3")], profile="paper")
    assert (v["n"], v["flag"], v["x"]) == (7, True, 1e-3)
    assert runner.resolve_parameters(ch, [], profile="paper")["n"] == 300


@pytest.mark.parametrize(
    "overrides,match",
    [
        ([("m", "1")], r"chapter 'tiny' has no parameter 'm'; valid parameters: n \(int\), x \(float\), name \(str\)"),
        ([("n", "three")], r"parameter 'n' expects int \(default 3\), got 'three'"),
        ([("n", "2.5")], r"parameter 'n' expects int"),
        ([("flag", "maybe")], r"parameter 'flag' expects bool"),
        ([("x", "abc")], r"parameter 'x' expects float"),
    ],
)
def test_bad_overrides_are_rejected_before_running(project, overrides, match):
    with pytest.raises(runner.RunnerError, match=match):
        runner.run_chapter("tiny", overrides, root=project)
    assert not (project / "results").exists(), "nothing may run when parameters are invalid"


def test_profile_errors(project):
    (project / "data" / "profiles" / "tiny.yaml").write_text("paper:\n  nn: 3\n")
    with pytest.raises(runner.RunnerError, match=r"profile 'paper' sets unknown parameters \['nn'\]"):
        runner.chapter("tiny", project)
    (project / "data" / "profiles" / "tiny.yaml").write_text("paper:\n  n: many\n")
    with pytest.raises(runner.RunnerError, match=r"parameter 'n' expects int"):
        runner.chapter("tiny", project)
    (project / "data" / "profiles" / "tiny.yaml").unlink()
    with pytest.raises(runner.RunnerError, match=r"has no 'paper' profile"):
        runner.run_chapter("tiny", profile="paper", root=project)


def test_unknown_chapter_lists_the_chapters(project):
    with pytest.raises(runner.RunnerError, match=r"unknown chapter 'nope'; chapters are \['tiny'"):
        runner.chapter("nope", project)


def test_run_injects_parameters_and_resolves_user_paths(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = runner.run_chapter("tiny", [("n", "11"), ("name", "zoo"), ("in_path", "my_log.csv")], root=project)
    res = json.loads((Path(out["results_dir"]) / "results.json").read_text())
    assert res == {"chapter": "tiny", "n": 11, "x": 0.5, "name": "zoo", "flag": False, "in_path": str(tmp_path / "my_log.csv")}
    assert Path(out["notebook"]).exists()


def test_failing_cell_shows_cell_and_error_and_cli_exits_nonzero(project, monkeypatch, capsys):
    with pytest.raises(runner.RunnerError) as e:
        runner.run_chapter("tiny", [("fail", "true")], root=project)
    msg = str(e.value)
    assert "failed in cell" in msg and 'raise ValueError("boom' in msg and "ValueError: boom: n must be small" in msg
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    assert cli.main(["run", "tiny", "-p", "fail", "true"]) == 1
    assert "ValueError: boom" in capsys.readouterr().err
    assert cli.main(["run", "tiny", "-p", "n", "x"]) == 2
    err = capsys.readouterr().err
    assert "expects int" in err and len(err.strip().splitlines()) == 1


def test_cli_list_shows_parameters_and_profiles(project, monkeypatch, capsys):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert "tiny: A tiny chapter" in text and "profiles: paper, quick" in text
    assert "n (int) = 3  [paper: 300]  # a count" in text


def test_every_real_chapter_has_valid_parameters_and_profiles():
    root = runner.repo_root()
    stems = runner.discover(root)
    assert "evaluation_logs" in stems
    for stem in stems:
        ch = runner.chapter(stem, root)
        assert set(ch.profiles) == {"quick", "paper"}, f"{stem} lacks a quick or paper profile"
        assert "seed" in ch.parameters, f"{stem} has no seed parameter"


# ---------------------------------------------------------------------------------------------
# issue 17: runs are atomic and safe


def _no_kernel(monkeypatch) -> list:
    """Make any attempt to execute a notebook fail the test (and record it)."""
    calls: list = []

    def boom(*a, **k):
        calls.append(a)
        raise AssertionError("a notebook was executed although the input was invalid")

    monkeypatch.setattr(execute, "execute", boom)
    monkeypatch.setattr(execute, "run_task", boom)
    return calls


@pytest.fixture()
def tiny_schema(monkeypatch):
    """A typed schema for the tiny chapter (as chapters declare in capfront_lib/<chapter>/params.py)."""
    P = core_params
    mod = types.ModuleType("capfront_test_tiny_params")
    mod.SCHEMA = P.Schema("tiny", [P.Int("n", min=1, max=1000, help="a count"), P.Float("x", min=0.0), P.Str("name"),
                                   P.Bool("flag"), P.Bool("fail"), P.InputPath("in_path"), P.ResultsDir()])
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(P.SCHEMA_MODULES, "tiny", mod.__name__)
    return mod.SCHEMA


def test_failed_run_keeps_previous_results_and_says_so(project, monkeypatch, capsys):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    monkeypatch.chdir(project)
    assert cli.main(["run", "tiny", "-p", "n", "5"]) == 0
    res_dir = project / "results" / "tiny"
    before = {n: (res_dir / n).read_bytes() for n in ("results.json", "claims.csv", "tiny.ipynb")}
    assert json.loads(before["results.json"])["n"] == 5
    capsys.readouterr()
    assert cli.main(["run", "tiny", "-p", "n", "6", "-p", "fail", "true"]) == 1
    err = capsys.readouterr().err
    assert "ValueError: boom" in err and "previous results in results/tiny kept" in err
    after = {n: (res_dir / n).read_bytes() for n in before}
    assert after == before, "a failed run must leave the previous results and notebook untouched"
    failed = res_dir / "tiny.failed.ipynb"
    assert failed.exists() and "boom" in failed.read_text()
    assert not [p for p in project.rglob("*staging*")] and not [p for p in res_dir.iterdir() if p.name.startswith(".")]


def test_a_run_writes_nothing_until_it_succeeds(project, monkeypatch):
    """While the kernel runs, results_dir is a private temporary folder, not the destination."""
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    seen = {}
    real = execute.execute

    def spy(spec, workdir):
        out = real(spec, workdir)
        seen["dest_has_results"] = (project / "results" / "tiny" / "results.json").exists()
        seen["workdir"] = Path(workdir)
        return out

    monkeypatch.setattr(execute, "execute", spy)
    runner.run_chapter("tiny", [("n", "4")], root=project)
    assert seen["dest_has_results"] is False
    assert not seen["workdir"].exists(), "the temporary folder is removed after the run"
    assert json.loads((project / "results" / "tiny" / "results.json").read_text())["n"] == 4


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "/proc/nope/out.ipynb"],
        ["-o", "/dev/null/x.ipynb"],
        ["--results-dir", "/proc/nope"],
        ["--results-dir", "/dev/null/sub"],
        ["-p", "results_dir", "/proc/nope/r"],
        ["-o", "{tmp}"],  # an existing folder is not a notebook file
    ],
)
def test_bad_output_paths_exit_2_with_one_line_before_any_run(project, monkeypatch, capsys, args):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    calls = _no_kernel(monkeypatch)
    args = [a.replace("{tmp}", str(project)) for a in args]
    assert cli.main(["run", "tiny", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("capfront run: cannot write"), err
    assert "Traceback" not in err and not calls


def test_unwritable_output_folder_exits_2(project, tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        probe = locked / "probe"
        try:
            probe.mkdir()
            probe.rmdir()
            pytest.skip("this user can write into a 0o500 folder (root): covered by the /proc and /dev/null cases")
        except PermissionError:
            pass
        monkeypatch.setenv("CAPFRONT_ROOT", str(project))
        calls = _no_kernel(monkeypatch)
        for args in (["-o", str(locked / "sub" / "x.ipynb")], ["--results-dir", str(locked / "r")]):
            assert cli.main(["run", "tiny", *args]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "cannot write" in err
        assert not calls
    finally:
        locked.chmod(0o700)


def test_results_dir_given_with_p_is_honoured(project, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "tiny", "-p", "results_dir", "mine", "-p", "n", "9"]) == 0
    assert json.loads((tmp_path / "mine" / "results.json").read_text())["n"] == 9
    assert (tmp_path / "mine" / "tiny.ipynb").exists()
    assert not (project / "results" / "tiny" / "results.json").exists()
    capsys.readouterr()
    calls = _no_kernel(monkeypatch)
    assert cli.main(["run", "tiny", "-p", "results_dir", "a", "--results-dir", "b"]) == 2
    assert "results_dir given twice" in capsys.readouterr().err and not calls


def test_bad_parameters_exit_2_with_one_line_before_any_kernel(project, monkeypatch, capsys, tiny_schema):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    calls = _no_kernel(monkeypatch)
    cases = {
        ("n", "-5"): "parameter 'n' must be >= 1, got -5",
        ("n", "1000000000"): "parameter 'n' must be <= 1000, got 1000000000",
        ("x", "nan"): "parameter 'x' must be a finite number",
        ("in_path", "no/such/file.csv"): "parameter 'in_path' file not found",
        ("m", "1"): "has no parameter 'm'",
    }
    for (name, value), msg in cases.items():
        assert cli.main(["run", "tiny", "-p", name, value]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and msg in err, err
    assert cli.main(["run", "tiny", "-p", "n", "2", "-p", "n", "3"]) == 2
    assert "given twice" in capsys.readouterr().err
    assert not calls and not (project / "results").exists()


def test_cli_list_shows_each_parameters_schema_constraint(project, monkeypatch, capsys, tiny_schema):
    monkeypatch.setenv("CAPFRONT_ROOT", str(project))
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert "n (int in [1, 1000]) = 3  [paper: 300]  # a count" in text
    assert "x (float >= 0) = 0.5  [paper: 2.0]" in text
    assert "in_path (path) = ''" in text


SLEEPY = textwrap.dedent(
    """\
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

    # Sleepy

    ```{code-cell} ipython3
    :tags: [parameters]

    sleep_s = 0.0
    marker = ""
    results_dir = "results/sleepy"
    ```

    ```{code-cell} ipython3
    import os, pathlib, time
    if marker:
        pathlib.Path(marker).write_text(str(os.getpid()))
    time.sleep(sleep_s)
    from capfront_lib.core.results import write_results
    write_results(results_dir, "sleepy", results={"slept": sleep_s})
    ```
    """
)


def test_ctrl_c_one_line_exit_130_previous_results_kept(project, tmp_path):
    (project / "notebooks" / "sleepy.md").write_text(SLEEPY)
    (project / "data" / "profiles" / "sleepy.yaml").write_text("quick: {}\npaper: {}\n")
    res = project / "results" / "sleepy"
    res.mkdir(parents=True)
    (res / "results.json").write_text('{"chapter": "sleepy", "previous": true}\n')
    marker = tmp_path / "started"
    env = {**os.environ, "CAPFRONT_ROOT": str(project)}
    exe = str(Path(sys.executable).parent / "capfront")
    # a terminal's foreground job: SIGINT at its default disposition. A suite started in the background by a
    # non-interactive shell (`make test &`, as CI may) inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: the run would sleep through the Ctrl-C this test sends.
    proc = subprocess.Popen([exe, "run", "sleepy", "-p", "sleep_s", "120", "-p", "marker", str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.time()
    while not marker.exists() and proc.poll() is None and time.time() - t0 < 240:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate(timeout=10)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip() == "capfront run: interrupted; previous results kept", err
    assert (res / "results.json").read_text() == '{"chapter": "sleepy", "previous": true}\n'
    assert not (res / "sleepy.ipynb").exists()
    # the kernel (its own process group: the SIGINT did not reach it) is not left running the cell
    kernel = int(marker.read_text())
    deadline = time.time() + 30
    while psutil.pid_exists(kernel) and psutil.Process(kernel).status() != psutil.STATUS_ZOMBIE and time.time() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
