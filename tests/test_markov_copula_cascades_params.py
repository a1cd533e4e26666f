"""Parameter schema of the markov_copula_cascades chapter: names match the notebook, bad values fail in one line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from capfront_lib.core.params import ParameterError
from capfront_lib.markov_copula_cascades.params import SCHEMA

NB = Path(__file__).resolve().parents[1] / "notebooks" / "markov_copula_cascades.md"


def notebook_defaults() -> dict:
    text = NB.read_text()
    start = text.index(":tags: [parameters]")
    body = text[start:].split("\n", 1)[1]
    body = body[: body.index("```")]
    out = {}
    for node in ast.parse(body).body:
        if isinstance(node, ast.Assign):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_schema_names_equal_the_parameters_cell():
    assert sorted(SCHEMA.names) == sorted(notebook_defaults())


def test_defaults_and_paper_profile_validate():
    import yaml

    d = notebook_defaults()
    SCHEMA.validate(d)
    prof = yaml.safe_load((NB.parents[1] / "data" / "profiles" / "markov_copula_cascades.yaml").read_text())
    SCHEMA.validate({**d, **prof["paper"]})


@pytest.mark.parametrize("name,value,needle", [
    ("n_train", -5, "'n_train'"),
    ("n_reps", 0, "'n_reps'"),
    ("seed", -1, "'seed'"),
    ("lambda_r", float("nan"), "'lambda_r'"),
    ("truth", "bogus", "'truth'"),
    ("pipeline", "bogus", "'pipeline'"),
    ("k_max", 1_000_000_000, "'k_max'"),
    ("n_test", 1_000_000_000, "'n_test'"),
    ("true_thetas", [1.6, 0.5, 2.4, 2.0], "'true_thetas'"),
    ("true_marginals", [[0.5, 0.4, 0.5, 2, 5, 5, 2]] * 5, "'true_marginals'"),
    ("cert_rate", [0.0, 0.0, 1.5, 0.0, 0.0], "'cert_rate'"),
    ("outcomes_path", "/no/such/file.csv", "'outcomes_path'"),
])
def test_bad_values_fail_with_one_line_naming_the_parameter(name, value, needle):
    with pytest.raises(ParameterError) as err:
        SCHEMA.validate({**notebook_defaults(), name: value})
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


@pytest.mark.parametrize("changes,needle", [
    ({"k_max": 6}, "'k_max'"),
    ({"true_thetas": [1.6, 2.0]}, "'true_thetas'"),
    ({"prices": [0.1, 0.2]}, "'prices'"),
    ({"n_train_low": 500}, "'n_train_low'"),
    ({"example_cascade": [2, 1]}, "'example_cascade'"),
    ({"cascade_models": ["a", "a"]}, "'cascade_models'"),
    ({"chain_cells": 5}, "'chain_cells'"),
])
def test_cross_parameter_rules(changes, needle):
    with pytest.raises(ParameterError, match=needle):
        SCHEMA.validate({**notebook_defaults(), **changes})


def test_resource_guards_refuse_huge_sizes_before_anything_runs():
    d = notebook_defaults()
    with pytest.raises(ParameterError, match="limit"):
        SCHEMA.validate({**d, "mc_N": 10_000_000})
    with pytest.raises(ParameterError, match="grid-search candidates"):
        SCHEMA.validate({**d, "grid_levels": 60, "k_max": 5, "runtime_ks": [2, 3, 4, 5]})
    many = [[0.05, 0.95, 0.5, 2, 5, 5, 2]] * 8
    with pytest.raises(ParameterError, match="limit"):
        SCHEMA.validate({**d, "true_marginals": many, "true_thetas": [2.0] * 7, "cert_rate": [0.0] * 8, "miscal_a": [0.0] * 8,
                         "miscal_b": [1.0] * 8, "prices": [1.0] * 8, "k_max": 8})


def test_runner_rejects_bad_values_before_a_kernel_starts(tmp_path):
    from capfront_lib import runner

    ch = runner.chapter("markov_copula_cascades")
    with pytest.raises(runner.RunnerError, match="n_train"):
        runner.resolve_parameters(ch, [("n_train", "-5")])
