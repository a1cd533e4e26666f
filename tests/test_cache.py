"""The execution cache: a chapter re-executes only when its key changes (issue 14 §1).

Every fake chapter appends its name to a counter file when its kernel really runs, so "executed" is
observed independently of what the runner reports.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from capfront_lib import cache, execute, runner

ROOT = Path(__file__).resolve().parents[1]


def chapter_md(stem: str, counter: Path, extra: str = "") -> str:
    return textwrap.dedent(
        f'''\
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

        # Chapter {stem}

        ```{{code-cell}} ipython3
        :tags: [parameters]

        seed = 0
        in_path = ""
        results_dir = "results/{stem}"
        ```

        ```{{code-cell}} ipython3
        import os
        from pathlib import Path
        from capfront_lib.core.env import data_dir
        from capfront_lib.core.results import write_results
        with open({str(counter)!r}, "a") as fh:
            fh.write("{stem}\\n")
        R = {{"seed": seed}}
        {extra}
        write_results(results_dir, "{stem}", results=R)
        ```
        '''
    )


ALPHA_READS = (
    'R["table"] = Path("data/alpha/table.csv").read_text()\n'
    '        R["public"] = (data_dir() / "pub" / "scores.csv").read_text() if data_dir() else None\n'
    '        R["input"] = Path(in_path).read_text() if in_path else None\n'
    '        import pandas as pd\n'
    '        R["parquet_rows"] = len(pd.read_parquet(data_dir() / "pub" / "t.parquet")) if data_dir() else None'
)


@pytest.fixture()
def book(tmp_path, monkeypatch):
    root = tmp_path / "root"
    counter = tmp_path / "executions.txt"
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "profiles").mkdir(parents=True)
    (root / "data" / "alpha").mkdir()
    (root / "data" / "beta").mkdir()
    (root / "notebooks" / "alpha.md").write_text(chapter_md("alpha", counter, ALPHA_READS))
    (root / "notebooks" / "beta.md").write_text(chapter_md("beta", counter))
    for s in ("alpha", "beta"):
        (root / "data" / "profiles" / f"{s}.yaml").write_text("quick: {}\npaper: {seed: 1}\n")
    (root / "data" / "alpha" / "table.csv").write_text("a,b\n1,2\n")
    (root / "data" / "beta" / "table.csv").write_text("x\n1\n")
    pub = tmp_path / "public"
    (pub / "pub").mkdir(parents=True)
    (pub / "pub" / "scores.csv").write_text("id,m1\nq1,1\n")
    import pandas as pd

    pd.DataFrame({"id": ["q1", "q2"], "m1": [1, 0]}).to_parquet(pub / "pub" / "t.parquet")
    monkeypatch.setenv("CAPFRONT_ROOT", str(root))
    monkeypatch.setenv("CAPFRONT_DATA_DIR", str(pub))
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    html_calls: list[Path] = []
    monkeypatch.setattr(runner, "jupyter_book_build", lambda r: html_calls.append(r) or (r / "_build" / "html"))

    def executions() -> list[str]:
        return counter.read_text().split() if counter.exists() else []

    return {"root": root, "pub": pub, "executions": executions, "html": html_calls}


def _cached(summary) -> dict[str, bool]:
    return {r["chapter"]: r["cached"] for r in summary["runs"]}


def test_second_build_executes_nothing_and_touching_one_notebook_reruns_only_it(book):
    root, executions = book["root"], book["executions"]
    s1 = runner.build_book(profile="quick", jobs=2, root=root)
    assert sorted(executions()) == ["alpha", "beta"] and _cached(s1) == {"alpha": False, "beta": False}
    nb_beta = (root / "book" / "chapters" / "beta.ipynb").read_bytes()
    res_alpha = (root / "results" / "alpha" / "results.json").read_bytes()

    s2 = runner.build_book(profile="quick", jobs=2, root=root)
    assert sorted(executions()) == ["alpha", "beta"], "a second build with nothing changed re-executed a chapter"
    assert _cached(s2) == {"alpha": True, "beta": True}
    assert len(book["html"]) == 2, "the HTML is still built"
    assert (root / "results" / "alpha" / "results.json").read_bytes() == res_alpha

    md = root / "notebooks" / "alpha.md"
    md.write_text(md.read_text() + "\nOne more sentence.\n")
    s3 = runner.build_book(profile="quick", jobs=2, root=root)
    assert sorted(executions()) == ["alpha", "alpha", "beta"]
    assert _cached(s3) == {"alpha": False, "beta": True}
    assert (root / "book" / "chapters" / "beta.ipynb").read_bytes() == nb_beta
    assert "One more sentence." in (root / "book" / "chapters" / "alpha.ipynb").read_text()


def test_key_covers_data_profile_public_data_inputs_library_and_force(book, tmp_path, monkeypatch):
    root, executions = book["root"], book["executions"]
    log = tmp_path / "log.csv"
    log.write_text("q,1\n")

    def run(**kw) -> bool:
        n = len(executions())
        out = runner.run_chapter("alpha", [("in_path", str(log))], root=root, **kw)
        executed = len(executions()) == n + 1
        assert executed != out["cached"]
        return executed

    assert run() is True
    assert run() is False  # nothing changed
    first = json.loads((root / "results" / "alpha" / "results.json").read_text())
    assert first["public"] == "id,m1\nq1,1\n" and first["input"] == "q,1\n"

    (root / "data" / "alpha" / "table.csv").write_text("a,b\n1,3\n")  # the chapter's data/<stem>/
    assert run() is True and run() is False
    (root / "data" / "profiles" / "alpha.yaml").write_text("quick: {}\npaper: {seed: 2}\n")  # its profile file
    assert run() is True and run() is False
    scores = book["pub"] / "pub" / "scores.csv"
    scores.write_text("id,m1\nq1,0\n")  # a public file it read: same size, other content
    assert run() is True and run() is False
    assert json.loads((root / "results" / "alpha" / "results.json").read_text())["public"] == "id,m1\nq1,0\n"
    log.write_text("q,0\n")  # the file named by a *_path parameter
    assert run() is True and run() is False
    (root / "data" / "beta" / "table.csv").write_text("x\n2\n")  # another chapter's data: no effect
    assert run() is False
    real = cache.library_digest()
    monkeypatch.setattr(cache, "library_digest", lambda: "changed-" + real)  # the library source
    assert run() is True and run() is False
    assert run(force=True) is True


def test_public_data_that_was_not_read_does_not_invalidate(book, tmp_path):
    root, executions = book["root"], book["executions"]
    runner.run_chapter("beta", root=root)
    (book["pub"] / "pub" / "other.csv").write_text("never read\n")
    (book["pub"] / "pub" / "scores.csv").write_text("changed, but beta never read it\n")
    out = runner.run_chapter("beta", root=root)
    assert out["cached"] and executions() == ["beta"]


def test_cache_entry_records_reads_with_size_and_sha256(book):
    root = book["root"]
    runner.run_chapter("alpha", root=root)
    metas = list((root / "_build" / "cache" / "alpha").glob("*/meta.json"))
    assert len(metas) == 1
    reads = json.loads(metas[0].read_text())["reads"]
    data = (book["pub"] / "pub" / "scores.csv").read_bytes()
    assert reads["data:pub/scores.csv"] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    table = (root / "data" / "alpha" / "table.csv").read_bytes()
    assert reads["root:data/alpha/table.csv"]["sha256"] == hashlib.sha256(table).hexdigest()
    pq = (book["pub"] / "pub" / "t.parquet").read_bytes()  # read by pyarrow in C++: recorded through the wrapper
    assert reads["data:pub/t.parquet"] == {"size": len(pq), "sha256": hashlib.sha256(pq).hexdigest()}
    prov = json.loads((root / "results" / "alpha" / "provenance.json").read_text())
    assert prov["public_data"] == {"status": "used", "files": ["pub/scores.csv", "pub/t.parquet"]}


def test_fingerprints_and_validity_without_a_kernel(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"12345")
    fp = cache.fingerprint(f)
    assert fp == {"size": 5, "sha256": hashlib.sha256(b"12345").hexdigest()}
    reads = cache.scope_reads([str(f)], root=tmp_path, data_dir=None)
    assert reads == {"root:a.csv": fp}
    assert cache.reads_still_valid(reads, root=tmp_path, data_dir=None) == (True, "")
    f.write_bytes(b"12346")
    assert cache.reads_still_valid(reads, root=tmp_path, data_dir=None) == (False, "root:a.csv")
    f.unlink()
    assert cache.reads_still_valid(reads, root=tmp_path, data_dir=None)[0] is False


def test_real_chapter_is_restored_from_the_cache_identically(tmp_path, monkeypatch):
    """One real check: the evaluation_logs chapter, run once, is then restored without a kernel."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    a, b = tmp_path / "a", tmp_path / "b"
    first = runner.run_chapter("evaluation_logs", results_dir=a, output=a / "el.ipynb", root=ROOT)
    assert first["cached"] is False

    def no_kernel(*args, **kw):
        raise AssertionError("the cached chapter was executed again")

    monkeypatch.setattr(execute, "execute", no_kernel)
    second = runner.run_chapter("evaluation_logs", results_dir=b, output=b / "el.ipynb", root=ROOT)
    assert second["cached"] is True
    for name in ("results.json", "claims.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "el.ipynb").read_bytes() == (b / "el.ipynb").read_bytes()
    res = json.loads((b / "results.json").read_text())
    assert res["chapter"] == "evaluation_logs" and 0 < res["oracle_accuracy"] <= 1
    # a parameter change is a different key: executed again
    monkeypatch.setattr(execute, "execute", no_kernel)
    with pytest.raises(AssertionError, match="executed again"):
        runner.run_chapter("evaluation_logs", [("seed", "1")], results_dir=b, output=b / "el.ipynb", root=ROOT)
