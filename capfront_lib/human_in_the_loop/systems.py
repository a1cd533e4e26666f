"""The two human-in-the-loop systems of thesis ch. 4 and their latency/cost accounting.

* **Ask** ``M_r -> H``: the reasoning model answers every query; the ``round(n r)`` queries with the longest
  traces are deferred to the human expert (§4.3, eq. 4.3).
* **Fail Fast, or Ask** ``[M_nr -> M_r] -> H``: the non-reasoning model thresholds its self-verification
  probability ``p_true`` (eq. 4.1): ``fail fast`` (lowest band, straight to H), ``pass`` (middle band, to M_r,
  which may defer to H) or ``respond`` (highest band). Configured by the utilisation ``u = P(action != pass)`` and
  the overall rejection rate ``r``, with M_r's conditional rejection rate among passed queries equal to ``r``;
  hence ``P(fail fast) = r - (1-u) r = u r``, ``P(pass) = 1 - u``, ``P(respond) = u (1 - r)`` (§4.3; the
  thesis prints the fail-fast rate in the unsimplified form). ``u = 0`` is exactly Ask.

Counts are exact: ``n_ff = round(n u r)``, ``n_pass = round(n (1-u))``, ``n_resp = n - n_ff - n_pass``, M_r
rejects ``round(n_pass r)`` passed queries (ties by query id). The human is perfect and instantaneous (the
thesis's assumption); deferred queries still incur the latency/cost of the models they went through.

Latency (§4.4): Ask costs ``L_r`` on every query; FFA costs ``L_nr`` on every query plus ``L_r`` on passed ones,
so ``E[L] = E[L_nr] + (1-u) E[L_r | pass]``, whereas the naive eq. (4.2) uses ``E[L_r]``. The ratio
``D_L = E[L_r | pass] / E[L_r]`` is the *drag factor* (our name); ``D_L > 1`` is latency drag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.human_in_the_loop.metrics import _as_1d, _check_correct, count, rejection_order

__all__ = [
    "PairData",
    "ffa_counts",
    "ffa_actions",
    "ffa_route",
    "ffa_curve",
    "ffa_curve_naive",
    "ask_route",
    "naive_mean",
    "naive_delta_pct",
    "implied_drag",
    "relative_delta_pct",
    "latency_by_confidence",
    "accuracy_with_human",
    "FAIL_FAST",
    "PASS",
    "RESPOND",
]

FAIL_FAST, PASS, RESPOND = 0, 1, 2


@dataclass(frozen=True)
class PairData:
    """Per-query arrays for one (M_nr, M_r) pair on the same ``n`` queries.

    ``correct_*`` are 0/1; ``n_out_r`` is M_r's trace length (output tokens or characters); ``p_true`` is M_nr's
    self-verification probability; latencies in seconds, costs in dollars. ``query_id`` breaks ties.
    """

    query_id: np.ndarray
    correct_r: np.ndarray
    n_out_r: np.ndarray
    latency_r: np.ndarray
    cost_r: np.ndarray
    correct_nr: np.ndarray
    p_true: np.ndarray
    latency_nr: np.ndarray
    cost_nr: np.ndarray
    tie_key: np.ndarray  # rank of query_id (0..n-1): the deterministic tie-breaker

    @classmethod
    def build(cls, *, correct_r, n_out_r, correct_nr, p_true, latency_r=None, cost_r=None, latency_nr=None,
              cost_nr=None, query_id=None) -> "PairData":
        """Validate and assemble; latency/cost default to zeros (selective-prediction-only analyses)."""
        cr = _check_correct(correct_r)
        n = cr.size
        if n == 0:
            raise ValueError("correct_r is empty: need at least one query")
        cnr = _check_correct(correct_nr)
        if cnr.size != n:
            raise ValueError(f"correct_nr has length {cnr.size}, expected {n}")
        pt = _as_1d("p_true", p_true, n)
        if np.any((pt < 0) | (pt > 1)):
            raise ValueError("p_true must lie in [0, 1]")
        out = {}
        for name, v in (("n_out_r", n_out_r), ("latency_r", latency_r), ("cost_r", cost_r),
                        ("latency_nr", latency_nr), ("cost_nr", cost_nr)):
            a = np.zeros(n) if v is None else _as_1d(name, v, n)
            if np.any(a < 0):
                raise ValueError(f"{name} must be >= 0 (first offending index {int(np.flatnonzero(a < 0)[0])})")
            out[name] = a
        qid = np.arange(n) if query_id is None else np.asarray(query_id)
        if qid.dtype == object:
            qid = qid.astype(str)
        if qid.shape != (n,):
            raise ValueError(f"query_id must have one entry per query ({n}), got shape {qid.shape}")
        srt = np.argsort(qid, kind="stable")
        if n > 1 and np.any(qid[srt[1:]] == qid[srt[:-1]]):
            raise ValueError("query_id must be unique, one per query")
        tie = np.empty(n, dtype=np.int64)
        tie[srt] = np.arange(n)
        return cls(query_id=qid, correct_r=cr, correct_nr=cnr, p_true=pt, tie_key=tie, **out)

    @property
    def n(self) -> int:
        return int(self.correct_r.size)

    @classmethod
    def from_log(cls, log: pd.DataFrame, reasoning_model: str, nonreasoning_model: str) -> "PairData":
        """Extract a pair from a per-query long log (``query_id, model, correct, n_out, latency_s, cost_usd, p_true``).

        Only queries that both models answered are used; ``p_true`` must be present for the non-reasoning model.
        """
        need = ("query_id", "model", "correct", "n_out", "latency_s", "cost_usd", "p_true")
        missing = [c for c in need if c not in log.columns]
        if missing:
            raise ValueError(f"outcome log is missing columns {missing}; needs {list(need)}")
        models = set(log["model"].astype(str))
        for role, m in (("reasoning_model", reasoning_model), ("nonreasoning_model", nonreasoning_model)):
            if m not in models:
                raise ValueError(f"{role} {m!r} is not in the outcome log (models: {sorted(models)[:10]})")
        cols = ["query_id", "correct", "n_out", "latency_s", "cost_usd", "p_true"]
        r = log.loc[log["model"] == reasoning_model, cols]
        nr = log.loc[log["model"] == nonreasoning_model, cols]
        for name, part in (("reasoning_model", r), ("nonreasoning_model", nr)):
            if part["query_id"].duplicated().any():
                raise ValueError(f"{name}: duplicated query_id rows in the outcome log")
        j = r.merge(nr, on="query_id", suffixes=("_r", "_nr")).sort_values("query_id", kind="stable")
        if len(j) == 0:
            raise ValueError(f"{reasoning_model!r} and {nonreasoning_model!r} share no query ids")
        if j["p_true_nr"].isna().any():
            raise ValueError(f"p_true is missing for {nonreasoning_model!r} on {int(j['p_true_nr'].isna().sum())} queries")
        return cls.build(
            query_id=j["query_id"].to_numpy(), correct_r=j["correct_r"], n_out_r=j["n_out_r"],
            latency_r=j["latency_s_r"], cost_r=j["cost_usd_r"], correct_nr=j["correct_nr"], p_true=j["p_true_nr"],
            latency_nr=j["latency_s_nr"], cost_nr=j["cost_usd_nr"],
        )


def ffa_counts(n: int, u: float, r: float) -> tuple[int, int, int]:
    """``(n_ff, n_pass, n_resp)`` for utilisation ``u`` and overall rejection rate ``r`` (§4.3, exact counts)."""
    if n <= 0:
        raise ValueError(f"n must be a positive number of queries, got {n}")
    for name, v in (("u", u), ("r", r)):
        if not (np.isfinite(v) and 0 <= v <= 1):
            raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
    n_pass = count(n, 1.0 - u)
    n_ff = min(count(n, u * r), n - n_pass)
    return int(n_ff), int(n_pass), int(n - n_ff - n_pass)


def _confidence_order(p_true, ids) -> np.ndarray:
    """Query indices by ascending ``p_true`` (least confident first), ties by id ascending."""
    keys = np.arange(p_true.size) if ids is None else np.asarray(ids)
    return np.lexsort((keys, p_true))


def ffa_actions(p_true, u: float, r: float, ids=None) -> np.ndarray:
    """M_nr's policy, eq. (4.1), at the quantile thresholds ``c_ff = Q(u r)``, ``c_pass = Q(1 - u + u r)``.

    Returns one action code per query: :data:`FAIL_FAST` (0), :data:`PASS` (1) or :data:`RESPOND` (2).
    """
    pt = _as_1d("p_true", p_true)
    n_ff, n_pass, _ = ffa_counts(pt.size, u, r)
    order = _confidence_order(pt, ids)
    act = np.full(pt.size, RESPOND, dtype=int)
    act[order[:n_ff]] = FAIL_FAST
    act[order[n_ff:n_ff + n_pass]] = PASS
    return act


def _outcome(data: PairData, act: np.ndarray, rej_r: np.ndarray) -> dict:
    n = data.n
    passed = act == PASS
    answered_r = passed & ~rej_r
    responded = act == RESPOND
    answered = answered_r | responded
    n_correct = float(data.correct_r[answered_r].sum() + data.correct_nr[responded].sum())
    n_ans = int(answered.sum())
    lat = data.latency_nr + passed * data.latency_r
    cost = data.cost_nr + passed * data.cost_r
    mean_r_l, mean_r_c = data.latency_r.mean(), data.cost_r.mean()
    return {
        "accuracy": n_correct / n_ans if n_ans else float("nan"),
        "n_correct": n_correct,
        "n_answered": n_ans,
        "n_errors": n_ans - n_correct,
        "n_fail_fast": int((act == FAIL_FAST).sum()),
        "n_pass": int(passed.sum()),
        "n_respond": int(responded.sum()),
        "n_rejected_by_r": int(rej_r.sum()),
        "rejection_rate": 1.0 - n_ans / n,
        "mean_latency": float(lat.mean()),
        "mean_cost": float(cost.mean()),
        "drag_latency": float(data.latency_r[passed].mean() / mean_r_l) if passed.any() and mean_r_l > 0 else float("nan"),
        "drag_cost": float(data.cost_r[passed].mean() / mean_r_c) if passed.any() and mean_r_c > 0 else float("nan"),
    }


def ffa_route(data: PairData, u: float, r: float) -> dict:
    """Route every query through Fail Fast, or Ask at ``(u, r)``; return actions, masks and summary numbers.

    Keys: ``actions``, ``rejected_by_r`` (mask), ``latency``/``cost`` per query, plus the scalars of the
    outcome (``accuracy`` = A(r) over answered queries, counts, ``rejection_rate``, ``mean_latency``,
    ``mean_cost``, ``drag_latency`` = E[L_r | pass]/E[L_r], ``drag_cost``).
    """
    act = ffa_actions(data.p_true, u, r, data.tie_key)
    passed = np.flatnonzero(act == PASS)
    k = count(passed.size, r)
    rej = np.zeros(data.n, dtype=bool)
    if k:
        sub = rejection_order(data.n_out_r[passed], data.tie_key[passed])[:k]
        rej[passed[sub]] = True
    out = _outcome(data, act, rej)
    out.update(actions=act, rejected_by_r=rej, latency=data.latency_nr + (act == PASS) * data.latency_r,
               cost=data.cost_nr + (act == PASS) * data.cost_r)
    return out


def ask_route(data: PairData, r: float) -> dict:
    """The Ask system ``M_r -> H`` at rejection rate ``r``; identical to :func:`ffa_route` with ``u = 0``
    except that M_nr is not run (latency/cost are M_r's alone)."""
    k = count(data.n, r)
    rej = np.zeros(data.n, dtype=bool)
    rej[rejection_order(data.n_out_r, data.tie_key)[:k]] = True
    ans = ~rej
    n_ans = int(ans.sum())
    return {
        "accuracy": float(data.correct_r[ans].mean()) if n_ans else float("nan"),
        "n_answered": n_ans,
        "rejected": rej,
        "rejection_rate": 1.0 - n_ans / data.n,
        "mean_latency": float(data.latency_r.mean()),
        "mean_cost": float(data.cost_r.mean()),
    }


_CURVE_KEYS = ("accuracy", "n_errors", "n_answered", "n_fail_fast", "n_pass", "n_respond", "n_rejected_by_r",
               "rejection_rate", "mean_latency", "mean_cost", "drag_latency", "drag_cost")


def ffa_curve(data: PairData, u: float, rates: Sequence[float]) -> dict[str, np.ndarray]:
    """FFA outcomes for every rejection rate in ``rates`` at utilisation ``u`` (arrays keyed as in :func:`ffa_route`).

    Vectorised over queries: the confidence order and M_r's global length ranks are computed once; for each rate the
    passed block is a contiguous slice of the confidence order and M_r rejects its ``k`` lowest-ranked members
    (``argpartition``), so each rate costs O(n).
    """
    if not (np.isfinite(u) and 0 <= u <= 1):
        raise ValueError(f"u must lie in [0, 1], got {u!r}")
    rates = np.atleast_1d(np.asarray(rates, dtype=float))
    n = data.n
    order = _confidence_order(data.p_true, data.tie_key)
    rank = np.empty(n, dtype=np.int64)
    rank[rejection_order(data.n_out_r, data.tie_key)] = np.arange(n)
    cr, cnr = data.correct_r, data.correct_nr
    cum_cnr = np.concatenate([[0.0], np.cumsum(cnr[order])])
    Lr, Cr = data.latency_r, data.cost_r
    cum_L = np.concatenate([[0.0], np.cumsum(Lr[order])])
    cum_C = np.concatenate([[0.0], np.cumsum(Cr[order])])
    mean_Lnr, mean_Cnr = data.latency_nr.mean(), data.cost_nr.mean()
    mLr, mCr = Lr.mean(), Cr.mean()
    res = {k: np.empty(rates.size) for k in _CURVE_KEYS}
    for i, r in enumerate(rates):
        n_ff, n_pass, n_resp = ffa_counts(n, u, r)
        lo, hi = n_ff, n_ff + n_pass
        block = order[lo:hi]
        k = count(n_pass, r)
        if k:
            rej_local = np.argpartition(rank[block], k - 1)[:k] if k < n_pass else np.arange(n_pass)
            rej_mask = np.zeros(n_pass, dtype=bool)
            rej_mask[rej_local] = True
            correct_r_ans = cr[block][~rej_mask].sum()
        else:
            correct_r_ans = cr[block].sum()
        correct_resp = cum_cnr[n] - cum_cnr[hi]
        n_ans = (n_pass - k) + n_resp
        n_corr = correct_r_ans + correct_resp
        sumL, sumC = cum_L[hi] - cum_L[lo], cum_C[hi] - cum_C[lo]
        res["accuracy"][i] = n_corr / n_ans if n_ans else np.nan
        res["n_errors"][i] = n_ans - n_corr
        res["n_answered"][i] = n_ans
        res["n_fail_fast"][i], res["n_pass"][i], res["n_respond"][i] = n_ff, n_pass, n_resp
        res["n_rejected_by_r"][i] = k
        res["rejection_rate"][i] = 1.0 - n_ans / n
        res["mean_latency"][i] = mean_Lnr + sumL / n
        res["mean_cost"][i] = mean_Cnr + sumC / n
        res["drag_latency"][i] = (sumL / n_pass) / mLr if n_pass and mLr > 0 else np.nan
        res["drag_cost"][i] = (sumC / n_pass) / mCr if n_pass and mCr > 0 else np.nan
    res["rates"] = rates
    return res


def ffa_curve_naive(data: PairData, u: float, rates: Sequence[float]) -> dict[str, np.ndarray]:
    """Reference for :func:`ffa_curve`: a full :func:`ffa_route` per rate (used by tests and the benchmark)."""
    outs = [ffa_route(data, u, r) for r in np.atleast_1d(rates)]
    res = {k: np.array([o[k] for o in outs], dtype=float) for k in _CURVE_KEYS}
    res["rates"] = np.atleast_1d(np.asarray(rates, dtype=float))
    return res


def naive_mean(x_nr, x_r, u):
    """Eq. (4.2): ``u E[X_nr] + (1-u)(E[X_nr] + E[X_r]) = E[X_nr] + (1-u) E[X_r]`` (X = latency or cost)."""
    return np.asarray(x_nr, float) + (1.0 - np.asarray(u, float)) * np.asarray(x_r, float)


def naive_delta_pct(x_r, x_nr, u):
    """Percentage change of FFA vs Ask that eq. (4.2) predicts: ``100 (E[X_nr] + (1-u) E[X_r] - E[X_r]) / E[X_r]``."""
    x_r = np.asarray(x_r, float)
    return 100.0 * (naive_mean(x_nr, x_r, u) - x_r) / x_r


def implied_drag(delta_pct, x_r, x_nr, u):
    """Drag factor backed out of a reported percentage change: ``((1 + d/100) X_r - X_nr) / ((1-u) X_r)``.

    Inverts ``E[X_FFA] = X_nr + (1-u) D X_r`` with ``E[X_FFA] = (1 + d/100) X_r``; ``D = 1`` recovers eq. (4.2).
    """
    x_r, x_nr, u = (np.asarray(v, float) for v in (x_r, x_nr, u))
    if np.any(u >= 1):
        raise ValueError("implied_drag needs u < 1 (some queries must be passed)")
    return ((1.0 + np.asarray(delta_pct, float) / 100.0) * x_r - x_nr) / ((1.0 - u) * x_r)


def relative_delta_pct(base, value):
    """Relative change in percent, ``100 (value - base) / base`` (Table 4.2's Δ column)."""
    base = np.asarray(base, float)
    return 100.0 * (np.asarray(value, float) - base) / base


def latency_by_confidence(p_true, latency_r, n_bins: int = 10, ids=None) -> pd.DataFrame:
    """Fig. 4.2's quantity: mean M_r latency per bin of M_nr's confidence percentile (ties by id).

    The percentile of query i is ``(rank_i + 0.5) / n`` in the ascending-``p_true`` order; bins are equal-count.
    Returns ``bin_lo``, ``bin_hi``, ``percentile_mid``, ``mean_latency``, ``n``.
    """
    pt = _as_1d("p_true", p_true)
    lat = _as_1d("latency_r", latency_r, pt.size)
    if int(n_bins) < 1 or int(n_bins) > pt.size:
        raise ValueError(f"n_bins must be in [1, {pt.size}], got {n_bins}")
    order = _confidence_order(pt, ids)
    edges = np.linspace(0, pt.size, int(n_bins) + 1).round().astype(int)
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        rows.append({"bin_lo": a / pt.size, "bin_hi": b / pt.size, "percentile_mid": (a + b) / 2 / pt.size,
                     "mean_latency": float(lat[order[a:b]].mean()), "n": int(b - a)})
    return pd.DataFrame(rows)


def accuracy_with_human(n_correct_answered, n_rejected, n, human_error_rate: float = 0.0):
    """System accuracy on *all* queries when deferred queries are answered by a human who errs at a given rate.

    ``(n_correct_answered + (1 - h) n_rejected) / n``; the thesis assumes ``h = 0`` (§4.3) and discusses ``h > 0``
    as future work (§4.6, eq. 4.4). Distinct from ``A(r)``, which ignores rejected queries.
    """
    if not (0 <= human_error_rate <= 1):
        raise ValueError(f"human_error_rate must be in [0, 1], got {human_error_rate!r}")
    return (np.asarray(n_correct_answered, float) + (1 - human_error_rate) * np.asarray(n_rejected, float)) / n

