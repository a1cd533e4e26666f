"""The paper's model table: Table 3C prices + Table 4.1 level-5 means (+ flagged placeholders).

Source: Zellinger, "White Elephants and Cash Cows" (thesis), ch. 3 App. 3C (prices, $/M tokens) and ch. 4
Table 4.1 (per-query means on the 500 level-5 MATH questions, the data behind ch. 3's Figs 3.2-3.6).
GPT-4.1 and Llama3.3 70B have no published means; :data:`DEFAULT_PLACEHOLDERS` fills them with *assumed*
values, and the table marks those rows ``status == "placeholder"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from capfront_lib.core.resources import data_path

DATA_DIR = data_path("economic_evaluation")

#: Model ids in the order of Table 3C.
MODELS = (
    "gpt-4.1-2025-04-14",
    "o3-2025-04-16",
    "deepseek-r1-0528",
    "qwen3-235b-a22b",
    "llama-v3p3-70b-instruct",
    "llama-v3p1-405b-instruct",
)
QWEN3, O3, R1 = "qwen3-235b-a22b", "o3-2025-04-16", "deepseek-r1-0528"
LLAMA405, LLAMA70, GPT41 = "llama-v3p1-405b-instruct", "llama-v3p3-70b-instruct", "gpt-4.1-2025-04-14"
REASONING = (O3, R1, QWEN3)
NON_REASONING = (GPT41, LLAMA70, LLAMA405)

#: Prompt length implied by Table 4.1's costs (tokens x Table 3C prices reproduce them with ~220 input tokens).
N_INPUT_TOKENS_MEAN = 220.0

#: Assumed (NOT published) level-5 statistics of the two models the thesis shows only in Fig. 3.2.
DEFAULT_PLACEHOLDERS: dict[str, dict[str, float]] = {
    GPT41: {"error_rate": 0.15, "output_tokens": 1000.0, "latency_s": 12.0},
    LLAMA70: {"error_rate": 0.25, "output_tokens": 900.0, "latency_s": 8.0},
}

TABLE_COLUMNS = (
    "model",
    "display_name",
    "model_class",
    "provider",
    "price_in_per_mtok",
    "price_out_per_mtok",
    "error_rate",
    "latency_s",
    "cost_usd",
    "output_tokens",
    "n_queries",
    "n_errors",
    "status",
)


def load_prices(path: str | Path | None = None) -> pd.DataFrame:
    """Table 3C of the thesis (App. 3C): model id, class, provider, $/M input and output tokens."""
    df = pd.read_csv(Path(path) if path else DATA_DIR / "table_3c_prices.csv")
    return df


#: Columns of the Table 4.1 transcription that hold the cells exactly as printed (text, e.g. "9.5e-3", "10.8K").
PRINTED_COLUMNS = ("error_printed", "latency_printed", "cost_printed", "output_tokens_printed")


def load_published_means(path: str | Path | None = None) -> pd.DataFrame:
    """Table 4.1 of the thesis: level-5 MATH per-query means (n = 500) of Qwen3, R1, o3, Llama3.1 405B.

    Numeric columns plus the cells as printed (:data:`PRINTED_COLUMNS`, kept as text so that the printed
    precision survives; see :func:`half_unit`).
    """
    return pd.read_csv(Path(path) if path else DATA_DIR / "table_4_1_level5_means.csv",
                       dtype={c: str for c in PRINTED_COLUMNS})


def half_unit(printed: str) -> float:
    """Half a unit in the last printed digit of a table cell: the rounding half-width of the printed value.

    ``"2.8"`` -> 0.05, ``"9.5e-3"`` -> 5e-5, ``"10.8K"`` -> 50, ``"978"`` -> 0.5.
    """
    s = str(printed).strip()
    mult = 1.0
    if s[-1:] in ("K", "k"):
        s, mult = s[:-1], 1e3
    exp = 0
    if "e" in s.lower():
        s, e = s.lower().split("e")
        exp = int(e)
    decimals = len(s.split(".")[1]) if "." in s else 0
    float(s)  # a number, or ValueError naming the cell
    return 0.5 * 10.0 ** (-decimals) * 10.0 ** exp * mult


def token_cost(n_in, n_out, price_in_per_mtok, price_out_per_mtok):
    """Cost of one call, eq. (3.24): ``C = N_in * C_in + N_out * C_out`` with prices given in $/M tokens."""
    n_in = np.asarray(n_in, dtype=float)
    n_out = np.asarray(n_out, dtype=float)
    if np.any(n_in < 0) or np.any(n_out < 0):
        raise ValueError("n_in and n_out (token counts) must be >= 0")
    return (n_in * np.asarray(price_in_per_mtok, float) + n_out * np.asarray(price_out_per_mtok, float)) / 1e6


def load_model_table(
    placeholders: Mapping[str, Mapping[str, float]] | None = None,
    *,
    n_input_tokens: float = N_INPUT_TOKENS_MEAN,
    include_placeholders: bool = True,
) -> pd.DataFrame:
    """The chapter's model table: Table 3C prices joined with Table 4.1 level-5 means.

    Rows with published means have ``status == "published"``. For models without published means
    (GPT-4.1, Llama3.3 70B) the values come from ``placeholders`` (default :data:`DEFAULT_PLACEHOLDERS`;
    keys ``error_rate``, ``output_tokens``, ``latency_s``, optional ``cost_usd``); their cost, when not
    given, is ``n_input_tokens * price_in + output_tokens * price_out`` (eq. 3.24), and the row has
    ``status == "placeholder"``. ``include_placeholders=False`` keeps only the four published models.
    Columns: :data:`TABLE_COLUMNS`; index = model id, in Table 3C order.
    """
    prices = load_prices()
    means = load_published_means().set_index("model")
    ph = dict(DEFAULT_PLACEHOLDERS if placeholders is None else placeholders)
    rows = []
    for _, p in prices.iterrows():
        m = p["model"]
        row = p.to_dict()
        if m in means.index:
            row.update(means.loc[m].to_dict())
            row["status"] = "published"
        else:
            if not include_placeholders:
                continue
            if m not in ph:
                raise ValueError(f"placeholders: no statistics for model {m!r} (needs error_rate, output_tokens, latency_s)")
            stats = dict(ph[m])
            for key in ("error_rate", "output_tokens", "latency_s"):
                if key not in stats:
                    raise ValueError(f"placeholders[{m!r}] lacks {key!r}")
            e = float(stats["error_rate"])
            if not 0.0 <= e <= 1.0:
                raise ValueError(f"placeholders[{m!r}]['error_rate'] must be in [0, 1], got {e}")
            if float(stats["output_tokens"]) < 0 or float(stats["latency_s"]) < 0:
                raise ValueError(f"placeholders[{m!r}]: output_tokens and latency_s must be >= 0")
            cost = stats.get("cost_usd")
            if cost is None:
                cost = float(token_cost(n_input_tokens, stats["output_tokens"], p["price_in_per_mtok"], p["price_out_per_mtok"]))
            row.update(
                error_rate=e,
                latency_s=float(stats["latency_s"]),
                cost_usd=float(cost),
                output_tokens=float(stats["output_tokens"]),
                n_queries=np.nan,
                n_errors=np.nan,
                status="placeholder",
            )
        rows.append(row)
    unknown = set(ph) - set(prices["model"])
    if unknown:
        raise ValueError(f"placeholders: unknown model ids {sorted(unknown)}; known: {list(prices['model'])}")
    df = pd.DataFrame(rows)[list(TABLE_COLUMNS)].set_index("model", drop=False)
    df.index.name = None
    return df


def summarize_log(df: pd.DataFrame, *, model_class: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per-model means of a per-query log -> a model table usable by the reward functions.

    ``df`` needs columns ``model``, ``correct`` (0/1) or ``error`` (0/1), ``cost_usd``, ``latency_s``.
    For standalone models the expected reward is linear in these per-query metrics (eq. 3.12), so the
    means are sufficient statistics. ``model_class`` maps model -> "reasoning"/"non-reasoning"
    (default: Table 3C's class where known, else "unknown").
    """
    missing = [c for c in ("model", "cost_usd", "latency_s") if c not in df.columns]
    if "correct" not in df.columns and "error" not in df.columns:
        missing.append("correct (or error)")
    if missing:
        raise ValueError(f"log is missing required columns: {missing}")
    d = df.copy()
    err = (1 - d["correct"].astype(float)) if "error" not in d.columns else d["error"].astype(float)
    if not np.isin(err.dropna().to_numpy(), [0.0, 1.0]).all():
        bad = d.index[~err.isin([0.0, 1.0])][:5].tolist()
        raise ValueError(f"column 'correct'/'error' must be 0/1; first offending rows: {bad}")
    for col in ("cost_usd", "latency_s"):
        vals = d[col].astype(float)
        if vals.isna().any():
            raise ValueError(f"column {col!r} has missing values (first rows {d.index[vals.isna()][:5].tolist()})")
        if (vals < 0).any():
            raise ValueError(f"column {col!r} must be >= 0 (first rows {d.index[vals < 0][:5].tolist()})")
    d["_err"] = err
    g = d.groupby("model", sort=False)
    out = pd.DataFrame(
        {
            "model": list(g.groups.keys()),
            "error_rate": g["_err"].mean().to_numpy(),
            "latency_s": g["latency_s"].mean().to_numpy(),
            "cost_usd": g["cost_usd"].mean().to_numpy(),
            "n_queries": g.size().to_numpy(),
            "n_errors": g["_err"].sum().to_numpy(),
        }
    )
    known = dict(zip(load_prices()["model"], load_prices()["model_class"]))
    if model_class:
        known.update(model_class)
    out["model_class"] = [known.get(m, "unknown") for m in out["model"]]
    out["display_name"] = out["model"]
    out["status"] = "log"
    return out.set_index("model", drop=False).rename_axis(None)


def frame_from_evallog(log) -> tuple[pd.DataFrame, list[str]]:
    """A core :class:`~capfront_lib.core.evallog.EvalLog` -> this chapter's per-query frame and notes.

    Columns ``query_id, model, correct, error, cost_usd, latency_s, p_true`` (``p_true`` = the log's
    ``confidence``, e.g. a P(True) self-verification probability). Fields the log lacks are NaN, and ``notes``
    says in one sentence each what that switches off: without ``cost_usd`` no model can be priced; without
    ``latency_s`` latency counts as 0 s (every price of latency acts as 0); without ``confidence`` no cascade can
    be tuned. One generation per (query, model) is expected; more raise ``ValueError`` naming the log.
    """
    df = log.to_long()
    if "generation" in df.columns and df["generation"].nunique() > 1:
        raise ValueError(f"{log.source}: one generation per (query, model) expected, found {df['generation'].nunique()}")
    bad = ~df["correct"].isin([0.0, 1.0])
    if bad.any():
        raise ValueError(f"{log.source}: column 'correct' must be 0/1 for this chapter; first offending rows: "
                         f"{df.loc[bad, ['query_id', 'model', 'correct']].head(3).to_dict(orient='records')}")
    out = pd.DataFrame({"query_id": df["query_id"].astype(str), "model": df["model"].astype(str),
                        "correct": df["correct"].astype(int)})
    out["error"] = 1 - out["correct"]
    notes = []
    for col, note in (("cost_usd", "the log has no cost_usd column, so models cannot be priced: the reward "
                                   "sections below use the paper's model table instead"),
                      ("latency_s", "the log has no latency_s column: latency counts as 0 s, so every price of "
                                    "latency acts as 0"),
                      ("confidence", "the log has no confidence column, so no cascade can be tuned on it")):
        if col in df.columns:
            out["p_true" if col == "confidence" else col] = df[col].to_numpy(float)
        else:
            out["p_true" if col == "confidence" else col] = 0.0 if col == "latency_s" else np.nan
            notes.append(note)
    return out, notes


def level_means(log: pd.DataFrame, level: int | None = None) -> pd.DataFrame:
    """Per-model means (error_rate, cost_usd, latency_s, output_tokens) of a simulated log at one level."""
    d = log if level is None else log[log["level"] == level]
    g = d.groupby("model")
    out = pd.DataFrame({"error_rate": g["error"].mean(), "cost_usd": g["cost_usd"].mean(),
                        "latency_s": g["latency_s"].mean()})
    if "n_out" in d.columns:
        out["output_tokens"] = g["n_out"].mean()
    return out
