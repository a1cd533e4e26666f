"""Your evaluation log through the human-in-the-loop chapter (core log -> the chapter's per-query frame).

The core evaluation log (:func:`capfront_lib.core.evallog.load_log`) carries what the two systems need under its
own names: ``output_tokens`` is the trace length of a reasoning model (Ask), ``confidence`` is the non-reasoning
model's P(True) (Fail Fast, or Ask), ``latency_s`` and ``cost_usd`` price them. Each missing field switches off
what needs it, with one sentence saying so; nothing else is dropped or guessed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from capfront_lib.human_in_the_loop.systems import PairData

__all__ = ["frame_from_evallog", "choose_roles", "ask_curves_from_frame"]


def frame_from_evallog(log) -> tuple[pd.DataFrame, list[str]]:
    """``(frame, notes)``: columns ``query_id, model, correct, n_out, latency_s, cost_usd, p_true``.

    ``correct`` must be 0/1 (graded scores raise, naming the log). Absent ``output_tokens``/``confidence`` are NaN,
    absent ``latency_s``/``cost_usd`` are 0 (so latency and cost changes read 0 %), each with a note.
    """
    df = log.to_long()
    if "generation" in df.columns and df["generation"].nunique() > 1:
        raise ValueError(f"{log.source}: one generation per (query, model) expected, found {df['generation'].nunique()}")
    bad = ~df["correct"].isin([0.0, 1.0])
    if bad.any():
        raise ValueError(f"{log.source}: column 'correct' must be 0/1 for this chapter; first offending rows: "
                         f"{df.loc[bad, ['query_id', 'model', 'correct']].head(3).to_dict(orient='records')}")
    out = pd.DataFrame({"query_id": df["query_id"].astype(str), "model": df["model"].astype(str),
                        "correct": df["correct"].astype(float)})
    notes = []
    spec = (("output_tokens", "n_out", np.nan, "the log has no output_tokens column, so no model can defer by the "
                                               "length of its output (the Ask system needs it)"),
            ("confidence", "p_true", np.nan, "the log has no confidence column, so the non-reasoning model cannot "
                                            "route (Fail Fast, or Ask needs its P(True))"),
            ("latency_s", "latency_s", 0.0, "the log has no latency_s column: latencies count as 0 s, so latency "
                                           "changes and latency drag cannot be measured"),
            ("cost_usd", "cost_usd", 0.0, "the log has no cost_usd column: costs count as $0, so cost changes "
                                         "cannot be measured"))
    for src, dst, fill, note in spec:
        if src in df.columns:
            out[dst] = df[src].to_numpy(float)
        else:
            out[dst] = fill
            notes.append(note)
    return out, notes


def choose_roles(frame: pd.DataFrame, reasoning_models: Sequence[str], nonreasoning_model: str) -> tuple[list[str], str | None]:
    """Reasoning models (with output lengths) and the non-reasoning model (with confidences) of a log.

    The parameters' names win when present in the log; otherwise every model with ``n_out`` is a reasoning model
    and the single model with ``p_true`` (if exactly one) the non-reasoning one.
    """
    has_len = {m for m, g in frame.groupby("model") if g["n_out"].notna().all()}
    has_conf = {m for m, g in frame.groupby("model") if g["p_true"].notna().all()}
    nr = nonreasoning_model if nonreasoning_model in has_conf else (next(iter(has_conf)) if len(has_conf) == 1 else None)
    named = [m for m in reasoning_models if m in has_len and m != nr]
    rs = named or sorted(m for m in has_len if m != nr)
    return rs, nr


def ask_curves_from_frame(frame: pd.DataFrame, models: Sequence[str], rates) -> dict[str, dict]:
    """Ask (reject the longest outputs) for each model of a log, without a non-reasoning model."""
    from capfront_lib.human_in_the_loop.metrics import accuracy_rejection_curve

    out = {}
    for m in models:
        g = frame[frame["model"] == m].sort_values("query_id", kind="stable")
        c = g["correct"].to_numpy(float)
        out[m] = {"accuracy": accuracy_rejection_curve(c, g["n_out"].to_numpy(float), rates, ids=g["query_id"].to_numpy()),
                  "n": int(c.size), "n_errors": int(round(c.size - c.sum()))}
    return out


def pairs_from_frame(frame: pd.DataFrame, reasoning_models: Sequence[str], nonreasoning_model: str) -> dict[str, PairData]:
    """(M_nr, M_r) pairs of a log on the queries both answered (see :meth:`PairData.from_log`)."""
    return {m: PairData.from_log(frame, m, nonreasoning_model) for m in reasoning_models}
