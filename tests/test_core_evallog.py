"""The evaluation-log core: both forms, every bad-input case of design.md, the missing policy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core import demo_log, from_long, from_wide, load_log


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----- good input -----------------------------------------------------------------------------


def test_wide_and_long_forms_give_the_same_array(tmp_path):
    wide = write(tmp_path, "w.csv", "id,a,b\nq1,1,0\nq2,0,0\nq3,1,1\n")
    long = write(
        tmp_path,
        "l.csv",
        "query_id,model,correct\n" + "".join(f"{q},{m},{v}\n" for q, row in zip(["q1", "q2", "q3"], [(1, 0), (0, 0), (1, 1)]) for m, v in zip("ab", row)),
    )
    lw, ll = load_log(wide), load_log(long)
    assert lw.models == ll.models == ["a", "b"]
    assert list(lw.query_ids) == list(ll.query_ids) == ["q1", "q2", "q3"]
    np.testing.assert_array_equal(lw.correctness(), ll.correctness())
    np.testing.assert_array_equal(lw.correctness()[:, :, 0], [[1, 0], [0, 0], [1, 1]])


def test_long_form_with_generations_and_fields_matches_pandas_pivot(tmp_path):
    rng = np.random.default_rng(3)
    rows = [
        (f"q{n}", f"m{l}", g, int(rng.random() < 0.5), rng.uniform(0, 1), rng.uniform(0, 5))
        for n in range(7)
        for l in range(3)
        for g in range(4)
    ]
    df = pd.DataFrame(rows, columns=["query_id", "model", "generation", "correct", "cost_usd", "latency_s"]).sample(frac=1, random_state=1)
    path = tmp_path / "log.parquet"
    df.to_parquet(path)
    log = load_log(path)
    assert (log.n_queries, log.n_models, log.n_generations) == (7, 3, 4)
    for field in ("correct", "cost_usd", "latency_s"):
        pivot = df.pivot_table(index="query_id", columns=["model", "generation"], values=field)
        arr = log.array(field)
        for qi, q in enumerate(log.query_ids):
            for li, m in enumerate(log.models):
                np.testing.assert_allclose(arr[qi, li, :], pivot.loc[q, m].to_numpy())
    # per-model means agree with pandas groupby
    pm = log.per_model()
    np.testing.assert_allclose(pm["accuracy"], df.groupby("model")["correct"].mean().reindex(log.models))
    np.testing.assert_allclose(pm["mean_cost_usd"], df.groupby("model")["cost_usd"].mean().reindex(log.models))


def test_categories_from_items_table_and_long_roundtrip(tmp_path):
    wide = write(tmp_path, "w.csv", "id,a,b\n1,1,0\n2,0,1\n")
    items = write(tmp_path, "i.csv", "id,category\n2,law\n1,math\n")
    log = load_log(wide, items_path=items)
    assert log.categories.to_dict() == {"1": "math", "2": "law"}
    back = from_long(log.to_long())
    np.testing.assert_array_equal(back.correctness(), log.correctness())
    assert back.categories.to_dict() == log.categories.to_dict()


def test_graded_scores_allowed_only_when_asked(tmp_path):
    p = write(tmp_path, "w.csv", "id,a,b\n1,0.5,1\n2,0,0.25\n")
    with pytest.raises(ValueError, match=r"column 'a' must be binary 0/1.*line 2 \(id '1'\)=0\.5.*require_binary=False"):
        load_log(p)
    log = load_log(p, require_binary=False)
    assert log.correctness()[0, 0, 0] == 0.5


# ----- bad input: every case of design.md names the problem ---------------------------------------


def test_non_binary_correct_names_file_column_and_rows(tmp_path):
    p = write(tmp_path, "bad.csv", "id,m1,m2\nq1,1,0\nq2,2,1\nq3,1,-1\n")
    with pytest.raises(ValueError) as e:
        load_log(p)
    msg = str(e.value)
    assert "bad.csv" in msg and "'m1'" in msg and "line 3 (id 'q2')=2" in msg


def test_non_numeric_correct(tmp_path):
    p = write(tmp_path, "bad.csv", "query_id,model,correct\nq1,a,yes\nq2,a,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv: column 'correct', line 2: 'yes' is not a number"):
        load_log(p)


def test_negative_cost_names_row_query_and_model(tmp_path):
    p = write(tmp_path, "c.csv", "query_id,model,correct,cost_usd\nq1,a,1,0.1\nq1,b,0,-0.2\n")
    with pytest.raises(ValueError, match=r"c\.csv: column 'cost_usd' must be non-negative.*query 'q1', model 'b'.*-0\.2"):
        load_log(p)


def test_negative_latency(tmp_path):
    p = write(tmp_path, "c.csv", "query_id,model,correct,latency_s\nq1,a,1,-3\n")
    with pytest.raises(ValueError, match="column 'latency_s' must be non-negative"):
        load_log(p)


def test_duplicated_query_model_generation(tmp_path):
    p = write(tmp_path, "d.csv", "query_id,model,generation,correct\nq1,a,0,1\nq1,a,1,1\nq1,a,0,0\n")
    with pytest.raises(ValueError, match=r"d\.csv: duplicated \(query_id, model, generation\) rows: \(query 'q1', model 'a', generation 0\)"):
        load_log(p)


def test_duplicated_wide_ids(tmp_path):
    p = write(tmp_path, "d.csv", "id,a\nq1,1\nq1,0\n")
    with pytest.raises(ValueError, match=r"duplicated query ids in column 'id': line 3 \(id 'q1'\)"):
        load_log(p)


def test_no_models(tmp_path):
    p = write(tmp_path, "n.csv", "id\nq1\nq2\n")
    with pytest.raises(ValueError, match=r"n\.csv: no model columns"):
        load_log(p)


def test_one_model_where_a_pool_is_required(tmp_path):
    p = write(tmp_path, "one.csv", "id,solo\nq1,1\nq2,0\n")
    assert load_log(p).n_models == 1
    with pytest.raises(ValueError, match=r"one\.csv: found 1 model\(s\) \('solo'\) but this analysis needs a pool of at least 2"):
        load_log(p, min_models=2)


def test_all_cells_missing(tmp_path):
    p = write(tmp_path, "e.csv", "id,a,b\nq1,,\nq2,,\n")
    with pytest.raises(ValueError, match=r"e\.csv: all cells are missing"):
        load_log(p)


def test_model_with_no_result(tmp_path):
    p = write(tmp_path, "e.csv", "id,a,b\nq1,1,\nq2,0,\n")
    with pytest.raises(ValueError, match=r"models with no result at all: 'b'"):
        load_log(p)


def test_missing_required_long_columns():
    df = pd.DataFrame({"query_id": ["q"], "model": ["a"]})
    with pytest.raises(ValueError, match=r"missing \['correct'\]"):
        from_long(df, source="mylog")


def test_unknown_form(tmp_path):
    p = write(tmp_path, "x.csv", "question,answer\n1,2\n")
    with pytest.raises(ValueError, match=r"x\.csv: cannot tell the form of the log"):
        load_log(p)


def test_unsupported_file_type_and_missing_file(tmp_path):
    p = write(tmp_path, "x.json", "{}")
    with pytest.raises(ValueError, match=r"unsupported file type '\.json'"):
        load_log(p)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_log(tmp_path / "nope.csv")


def test_blank_ids_and_bad_generation(tmp_path):
    with pytest.raises(ValueError, match=r"column 'model' is blank at row 1"):
        from_long(pd.DataFrame({"query_id": ["q1", "q2"], "model": ["a", None], "correct": [1, 0]}))
    with pytest.raises(ValueError, match=r"column 'generation' must hold non-negative integers"):
        from_long(pd.DataFrame({"query_id": ["q1"], "model": ["a"], "generation": [1.5], "correct": [1]}))


def test_inconsistent_category_in_long_form():
    df = pd.DataFrame({"query_id": ["q1", "q1"], "model": ["a", "b"], "correct": [1, 0], "category": ["x", "y"]})
    with pytest.raises(ValueError, match=r"column 'category' differs between rows of the same query: 'q1'"):
        from_long(df)


def test_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        from_wide([[1, 0]])  # type: ignore[arg-type]


# ----- missing cells: reported, never silently dropped --------------------------------------------


def test_missing_policy_drop_keep_error(tmp_path):
    p = write(tmp_path, "m.csv", "id,a,b\nq1,1,0\nq2,,1\nq3,0,0\n")
    with pytest.warns(UserWarning, match=r"1 of 6 cells missing.*dropped 1 of 3 queries"):
        dropped = load_log(p)
    assert list(dropped.query_ids) == ["q1", "q3"]
    assert dropped.missing.dropped_queries == ("q2",)
    assert dropped.missing.missing_by_model == {"a": 1, "b": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = load_log(p, missing="keep_partial")
    assert kept.n_queries == 3 and np.isnan(kept.correctness()[1, 0, 0])
    assert kept.missing.n_missing_cells == 1
    with pytest.raises(ValueError, match=r"1 cells are missing \(queries 'q2'\)"):
        load_log(p, missing="error")
    with pytest.raises(ValueError, match="missing policy must be one of"):
        load_log(p, missing="ignore")  # type: ignore[arg-type]


def test_drop_queries_that_would_drop_everything(tmp_path):
    p = write(tmp_path, "m.csv", "id,a,b\nq1,1,\nq2,,1\n")
    with pytest.raises(ValueError, match="would drop them all"):
        load_log(p)


# ----- the demo log ---------------------------------------------------------------------------------


def test_demo_log_is_seeded_and_matches_its_truth():
    a, truth = demo_log(4000, 4, n_generations=3, seed=5, return_truth=True)
    b = demo_log(4000, 4, n_generations=3, seed=5)
    np.testing.assert_array_equal(a.correctness(), b.correctness())
    assert not np.array_equal(a.correctness(), demo_log(4000, 4, n_generations=3, seed=6).correctness())
    # each model's empirical accuracy is within 4 binomial standard errors of its true mean p
    emp = a.correctness().mean(axis=(0, 2))
    true = truth.p.mean(axis=0)
    se = np.sqrt(true * (1 - true) / (4000 * 3))
    assert np.all(np.abs(emp - true) < 4 * se + 1e-3)
    assert np.all(a.array("cost_usd") >= 0) and np.all(a.array("latency_s") > 0)


@pytest.mark.parametrize("kw,name", [({"n_queries": 0}, "n_queries"), ({"n_models": -1}, "n_models"), ({"specialisation": -0.1}, "specialisation")])
def test_demo_log_rejects_impossible_parameters(kw, name):
    with pytest.raises(ValueError, match=f"parameter '{name}'"):
        demo_log(**kw)


# ---- issue 17: inputs that used to end silently wrong or with a message that did not name the file ----
import gzip as _gzip


@pytest.mark.parametrize(
    "name, content, match",
    [
        # pandas renamed the copy 'gpt-4.1' (a real model name) and inflated the pool
        ("dup.csv", "id,gpt-4,gpt-4,claude\nq1,1,0,1\nq2,0,1,1\n", r"column 'gpt-4' appears twice in the header \(columns 2 and 3\)"),
        ("dupid.csv", "id,a,id\nq1,1,q1\n", r"column 'id' appears twice"),
        # a header one name short: pandas made the first column the index and shifted every column
        ("short.csv", "id,a,b\nq1,1,0,1\nq2,0,1,1\n", r"line 2 has 4 fields but the header has 3 names.*name missing"),
        ("ragged.csv", "id,a,b\nq1,1,0\nq2,0\n", r"line 3 has 2 fields but the header has 3 names"),
        ("empty.csv", "", r"empty.csv: the file is empty"),
        ("header.csv", "id,a,b\n", r"header.csv: the file has a header but no data rows"),
        ("blankname.csv", "id,,b\nq1,1,0\n", r"header column 2 has an empty name"),
        # 'NA' etc. were silently 'not run'
        ("na.csv", "id,a,b\nq1,1,0\nq2,NA,1\n", r"column 'a', line 3: 'NA' is not a number; an empty cell means 'not run'"),
        ("null.csv", "id,a,b\nq1,null,0\n", r"column 'a', line 2: 'null' is not a number"),
        ("none.csv", "query_id,model,correct\nq1,a,None\n", r"column 'correct', line 2: 'None' is not a number"),
        # a model named 'category' was silently left out of the pool
        ("cat.csv", "id,a,category\nq1,1,0\nq2,0,1\n", r"column 'category' is reserved for query categories"),
        ("blankid.csv", "id,a\nq1,1\n,0\n", r"column 'id' is blank at line 3"),
    ],
)
def test_malformed_files_get_one_line_naming_file_and_place(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(ValueError, match=match) as err:
        load_log(p)
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_encodings_and_binaries_are_named(tmp_path):
    gz = tmp_path / "log.csv"
    gz.write_bytes(_gzip.compress(b"id,a\nq1,1\n"))
    with pytest.raises(ValueError, match=r"log.csv: the file is gzip-compressed but not named .gz"):
        load_log(gz)
    ok = tmp_path / "log2.csv.gz"
    ok.write_bytes(_gzip.compress(b"id,a,b\nq1,1,0\n"))
    assert load_log(ok).n_models == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,caf\xe9\nq1,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv: the file is not UTF-8 text \(invalid byte 0xe9 on line 1\)"):
        load_log(latin)
    rnd = tmp_path / "random.csv"
    rnd.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"random.csv: the file is binary"):
        load_log(rnd)


def test_quoted_fields_and_blank_cells_still_load(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('id,"model, with comma",b\n"q1",1,\n"q2",0,1\n')
    log = load_log(p, missing="keep_partial")
    assert log.models == ["model, with comma", "b"] and log.missing.n_missing_cells == 1


def test_category_metadata_column_is_kept_as_metadata(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,a,b,category\nq1,1,0,math\nq2,0,1,law\n")
    log = load_log(p)
    assert log.models == ["a", "b"] and list(log.categories) == ["math", "law"]
