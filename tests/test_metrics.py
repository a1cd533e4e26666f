"""capfront_lib.core.metrics: hand-worked examples and independent re-implementations of each metric.

The re-implementations are written differently from the library on purpose: Python loops over queries and
thresholds, the RouterBench reference hull/AIQ algorithm (withmartian/routerbench, evaluation/AIQ.py)
transcribed, and RouteLLM's reference APGR/CPT formulas (lm-sys/RouteLLM, routellm/evals/evaluate.py and
benchmarks.py: ``pd.qcut`` thresholds, ``np.trapz`` areas, ``np.interp`` for CPT).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from capfront_lib.core import metrics as mt
from capfront_lib.core.demo import demo_log


# ---------------------------------------------------------------------------------------------
# independent re-implementations


def loop_oracle(scores, cost, threshold):
    """Cheapest correct model per query, cheapest overall when none is correct (LLMRouterBench's rule,
    with our threshold instead of their 'score > 0')."""
    n, l = len(scores), len(scores[0])
    acc = cst = 0.0
    for i in range(n):
        correct = [j for j in range(l) if scores[i][j] >= threshold]
        pool = correct if correct else list(range(l))
        best = min(pool, key=lambda j: (cost[i][j], j))
        acc += 1.0 if correct else 0.0
        cst += cost[i][best]
    return acc / n, cst / n


def best_mixture(costs, quals, x):
    """Best expected quality of a random mixture of at most two points with expected cost <= x."""
    best = -math.inf
    pts = list(zip(costs, quals))
    for ci, qi in pts:
        if ci <= x:
            best = max(best, qi)
        for cj, qj in pts:
            if ci < cj and ci <= x:
                lam = min(1.0, (x - ci) / (cj - ci))
                best = max(best, qi + lam * (qj - qi))
    return best


def routerbench_hull(points):
    """withmartian/routerbench evaluation/AIQ.py: get_non_descreasing_convex_hull_of, transcribed."""
    pts = points[points[:, 0].argsort()]
    new = []
    for i in range(len(pts)):
        for j in range(i, len(pts)):
            x1, y1 = pts[i]
            x2, y2 = pts[j]
            for k in range(len(pts)):
                x, y = pts[k]
                if x1 < x < x2:
                    yi = np.interp(x, [x1, x2], [y1, y2])
                    if y < yi:
                        if x not in [mx for mx, _ in new]:
                            new.append([x, yi])
                        else:
                            for m in range(len(new)):
                                if new[m][0] == x and new[m][1] < yi:
                                    new[m] = [x, yi]
                                    break
                                elif new[m][0] == x and new[m][1] > yi:
                                    new[m] = [x, new[m][1]]
                    if y >= yi:
                        if x not in [mx for mx, _ in new]:
                            new.append([x, y])
                        else:
                            for m in range(len(new)):
                                if new[m][0] == x and new[m][1] < y:
                                    new[m] = [x, y]
                                    break
                                elif new[m][0] == x and new[m][1] > y:
                                    new[m] = [x, new[m][1]]
    if len(new) == 0 or pts[-1][0] not in [mx for mx, _ in new]:
        if len(new) == 0 or pts[-1][1] >= new[-1][1]:
            new.append(list(pts[-1]))
    if pts[0][0] not in [mx for mx, _ in new]:
        new = [list(pts[0])] + new
    h = np.array(new, dtype=float)
    h = h[h[:, 0].argsort()]
    drop = [i for i in range(1, len(h)) if h[i][1] < h[i - 1][1]]
    return np.delete(h, drop, axis=0)


def routerbench_aiq(points, max_x):
    """calc_AIQ of the reference code for one router: hull, flat extension to max_x, trapz / max_x."""
    h = routerbench_hull(points)
    h = np.vstack([h, [max_x, h[-1, 1]]])
    return float(np.trapezoid(h[:, 1], h[:, 0]) / max_x)


def routellm_reference(yw, ys, score, num_results=10):
    """RouteLLM's reference: qcut thresholds, strong % and accuracy per threshold, AUC-based APGR, and
    CPT by np.interp (benchmarks.py evaluate + evaluate.py generate_results)."""
    df = pd.DataFrame({"w": yw, "s": ys, "r": score})
    _, thresholds = pd.qcut(df["r"], num_results, retbins=True)
    rows = []
    for i, t in enumerate(thresholds):
        sel = df["r"] >= t if i != len(thresholds) - 1 else df["r"] > t
        res = np.where(sel, df["s"], df["w"])
        rows.append((sel.mean() * 100, res.mean() * 100))
    pts = pd.DataFrame(rows, columns=["strong_percentage", "accuracy"]).sort_values("strong_percentage")
    weak, strong = df["w"].mean() * 100, df["s"].mean() * 100
    auc = np.trapezoid(pts["accuracy"], pts["strong_percentage"] / 100)
    weak_auc = np.trapezoid(np.full(len(pts), weak), pts["strong_percentage"] / 100)
    strong_auc = np.trapezoid(np.full(len(pts), strong), pts["strong_percentage"] / 100)
    apgr = (auc - weak_auc) / (strong_auc - weak_auc)
    cpt = {p: float(np.interp(p * (strong - weak) + weak, pts["accuracy"], pts["strong_percentage"])) / 100 for p in (0.5, 0.8)}
    return apgr, cpt


def loop_pair_curve(yw, ys, score):
    """Every threshold (distinct score), by loops: (strong share, accuracy), sorted by share."""
    n = len(score)
    pts = {0.0: sum(yw) / n}
    for t in sorted(set(score)):
        k = acc = 0
        for i in range(n):
            if score[i] >= t:
                k += 1
                acc += ys[i]
            else:
                acc += yw[i]
        pts[k / n] = acc / n
    return sorted(pts.items())


# ---------------------------------------------------------------------------------------------
# the threshold rule


def test_binarize_rule_and_pitfall_oracle_by_hand():
    s = np.array([[0.4, 0.0], [0.6, 1.0], [0.0, 0.0], [1.0, 0.3]])
    assert mt.binarize(s).tolist() == [[False, False], [False, True], [False, False], [True, False]]
    assert mt.binarize(s, 0.5).tolist() == [[False, False], [True, True], [False, False], [True, False]]
    M = mt.matrix(s, ["a", "b"])
    assert M.graded and M.n_positive_below_threshold == 3  # 0.4, 0.6, 0.3 are < 1
    assert mt.oracle(M).accuracy == 0.5  # rows 2 and 4 have a full score
    assert mt.oracle_any_positive(M) == 0.75  # the pitfall counts rows 1, 2 and 4
    assert mt.oracle(mt.matrix(s, ["a", "b"], threshold=0.5)).accuracy == 0.5
    assert mt.oracle(mt.matrix(s, ["a", "b"], threshold=0.3)).accuracy == 0.75
    # one rule everywhere: accuracy of the single best model uses the same threshold as the oracle
    assert mt.single_best(mt.matrix(s, ["a", "b"], threshold=0.5)) == {"model": "a", "index": 0, "accuracy": 0.5, "mean_cost": None}


@pytest.mark.parametrize("t", [0.0, -0.1, 1.5, float("nan")])
def test_threshold_outside_range_is_refused(t):
    with pytest.raises(mt.MetricsError, match=r"threshold must lie in \(0, 1\]"):
        mt.binarize(np.ones((2, 2)), t)


def test_incomplete_or_out_of_range_tables_are_refused():
    with pytest.raises(mt.MetricsError, match="not run"):
        mt.matrix(np.array([[1.0, np.nan]]))
    with pytest.raises(mt.MetricsError, match=r"must lie in \[0, 1\]"):
        mt.matrix(np.array([[1.0, 2.0]]))
    with pytest.raises(mt.MetricsError, match="non-negative"):
        mt.matrix(np.ones((2, 2)), cost=[1.0, -1.0])


# ---------------------------------------------------------------------------------------------
# single best, oracle, gap


def test_oracle_hand_worked_with_per_query_costs():
    y = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 1], [1, 1, 0]], float)
    c = np.array([[3.0, 1.0, 2.0], [5.0, 4.0, 6.0], [1.0, 2.0, 2.0], [2.0, 2.0, 0.5]])
    M = mt.matrix(y, ["a", "b", "c"], c)
    o = mt.oracle(M)
    # q0: a(3) and c(2) correct -> c; q1: none -> cheapest b(4); q2: b(2), c(2) tie -> b; q3: a(2), b(2) tie -> a
    assert o.choice.tolist() == [2, 1, 1, 0]
    assert o.accuracy == 0.75 and o.mean_cost == pytest.approx((2 + 4 + 2 + 2) / 4)
    assert o.share == {"a": 0.25, "b": 0.5, "c": 0.25}
    sb = mt.single_best(M)  # a, b, c all 0.5: the first in column order
    assert sb["model"] == "a" and sb["mean_cost"] == pytest.approx(2.75)
    gap = mt.gap_at_oracle(sb["accuracy"], o.accuracy)
    assert gap == {"absolute": 0.25, "relative": pytest.approx(1 / 3)}
    assert mt.gap_at_oracle(0.0, 0.0)["relative"] is None


def test_oracle_against_loops_on_random_tables():
    rng = np.random.default_rng(1)
    for _ in range(25):
        n, l = rng.integers(5, 40), rng.integers(1, 7)
        s = np.round(rng.random((n, l)) * 4) / 4  # graded scores 0, .25, ... 1
        c = np.round(rng.random((n, l)) * 5, 1)  # ties in cost happen
        t = float(rng.choice([0.25, 0.5, 1.0]))
        o = mt.oracle(mt.matrix(s, cost=c, threshold=t))
        acc, cost = loop_oracle(s.tolist(), c.tolist(), t)
        assert o.accuracy == pytest.approx(acc) and o.mean_cost == pytest.approx(cost)


def test_oracle_blocks_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(2)
    s = (rng.random((500, 9)) < 0.3).astype(float)
    c = rng.random((500, 9))
    whole = mt.oracle(mt.matrix(s, cost=c))
    monkeypatch.setattr(mt, "_BLOCK_CELLS", 20)  # 2 queries per block
    blocked = mt.oracle(mt.matrix(s, cost=c))
    assert np.array_equal(whole.choice, blocked.choice) and whole.mean_cost == pytest.approx(blocked.mean_cost)


# ---------------------------------------------------------------------------------------------
# hull, random router at matched cost, AIQ


def test_ndch_and_aiq_hand_worked():
    hc, hq = mt.ndch([1, 2, 3, 4, 5], [0.1, 0.5, 0.55, 0.9, 0.8])
    assert hc.tolist() == [1, 2, 4] and hq.tolist() == [0.1, 0.5, 0.9]  # (3, .55) under the chord, (5, .8) dominated
    # [1,2]: (0.1 + 0.5)/2 = 0.3; [2,4]: 2 (0.5 + 0.9)/2 = 1.4; [4,5]: flat 0.9 -> (0.3 + 1.4 + 0.9) / 4
    assert mt.aiq([1, 2, 3, 4, 5], [0.1, 0.5, 0.55, 0.9, 0.8], 1, 5) == pytest.approx(2.6 / 4)
    # below the router's first point it cannot operate: zero over [0, 1]
    assert mt.aiq([1, 2, 3, 4, 5], [0.1, 0.5, 0.55, 0.9, 0.8], 0, 5) == pytest.approx(2.6 / 5)
    assert mt.aiq([1, 2], [0.2, 0.4], 2, 2) is None


def test_random_router_at_cost_is_the_best_mixture():
    rng = np.random.default_rng(3)
    for _ in range(30):
        l = int(rng.integers(1, 9))
        c = np.round(rng.random(l) * 10, 1)
        q = np.round(rng.random(l), 2)
        hull = mt.ndch(c, q)
        for x in np.linspace(c.min(), c.max() + 1, 17):
            assert mt.hull_value(hull, x)[0] == pytest.approx(best_mixture(c, q, x), abs=1e-12)
        assert np.isnan(mt.hull_value(hull, c.min() - 0.1)[0])


def test_random_router_at_cost_on_a_matrix():
    y = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1], [0, 1, 1]], float)  # accuracies .25, .75, .75
    M = mt.matrix(y, ["cheap", "mid", "dear"], [1.0, 3.0, 5.0])
    assert mt.random_router_at_cost(M, 2.0) == pytest.approx(0.5)  # half cheap, half mid
    assert mt.random_router_at_cost(M, 5.0) == pytest.approx(0.75)  # flat after the best (mid)
    assert mt.random_router_at_cost(M, 0.5) is None
    assert mt.random_router_at_cost(mt.matrix(y), 2.0) is None
    assert mt.random_uniform(M) == {"accuracy": pytest.approx(7 / 12), "mean_cost": pytest.approx(3.0)}


def test_aiq_matches_the_routerbench_reference_code():
    rng = np.random.default_rng(4)
    for _ in range(30):
        k = int(rng.integers(2, 12))
        pts = np.column_stack([np.sort(rng.choice(np.arange(1, 60), size=k, replace=False)) / 10.0, rng.random(k)])
        max_x = float(pts[:, 0].max() + rng.random() * 3)
        ours = mt.aiq(pts[:, 0], pts[:, 1], 0.0, max_x)
        assert ours == pytest.approx(routerbench_aiq(pts, max_x), abs=1e-12)


def test_aiq_on_a_general_range_against_a_fine_grid():
    rng = np.random.default_rng(5)
    for _ in range(10):
        k = int(rng.integers(1, 8))
        c, q = rng.random(k) * 10, rng.random(k)
        lo, hi = sorted(rng.random(2) * 12)
        xs = np.linspace(lo, hi, 200_001)
        h = np.array([best_mixture(c, q, x) if x >= c.min() else 0.0 for x in xs[::500]])
        # best_mixture is exact; integrate it on a fine grid (interpolating between the coarse samples is
        # not exact at kinks, so compare the library against a direct grid of the exact function instead)
        hv = mt.hull_value(mt.ndch(c, q), xs)
        hv[np.isnan(hv)] = 0.0
        assert np.allclose(hv[::500], h, atol=1e-12)
        assert mt.aiq(c, q, lo, hi) == pytest.approx(np.trapezoid(hv, xs) / (hi - lo), abs=2e-4)


# ---------------------------------------------------------------------------------------------
# RouteLLM: PGR, APGR, CPT


def test_apgr_cpt_hand_worked():
    # weak [1,0,0,1] (0.5), strong [1,1,1,0] (0.75); score ranks q1 > q3 > q2 > q0
    y = np.array([[1, 1], [0, 1], [0, 1], [1, 0]], float)
    M = mt.matrix(y, ["weak", "strong"], [1.0, 10.0])
    curve = mt.pair_curve(M, "weak", "strong", [0.1, 0.9, 0.5, 0.7])
    assert curve["strong_share"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert curve["accuracy"].tolist() == [0.5, 0.75, 0.5, 0.75, 0.75]
    assert curve["pgr"].tolist() == [0, 1, 0, 1, 1]
    assert curve["mean_cost"].tolist() == pytest.approx([1, 3.25, 5.5, 7.75, 10])
    # trapezoids: .125 + .125 + .125 + .25
    assert mt.apgr(curve) == pytest.approx(0.625)
    assert mt.cpt(curve, 0.5) == pytest.approx(0.125) and mt.cpt(curve, 0.8) == pytest.approx(0.2)
    assert mt.cpt(curve, 1.01) is None


def test_exact_pair_curve_against_loops():
    rng = np.random.default_rng(6)
    for _ in range(20):
        n = int(rng.integers(3, 60))
        yw = (rng.random(n) < 0.4).astype(int).tolist()
        ys = (rng.random(n) < 0.7).astype(int).tolist()
        score = np.round(rng.random(n), 1).tolist()  # ties
        M = mt.matrix(np.column_stack([yw, ys]).astype(float), ["w", "s"])
        curve = mt.pair_curve(M, "w", "s", score)
        pts = loop_pair_curve(yw, ys, score)
        assert curve["strong_share"].tolist() == pytest.approx([p[0] for p in pts])
        assert curve["accuracy"].tolist() == pytest.approx([p[1] for p in pts])
        aw, as_ = sum(yw) / n, sum(ys) / n
        if aw == as_:
            assert mt.apgr(curve) is None
            continue
        pgr = [(a - aw) / (as_ - aw) for _, a in pts]
        area = sum((pts[k + 1][0] - pts[k][0]) * (pgr[k + 1] + pgr[k]) / 2 for k in range(len(pts) - 1))
        assert mt.apgr(curve) == pytest.approx(area)
        for level in (0.5, 0.8):
            want = None
            for k in range(len(pts) - 1):  # first segment whose end reaches the level
                if pgr[k] >= level:
                    want = pts[k][0]
                    break
                if pgr[k + 1] >= level:
                    want = pts[k][0] + (level - pgr[k]) / (pgr[k + 1] - pgr[k]) * (pts[k + 1][0] - pts[k][0])
                    break
            got = mt.cpt(curve, level)
            assert (got is None and want is None) or got == pytest.approx(want)


def test_apgr_and_cpt_match_the_routellm_reference_code():
    rng = np.random.default_rng(7)
    for _ in range(10):
        n = 400
        z = rng.normal(size=n)
        ys = (rng.random(n) < 1 / (1 + np.exp(-(z + 1)))).astype(float)
        yw = (rng.random(n) < 1 / (1 + np.exp(-(z - 0.5)))).astype(float)
        score = -z + rng.normal(scale=0.8, size=n)  # continuous: no tied quantile edges
        M = mt.matrix(np.column_stack([yw, ys]), ["w", "s"])
        curve = mt.pair_curve(M, "w", "s", score, n_bins=10)
        ref_apgr, ref_cpt = routellm_reference(yw, ys, score)
        assert len(curve) == 11
        assert mt.apgr(curve) == pytest.approx(ref_apgr, abs=1e-12)
        if curve["pgr"].is_monotonic_increasing and curve["accuracy"].is_monotonic_increasing:
            for p in (0.5, 0.8):  # np.interp reads the same first crossing on a monotone curve
                assert mt.cpt(curve, p) == pytest.approx(ref_cpt[p], abs=1e-9)


def test_random_score_router_has_apgr_one_half_in_expectation():
    rng = np.random.default_rng(8)
    n = 200
    yw = (rng.random(n) < 0.5).astype(float)
    ys = (rng.random(n) < 0.8).astype(float)
    M = mt.matrix(np.column_stack([yw, ys]), ["w", "s"])
    draws = np.array([mt.apgr(mt.pair_curve(M, "w", "s", rng.random(n))) for _ in range(400)])
    se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - 0.5) < 4 * se


def test_oracle_pair_score_is_the_ceiling():
    rng = np.random.default_rng(9)
    y = (rng.random((300, 2)) < [0.55, 0.75]).astype(float)
    M = mt.matrix(y, ["w", "s"])
    best = mt.apgr(mt.pair_curve(M, "w", "s", mt.oracle_pair_score(M, "w", "s")))
    for _ in range(50):
        assert mt.apgr(mt.pair_curve(M, "w", "s", rng.random(300))) <= best + 1e-12


def test_category_score_is_cross_fitted():
    rng = np.random.default_rng(10)
    y = (rng.random((200, 2)) < 0.5).astype(float)
    cats = rng.choice(["x", "y", "z"], size=200)
    M = mt.matrix(y, ["w", "s"])
    s0 = mt.category_score(M, cats, "w", "s", seed=1)
    for i in rng.choice(200, size=10, replace=False):
        y2 = y.copy()
        y2[i, 1] = 1 - y2[i, 1]  # the query's own outcome cannot move its own score
        s1 = mt.category_score(mt.matrix(y2, ["w", "s"]), cats, "w", "s", seed=1)
        assert s1[i] == s0[i]
    # and it is the other fold's category mean of strong - weak
    fold = np.random.default_rng(1).permutation(200) % 2
    d = y[:, 1] - y[:, 0]
    i = 0
    other = (fold != fold[i]) & (cats == cats[i])
    assert s0[i] == pytest.approx(d[other].mean())


# ---------------------------------------------------------------------------------------------
# the log and the whole table


def test_matrix_from_log_and_field_metrics_against_pandas():
    log = demo_log(800, 5, seed=4)
    M = mt.matrix_from_log(log)
    long = log.to_long()
    wide = long.pivot(index="query_id", columns="model", values="correct")
    cost = long.pivot(index="query_id", columns="model", values="cost_usd")
    fm = mt.field_metrics(M)
    json.dumps(fm, allow_nan=False)
    assert fm["single_best"] == wide.mean().idxmax() and fm["single_best_accuracy"] == pytest.approx(wide.mean().max())
    assert fm["single_best_cost"] == pytest.approx(cost[fm["single_best"]].mean())
    assert fm["oracle_accuracy"] == pytest.approx(wide.max(axis=1).mean())
    acc, oc = loop_oracle(wide.to_numpy().tolist(), cost.to_numpy().tolist(), 1.0)
    assert fm["oracle_cost"] == pytest.approx(oc)
    assert fm["gap_at_oracle"] == pytest.approx(acc - wide.mean().max())
    assert fm["random_uniform_accuracy"] == pytest.approx(wide.mean().mean())
    assert fm["random_at_oracle_cost"] == pytest.approx(best_mixture(cost.mean().to_numpy(), wide.mean().to_numpy(), fm["oracle_cost"]))
    assert set(fm["pair_routers"]) == {"oracle", "random"} and fm["pair_routers"]["random"]["apgr"] == 0.5
    with_costs = mt.matrix_from_log(log, costs={m: 1.0 for m in log.models})
    assert mt.oracle(with_costs).mean_cost == 1.0
    with pytest.raises(mt.MetricsError, match="no cost for models"):
        mt.matrix_from_log(log, costs={"model_00": 1.0})


def test_field_metrics_without_costs_are_null_not_nan():
    y = (np.random.default_rng(11).random((50, 3)) < 0.6).astype(float)
    fm = mt.field_metrics(mt.matrix(y, ["a", "b", "c"]), scores={"noise": np.arange(50.0)})
    text = json.dumps(fm, allow_nan=False)
    assert fm["oracle_cost"] is None and fm["aiq_zero_router"] is None and fm["random_at_oracle_cost"] is None
    assert fm["pair_routers"]["noise"]["aiq"] is None and "NaN" not in text
    table = mt.metrics_table(fm)
    assert list(table.columns) == ["metric", "value", "meaning"] and table["metric"].is_unique
    pairs = mt.pair_table(fm)
    assert pairs["router"].tolist() == ["oracle order (ceiling)", "noise", "random"]
    assert pairs.loc[pairs["router"] == "random", ["APGR", "CPT(50 %)", "CPT(80 %)"]].to_numpy().tolist() == [[0.5, 0.5, 0.8]]
