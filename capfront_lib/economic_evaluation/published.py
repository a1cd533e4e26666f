"""What the published numbers alone decide: exact switch points, bounds, ratios, the cost check (thesis ch. 3).

Table 4.1 prints the level-5 means of four of the six models (Qwen3 235B, DeepSeek R1, o3, Llama3.1 405B);
GPT-4.1 and Llama3.3 70B are shown only as bars (Fig. 3.2). Two facts make many claims decidable anyway:

* With linear rewards (eq. 3.12) the best non-reasoning reward is the upper envelope ``max_n R_n(lam)`` of the
  non-reasoning models. Adding models can only raise an envelope, so the set of prices at which some reasoning
  model beats every non-reasoning model can only *shrink*. The price of error at which a reasoning model first
  becomes the best single model, computed from the published four, is therefore a **lower bound** for the full
  six-model menu (:func:`reasoning_switch_bounds`).
* A model that another one beats on error, cost *and* latency is optimal for no prices at all (DeepSeek R1 is
  dominated by o3, :func:`dominated_everywhere`).

Everything here is arithmetic on the transcribed tables (``data/economic_evaluation``); printed precision is read
from the cells as printed (:func:`~capfront_lib.economic_evaluation.tables.half_unit`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.economic_evaluation import reward as rw
from capfront_lib.economic_evaluation.tables import (
    LLAMA405, O3, R1, half_unit, load_model_table, load_prices, load_published_means,
)

__all__ = [
    "published_table", "reasoning_switch", "reasoning_switch_bounds", "most_accurate_switch",
    "error_threshold_for_unpublished", "ratios_to", "prompt_length_intervals", "costs_in_range",
    "pareto_single_best", "dominated_everywhere", "wage_for_price_of_error", "minimum_wage_task_cost",
    "US_FEDERAL_MINIMUM_WAGE", "THESIS_PRICE_GRID_MAX", "switch_interval", "MIN_LATENCY_S",
]

#: U.S. federal minimum wage, $/hour (unchanged since 2009); the thesis compares its $2/h threshold with it.
US_FEDERAL_MINIMUM_WAGE = 7.25

#: A floor on any model's mean latency from Section 3.4: the round trip (< 300 ms) is "10-200x smaller than the
#: latencies we observe", so every observed latency is at least 10 x 0.3 s.
MIN_LATENCY_S = 3.0

#: The largest price of error of the thesis' Figs 3.3-3.5 ($10,000 per error).
THESIS_PRICE_GRID_MAX = 10_000.0


def switch_interval(lower_bound: float, upper: float = THESIS_PRICE_GRID_MAX) -> tuple[float, float]:
    """What the published four say about the six-model menu's switch price: ``[lower_bound, upper]``.

    The published models give a lower bound (module docstring); the unpublished ones may push the switch
    anywhere above it, so the upper end is the top of the thesis' price grid (or, for a claim that assumes the
    unpublished models' error rates, the price at which that assumption already settles it). A claim
    "switch <= x" is refuted when the lower bound exceeds x and undecided otherwise; the claims ledger reads
    exactly that from the interval.
    """
    lo, hi = float(lower_bound), float(upper)
    if not np.isfinite(lo):
        raise ValueError(f"the lower bound must be finite, got {lower_bound!r}")
    return (lo, max(lo, hi))


def published_table() -> pd.DataFrame:
    """The four models with published level-5 means (Table 4.1) and their Table 3C prices."""
    return load_model_table(include_placeholders=False)


def reasoning_switch(table: pd.DataFrame, lam_L: float = 0.0) -> float:
    """Smallest price of error at which the best single model (eq. 3.13) is a reasoning model, exactly.

    ``lam_L`` in $/s. Uses the exact optimal intervals of :func:`reward.optimal_intervals`; ``nan`` if a
    reasoning model is never optimal.
    """
    return rw.first_lambda_where(table, "model_class", "reasoning", lam_L)


def reasoning_switch_bounds(table: pd.DataFrame, lam_L_per_min: Sequence[float]) -> pd.DataFrame:
    """Per price of latency ($/min): the reasoning switch point of ``table`` and the model that wins there.

    When ``table`` lacks some non-reasoning models of the full menu (here GPT-4.1 and Llama3.3 70B), each value
    is a lower bound for the full menu's switch point (module docstring). Columns: ``lam_L_per_min``,
    ``switch_lower_bound``, ``first_reasoning_model``, ``best_below`` (the model optimal just below it).
    """
    rows = []
    for m in lam_L_per_min:
        s = float(rw.per_minute_to_per_second(m))
        iv = rw.optimal_intervals(table.cost_usd.to_numpy(float), table.error_rate.to_numpy(float),
                                  table.latency_s.to_numpy(float), s)
        cls = table.model_class.to_numpy()
        first, below = None, None
        for k, (i, lo, _hi) in enumerate(iv):
            if cls[i] == "reasoning":
                first = (table.index[i], lo)
                below = table.index[iv[k - 1][0]] if k > 0 else None
                break
        rows.append({"lam_L_per_min": float(m), "switch_lower_bound": float(first[1]) if first else float("nan"),
                     "first_reasoning_model": first[0] if first else None, "best_below": below})
    return pd.DataFrame(rows)


def most_accurate_switch(table: pd.DataFrame, lam_L: float = 0.0) -> tuple[str, float]:
    """The most accurate model of ``table`` and the price of error from which it is optimal (``lam_L`` in $/s)."""
    best = str(table.error_rate.idxmin())
    iv = rw.optimal_intervals(table.cost_usd.to_numpy(float), table.error_rate.to_numpy(float),
                              table.latency_s.to_numpy(float), lam_L)
    for i, lo, _hi in iv:
        if table.index[i] == best:
            return best, float(lo)
    return best, float("nan")


def error_threshold_for_unpublished(table: pd.DataFrame, lam_E: float, lam_L: float = 0.0) -> float:
    """Error rate above which *any* further model (cost, latency >= 0) loses to the most accurate model of
    ``table`` at every price of error >= ``lam_E``: ``e_best + (C_best + lam_L L_best) / lam_E``.

    A model with error ``e`` and non-negative cost and latency has ``C + lam_L L + lam e >= lam e``, so it loses
    at ``lam_E`` once ``lam_E e > C_b + lam_L L_b + lam_E e_b``, and for every larger price as ``e > e_b``.
    """
    b = table.loc[table.error_rate.idxmin()]
    if lam_E <= 0:
        raise ValueError("lam_E must be > 0")
    return float(b.error_rate + (b.cost_usd + lam_L * b.latency_s) / lam_E)


def ratios_to(table: pd.DataFrame, reference: str = LLAMA405, cls: str = "reasoning") -> pd.DataFrame:
    """Cost, latency and output-token ratios of each ``cls`` model to ``reference`` (Fig. 3.2, App. 3A)."""
    ref = table.loc[reference]
    sel = table[table.model_class == cls]
    return pd.DataFrame({"cost_ratio": sel.cost_usd / ref.cost_usd, "latency_ratio": sel.latency_s / ref.latency_s,
                         "token_ratio": sel.output_tokens / ref.output_tokens})


def prompt_length_intervals(max_prompt_tokens: float = 1200.0) -> pd.DataFrame:
    """For each Table 4.1 model, the prompt lengths ``N_in`` for which eq. (3.24), ``C = N_in C_in + N_out C_out``
    with Table 3C prices, reproduces the printed cost from the printed output tokens, both within half a unit of
    their last printed digit.

    ``N_in in [(C_lo - N_hi p_out) / p_in, (C_hi - N_lo p_out) / p_in]`` intersected with ``[0, max_prompt_tokens]``
    (empty: ``lo > hi``). Also reports what adding the self-verification call (the answer fed back as input,
    ``N_out`` more input tokens) would need. Columns: ``n_in_lo``, ``n_in_hi``, ``consistent``,
    ``n_in_lo_with_ptrue``, ``consistent_with_ptrue``.
    """
    means = load_published_means().set_index("model")
    prices = load_prices().set_index("model")
    rows = []
    for m, r in means.iterrows():
        p_in, p_out = prices.loc[m, "price_in_per_mtok"] / 1e6, prices.loc[m, "price_out_per_mtok"] / 1e6
        hc, ht = half_unit(r.cost_printed), half_unit(r.output_tokens_printed)
        c_lo, c_hi = r.cost_usd - hc, r.cost_usd + hc
        t_lo, t_hi = r.output_tokens - ht, r.output_tokens + ht
        lo = max(0.0, (c_lo - t_hi * p_out) / p_in)
        hi = min(max_prompt_tokens, (c_hi - t_lo * p_out) / p_in)
        # with the P(True) call: the prompt + answer are sent again (one more output token, ignored)
        lo_pt = max(0.0, (c_lo - t_hi * (p_out + p_in)) / (2 * p_in))
        hi_pt = min(max_prompt_tokens, (c_hi - t_lo * (p_out + p_in)) / (2 * p_in))
        rows.append({"model": m, "n_in_lo": lo, "n_in_hi": hi, "consistent": bool(lo <= hi),
                     "n_in_lo_with_ptrue": lo_pt, "n_in_hi_with_ptrue": hi_pt, "consistent_with_ptrue": bool(lo_pt <= hi_pt)})
    return pd.DataFrame(rows).set_index("model")


def costs_in_range(table: pd.DataFrame, lo: float, hi: float, cls: str = "reasoning") -> bool:
    """True iff every ``cls`` model's mean cost per query lies in ``[lo, hi)``."""
    c = table.loc[table.model_class == cls, "cost_usd"].to_numpy(float)
    return bool(c.size > 0 and np.all((c >= lo) & (c < hi)))


def pareto_single_best(table: pd.DataFrame, lam_E: Sequence[float], lam_L_per_min: Sequence[float],
                       rel_tie: float = 1e-12) -> dict:
    """Figure 3.1's point on a menu of models: how many are Pareto-optimal (error-cost and error-cost-latency) and
    whether the expected reward (eq. 3.12) has exactly one maximiser at every strictly positive grid price.

    Returns ``n_pareto_2d``, ``n_pareto_3d``, ``n_prices``, ``n_ties`` (grid prices with more than one maximiser up
    to ``rel_tie``) and ``holds`` (at least two Pareto-optimal models and no tie).
    """
    lE = np.asarray([v for v in lam_E if v > 0], float)
    lL = rw.per_minute_to_per_second([v for v in lam_L_per_min if v > 0])
    R = rw.reward_grid(table, lE, lL)
    top = R.max(axis=0)
    n_max = (R >= top[None] - rel_tie * np.abs(top[None])).sum(axis=0)
    p2 = int(rw.pareto_mask(table[["cost_usd", "error_rate"]].to_numpy(float)).sum())
    p3 = int(rw.pareto_mask(table[["cost_usd", "latency_s", "error_rate"]].to_numpy(float)).sum())
    n_ties = int((n_max > 1).sum())
    return {"n_pareto_2d": p2, "n_pareto_3d": p3, "n_prices": int(n_max.size), "n_ties": n_ties,
            "holds": bool(min(p2, p3) >= 2 and n_ties == 0)}


def dominated_everywhere(table: pd.DataFrame, model: str = R1, by: str = O3) -> bool:
    """True iff ``by`` has a lower error, cost and latency than ``model`` (then ``model`` is optimal for no prices
    of error, latency or abstention: its reward is lower for every ``lam >= 0``)."""
    a, b = table.loc[by], table.loc[model]
    return bool(a.error_rate < b.error_rate and a.cost_usd < b.cost_usd and a.latency_s < b.latency_s)


def wage_for_price_of_error(price_of_error: float, minutes_to_redo: float = 5.0) -> float:
    """Hourly wage at which redoing a task of ``minutes_to_redo`` minutes costs ``price_of_error`` ($)."""
    if minutes_to_redo <= 0:
        raise ValueError("minutes_to_redo must be > 0")
    return float(price_of_error * 60.0 / minutes_to_redo)


def minimum_wage_task_cost(minutes: float = 5.0, wage: float = US_FEDERAL_MINIMUM_WAGE) -> float:
    """Cost of ``minutes`` of human work at ``wage`` $/h (the §3.4 example task at the federal minimum wage)."""
    return float(wage * minutes / 60.0)
