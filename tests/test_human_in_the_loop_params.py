"""Parameter schema, printed-precision intervals, your-log loader and the public-data bootstrap (human_in_the_loop).

Independent computations only: hand-worked numbers from Tables 4.1/4.2, a brute-force bootstrap, logs written here.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core.params import ParameterError
from capfront_lib.human_in_the_loop import published, realdata, sim, yourlog
from capfront_lib.human_in_the_loop.params import SCHEMA

ROOT = Path(__file__).resolve().parents[1]


def _notebook_parameters() -> dict:
    text = (ROOT / "notebooks" / "human_in_the_loop.md").read_text()
    cell = text.split(":tags: [parameters]", 1)[1].split("```", 1)[0]
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell).body}


def test_schema_names_equal_parameters_cell_and_defaults_validate():
    params = _notebook_parameters()
    assert list(params) == SCHEMA.names
    SCHEMA.validate(params)


@pytest.mark.parametrize("name, value, match", [
    ("n_queries", -5, "n_queries"),
    ("seed", -1, "seed"),
    ("lambda_E", math.nan, "lambda_E"),
    ("real_data", "bogus", "real_data"),
    ("rejection_step", 0.03, "rejection_max"),
    ("utilizations", [0.5, 1.0], "utilizations"),
    ("token_difficulty_coupling", [0.1, 0.2], "token_difficulty_coupling"),
    ("ptrue_quality", [0.5, 0.6], "ptrue_quality"),
    ("reasoning_models", ["llama-v3p1-405b-instruct"], "nonreasoning_model"),
    ("outcomes_path", "/nonexistent/log.csv", "outcomes_path"),
])
def test_schema_refuses_bad_values_in_one_line(name, value, match):
    params = _notebook_parameters()
    params[name] = value
    with pytest.raises(ParameterError, match=match) as err:
        SCHEMA.validate(params)
    assert "\n" not in str(err.value)


def test_schema_resource_guard():
    params = _notebook_parameters()
    params["n_queries"] = 1_000_000
    params["n_replicates"] = 100
    with pytest.raises(ParameterError, match="simulated cells"):
        SCHEMA.validate(params)


def test_knobs_from_lists_maps_by_model():
    ms = ["qwen3-235b-a22b", "deepseek-r1-0528"]
    ov = sim.knobs_from_lists(ms, token_difficulty_coupling=[0.1, 0.2], ptrue_quality=[0.8])
    assert ov["token_difficulty_coupling"] == {"qwen3-235b-a22b": 0.1, "deepseek-r1-0528": 0.2}
    assert ov["verification_quality"] == {"llama-v3p1-405b-instruct": 0.8}
    assert sim.knobs_from_lists(ms) == {}


def test_drag_intervals_hand_worked():
    d = published.drag_intervals().set_index(["model", "u"])
    r = d.loc[("qwen3-235b-a22b", 0.75)]
    assert r.D_L == pytest.approx(((1 - 0.557) * 125.9 - 12.4) / (0.25 * 125.9))
    assert r.D_L_lo == pytest.approx(((1 - 0.5575) * 125.85 - 12.45) / (0.25 * 125.85))
    assert r.D_L_hi == pytest.approx(((1 - 0.5565) * 125.95 - 12.35) / (0.25 * 125.95))
    assert (d.D_L_lo <= d.D_L).all() and (d.D_L <= d.D_L_hi).all() and (d.D_L_lo > 1).all()


def test_ask_gains_and_bounds_hand_worked():
    g = published.ask_gains()
    assert g.loc["o3-2025-04-16", "gain"] == pytest.approx(0.96 - 0.962)
    assert g.loc["qwen3-235b-a22b", "gain_hi"] == pytest.approx(0.995 - 0.972 + 0.0005)
    # oracle AUARC at n = 500, 14 errors, grid 0..20 % step 0.5 %: mean of (kept - max(14 - k, 0)) / kept
    ks = [math.floor(500 * r + 0.5 + 1e-9) for r in np.round(np.arange(41) * 0.005, 12)]
    oracle = np.mean([(500 - k - max(14 - k, 0)) / (500 - k) for k in ks])
    assert g.loc["qwen3-235b-a22b", "auarc_oracle"] == pytest.approx(oracle)
    assert g.within_bounds.all()
    assert published.cell(published.load_table_4_2(), "o3-2025-04-16", 0.6, "delta_cost_pct") == -24.9


def test_median_gain_interval_against_numpy_bootstrap():
    t = pd.DataFrame({"gain_vs_random": np.linspace(-0.01, 0.05, 21)})
    med, (lo, hi), n = realdata.median_gain_interval(t, n_boot=500, seed=9)
    rng = np.random.default_rng(9)
    g = t.gain_vs_random.to_numpy()
    meds = [np.median(g[rng.integers(0, g.size, g.size)]) for _ in range(500)]
    assert med == pytest.approx(np.median(g)) and n == 21
    assert lo == pytest.approx(min(np.quantile(meds, 0.025), med)) and hi == pytest.approx(max(np.quantile(meds, 0.975), med))


def test_yourlog_frame_roles_and_notes(tmp_path):
    from capfront_lib.core import load_log

    df = pd.DataFrame({"query_id": ["a", "b", "a", "b"], "model": ["r", "r", "nr", "nr"], "correct": [1, 0, 1, 1],
                       "output_tokens": [10.0, 20.0, 5.0, 5.0], "confidence": [np.nan, np.nan, 0.9, 0.2]})
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    frame, notes = yourlog.frame_from_evallog(load_log(path, form="long", missing="keep_partial"))
    assert len(notes) == 2 and all("latency_s" in n or "cost_usd" in n for n in notes)
    rs, nr = yourlog.choose_roles(frame, ["x"], "y")
    assert rs == ["r"] and nr == "nr"
    curves = yourlog.ask_curves_from_frame(frame, rs, [0.0, 0.5])
    np.testing.assert_allclose(curves["r"]["accuracy"], [0.5, 1.0])  # rejecting the longer answer (the wrong one)
    pairs = yourlog.pairs_from_frame(frame, rs, nr)
    assert pairs["r"].n == 2 and list(pairs["r"].p_true) == [0.9, 0.2]
