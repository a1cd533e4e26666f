"""Rewards of standalone models, cascades and routers with prices of error, latency and abstention.

Thesis ch. 3 (Zellinger & Thomson, "Economic Evaluation of LLMs"), §3.3: eqs. (3.5), (3.7), (3.9), (3.11);
expected reward and optimal choice, eqs. (3.12)-(3.15). Prices: ``lam_E`` ($ per error), ``lam_L``
($ per second of latency; the experiments quote $/minute, see :func:`per_minute_to_per_second`), ``lam_A``
($ per abstention). Rewards are in dollars and are <= 0.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd


def _nonneg(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0 (prices and metrics are non-negative)")
    return a


def _binary(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.isin(a, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be 0/1 indicators")
    return a


def per_minute_to_per_second(lam_L_per_min):
    """Convert a price of latency from $/minute (as the experiments quote it) to $/second (eq. 3.5's unit)."""
    return _nonneg("lam_L_per_min", lam_L_per_min) / 60.0


# ----------------------------------------------------------------------------------------------- per query
def standalone_reward(cost, latency, error, lam_E, lam_L=0.0):
    """Per-query reward of a standalone LLM, eq. (3.5): ``r = -(C + lam_L * L + lam_E * 1_E)``.

    ``cost`` in $, ``latency`` in s, ``error`` a 0/1 indicator (1 = error), ``lam_L`` in $/s. Broadcasts.
    """
    c, l = _nonneg("cost", cost), _nonneg("latency", latency)
    e = _binary("error", error)
    lE, lL = _nonneg("lam_E", lam_E), _nonneg("lam_L", lam_L)
    return -(c + lL * l + lE * e)


def cascade_reward(costs, latencies, errors, tau, lam_E, lam_L=0.0):
    """Per-query reward of a cascade ``M_1 -> ... -> M_k``, eq. (3.7).

    ``costs``, ``latencies``, ``errors``: arrays of shape (n, k) with each model's cost, latency and 0/1
    error on each query; ``tau`` (shape (n,), 0-based) = index of the first model that does not defer.
    You pay every model up to and including the answering one: ``C = sum_{j<=tau} C_j``,
    ``L = sum_{j<=tau} L_j``, and the error is the answering model's.
    """
    C = np.atleast_2d(_nonneg("costs", costs))
    L = np.atleast_2d(_nonneg("latencies", latencies))
    E = np.atleast_2d(_binary("errors", errors))
    if not (C.shape == L.shape == E.shape):
        raise ValueError(f"costs, latencies, errors must have the same shape, got {C.shape}, {L.shape}, {E.shape}")
    n, k = C.shape
    t = np.asarray(tau)
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer) or np.any((t < 0) | (t >= k)):
        raise ValueError(f"tau must be {n} integers in [0, {k - 1}]")
    upto = np.arange(k)[None, :] <= t[:, None]
    cum_c = (C * upto).sum(axis=1)
    cum_l = (L * upto).sum(axis=1)
    err = E[np.arange(n), t]
    return -(cum_c + _nonneg("lam_L", lam_L) * cum_l + _nonneg("lam_E", lam_E) * err)


def router_reward(choice, costs, latencies, errors, lam_E, lam_L=0.0, lam_A=0.0, c0=0.0, l0=0.0):
    """Per-query reward of a router with abstention, eq. (3.9).

    ``choice`` (shape (n,)): 0-based model index, or ``-1`` for abstention (e.g. hand the query to a human).
    ``r = -[C + lam_L L + lam_E 1_E + lam_A 1_A]`` with ``C = c0 + C_i``, ``L = l0 + L_i`` for the routed
    model ``i``; an abstention costs only the routing overhead ``c0, l0`` plus ``lam_A`` and makes no error.
    """
    C = np.atleast_2d(_nonneg("costs", costs))
    L = np.atleast_2d(_nonneg("latencies", latencies))
    E = np.atleast_2d(_binary("errors", errors))
    if not (C.shape == L.shape == E.shape):
        raise ValueError("costs, latencies, errors must have the same shape")
    n, k = C.shape
    g = np.asarray(choice)
    if g.shape != (n,) or not np.issubdtype(g.dtype, np.integer) or np.any((g < -1) | (g >= k)):
        raise ValueError(f"choice must be {n} integers in [-1, {k - 1}] (-1 = abstain)")
    abst = g == -1
    gi = np.where(abst, 0, g)
    rows = np.arange(n)
    c = _nonneg("c0", c0) + np.where(abst, 0.0, C[rows, gi])
    l = _nonneg("l0", l0) + np.where(abst, 0.0, L[rows, gi])
    e = np.where(abst, 0.0, E[rows, gi])
    return -(c + _nonneg("lam_L", lam_L) * l + _nonneg("lam_E", lam_E) * e + _nonneg("lam_A", lam_A) * abst)


def general_reward(cost, numeric: Mapping[str, object] | None = None, binary: Mapping[str, object] | None = None,
                   prices: Mapping[str, float] | None = None):
    """General reward, eq. (3.11): ``r = -[C + sum_mu lam_mu * mu + sum_chi lam_chi * 1_chi]``.

    ``numeric`` maps metric name -> values (e.g. latency), ``binary`` maps event name -> 0/1 indicators
    (e.g. error, abstention), ``prices`` maps every metric/event name -> its price ``lam >= 0``.
    """
    numeric = dict(numeric or {})
    binary = dict(binary or {})
    prices = dict(prices or {})
    names = list(numeric) + list(binary)
    if len(set(names)) != len(names):
        raise ValueError("a name appears in both numeric and binary")
    missing = [n for n in names if n not in prices]
    if missing:
        raise ValueError(f"prices: no price for {missing}")
    extra = [n for n in prices if n not in names]
    if extra:
        raise ValueError(f"prices: unknown metrics/events {extra}")
    total = _nonneg("cost", cost).copy()
    for name, v in numeric.items():
        total = total + _nonneg(f"prices[{name!r}]", prices[name]) * _nonneg(f"numeric[{name!r}]", v)
    for name, v in binary.items():
        total = total + _nonneg(f"prices[{name!r}]", prices[name]) * _binary(f"binary[{name!r}]", v)
    return -total


# ------------------------------------------------------------------------------------ expected rewards
def expected_reward(mean_cost, mean_latency, error_rate, lam_E, lam_L=0.0, abstention_rate=0.0, lam_A=0.0):
    """Expected reward of an option, eq. (3.12) for the standalone/router rewards (3.5), (3.9).

    Because the reward is linear in the per-query metrics, ``R = -(E[C] + lam_L E[L] + lam_E P(E) + lam_A P(A))``
    depends only on the means. All arguments broadcast (e.g. models along one axis, prices along others).
    """
    e = np.asarray(error_rate, float)
    a = np.asarray(abstention_rate, float)
    if np.any((e < 0) | (e > 1)):
        raise ValueError("error_rate must be in [0, 1]")
    if np.any((a < 0) | (a > 1)):
        raise ValueError("abstention_rate must be in [0, 1]")
    return -(_nonneg("mean_cost", mean_cost) + _nonneg("lam_L", lam_L) * _nonneg("mean_latency", mean_latency)
             + _nonneg("lam_E", lam_E) * e + _nonneg("lam_A", lam_A) * a)


def reward_grid(table: pd.DataFrame, lam_E, lam_L=0.0) -> np.ndarray:
    """``R[m, i, j]`` = expected reward (3.12) of model ``m`` (rows of ``table``) at ``lam_E[i]``, ``lam_L[j]`` ($/s).

    ``table`` needs columns ``cost_usd``, ``latency_s``, ``error_rate`` (e.g. :func:`load_model_table`).
    """
    _check_table(table)
    lE = np.atleast_1d(_nonneg("lam_E", lam_E))
    lL = np.atleast_1d(_nonneg("lam_L", lam_L))
    c = table["cost_usd"].to_numpy(float)[:, None, None]
    l = table["latency_s"].to_numpy(float)[:, None, None]
    e = table["error_rate"].to_numpy(float)[:, None, None]
    return expected_reward(c, l, e, lE[None, :, None], lL[None, None, :])


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("cost_usd", "latency_s", "error_rate") if c not in table.columns]
    if missing:
        raise ValueError(f"model table lacks columns {missing}")
    if len(table) == 0:
        raise ValueError("model table has no models")


def optimal_choice(R: np.ndarray, axis: int = 0) -> np.ndarray:
    """``theta*(lam) = argmax_theta R(lam; theta)``, eq. (3.13); ties go to the first option along ``axis``."""
    return np.argmax(np.asarray(R), axis=axis)


def value_curve(R: np.ndarray, axis: int = 0) -> np.ndarray:
    """System value ``R(lam) = R(lam; theta*(lam))``, eq. (3.14): the upper envelope of the options' rewards."""
    return np.max(np.asarray(R), axis=axis)


def expected_value_uncertain_prices(mean_cost, mean_latency, error_rate, lam_E_samples, lam_L_samples=None,
                                    *, choose: str = "after") -> float:
    """Expected system value under uncertain prices, eq. (3.15): ``E_{lam ~ p(lam)}[R(lam)]``.

    ``mean_cost`` etc. are per-option arrays; ``lam_E_samples`` (and ``lam_L_samples`` in $/s, same length)
    are draws from ``p(lam)``. ``choose="after"`` (eq. 3.15): the option is chosen after the price is known,
    ``E[max_theta R]``. ``choose="before"``: one option for all prices, ``max_theta E[R]``, which by linearity
    equals the value at the mean prices. Always ``after >= before``.
    """
    lE = np.atleast_1d(_nonneg("lam_E_samples", lam_E_samples))
    lL = np.zeros_like(lE) if lam_L_samples is None else np.atleast_1d(_nonneg("lam_L_samples", lam_L_samples))
    if lL.shape != lE.shape:
        raise ValueError("lam_L_samples must have the same length as lam_E_samples")
    c, l, e = (np.asarray(x, float)[:, None] for x in (mean_cost, mean_latency, error_rate))
    R = expected_reward(c, l, e, lE[None, :], lL[None, :])
    if choose == "after":
        return float(R.max(axis=0).mean())
    if choose == "before":
        return float(R.mean(axis=1).max())
    raise ValueError(f"choose must be 'after' or 'before', got {choose!r}")


# ----------------------------------------------------------------------------------------- crossovers
def pairwise_crossover(cost_a, error_a, cost_b, error_b, latency_a=0.0, latency_b=0.0, lam_L=0.0) -> float:
    """Price of error at which option ``a`` starts to beat option ``b`` (closed form from eq. 3.12).

    ``R_a - R_b = (C_b + lam_L L_b - C_a - lam_L L_a) + lam_E (e_b - e_a)`` is linear in ``lam_E``, so with
    ``e_a < e_b`` the crossover is ``lam_E* = (C_a + lam_L L_a - C_b - lam_L L_b) / (e_b - e_a)``. Returns
    ``0.0`` if ``a`` already wins at ``lam_E = 0`` (``a`` then beats ``b`` for every ``lam_E >= 0``), and
    ``nan`` when ``a`` never overtakes ``b`` (``e_a >= e_b`` and ``a`` not better at 0).
    """
    lL = float(_nonneg("lam_L", lam_L))
    ca = float(cost_a) + lL * float(latency_a)
    cb = float(cost_b) + lL * float(latency_b)
    ea, eb = float(error_a), float(error_b)
    if ca < cb and ea <= eb:
        return 0.0
    if ea >= eb:
        return float("nan")
    return max(0.0, (ca - cb) / (eb - ea))


def category_crossover(table: pd.DataFrame, lam_L=0.0, *, category_col: str = "model_class",
                       a: str = "reasoning", b: str = "non-reasoning") -> float:
    """Price of error above which the *category-average* reward of class ``a`` exceeds class ``b`` (Fig. 3.3).

    The category average of linear rewards is the reward of the category-mean metrics, so this is
    :func:`pairwise_crossover` on the means (ambiguity 5.1(a) of the spec: average R, then compare).
    """
    _check_table(table)
    ga, gb = table[table[category_col] == a], table[table[category_col] == b]
    if len(ga) == 0 or len(gb) == 0:
        raise ValueError(f"category_crossover: need models of both classes {a!r} and {b!r}")
    return pairwise_crossover(ga["cost_usd"].mean(), ga["error_rate"].mean(), gb["cost_usd"].mean(),
                              gb["error_rate"].mean(), ga["latency_s"].mean(), gb["latency_s"].mean(), lam_L)


def optimal_intervals(cost, error_rate, latency=None, lam_L=0.0) -> list[tuple[int, float, float]]:
    """Exact optimal option as a function of ``lam_E in [0, inf)`` at fixed ``lam_L`` (eqs. 3.13-3.14).

    Each option's expected reward is a line in ``lam_E``; the optimum follows the lower envelope of
    ``c_m + lam_E e_m`` (``c_m = C_m + lam_L L_m``). Returns ``[(option, lam_start, lam_end), ...]``
    in increasing ``lam_E``; ties are resolved towards the lower error (the option that stays optimal).
    """
    c = np.asarray(cost, float) + float(_nonneg("lam_L", lam_L)) * (
        np.zeros_like(np.asarray(cost, float)) if latency is None else np.asarray(latency, float))
    e = np.asarray(error_rate, float)
    if c.shape != e.shape or c.ndim != 1 or len(c) == 0:
        raise ValueError("cost, error_rate (and latency) must be 1-D arrays of equal, non-zero length")
    # start: min cost at lam_E = 0, ties -> lower error
    order = np.lexsort((e, c))
    cur = int(order[0])
    lam = 0.0
    out = []
    while True:
        cand = np.where(e < e[cur])[0]
        if len(cand) == 0:
            out.append((cur, lam, float("inf")))
            return out
        lam_j = (c[cand] - c[cur]) / (e[cur] - e[cand])
        lam_j = np.maximum(lam_j, lam)
        best = lam_j.min()
        # among simultaneous crossings take the lowest error (it dominates beyond the crossing)
        ties = cand[np.isclose(lam_j, best, rtol=1e-12, atol=0.0)]
        nxt = int(ties[np.argmin(e[ties])])
        if best > lam:
            out.append((cur, lam, float(best)))
        lam, cur = float(best), nxt


def first_lambda_where(table: pd.DataFrame, predicate_col: str, predicate_value, lam_L=0.0) -> float:
    """Smallest ``lam_E`` at which the overall optimal model has ``table[predicate_col] == predicate_value``.

    With ``predicate_col="model_class", predicate_value="reasoning"`` this is the *best-vs-best* switch
    point of spec ambiguity 5.1(b) (the abstract's "$0.01" reading). ``nan`` if never.
    """
    iv = optimal_intervals(table["cost_usd"].to_numpy(float), table["error_rate"].to_numpy(float),
                           table["latency_s"].to_numpy(float), lam_L)
    vals = table[predicate_col].to_numpy()
    for m, lo, _hi in iv:
        if vals[m] == predicate_value:
            return float(lo)
    return float("nan")


def log_reward_transform(R, base: float = 10.0):
    """Plot transform of Fig. 3.3: ``-log(-R)`` (higher = better); base 10 (the paper leaves it unspecified)."""
    R = np.asarray(R, float)
    if np.any(R >= 0):
        raise ValueError("log_reward_transform needs strictly negative rewards")
    return -np.log(-R) / np.log(base)


# --------------------------------------------------------------------------------------- Pareto (§3.2)
def pareto_mask(F) -> np.ndarray:
    """Non-dominated rows of ``F`` (n_options x n_objectives, all minimised), eq. (3.3).

    ``x`` dominates ``x'`` iff ``x_i <= x'_i`` for all ``i`` and ``x_i < x'_i`` for at least one.
    Duplicated points do not dominate each other.
    """
    F = np.asarray(F, float)
    if F.ndim != 2:
        raise ValueError("F must be a 2-D array (options x objectives)")
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)  # column j dominated by some row i
    return ~dominated


def dominates(x, y) -> bool:
    """True iff point ``x`` Pareto-dominates ``y`` (minimisation), §3.2."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return bool(np.all(x <= y) and np.any(x < y))


def any_point_dominates(A, B) -> bool:
    """True iff some row of ``A`` dominates some row of ``B``. Theorem 4 (proved direction): if
    ``R_1(lam) >= R_2(lam)`` for all ``lam > 0``, no Pareto point of system 2 dominates one of system 1,
    i.e. ``any_point_dominates(P2, P1)`` is False."""
    A, B = np.atleast_2d(np.asarray(A, float)), np.atleast_2d(np.asarray(B, float))
    le = (A[:, None, :] <= B[None, :, :]).all(axis=2)
    lt = (A[:, None, :] < B[None, :, :]).any(axis=2)
    return bool((le & lt).any())


def lower_convex_hull(x, y) -> np.ndarray:
    """Indices of the vertices of the lower-left convex hull of points ``(x, y)`` (both minimised).

    These are exactly the points a weighted-sum sweep ``min x + lam y`` over ``lam in (0, inf)`` can select
    (the remark after Theorem 3: scalarisation misses non-convex parts of a finite Pareto set).
    Returned in increasing ``x``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    iv = optimal_intervals(x, y)
    verts = [m for m, lo, hi in iv if hi > lo]
    # the lam -> 0 end picks min x with ties to lower y: that is a hull vertex too (already first)
    return np.array(verts, dtype=int)


def selected_by_sweep(F, weights) -> np.ndarray:
    """Indices of options that minimise ``F @ w`` for some weight row ``w`` of ``weights`` (ties -> first).

    With ``F = [cost, latency, error]`` and ``w = [1, lam_L, lam_E]`` this is ``theta*(lam)`` over a price grid
    (Theorem 3's map from prices to the Pareto surface, restricted to a finite menu).
    """
    F = np.asarray(F, float)
    W = np.atleast_2d(np.asarray(weights, float))
    if W.shape[1] != F.shape[1]:
        raise ValueError(f"weights must have {F.shape[1]} columns")
    return np.unique(np.argmin(F @ W.T, axis=0))


# ------------------------------------------------------------------------------ price of error (§3.3)
def medical_price_of_error(expected_cost_given_suit: float = 500_000.0, p_error_given_suit: float = 2.0 / 3.0,
                           p_suit: float = 1e-5, p_error: float = 1e-2) -> float:
    """Price of a diagnostic error from malpractice risk, eqs. (3.16)-(3.17):
    ``lam_E = E[Cost | M] * P(M | E) = E[Cost | M] * P(E | M) P(M) / P(E)`` (Bayes). Defaults give $333.33."""
    for name, p in (("p_error_given_suit", p_error_given_suit), ("p_suit", p_suit), ("p_error", p_error)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    if p_error == 0:
        raise ValueError("p_error must be > 0")
    if expected_cost_given_suit < 0:
        raise ValueError("expected_cost_given_suit must be >= 0")
    return float(expected_cost_given_suit * p_error_given_suit * p_suit / p_error)


def wage_price_of_error(hourly_wage: float, minutes_to_redo: float = 5.0) -> float:
    """Price of error implied by redoing a task by hand: ``wage * minutes / 60`` ($). §3.4's wage argument:
    a 5-minute task makes an error cost more than $0.20 once the wage exceeds $2.40/h."""
    if hourly_wage < 0 or minutes_to_redo < 0:
        raise ValueError("hourly_wage and minutes_to_redo must be >= 0")
    return float(hourly_wage * minutes_to_redo / 60.0)


def sensitivity_table(table: pd.DataFrame, lam_E_grid: Sequence[float], lam_L_per_min: Sequence[float],
                      label_col: str = "display_name") -> pd.DataFrame:
    """``theta*(lam)`` over a price grid: rows = ``lam_L`` ($/min), columns = ``lam_E`` ($), cells = label."""
    R = reward_grid(table, lam_E_grid, per_minute_to_per_second(lam_L_per_min))
    idx = optimal_choice(R, axis=0)  # (n_E, n_L)
    labels = table[label_col].to_numpy() if label_col in table.columns else table.index.to_numpy()
    return pd.DataFrame(labels[idx].T, index=pd.Index(list(lam_L_per_min), name="lam_L ($/min)"),
                        columns=pd.Index(list(lam_E_grid), name="lam_E ($)"))


def with_abstention(table: pd.DataFrame, lam_A: float, name: str = "abstain") -> pd.DataFrame:
    """The model table plus an *abstain* option (router with abstention, eq. 3.9 with zero overhead).

    Abstaining makes no error and costs nothing but the price of abstention, so its expected reward is
    ``-lam_A`` for every ``lam_E, lam_L``: it enters the table as an option with cost ``lam_A``, latency 0
    and error 0 (``model_class == "abstain"``).
    """
    lam_A = float(_nonneg("lam_A", lam_A))
    row = {c: np.nan for c in table.columns}
    row.update(cost_usd=lam_A, latency_s=0.0, error_rate=0.0, model_class="abstain")
    if "display_name" in table.columns:
        row["display_name"] = "abstain (human)"
    if "model" in table.columns:
        row["model"] = name
    if "status" in table.columns:
        row["status"] = "option"
    return pd.concat([table, pd.DataFrame([row], index=[name])])
