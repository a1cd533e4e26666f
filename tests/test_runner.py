"""The runner: parameters read from the notebook, typed overrides, profiles, failures, the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from capfront_lib import cli, runner

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
    write_results(results_dir, "tiny", results={"n": n, "x": x, "name": name, "flag": flag, "in_path": in_path}, claims=[])
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
    assert cli.main(["run", "tiny", "-p", "n", "x"]) == 1
    assert "expects int" in capsys.readouterr().err


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
