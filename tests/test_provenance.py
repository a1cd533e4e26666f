"""Provenance on every page (issues 14 §4, 15 §3): a "Parameters of this run" table and a provenance line
replace papermill's injected cell, and no absolute path of the build machine is left in the notebook."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

import capfront_lib
from capfront_lib import provenance, runner

NB = textwrap.dedent(
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

    # Provenance

    ```{code-cell} ipython3
    :tags: [parameters]

    n = 3  # a count
    x = 0.5
    name = "a"
    in_path = ""
    results_dir = "results/prov"
    ```

    ```{code-cell} ipython3
    import os
    print("results in", results_dir)
    print("working in", os.getcwd())
    print("input", in_path)
    ```

    ```{code-cell} ipython3
    from capfront_lib.core.results import write_results
    write_results(results_dir, "prov", results={"n": n, "x": x})
    n * x
    ```
    '''
)

ABS = re.compile(r"(?<![\w.~-])/(?:tmp|root|home|work)/")


def _strings(obj, skip=("image/png", "image/jpeg")):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, skip)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in skip:
                yield from _strings(v, skip)


def _library_sha() -> str:
    """Independent re-computation of the library source hash: every capfront_lib/**/*.py."""
    pkg = Path(capfront_lib.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(q for q in pkg.rglob("*.py") if "__pycache__" not in q.parts):
        h.update(p.relative_to(pkg).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield _run(tmp_path_factory.mktemp("prov"), mp)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "profiles").mkdir(parents=True)
    (root / "notebooks" / "prov.md").write_text(NB)
    (root / "data" / "profiles" / "prov.yaml").write_text("quick: {}\npaper:\n  x: 2.0\n")
    log = tmp_path / "user" / "my_log.csv"
    log.parent.mkdir()
    log.write_text("id,m\n1,1\n")
    monkeypatch.setenv("CAPFRONT_ROOT", str(root))
    monkeypatch.delenv("CAPFRONT_DATA_DIR", raising=False)
    out = runner.run_chapter("prov", [("n", "7"), ("in_path", str(log))], profile="paper", root=root,
                             results_dir=tmp_path / "res", output=tmp_path / "res" / "prov.ipynb")
    nb = nbformat.read(out["notebook"], as_version=4)
    return nb, Path(out["notebook"])


def test_injected_cell_is_hidden_and_a_parameters_table_follows_the_parameters_cell(run):
    nb, _ = run
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    i_param = next(i for i, t in enumerate(tags) if "parameters" in t)
    injected = nb.cells[i_param + 1]
    assert "injected-parameters" in injected.metadata["tags"] and "remove-cell" in injected.metadata["tags"]
    assert "n = 7" in injected.source and "x = 2.0" in injected.source
    assert "results_dir = 'results/prov'" in injected.source  # the notebook's relative default, not the machine's folder
    block = nb.cells[i_param + 2]
    assert block.cell_type == "markdown" and block.source.startswith("```{admonition} Parameters of this run")
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:5]] for r in block.source.splitlines() if r.startswith("| `")}
    assert rows["`n`"] == ["`7`", "`3`", "-p"]
    assert rows["`x`"] == ["`2.0`", "`0.5`", "profile paper"]
    assert rows["`name`"] == ["`'a'`", "*same*", "notebook default"]  # equal to the default: not repeated
    assert rows["`in_path`"][0] == "`'…/my_log.csv'`" and rows["`in_path`"][2] == "-p"
    assert "`results_dir`" not in rows
    assert sum("Parameters of this run" in c.source for c in nb.cells if c.cell_type == "markdown") == 1
    assert not any(t == ["capfront-bootstrap", "remove-cell"] for t in tags), "the runner's setup cells are removed"
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]
    assert counts == list(range(1, len(counts) + 1))


def test_provenance_line_names_profile_changes_library_date_and_data(run):
    nb, _ = run
    block = next(c.source for c in nb.cells if c.cell_type == "markdown" and "Parameters of this run" in c.source)
    line = block.splitlines()[3]
    assert "Profile **paper**" in line
    assert "parameters changed from the defaults: `n` = `7`, `x` = `2.0`, `in_path` = `'…/my_log.csv'`" in line
    assert f"capfront {capfront_lib.__version__}, library source `{_library_sha()[:12]}`" in line
    assert f"executed {dt.datetime.now(dt.timezone.utc):%Y-%m-%d}" in line
    assert "public data not available" in line
    assert nb.metadata["capfront"]["profile"] == "paper" and nb.metadata["capfront"]["library_hash"] == _library_sha()
    assert "capfront run prov --profile paper -p n 7" in block


def test_no_absolute_path_of_the_build_machine_anywhere(run):
    nb, path = run
    raw = json.loads(path.read_text())
    leaks = [s for s in _strings(raw) if ABS.search(s)]
    assert not leaks, leaks[:5]
    assert provenance.absolute_paths_in(raw) == []
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "results in results/prov" in text and "working in .\n" in text and "input …/my_log.csv" in text


def test_scrubber_rewrites_known_and_residual_paths_but_not_image_data():
    s = provenance.Scrubber([("/work/repo", ""), ("/work/repo/.tmp/run/results", "results/x"), ("/data/pub", "CAPFRONT_DATA_DIR")])
    assert s.text("at /work/repo/.tmp/run/results/r.json") == "at results/x/r.json"
    assert s.text("cwd=/work/repo, file /work/repo/capfront_lib/a.py") == "cwd=., file capfront_lib/a.py"
    assert s.text("/work/repository/x") == "…/x"  # not the same folder: no partial-prefix rewrite
    assert s.text("read /data/pub/MMLU/c.csv") == "read CAPFRONT_DATA_DIR/MMLU/c.csv"
    assert s.text("saved /home/someone/out/fig.png and /tmp/abc/") == "saved …/fig.png and …/abc"
    png = base64.b64encode(b"\x00/tmp/\xff" * 20).decode()
    out = s.deep({"data": {"image/png": png, "text/plain": "/tmp/q/z.txt"}})
    assert out["data"]["image/png"] == png and out["data"]["text/plain"] == "…/z.txt"


def test_parameters_block_escapes_pipes_only_in_the_table():
    prov = {"profile": "quick", "changed": {"s": "a|b"}, "library_version": "0", "library_hash": "f" * 64,
            "executed_at": "2026-01-01 00:00 UTC", "public_data": {"status": "not available"}}
    md = provenance.parameters_markdown(prov, {"s": "a|b", "w": list(range(20))}, {"s": "", "w": []}, {"s": "cli"})
    line = md.splitlines()[3]
    assert "`s` = `'a|b'`" in line and "\\|" not in line
    assert "| `s` | `'a\\|b'` | `''` | -p |" in md
    assert "| `w` | `[0, 1, 2, 3, 4, 5, … (20 items)]` | `[]` | notebook default |" in md
    assert "| `s` | `'a\\|b'` | `''` | -p |" in md
