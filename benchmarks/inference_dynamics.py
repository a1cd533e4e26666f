"""Speed of the InferenceDynamics router: profile an index set and route 12,000 queries over 29 models.

    python benchmarks/inference_dynamics.py

Uses the public MMLU-Pro matrix (29 models x 12,032 items, via CAPFRONT_DATA_DIR or ../shared/data) when
available, else a simulated matrix of the same size. Blank cells are set to 0 here (timing only). Compares
the vectorised router (sparse rank-weight matrices, two sparse products) with a per-query Python loop
over dictionaries, run side by side on the same data, and checks both give the same decisions.
Also times a 26-point beta sweep from one (A, B) decomposition against re-routing for every beta, and
the integer-coded tags (TagCodes) against lists of Tags on one paper-scale simulated replicate (8 models,
20,000 index + 8,000 evaluation queries: every row of the Table-1 analog), checking identical results.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capfront_lib.inference_dynamics import InferenceDynamicsRouter, MetadataTagger, Tags, beta_sweep, choose  # noqa: E402
from capfront_lib.inference_dynamics import make_routing_world  # noqa: E402
from capfront_lib.inference_dynamics.experiments import evaluate_methods  # noqa: E402
from _timing import best_of


def load():
    d = os.environ.get("CAPFRONT_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    p = Path(d) / "MMLU-Pro"
    if p.is_dir():
        items = pd.read_csv(p / "mmlu_pro_items.csv", dtype={"id": str})
        corr = pd.read_csv(p / "mmlu_pro_correct.csv", dtype={"id": str}).set_index("id").loc[items["id"]]
        chars = pd.read_csv(p / "mmlu_pro_output_chars.csv", dtype={"id": str}).set_index("id").loc[items["id"]]
        Y = corr.fillna(0.0).to_numpy(float)
        C = (1500 * 1.0 + chars.fillna(0.0).to_numpy(float) / 4 * 2.0) / 1e6  # one flat price: timing only
        tags = MetadataTagger().tag(items)
        return "MMLU-Pro (public data)", tags, Y, C, list(corr.columns)
    rng = np.random.default_rng(0)
    n, T = 12032, 29
    kel = [f"k{i}" for i in range(60)]
    cel = ["Reasoning", "Comprehension", "Knowledge Retrieval", "Coding"]
    tags = [Tags(list(rng.choice(kel, rng.integers(1, 4), replace=False)), list(rng.choice(cel, rng.integers(1, 3), replace=False))) for _ in range(n)]
    return "simulated", tags, rng.binomial(1, 0.6, (n, T)).astype(float), rng.uniform(1e-4, 3e-3, (n, T)), [f"m{t}" for t in range(T)]


def naive_route(index_tags, Y, C, new_tags, alpha=0.5, beta=0.0, gamma=1.0, delta=1.0):
    """Per-query Python loops: accumulate element sums in dicts, then score every model for every query."""
    T = Y.shape[1]
    Yl, Cl = Y.tolist(), C.tolist()

    def w(L):
        raw = [alpha ** j for j in range(L)]
        s = sum(raw)
        return [r / s for r in raw]

    def profile(lists):
        num: dict[str, list[float]] = {}
        cnt: dict[str, int] = {}
        for i, lst in enumerate(lists):
            ws = w(len(lst))
            seen = set()
            for j, e in enumerate(lst):
                acc = num.setdefault(e, [0.0] * T)
                yi, ci = Yl[i], Cl[i]
                for t in range(T):
                    acc[t] += ws[j] * (yi[t] - beta * ci[t])
                if e not in seen:
                    cnt[e] = cnt.get(e, 0) + 1
                    seen.add(e)
        return {e: [v / cnt[e] for v in num[e]] for e in num}

    Sk = profile([t.knowledge for t in index_tags])
    Sc = profile([t.capabilities for t in index_tags])
    out = np.empty(len(new_tags), dtype=int)
    for q, tg in enumerate(new_tags):
        score = [0.0] * T
        for lst, S, g in ((tg.knowledge, Sk, gamma), (tg.capabilities, Sc, delta)):
            lst = [e for e in lst if e in S]
            ws = w(len(lst))
            for j, e in enumerate(lst):
                row = S[e]
                for t in range(T):
                    score[t] += g * ws[j] * row[t]
        out[q] = int(np.argmax(score))
    return out


def main() -> None:
    name, tags, Y, C, models = load()
    n, T = Y.shape
    print(f"data: {name}; {n} queries x {T} models; index = all queries, routing the same {n} queries")

    def fast():
        r = InferenceDynamicsRouter().fit(tags, Y, C, models)
        return r.route(tags)

    t_fast, ch_fast = best_of(fast)
    t_naive, ch_naive = best_of(lambda: naive_route(tags, Y, C, tags), repeat=1)
    r = InferenceDynamicsRouter().fit(tags, Y, C, models)
    A, B = r.decompose(tags)
    # the naive loop breaks ties by pool order only; compare on queries without a near-tie
    s = np.sort(A, axis=1)
    clear = (s[:, -1] - s[:, -2]) > 1e-9
    agree = float(np.mean(ch_fast[clear] == ch_naive[clear]))
    print(f"profile + route, vectorised : {t_fast:8.3f} s")
    print(f"profile + route, Python loop: {t_naive:8.3f} s   ratio loop / vectorised = {t_naive / t_fast:6.1f}x")
    print(f"decisions identical on {agree:.4%} of the {clear.sum()} queries without an exact tie")

    betas = [0.0] + list(np.logspace(-1, 5, 25))
    t_sweep, _ = best_of(lambda: beta_sweep(A, B, Y, C, betas, best=int(np.argmax(Y.mean(axis=0))), models=models))
    t_reroute, _ = best_of(lambda: [InferenceDynamicsRouter(beta=b).fit(tags, Y, C, models).route(tags) for b in betas], repeat=1)
    print(f"26-point beta sweep from one decomposition: {t_sweep:8.3f} s")
    print(f"26-point beta sweep, refit + route per beta: {t_reroute:8.3f} s   ratio = {t_reroute / t_sweep:6.1f}x")
    target = "met" if t_fast <= 1.0 else "NOT met"
    print(f"target 'profile + route 12,000 x 29 in <= 1 s': {target} ({t_fast:.3f} s)")
    codes_vs_lists()


def codes_vs_lists() -> None:
    """Table-1 analog of one paper-scale simulated replicate: TagCodes vs lists of Tags (same world, same rows)."""
    w = make_routing_world(0, n_models=8, n_knowledge=40, n_index=20000, n_eval=8000, n_bench_index=16, n_bench_eval=4,
                           max_k_tags=5, with_text=False)
    mi, me = w.mask("index"), w.mask("eval")
    g = w.queries["benchmark"].to_numpy()[me]

    def run(ti, te):
        return evaluate_methods(ti, w.Y[mi], w.C[mi], te, w.Y[me], w.C[me], w.models, g, P_eval=w.P[me])

    t_codes, r_codes = best_of(lambda: run(w.tag_codes("index"), w.tag_codes("eval")))
    t_lists, r_lists = best_of(lambda: run(w.tags("index"), w.tags("eval")), repeat=1)
    same = all(np.array_equal(r_codes.choices[k], r_lists.choices[k]) for k in r_codes.choices)
    diff = float((r_codes.table - r_lists.table).abs().max().max())
    print(f"paper-scale replicate (28,000 queries x 8 models), TagCodes : {t_codes:8.3f} s")
    print(f"paper-scale replicate, lists of Tags                     : {t_lists:8.3f} s   ratio = {t_lists / t_codes:6.1f}x")
    print(f"identical decisions: {same}; largest table difference {diff:.1e}")


if __name__ == "__main__":
    main()
