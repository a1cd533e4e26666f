"""Claims registry, inventory, Table-1 measurements, evidence statistics and the parameter schema of the
inference_dynamics chapter, each against an independent computation (no notebook run needed)."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from capfront_lib.core.claims import decide, load_registry
from capfront_lib.core.params import ParameterError, schema_for
from capfront_lib.inference_dynamics import InferenceDynamicsRouter, TagCodes, Tags, encode_codes, encode_lists
from capfront_lib.inference_dynamics import evidence as evd
from capfront_lib.inference_dynamics.paper import load_table1, random_draw_sd_bound, table1_measurements
from capfront_lib.inference_dynamics.tagging import corrupt_codes, corrupt_lists

ROOT = Path(__file__).resolve().parents[1]
STEM = "inference_dynamics"


# ---------------------------------------------------------------------------------------------
# registry and inventory


def test_registry_loads_and_covers_the_inventory():
    reg = load_registry(STEM)
    ids = set(reg.ids)
    assert len(ids) == len(reg.ids) >= 35
    text = (ROOT / "data" / STEM / "claims.inventory.md").read_text()
    named: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| item") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) == 4, line
            if cells[2] != "—":
                named.update(x.strip() for x in cells[2].split(","))
    assert named - ids == set(), f"inventory names ids missing from the registry: {named - ids}"
    assert ids - named == set(), f"registry ids not in the inventory: {ids - named}"
    # the inventory's counts agree with the registry
    n_nc = sum(c.rule == "not-checkable" for c in reg.claims)
    assert f"{len(ids)} registered" in text and f"{len(ids) - n_nc} checkable" in text and f"{n_nc} not checkable" in text


def test_registry_sections_exist_in_the_notebook():
    nb = (ROOT / "notebooks" / f"{STEM}.md").read_text()
    labels = set(re.findall(r"^\(([\w-]+)\)=$", nb, flags=re.M))
    for c in load_registry(STEM).claims:
        if c.rule != "not-checkable":
            assert c.section in labels, (c.id, c.section)


def test_no_verdict_literals_in_notebook_or_package():
    pat = re.compile(r"[\"'](reproduced|direction-only|differs|inconclusive)[\"']")
    files = [ROOT / "notebooks" / f"{STEM}.md", *sorted((ROOT / "capfront_lib" / STEM).glob("*.py"))]
    hits = [f"{f.name}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1) if pat.search(line)]
    assert not hits, hits


# ---------------------------------------------------------------------------------------------
# Table 1 (transcription) against hand arithmetic on the printed cells


def test_table1_measurements_by_hand():
    cells = {  # printed cells (MMLU-Pro, GPQA, BigGenBench, LiveBench)
        "Gemini-1.5-Pro": (82.83, 75.76, 80.92, 53.79), "Grok-2": (80.14, 76.26, 83.66, 53.26),
        "Routing by Knowledge": (80.99, 78.28, 82.61, 53.17), "Routing by Capability": (80.09, 76.26, 84.18, 53.65),
        "InferenceDynamics (mixed)": (80.85, 77.78, 84.31, 55.57),
    }
    mean = {k: sum(v) / 4 for k, v in cells.items()}
    m = table1_measurements(load_table1())
    assert m["t1-mixed-avg"].value == pytest.approx(74.6275, abs=1e-12)
    assert m["t1-mixed-avg"].ci == pytest.approx((74.6225, 74.6325), abs=1e-12)
    assert m["t1-gain-1.28"].value == pytest.approx(mean["InferenceDynamics (mixed)"] - mean["Grok-2"], abs=1e-12)
    assert mean["Grok-2"] > mean["Gemini-1.5-Pro"]  # unrounded, Grok-2 is the best single model
    assert m["t1-mixed-highest-avg"].value == pytest.approx(mean["InferenceDynamics (mixed)"] - mean["Routing by Knowledge"], abs=1e-12)
    assert m["t1-knowledge-beats-best"].value == pytest.approx(73.7625 - 73.33, abs=1e-12)
    assert m["t1-capability-beats-best"].value == pytest.approx(73.545 - 73.33, abs=1e-12)
    singles = pd.read_csv(ROOT / "data" / STEM / "table1_routing.csv").query("group == 'single'")
    exp = singles[["mmlu_pro", "gpqa", "biggenbench", "livebench"]].to_numpy().mean()
    assert m["t1-random"].value == pytest.approx(exp, abs=1e-12) and exp == pytest.approx(71.0703125, abs=1e-12)
    assert m["t1-routers-beat-random"].value == pytest.approx(73.545 - exp, abs=1e-12)
    assert m["t1-knowledge-best-gpqa"].value == pytest.approx(78.28 - 77.78, abs=1e-12)
    assert m["t1-mixed-top-livebench"].value == pytest.approx(55.57 - 53.79, abs=1e-12)
    assert m["t1-capability-bgb"].value == pytest.approx(84.18 - 82.61, abs=1e-12)
    assert m["t1-knowledge-second-mmlu"].value is True and m["t1-mixed-second-gpqa-bgb"].value is True
    assert m["t1-no-single-dominates"].value is True


def test_table1_verdicts_follow_the_rules():
    reg = load_registry(STEM)
    m = table1_measurements(load_table1())
    verdict = {cid: decide(reg[cid], x.value, x.ci, x.n, "quick").verdict for cid, x in m.items()}
    assert verdict["t1-mixed-avg"] == "differs"  # 74.6275 is not 74.55
    assert verdict["t1-gain-1.28"] == "differs"  # 1.2975 ± 0.01 excludes 1.28 ± 0.005
    assert verdict["t1-random"] == "reproduced"  # one draw 0.59 below its expectation, inside one draw's spread
    for cid in ("t1-mixed-highest-avg", "t1-knowledge-beats-best", "t1-capability-beats-best", "t1-routers-beat-random",
                "t1-knowledge-best-gpqa", "t1-knowledge-second-mmlu", "t1-capability-bgb", "t1-mixed-top-livebench",
                "t1-mixed-second-gpqa-bgb", "t1-no-single-dominates"):
        assert verdict[cid] == "reproduced", cid
    # changing the measured value changes the verdict (the random row far from its expectation)
    assert decide(reg["t1-random"], 75.0, None, None, "quick").verdict == "differs"


def test_random_draw_bound_against_monte_carlo_and_registry_tolerance():
    t1 = load_table1()
    bound = random_draw_sd_bound(t1)
    reg = load_registry(STEM)
    assert reg["t1-random"].tolerance == pytest.approx(round(1.96 * bound, 1), abs=1e-12)
    # Monte Carlo: per-query success q_i of a random router; homogeneous q attains the bound, heterogeneous stays below
    singles = t1[t1["group"] == "single"]
    rng = np.random.default_rng(0)
    sizes = {"mmlu_pro": 12000, "gpqa": 198, "biggenbench": 765}

    def draw_sd(hetero: bool, reps: int = 4000) -> float:
        tot = np.zeros(reps)
        for b, n in sizes.items():
            p = singles[b].mean() / 100
            q = rng.beta(p * 2, (1 - p) * 2, n) if hetero else np.full(n, p)
            q *= p / q.mean() if hetero else 1.0
            tot += rng.binomial(1, np.clip(q, 0, 1), size=(reps, n)).mean(axis=1) if n < 1000 else rng.normal(
                q.mean(), np.sqrt((q * (1 - q)).sum()) / n, reps)
        p = singles["livebench"].mean() / 100
        tot += rng.binomial(150, p, size=(reps, 6)).mean(axis=1) / 150
        return float(100 * np.std(tot / 4, ddof=1))

    hom, het = draw_sd(False), draw_sd(True)
    assert hom == pytest.approx(bound, rel=0.06)
    assert het < bound


# ---------------------------------------------------------------------------------------------
# evidence statistics against direct computations


def _toy_split(seed: int = 0, n: int = 600, T: int = 4):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["g1", "g2", "g3"], size=n, p=[0.5, 0.3, 0.2])
    skill = np.array([0.6, 0.55, 0.5, 0.45])[:T]
    Y = (rng.random((n, T)) < skill).astype(float)
    price = np.array([4.0, 1.0, 0.5, 0.2])[:T]
    C = price[None, :] * 1e-3 * rng.uniform(0.5, 1.5, (n, T))
    choices = {evd.MIXED: np.argmax(Y + 0.3 * rng.random((n, T)), axis=1), evd.KNOW: rng.integers(0, T, n),
               evd.CAP: np.zeros(n, dtype=int)}
    return evd.RoutedSplit("toy", [f"m{t}" for t in range(T)], Y, C, groups, choices, tag_cost_usd=1e-5)


def _macro(v, groups):
    return float(np.mean([v[groups == g].mean() for g in np.unique(groups)]))


def test_bootstrap_macro_equals_explicit_resampling():
    sp = _toy_split()
    boot = evd.Bootstrap(sp.groups, 50, seed=3)
    v = sp.outcome(sp.choices[evd.MIXED]) - sp.outcome(sp.best)
    point, boots = boot.macro(v)
    assert point == pytest.approx(_macro(v, sp.groups), abs=1e-12)
    # rebuild resample 7 explicitly from the counts and average
    k = 7
    explicit = np.mean([np.repeat(v[idx], cnt[k].astype(int)).mean() for idx, cnt in zip(boot.index, boot.counts)])
    assert boots[k] == pytest.approx(explicit, abs=1e-12)
    m = evd.gain_over_single(sp, boot, evd.MIXED)
    assert m.value == pytest.approx(100 * point, abs=1e-12) and m.ci[0] <= m.value <= m.ci[1]


def test_ratios_and_cheapest_setting_by_brute_force():
    sp = _toy_split(1)
    boot = evd.Bootstrap(sp.groups, 40, seed=1)
    ch = sp.choices[evd.MIXED]
    r = evd.ratios(sp, boot, ch)
    acc = _macro(sp.outcome(ch), sp.groups)
    best = int(np.argmax([_macro(sp.Y[:, t], sp.groups) for t in range(4)]))
    assert r["pr"][0] == pytest.approx(100 * acc / _macro(sp.Y[:, best], sp.groups), abs=1e-9)
    assert r["cr"][0] == pytest.approx(100 * (sp.cost(ch).sum() + sp.n * 1e-5) / sp.C[:, best].sum(), abs=1e-9)
    sweep = {0.0: ch, 15.0: np.full(sp.n, 3), 100.0: np.full(sp.n, 2)}
    m, sel = evd.cheapest_at_floor(sp, boot, sweep, 99.0)
    cands = [100.0]
    for b, c in sweep.items():
        pr = 100 * _macro(sp.outcome(c), sp.groups) / _macro(sp.Y[:, best], sp.groups)
        cr = 100 * (sp.cost(c).sum() + sp.n * 1e-5) / sp.C[:, best].sum()
        if pr >= 99.0:
            cands.append(cr)
    assert m.value == pytest.approx(min(cands), abs=1e-9)
    assert m.ci[0] <= m.value <= m.ci[1]


def test_sweep_measurements_beta15_equal_to_beta0_is_reported():
    sp = _toy_split(2)
    boot = evd.Bootstrap(sp.groups, 40, seed=2)
    ch = sp.choices[evd.MIXED]
    out = evd.sweep_measurements(sp, boot, {0.0: ch, 15.0: ch.copy(), 1e4: np.full(sp.n, 3)})
    assert out["beta15-cost"].value == pytest.approx(out["beta0-cost"].value, abs=1e-12)
    assert "equal those at beta = 0" in out["beta15-cost"].note
    cheap = evd.cheaper_half(sp)
    assert sorted(cheap) == [2, 3]
    assert out["cheap-rarely-chosen"].value == pytest.approx(np.isin(ch, cheap).mean(), abs=1e-12)
    # realized cost ratio change from beta = 0 to the largest beta
    best = sp.best
    d = 100 * (sp.C[:, 3].sum() - sp.cost(ch).sum()) / sp.C[:, best].sum()
    assert out["beta-shifts-cheaper"].value == pytest.approx(d, abs=1e-9)
    reg = load_registry(STEM)
    assert decide(reg["beta15-cost"], out["beta15-cost"].value, out["beta15-cost"].ci, sp.n, "quick").verdict in (
        "differs", "reproduced", "inconclusive")


def test_dynamic_margins_and_task_specialists_against_pandas():
    sp = _toy_split(3)
    boot = evd.Bootstrap(sp.groups, 30, seed=0)
    order = [3, 1, 0, 2]
    steps = [np.full(sp.n, 3), np.where(np.arange(sp.n) % 2 == 0, 1, 3), sp.choices[evd.MIXED], sp.choices[evd.MIXED]]
    acc = [_macro(sp.Y[:, t], sp.groups) for t in range(4)]
    m = evd.dynamic_margins(sp, boot, steps, order, rank=1)
    manual = []
    for s in range(1, 4):
        pool = order[: s + 1]
        ref = max(pool, key=lambda t: acc[t])
        manual.append(100 * _macro(sp.outcome(steps[s]) - sp.Y[:, ref], sp.groups))
    assert m.value == pytest.approx(min(manual), abs=1e-9)
    mspec, tab = evd.task_specialists(sp.Y, sp.groups, sp.models, n_boot=50, seed=0)
    per = pd.DataFrame(sp.Y, columns=sp.models).groupby(sp.groups).mean()
    overall = per.mean(axis=0).idxmax()
    for r in tab.itertuples():
        assert r.task_best == per.loc[r.task].idxmax()
        assert r.margin_pt == pytest.approx(100 * (per.loc[r.task].max() - per.loc[r.task, overall]), abs=1e-9)
        assert r.ci_low <= r.margin_pt <= r.ci_high


def test_top_k_specialists_hand_example_and_bootstrap_by_hand():
    """Figure 1 analog: 6 models, 3 tasks; top 4 by macro accuracy chosen by hand, margins by hand, and the
    Bonferroni interval of the chosen task recomputed with an explicit resampling loop."""
    rng = np.random.default_rng(7)
    tasks = np.repeat(["a", "b", "c"], [300, 250, 200])
    p = np.array([  # per task accuracy of models m0..m5
        [0.90, 0.70, 0.60], [0.60, 0.95, 0.62], [0.85, 0.80, 0.75], [0.40, 0.40, 0.40], [0.70, 0.70, 0.90],
        [0.30, 0.35, 0.20]])
    Y = np.column_stack([(rng.random(len(tasks)) < p[t][np.searchsorted(["a", "b", "c"], tasks)]).astype(float)
                         for t in range(6)])
    models = [f"m{t}" for t in range(6)]
    macro = pd.DataFrame(Y, columns=models).groupby(tasks).mean().mean()
    top = list(macro.sort_values(ascending=False, kind="stable").index[:4])
    m, tab = evd.top_k_specialists(Y, tasks, models, 4, n_boot=400, seed=3)
    assert set(tab["task_best"]) | set(tab["overall_best"]) <= set(top)
    assert "m3" not in top and "m5" not in top  # the two weak models are excluded
    per = pd.DataFrame(Y, columns=models)[top].groupby(tasks).mean()
    g = per.mean().idxmax()
    margins = {t: 100 * (per.loc[t].max() - per.loc[t, g]) for t in per.index}
    for r in tab.itertuples():
        assert r.margin_pt == pytest.approx(margins[r.task], abs=1e-9)
    # the measurement is the task with the largest Bonferroni lower bound; recompute that bound by hand
    k = tab["ci_low"].idxmax()
    task = tab.loc[k, "task"]
    idx = np.flatnonzero(tasks == task)
    d = 100 * (Y[idx, models.index(tab.loc[k, "task_best"])] - Y[idx, models.index(g)])
    rng_b = np.random.default_rng(3)
    boots = []
    for t in per.index:  # task_specialists draws the resamples task by task, in task order
        ii = np.flatnonzero(tasks == t)
        cnt = rng_b.multinomial(len(ii), np.full(len(ii), 1.0 / len(ii)), size=400)
        if t == task:
            boots = cnt @ d / len(ii)
    adj = 1 - 0.05 / 3
    lo = np.quantile(boots, (1 - adj) / 2)
    assert m.ci[0] == pytest.approx(min(lo, d.mean()), abs=1e-9)
    assert m.value == pytest.approx(d.mean(), abs=1e-9) and m.value > 0
    with pytest.raises(ValueError):
        evd.top_k_specialists(Y, tasks, models, 1, n_boot=10)


# ---------------------------------------------------------------------------------------------
# TagCodes: the fast path equals the list path


def _random_problem(rng, n, E_k=7, E_c=4, T=3, unseen=2):
    kel = [f"k{i}" for i in range(E_k + unseen)]
    cel = [f"c{i}" for i in range(E_c)]
    def lists(n_, pool, L):
        return [list(rng.choice(pool, size=rng.integers(0, L + 1), replace=True)) for _ in range(n_)]
    idx = [Tags(k, c) for k, c in zip(lists(n, kel[:E_k], 4), lists(n, cel[:E_c - 1], 3))]
    new = [Tags(k, c) for k, c in zip(lists(n // 2, kel, 4), lists(n // 2, cel, 3))]
    Y = rng.random((n, T))
    C = rng.uniform(0, 0.01, (n, T))
    return kel, cel, idx, new, Y, C


@pytest.mark.parametrize("seed", range(6))
def test_tagcodes_route_and_profiles_equal_the_list_path(seed):
    rng = np.random.default_rng(seed)
    kel, cel, idx, new, Y, C = _random_problem(rng, 120)
    # every index list non-empty somewhere so the vocabularies exist
    ci = TagCodes.from_tags(idx, kel, cel)
    cn = TagCodes.from_tags(new, kel, cel)
    for kw in ({}, {"element_norm": "weight"}, {"other_policy": "drop"}, {"dup_policy": "occurrence"}):
        a = InferenceDynamicsRouter(0.5, 3.0, 1.0, 0.7, **kw).fit(idx, Y, C, ["a", "b", "c"])
        b = InferenceDynamicsRouter(0.5, 3.0, 1.0, 0.7, **kw).fit(ci, Y, C, ["a", "b", "c"])
        for fam in ("knowledge", "capability"):
            pa, pb = a.profile(fam), b.profile(fam)
            pd.testing.assert_frame_equal(pa.sort_index(), pb.sort_index(), atol=1e-14, rtol=0)
        np.testing.assert_allclose(a.scores(new), b.scores(cn), atol=1e-13)
        np.testing.assert_array_equal(a.route(new), b.route(cn))


def test_encode_codes_equals_encode_lists_and_corruption_matches():
    rng = np.random.default_rng(5)
    vocab = list("abcdef")
    lists = [list(rng.choice(vocab, size=rng.integers(0, 5))) for _ in range(80)]
    codes = TagCodes.from_tags([Tags(l) for l in lists], vocab, ()).k
    for alpha in (0.0, 0.5, 1.0):
        for dup in ("sum", "occurrence"):
            W1, M1 = encode_lists(lists, vocab, alpha, dup_policy=dup)
            W2, M2 = encode_codes(codes, len(vocab), alpha, dup_policy=dup)
            assert abs(W1 - W2).max() < 1e-15 and abs(M1 - M2).max() == 0
    a = corrupt_lists(lists, vocab, 0.4, np.random.default_rng(9))
    b = corrupt_codes(codes, len(vocab), 0.4, np.random.default_rng(9))
    assert [tuple(vocab[j] for j in row if j >= 0) for row in b] == [tuple(x) for x in a]


# ---------------------------------------------------------------------------------------------
# parameter schema


def _notebook_parameters() -> dict:
    text = (ROOT / "notebooks" / f"{STEM}.md").read_text()
    cell = text.split(":tags: [parameters]", 1)[1].split("```", 1)[0]
    out = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_schema_names_equal_the_parameters_cell_and_defaults_validate():
    params = _notebook_parameters()
    schema = schema_for(STEM)
    assert schema.names == list(params)
    schema.validate(params)
    import yaml

    prof = yaml.safe_load((ROOT / "data" / "profiles" / f"{STEM}.yaml").read_text())
    schema.validate({**params, **prof["paper"]})


@pytest.mark.parametrize("name,value,fragment", [
    ("n_models", -5, "n_models"), ("seed", -1, "seed"), ("specialisation", float("nan"), "specialisation"),
    ("aptitude_design", "bogus", "aptitude_design"), ("tagger", "llm", "tagger"), ("n_index", 10**9, "n_index"),
    ("n_models", 10**9, "n_models"), ("pool_order", ["gemini-1.5-pro-002", "mathstral-7B"], "pool_order"),
    ("price_table", {"m": [1.0]}, "price_table"), ("price_table", {"m": [1.0, -2.0]}, "price_table"),
    ("beta_grid", [1.0, 2.0], "beta_grid"), ("beta_grid", [0.0, 5.0, 2.0], "beta_grid"),
    ("gamma", 0.0, "gamma"), ("holdout", ["math"], "holdout"), ("max_k_tags", 99, "max_k_tags"),
    ("n_boot", 5, "n_boot"), ("outcomes_path", "/nonexistent/log.csv", "outcomes_path"),
])
def test_schema_refuses_bad_values_with_one_line(name, value, fragment):
    params = _notebook_parameters()
    if name == "gamma":
        params["delta"] = 0.0
    params[name] = value
    with pytest.raises(ParameterError) as err:
        schema_for(STEM).validate(params)
    msg = str(err.value)
    assert "\n" not in msg and fragment in msg


def test_schema_accepts_a_valid_price_table_and_category_split():
    params = _notebook_parameters()
    params.update(price_table={"mathstral-7B": [0.25, 0.25]}, split="by_category", holdout=["law", "history"])
    out = schema_for(STEM).validate(params)
    assert out["price_table"] == {"mathstral-7B": [0.25, 0.25]}
