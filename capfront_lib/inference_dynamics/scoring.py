"""Profiling and routing of InferenceDynamics (§3.3 and eq. 1-2 of the paper).

Notation (spec §1): a query carries two *ranked* lists, knowledge domains ``K_x`` and capabilities
``C_x``. For a list of length ``L`` the rank weights are ``w_j(L) = alpha^(j-1) / sum_m alpha^(m-1)``.
A model ``t`` answers index query ``i`` with score ``s_i^t`` in [0, 1] at cost ``c_i^t`` (USD). The
element score of model ``t`` on element ``e`` is

    S(t, e) = (1/|D^e|) * sum_i (s_i^t - beta * c_i^t) * W[i, e],

``W[i, e]`` = summed rank weight of ``e`` in query ``i``'s list, ``|D^e|`` = number of index queries
whose list holds ``e``. For a new query, ``KS_t = sum_j w_j S_K(t, k_j)``, ``CS_t`` likewise, and the
router picks ``argmax_t gamma*KS_t + delta*CS_t`` (eq. 2).

Everything is linear in ``beta``: ``S_beta = Q - beta*Cst`` with ``Q``, ``Cst`` the same aggregation
of ``s`` and of ``c`` (spec §1.10), so the router keeps *sufficient statistics* (weighted sums and
counts per element x model) and any ``beta`` costs one subtraction. Lists are encoded as sparse
``n x E`` matrices, so profiling and routing are two sparse matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

OTHER = "Other"

ElementNorm = Literal["count", "weight"]
DupPolicy = Literal["sum", "occurrence"]
OtherPolicy = Literal["score", "drop"]
ScoreNorm = Literal["none", "minmax", "zscore"]


@dataclass(frozen=True)
class Tags:
    """Ranked tags of one query: knowledge domains and capabilities, most important first."""

    knowledge: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()

    def __init__(self, knowledge: Iterable[str] = (), capabilities: Iterable[str] = ()) -> None:
        if isinstance(knowledge, str) or isinstance(capabilities, str):
            raise ValueError("Tags: knowledge and capabilities must be lists of strings, not a single string")
        object.__setattr__(self, "knowledge", tuple(str(k) for k in knowledge))
        object.__setattr__(self, "capabilities", tuple(str(c) for c in capabilities))


# ---------------------------------------------------------------------------------------------
# rank weights and list encoding


def rank_weights(length: int, alpha: float) -> np.ndarray:
    """Rank weights ``w_j(L) = alpha^(j-1) / sum_{m=1..L} alpha^(m-1)`` of §3.3 (sum to 1).

    ``alpha = 0`` puts all weight on rank 1 (``0^0 = 1``); ``alpha = 1`` is uniform.
    """
    if isinstance(length, bool) or int(length) != length or length < 0:
        raise ValueError(f"length must be a non-negative integer, got {length!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    length = int(length)
    if length == 0:
        return np.zeros(0)
    j = np.arange(length)
    raw = np.where(j == 0, 1.0, alpha ** j.astype(float)) if alpha == 0 else alpha ** j.astype(float)
    return raw / raw.sum()


def _weight_table(max_len: int, alpha: float) -> np.ndarray:
    """``(max_len+1) x max_len`` table; row L holds ``w_1..w_L(L)`` padded with zeros."""
    tab = np.zeros((max_len + 1, max(max_len, 1)))
    for L in range(1, max_len + 1):
        tab[L, :L] = rank_weights(L, alpha)
    return tab


def encode_lists(
    lists: Sequence[Sequence[str]],
    vocab: Sequence[str],
    alpha: float,
    *,
    unknown: Literal["other", "drop", "error"] = "drop",
    other_label: str = OTHER,
    dup_policy: DupPolicy = "sum",
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Encode ranked lists as sparse rank-weight and membership matrices (``n x len(vocab)``).

    ``W[i, e]`` = sum of the rank weights of ``e`` in list ``i`` (weights of a repeated element add).
    ``M[i, e]`` = 1 if ``e`` is in list ``i`` (``dup_policy="sum"``, the paper's ``|D^e|``) or the
    number of occurrences (``"occurrence"``, what the authors' script counts). Labels outside
    ``vocab`` are mapped to ``other_label`` (``unknown="other"``), removed before the weights are
    computed (``"drop"``) or rejected (``"error"``).
    """
    if dup_policy not in ("sum", "occurrence"):
        raise ValueError(f"dup_policy must be 'sum' or 'occurrence', got {dup_policy!r}")
    if unknown not in ("other", "drop", "error"):
        raise ValueError(f"unknown must be 'other', 'drop' or 'error', got {unknown!r}")
    vindex = pd.Index(list(vocab))
    if not vindex.is_unique:
        raise ValueError("vocab has duplicated labels")
    if unknown == "other" and other_label not in vindex:
        raise ValueError(f"unknown='other' needs {other_label!r} in the vocabulary")
    for i, lst in enumerate(lists):
        if isinstance(lst, str):
            raise ValueError(f"list {i} is a string {lst!r}; expected a list of labels")
    lengths = np.fromiter((len(l) for l in lists), dtype=np.int64, count=len(lists))
    flat = [lab for l in lists for lab in l]
    r = np.repeat(np.arange(len(lists)), lengths)
    c = vindex.get_indexer(flat) if flat else np.zeros(0, dtype=np.int64)
    miss = c < 0
    if miss.any():
        if unknown == "other":
            c[miss] = vindex.get_loc(other_label)
        elif unknown == "drop":
            r, c = r[~miss], c[~miss]
        else:
            i = int(np.flatnonzero(miss)[0])
            raise ValueError(f"label {flat[i]!r} of list {int(r[i])} is not in the vocabulary")
    L = np.bincount(r, minlength=len(lists))
    starts = np.concatenate([[0], np.cumsum(L)[:-1]])
    pos = np.arange(len(r)) - starts[r] if len(r) else np.zeros(0, dtype=np.int64)
    rows, lens = r, L[r]
    n, E = len(lists), len(vocab)
    if len(rows) == 0:
        empty = sparse.csr_matrix((n, E))
        return empty, empty.copy()
    tab = _weight_table(int(lens.max()), alpha)
    w = tab[lens, pos]
    W = sparse.csr_matrix((w, (r, c)), shape=(n, E))  # duplicates are summed
    M = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, E))  # occurrence counts
    W.sum_duplicates()
    M.sum_duplicates()
    if dup_policy == "sum":
        M.data[:] = 1.0  # query counted once in D^e
    return W, M


@dataclass(frozen=True)
class TagCodes:
    """Ranked tags of many queries as integer codes (the fast path for large or repeated runs).

    ``k`` (``n x Lk``) and ``c`` (``n x Lc``) hold indices into ``kelements`` / ``celements``, most
    important first, ``-1`` where a list is shorter. The router, :func:`encode_codes` and the experiments
    accept a ``TagCodes`` wherever they accept a list of :class:`Tags`, with identical results.
    """

    k: np.ndarray
    c: np.ndarray
    kelements: tuple[str, ...]
    celements: tuple[str, ...]

    def __post_init__(self) -> None:
        k = np.asarray(self.k, dtype=np.int64)
        c = np.asarray(self.c, dtype=np.int64)
        if k.ndim != 2 or c.ndim != 2 or k.shape[0] != c.shape[0]:
            raise ValueError(f"TagCodes: k and c must be 2-d with one row per query, got shapes {k.shape} and {c.shape}")
        for name, a, E in (("k", k, len(self.kelements)), ("c", c, len(self.celements))):
            if a.size and (a.max() >= E or a.min() < -1):
                raise ValueError(f"TagCodes: codes of {name} must lie in [-1, {E - 1}]")
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "kelements", tuple(self.kelements))
        object.__setattr__(self, "celements", tuple(self.celements))

    def __len__(self) -> int:
        return self.k.shape[0]

    def subset(self, rows) -> "TagCodes":
        """The queries selected by a boolean mask or an index array."""
        return TagCodes(self.k[rows], self.c[rows], self.kelements, self.celements)

    def to_tags(self) -> list[Tags]:
        """The same tags as a list of :class:`Tags` (slow path; for tests and small tables)."""
        ke, ce = np.asarray(self.kelements, dtype=object), np.asarray(self.celements, dtype=object)
        return [Tags(ke[kr[kr >= 0]], ce[cr[cr >= 0]]) for kr, cr in zip(self.k, self.c)]

    @classmethod
    def from_tags(cls, tags: Sequence[Tags], kelements: Sequence[str] | None = None,
                  celements: Sequence[str] | None = None) -> "TagCodes":
        """Encode a list of :class:`Tags` (element lists default to first-seen order); unknown labels raise."""
        tags = list(tags)
        ke = list(kelements) if kelements is not None else _first_seen(t.knowledge for t in tags)
        ce = list(celements) if celements is not None else _first_seen(t.capabilities for t in tags)
        return cls(_codes([t.knowledge for t in tags], ke), _codes([t.capabilities for t in tags], ce), tuple(ke), tuple(ce))


def _codes(lists: Sequence[Sequence[str]], elements: Sequence[str]) -> np.ndarray:
    index = {e: j for j, e in enumerate(elements)}
    L = max((len(l) for l in lists), default=0)
    out = np.full((len(lists), max(L, 1)), -1, dtype=np.int64)
    for i, lst in enumerate(lists):
        for j, lab in enumerate(lst):
            if lab not in index:
                raise ValueError(f"label {lab!r} of list {i} is not among the elements")
            out[i, j] = index[lab]
    return out


def pack_codes(codes: np.ndarray) -> np.ndarray:
    """Move the ``-1`` entries of every row to its end, keeping the order of the others (rank order)."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        return codes
    order = np.argsort(codes < 0, axis=1, kind="stable")
    return np.take_along_axis(codes, order, axis=1)


def encode_codes(codes: np.ndarray, n_elements: int, alpha: float, *,
                 dup_policy: DupPolicy = "sum") -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """:func:`encode_lists` for integer codes (``n x L``, ``-1`` = no tag, removed before weighting).

    Returns the rank-weight matrix ``W`` and the membership matrix ``M`` (``n x n_elements``) with the
    same conventions as :func:`encode_lists`; vectorised, no Python loop over queries.
    """
    if dup_policy not in ("sum", "occurrence"):
        raise ValueError(f"dup_policy must be 'sum' or 'occurrence', got {dup_policy!r}")
    codes = pack_codes(codes)
    n = codes.shape[0]
    L = codes.shape[1] if codes.ndim == 2 else 0
    if codes.size and codes.max() >= n_elements:
        raise ValueError(f"codes reach {int(codes.max())} but there are {n_elements} elements")
    valid = codes >= 0
    if not valid.any():
        empty = sparse.csr_matrix((n, n_elements))
        return empty, empty.copy()
    lens = valid.sum(axis=1)
    tab = _weight_table(L, alpha)
    w = tab[lens[:, None], np.arange(L)[None, :]]
    r = np.broadcast_to(np.arange(n)[:, None], codes.shape)[valid]
    c = codes[valid]
    W = sparse.csr_matrix((w[valid], (r, c)), shape=(n, n_elements))
    M = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n_elements))
    W.sum_duplicates()
    M.sum_duplicates()
    if dup_policy == "sum":
        M.data[:] = 1.0
    return W, M


def _map_codes(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Apply ``mapping`` (old code -> new code or -1) to the valid entries of ``codes``."""
    out = np.full(codes.shape, -1, dtype=np.int64)
    v = codes >= 0
    out[v] = mapping[codes[v]]
    return out


# ---------------------------------------------------------------------------------------------
# profiles


def _check_matrix(name: str, a: np.ndarray, n: int | None, lo: float, hi: float | None) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (queries x models), got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} rows but there are {n} queries")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[:3].tolist()
        raise ValueError(f"{name} has missing or non-finite cells, e.g. at (query, model) {bad}; drop those queries first")
    if (a < lo).any() or (hi is not None and (a > hi).any()):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must hold values in {rng}; found min {a.min():g}, max {a.max():g}")
    return a


@dataclass
class ElementProfile:
    """Sufficient statistics of §3.3 for one element family (knowledge or capabilities).

    For element ``e`` and model ``t``: ``sum_ws[e, t] = sum_i W[i,e] s_i^t``, ``sum_wc[e, t] =
    sum_i W[i,e] c_i^t``, ``count[e] = |D^e|`` and ``sum_w[e] = sum_i W[i,e]``. The element score is
    ``(sum_ws - beta*sum_wc) / count`` (``element_norm="count"``, the paper) or ``/ sum_w``
    (``"weight"``, a true weighted mean; ablation).
    """

    elements: list[str]
    models: list[str]
    sum_ws: np.ndarray
    sum_wc: np.ndarray
    count: np.ndarray
    sum_w: np.ndarray

    @classmethod
    def from_encoded(cls, elements: Sequence[str], models: Sequence[str], W, M, Y, C) -> "ElementProfile":
        """Profile from encoded lists (``W``, ``M``: ``n x E``) and scores/costs (``n x T``)."""
        WT = W.T.tocsr()
        return cls(
            elements=list(elements),
            models=list(models),
            sum_ws=np.asarray(WT @ Y, dtype=float),
            sum_wc=np.asarray(WT @ C, dtype=float),
            count=np.asarray(M.sum(axis=0), dtype=float).ravel(),
            sum_w=np.asarray(W.sum(axis=0), dtype=float).ravel(),
        )

    def denominator(self, element_norm: ElementNorm = "count") -> np.ndarray:
        if element_norm == "count":
            return self.count
        if element_norm == "weight":
            return self.sum_w
        raise ValueError(f"element_norm must be 'count' or 'weight', got {element_norm!r}")

    def quality_cost(self, element_norm: ElementNorm = "count") -> tuple[np.ndarray, np.ndarray]:
        """``(Q, Cst)``: element x model aggregates of ``s`` and of ``c`` (NaN for unsupported elements)."""
        d = self.denominator(element_norm)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(d > 0, self.sum_ws / np.where(d > 0, d, 1.0), np.nan)
            c = np.where(d > 0, self.sum_wc / np.where(d > 0, d, 1.0), np.nan)
        return q, c

    def scores(self, beta: float = 0.0, element_norm: ElementNorm = "count") -> pd.DataFrame:
        """Element x model table of ``S_beta(t, e)`` (§3.3); NaN where no index query holds ``e``."""
        q, c = self.quality_cost(element_norm)
        return pd.DataFrame(q - beta * c, index=pd.Index(self.elements, name="element"), columns=pd.Index(self.models, name="model"))

    def add_model(self, name: str, W, y: np.ndarray, c: np.ndarray) -> None:
        """Append one model's column (§1.6): old columns are not touched."""
        WT = W.T.tocsr()
        self.sum_ws = np.column_stack([self.sum_ws, WT @ np.asarray(y, float)])
        self.sum_wc = np.column_stack([self.sum_wc, WT @ np.asarray(c, float)])
        self.models.append(name)

    def add_queries(self, new_elements: Sequence[str], W, M, Y, C) -> None:
        """Add index queries (§1.6): grow the element list by ``new_elements`` and add their sums."""
        k = len(new_elements)
        if k:
            T = self.sum_ws.shape[1]
            self.elements.extend(new_elements)
            self.sum_ws = np.vstack([self.sum_ws, np.zeros((k, T))])
            self.sum_wc = np.vstack([self.sum_wc, np.zeros((k, T))])
            self.count = np.concatenate([self.count, np.zeros(k)])
            self.sum_w = np.concatenate([self.sum_w, np.zeros(k)])
        WT = W.T.tocsr()
        self.sum_ws += WT @ Y
        self.sum_wc += WT @ C
        self.count += np.asarray(M.sum(axis=0), dtype=float).ravel()
        self.sum_w += np.asarray(W.sum(axis=0), dtype=float).ravel()


# ---------------------------------------------------------------------------------------------
# the router


def _first_seen(lists: Iterable[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(lab for lst in lists for lab in lst))


def _first_seen_codes(codes: np.ndarray) -> np.ndarray:
    """Distinct valid codes in row-major first-seen order (rank order within a query, queries in order)."""
    flat = np.asarray(codes).ravel()
    flat = flat[flat >= 0]
    uniq, first = np.unique(flat, return_index=True)
    return uniq[np.argsort(first, kind="stable")]


def _lookup(elements: Sequence[str], vocab: Sequence[str], missing: int) -> np.ndarray:
    """Array mapping each element's position to its position in ``vocab`` (``missing`` if absent)."""
    where = {e: j for j, e in enumerate(vocab)}
    return np.array([where.get(e, missing) for e in elements], dtype=np.int64)


class InferenceDynamicsRouter:
    """The InferenceDynamics router (eq. 1-2): profile models on an index set, route by ``gamma*KS + delta*CS``.

    Parameters follow spec §3.4; defaults are the paper's (``alpha=0.5, beta=0, gamma=delta=1``).

    * ``element_norm``: ``"count"`` (paper, divide by ``|D^e|``) or ``"weight"`` (divide by summed weight).
    * ``dup_policy``: ``"sum"`` (paper formula) or ``"occurrence"`` (script) for repeated labels.
    * ``other_policy``: ``"score"`` maps knowledge labels unseen in the index to ``'Other'``, which has its
      own profile (if no index query holds ``'Other'``, its score is the model's global index mean of
      ``s - beta*c``); ``"drop"`` removes unseen labels before weighting. Unknown capabilities are dropped.
    * ``score_norm``: ``"none"`` (paper) or per-query ``"minmax"`` / ``"zscore"`` of KS and CS across
      models (ablation; breaks the linearity in beta, so :meth:`decompose` then refuses).
    * ``tie_break``: ``"cost_then_order"``: among models within 1e-12 (relative) of the best score, the
      one with the lowest estimated cost ``B``, then the earliest in the pool.

    A query whose two lists are both empty goes to the best global model (index mean of ``s - beta*c``).
    """

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.0,
        gamma: float = 1.0,
        delta: float = 1.0,
        *,
        element_norm: ElementNorm = "count",
        dup_policy: DupPolicy = "sum",
        other_policy: OtherPolicy = "score",
        score_norm: ScoreNorm = "none",
        tie_break: str = "cost_then_order",
        other_label: str = OTHER,
    ) -> None:
        for name, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta)):
            if isinstance(v, bool) or not np.isfinite(float(v)) or float(v) < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if element_norm not in ("count", "weight"):
            raise ValueError(f"element_norm must be 'count' or 'weight', got {element_norm!r}")
        if dup_policy not in ("sum", "occurrence"):
            raise ValueError(f"dup_policy must be 'sum' or 'occurrence', got {dup_policy!r}")
        if other_policy not in ("score", "drop"):
            raise ValueError(f"other_policy must be 'score' or 'drop', got {other_policy!r}")
        if score_norm not in ("none", "minmax", "zscore"):
            raise ValueError(f"score_norm must be 'none', 'minmax' or 'zscore', got {score_norm!r}")
        if tie_break != "cost_then_order":
            raise ValueError(f"tie_break must be 'cost_then_order', got {tie_break!r}")
        self.alpha, self.beta, self.gamma, self.delta = float(alpha), float(beta), float(gamma), float(delta)
        self.element_norm = element_norm
        self.dup_policy = dup_policy
        self.other_policy = other_policy
        self.score_norm = score_norm
        self.tie_break = tie_break
        self.other_label = other_label
        self.models: list[str] = []
        self.knowledge: ElementProfile | None = None
        self.capability: ElementProfile | None = None

    # ----- fitting -----
    def _index_matrices(self, tags: "Sequence[Tags] | TagCodes", kvocab: list[str] | None = None,
                        cvocab: list[str] | None = None):
        """Vocabularies (first-seen order, ``'Other'`` appended) and the encoded index lists.

        With ``kvocab``/``cvocab`` given, the lists are encoded over them (unknown labels raise)."""
        if isinstance(tags, TagCodes):
            ke, ce = list(tags.kelements), list(tags.celements)
            if kvocab is None:
                kvocab = [ke[j] for j in _first_seen_codes(tags.k)]
                if self.other_label not in kvocab:
                    kvocab.append(self.other_label)
            if cvocab is None:
                cvocab = [ce[j] for j in _first_seen_codes(tags.c)]
            kk = _map_codes(tags.k, _lookup(ke, kvocab, missing=-2))
            cc = _map_codes(tags.c, _lookup(ce, cvocab, missing=-2))
            if (kk == -2).any() or (cc == -2).any():
                raise ValueError("index tags hold labels outside the fitted vocabulary")
            Wk, Mk = encode_codes(kk, len(kvocab), self.alpha, dup_policy=self.dup_policy)
            Wc, Mc = encode_codes(cc, len(cvocab), self.alpha, dup_policy=self.dup_policy)
            return kvocab, cvocab, Wk, Mk, Wc, Mc
        if kvocab is None:
            kvocab = _first_seen(t.knowledge for t in tags)
            if self.other_label not in kvocab:
                kvocab.append(self.other_label)
        if cvocab is None:
            cvocab = _first_seen(t.capabilities for t in tags)
        Wk, Mk = encode_lists([t.knowledge for t in tags], kvocab, self.alpha, unknown="error", dup_policy=self.dup_policy)
        Wc, Mc = encode_lists([t.capabilities for t in tags], cvocab, self.alpha, unknown="error", dup_policy=self.dup_policy)
        return kvocab, cvocab, Wk, Mk, Wc, Mc

    def fit(self, index_tags: "Sequence[Tags] | TagCodes", Y, C, models: Sequence[str]) -> "InferenceDynamicsRouter":
        """Profile every model on the index set (§3.3). ``Y``, ``C``: ``n x T`` scores in [0,1] and USD costs.

        ``index_tags`` is a list of :class:`Tags` or a :class:`TagCodes` (same result, faster)."""
        if not isinstance(index_tags, TagCodes):
            index_tags = list(index_tags)
        n = len(index_tags)
        if n == 0:
            raise ValueError("index_tags is empty: the index set needs at least one query")
        models = [str(m) for m in models]
        if len(models) == 0:
            raise ValueError("models is empty: the pool needs at least one model")
        if len(set(models)) != len(models):
            raise ValueError(f"models has duplicated names: {models}")
        Y = _check_matrix("Y", Y, n, 0.0, 1.0)
        C = _check_matrix("C", C, n, 0.0, None)
        if Y.shape[1] != len(models) or C.shape[1] != len(models):
            raise ValueError(f"Y and C need one column per model ({len(models)}), got {Y.shape[1]} and {C.shape[1]}")
        kvocab, cvocab, Wk, Mk, Wc, Mc = self._index_matrices(index_tags)
        self.models = list(models)
        self.knowledge = ElementProfile.from_encoded(kvocab, models, Wk, Mk, Y, C)
        self.capability = ElementProfile.from_encoded(cvocab, models, Wc, Mc, Y, C)
        self._Wk, self._Wc = Wk, Wc
        self._sum_y = Y.sum(axis=0)
        self._sum_c = C.sum(axis=0)
        self._n_index = n
        return self

    def _require_fit(self) -> None:
        if self.knowledge is None or self.capability is None:
            raise ValueError("the router is not fitted: call fit(index_tags, Y, C, models) first")

    def add_model(self, name: str, y, c) -> "InferenceDynamicsRouter":
        """Add a model evaluated on the same index set (§1.6, §5.3); existing columns stay bitwise equal."""
        self._require_fit()
        name = str(name)
        if name in self.models:
            raise ValueError(f"model {name!r} is already in the pool")
        n = self._n_index
        y = _check_matrix("y", np.asarray(y, float).reshape(-1), n, 0.0, 1.0)[:, 0]
        c = _check_matrix("c", np.asarray(c, float).reshape(-1), n, 0.0, None)[:, 0]
        self.knowledge.add_model(name, self._Wk, y, c)
        self.capability.add_model(name, self._Wc, y, c)
        self.models.append(name)
        self._sum_y = np.append(self._sum_y, y.sum())
        self._sum_c = np.append(self._sum_c, c.sum())
        return self

    def add_queries(self, tags: "Sequence[Tags] | TagCodes", Y, C) -> "InferenceDynamicsRouter":
        """Add index queries evaluated on every pool model (§1.6); new elements get new rows."""
        self._require_fit()
        if isinstance(tags, TagCodes):
            tags = tags.to_tags()
        tags = list(tags)
        n = len(tags)
        Y = _check_matrix("Y", Y, n, 0.0, 1.0)
        C = _check_matrix("C", C, n, 0.0, None)
        if Y.shape[1] != len(self.models) or C.shape[1] != len(self.models):
            raise ValueError(f"Y and C need one column per pool model ({len(self.models)})")
        newk = [e for e in _first_seen(t.knowledge for t in tags) if e not in set(self.knowledge.elements)]
        newc = [e for e in _first_seen(t.capabilities for t in tags) if e not in set(self.capability.elements)]
        kvocab = self.knowledge.elements + newk
        cvocab = self.capability.elements + newc
        _, _, Wk, Mk, Wc, Mc = self._index_matrices(tags, kvocab, cvocab)
        self.knowledge.add_queries(newk, Wk, Mk, Y, C)
        self.capability.add_queries(newc, Wc, Mc, Y, C)
        self._Wk = sparse.vstack([sparse.hstack([self._Wk, sparse.csr_matrix((self._n_index, len(newk)))]), Wk]).tocsr()
        self._Wc = sparse.vstack([sparse.hstack([self._Wc, sparse.csr_matrix((self._n_index, len(newc)))]), Wc]).tocsr()
        self._sum_y = self._sum_y + Y.sum(axis=0)
        self._sum_c = self._sum_c + C.sum(axis=0)
        self._n_index += n
        return self

    # ----- profiles -----
    def profile(self, family: Literal["knowledge", "capability"], beta: float | None = None) -> pd.DataFrame:
        """Element x model table of ``S_beta`` for ``family`` (NaN for an element no index query holds)."""
        self._require_fit()
        prof = self.knowledge if family == "knowledge" else self.capability if family == "capability" else None
        if prof is None:
            raise ValueError(f"family must be 'knowledge' or 'capability', got {family!r}")
        return prof.scores(self.beta if beta is None else float(beta), self.element_norm)

    def _qc(self, prof: ElementProfile) -> tuple[np.ndarray, np.ndarray]:
        q, c = prof.quality_cost(self.element_norm)
        gq = self._sum_y / self._n_index
        gc = self._sum_c / self._n_index
        miss = np.isnan(q[:, 0])
        q[miss] = gq  # unsupported element (only 'Other' can be referenced): global index mean
        c[miss] = gc
        return q, c

    # ----- routing -----
    def encode(self, tags: "Sequence[Tags] | TagCodes"):
        """Sparse rank-weight matrices of new queries over the fitted vocabularies (``'Other'`` mapping applied)."""
        self._require_fit()
        unknown = "other" if self.other_policy == "score" else "drop"
        if isinstance(tags, TagCodes):
            kv, cv = self.knowledge.elements, self.capability.elements
            kmap = _lookup(tags.kelements, kv, missing=kv.index(self.other_label) if unknown == "other" else -1)
            cmap = _lookup(tags.celements, cv, missing=-1)
            Wk, _ = encode_codes(_map_codes(tags.k, kmap), len(kv), self.alpha)
            Wc, _ = encode_codes(_map_codes(tags.c, cmap), len(cv), self.alpha)
            return Wk, Wc
        Wk, _ = encode_lists(
            [t.knowledge for t in tags], self.knowledge.elements, self.alpha,
            unknown=unknown, other_label=self.other_label,
        )
        Wc, _ = encode_lists([t.capabilities for t in tags], self.capability.elements, self.alpha, unknown="drop")
        return Wk, Wc

    def components(self, tags: "Sequence[Tags] | TagCodes") -> dict[str, np.ndarray]:
        """``KS`` and ``CS`` split into quality and cost parts: keys ``KSq, KSc, CSq, CSc`` (each ``n x T``)."""
        if not isinstance(tags, TagCodes):
            tags = list(tags)
        Wk, Wc = self.encode(tags)
        qk, ck = self._qc(self.knowledge)
        qc, cc = self._qc(self.capability)
        return {"KSq": Wk @ qk, "KSc": Wk @ ck, "CSq": Wc @ qc, "CSc": Wc @ cc,
                "empty": (np.asarray(Wk.sum(axis=1)).ravel() == 0) & (np.asarray(Wc.sum(axis=1)).ravel() == 0)}

    def decompose(self, tags: Sequence[Tags], gamma: float | None = None, delta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(A, B)`` with route score ``A - beta*B`` (spec §1.10): estimated quality and estimated cost, ``n x T``."""
        self._require_fit()
        if self.score_norm != "none":
            raise ValueError("decompose() needs score_norm='none' (normalisation breaks linearity in beta)")
        g = self.gamma if gamma is None else float(gamma)
        d = self.delta if delta is None else float(delta)
        comp = self.components(tags)
        A = g * comp["KSq"] + d * comp["CSq"]
        B = g * comp["KSc"] + d * comp["CSc"]
        e = comp["empty"]
        if e.any():
            A[e] = self._sum_y / self._n_index
            B[e] = self._sum_c / self._n_index
        return A, B

    def scores(self, tags: Sequence[Tags], beta: float | None = None) -> np.ndarray:
        """Route scores ``gamma*KS + delta*CS`` at ``beta`` (``n x T``)."""
        beta = self.beta if beta is None else float(beta)
        if self.score_norm == "none":
            A, B = self.decompose(tags)
            return A - beta * B
        comp = self.components(tags)
        ks = _normalise(comp["KSq"] - beta * comp["KSc"], self.score_norm)
        cs = _normalise(comp["CSq"] - beta * comp["CSc"], self.score_norm)
        return self.gamma * ks + self.delta * cs

    def route(self, tags: Sequence[Tags], beta: float | None = None) -> np.ndarray:
        """Index of the chosen model per query (eq. 2), ties broken by lower estimated cost then pool order."""
        beta = self.beta if beta is None else float(beta)
        if beta < 0 or not np.isfinite(beta):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        if not isinstance(tags, TagCodes):
            tags = list(tags)
        if self.score_norm == "none":
            A, B = self.decompose(tags)
            return choose(A - beta * B, B)
        comp = self.components(tags)
        B = self.gamma * comp["KSc"] + self.delta * comp["CSc"]
        return choose(self.scores(tags, beta), B)


def _normalise(x: np.ndarray, how: str) -> np.ndarray:
    if how == "minmax":
        lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
        span = np.where(hi > lo, hi - lo, 1.0)
        return (x - lo) / span
    sd = x.std(axis=1, keepdims=True)
    return (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


def choose(score: np.ndarray, B: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """Row-wise argmax of ``score`` with the tie rule of spec §4 #6 (lower ``B``, then lower index)."""
    score = np.asarray(score, float)
    best = score.max(axis=1, keepdims=True)
    tol = rtol * (1.0 + np.abs(best))
    tied = score >= best - tol
    bkey = np.where(tied, B, np.inf)
    bmin = bkey.min(axis=1, keepdims=True)
    tied &= bkey <= bmin + rtol * (1.0 + np.abs(bmin))
    return np.argmax(tied, axis=1)


# ---------------------------------------------------------------------------------------------
# identities, metrics, sweeps


def beta_star(A: np.ndarray, B: np.ndarray) -> float:
    """Smallest beta above which every query goes to its lowest-``B`` model (spec §1.10).

    ``beta* = max_x max_t (A_t - A_m) / (B_t - B_m)`` over models ``t`` with ``A_t > A_m`` and
    ``B_t > B_m``, where ``m`` is the lowest-``B`` model of query ``x``; ``inf`` if some model ties ``m``
    on ``B`` with a higher ``A`` (then no beta makes ``m`` win outright).
    """
    A = np.asarray(A, float)
    B = np.asarray(B, float)
    m = choose(-B, -A)  # lowest B, ties: higher A then order
    Am = A[np.arange(len(A)), m][:, None]
    Bm = B[np.arange(len(B)), m][:, None]
    dA, dB = A - Am, B - Bm
    if ((dB <= 0) & (dA > 0)).any():
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((dA > 0) & (dB > 0), dA / dB, 0.0)
    return float(r.max()) if r.size else 0.0


def performance_ratio(perf_router: float, perf_best: float) -> float:
    """Performance ratio of §4.5: ``100 * perf(router) / perf(best single)``."""
    if perf_best <= 0:
        raise ValueError(f"perf_best must be > 0, got {perf_best!r}")
    return 100.0 * float(perf_router) / float(perf_best)


def cost_ratio(cost_routed: np.ndarray, cost_best: np.ndarray, tag_cost_usd: float = 0.0) -> float:
    """Cost ratio of §4.5: ``100 * (sum c_routed + n * tag_cost) / sum c_best`` over the evaluated queries."""
    cost_routed = np.asarray(cost_routed, float)
    cost_best = np.asarray(cost_best, float)
    if cost_routed.shape != cost_best.shape:
        raise ValueError(f"cost_routed and cost_best must have the same shape, got {cost_routed.shape} and {cost_best.shape}")
    if tag_cost_usd < 0:
        raise ValueError(f"tag_cost_usd must be >= 0, got {tag_cost_usd!r}")
    denom = cost_best.sum()
    if denom <= 0:
        raise ValueError("the best single model has zero total cost: the cost ratio is undefined")
    return 100.0 * (cost_routed.sum() + cost_routed.size * tag_cost_usd) / denom


def beta_sweep(
    A: np.ndarray,
    B: np.ndarray,
    Y: np.ndarray,
    C: np.ndarray,
    betas: Sequence[float],
    *,
    best: int,
    models: Sequence[str],
    tag_cost_usd: float = 0.0,
    groups: np.ndarray | None = None,
) -> pd.DataFrame:
    """Accuracy, cost, PR and CR of the router for each beta, from one decomposition ``(A, B)``.

    ``best`` indexes the reference single model. With ``groups`` (benchmark per query) accuracy is the
    mean of the per-group accuracies, as in the paper's averages. Columns ``share_<model>`` hold the
    selection shares.
    """
    A = np.asarray(A, float)
    Y = np.asarray(Y, float)
    C = np.asarray(C, float)
    rows = []
    idx = np.arange(len(Y))
    best_acc = _group_mean(Y[:, best], groups)
    for b in betas:
        ch = choose(A - float(b) * B, B)
        acc = _group_mean(Y[idx, ch], groups)
        row = {
            "beta": float(b),
            "accuracy": acc,
            "mean_cost_usd": float(C[idx, ch].mean()),
            "performance_ratio": performance_ratio(acc, best_acc),
            "cost_ratio": cost_ratio(C[idx, ch], C[:, best], tag_cost_usd),
        }
        shares = np.bincount(ch, minlength=len(models)) / len(ch)
        row.update({f"share_{m}": s for m, s in zip(models, shares)})
        rows.append(row)
    return pd.DataFrame(rows)


def _group_mean(v: np.ndarray, groups: np.ndarray | None) -> float:
    if groups is None:
        return float(np.mean(v))
    return float(pd.Series(v).groupby(np.asarray(groups)).mean().mean())


def weighted_rank_distribution(lists: Sequence[Sequence[str]]) -> pd.Series:
    """Appendix B: ``P_D = 100 * S_D / sum S``, ``S_D = sum_r F_{D,r} / r`` (not per-query normalised)."""
    acc: dict[str, float] = {}
    for lst in lists:
        for r, lab in enumerate(lst, start=1):
            acc[lab] = acc.get(lab, 0.0) + 1.0 / r
    if not acc:
        raise ValueError("lists hold no labels: the distribution is undefined")
    s = pd.Series(acc, name="percent")
    return (100.0 * s / s.sum()).sort_values(ascending=False)


def route_naive(
    index_tags: Sequence[Tags], Y, C, new_tags: Sequence[Tags], *, alpha=0.5, beta=0.0, gamma=1.0, delta=1.0,
    other_label: str = OTHER,
):
    """Per-query Python loop of §3.3 + eq. 1-2 (reference for tests and the benchmark; slow).

    Returns the ``n_new x T`` score matrix. Uses plain floats, or exact ``Fraction``s if the inputs are Fractions.
    """
    T = len(Y[0])
    kseen = {k for t in index_tags for k in t.knowledge}
    cseen = {c for t in index_tags for c in t.capabilities}

    def weights(L):
        if L == 0:
            return []
        raw = [alpha ** j if j > 0 else alpha ** 0 for j in range(L)]
        s = sum(raw)
        return [r / s for r in raw]

    def elem_score(family, e, t):
        num, cnt = 0, 0
        for i, tg in enumerate(index_tags):
            lst = tg.knowledge if family == "k" else tg.capabilities
            if e in lst:
                cnt += 1
                w = weights(len(lst))
                num += sum(w[j] for j, lab in enumerate(lst) if lab == e) * (Y[i][t] - beta * C[i][t])
        if cnt == 0:
            return sum(Y[i][t] - beta * C[i][t] for i in range(len(index_tags))) / len(index_tags)
        return num / cnt

    out = []
    for tg in new_tags:
        klist = [k if k in kseen else other_label for k in tg.knowledge]
        clist = [c for c in tg.capabilities if c in cseen]
        wk, wc = weights(len(klist)), weights(len(clist))
        row = []
        for t in range(T):
            if not klist and not clist:
                row.append(sum(Y[i][t] - beta * C[i][t] for i in range(len(index_tags))) / len(index_tags))
                continue
            ks = sum(wk[j] * elem_score("k", k, t) for j, k in enumerate(klist))
            cs = sum(wc[j] * elem_score("c", c, t) for j, c in enumerate(clist))
            row.append(gamma * ks + delta * cs)
        out.append(row)
    return out
