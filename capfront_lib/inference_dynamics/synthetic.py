"""A synthetic routing world with known truth (spec §3.2).

Queries carry latent ranked knowledge and capability lists; model ``t`` succeeds on query ``x`` with

    logit p_t(x) = mu_t + kappa_K * sum_j w_j(alpha_true) a_t[k_j] + kappa_C * sum_j w_j(alpha_true) b_t[c_j] - d_x,

``d_x ~ N(0, sigma_d)`` a query difficulty shared by all models. The observed score is the mean of
``n_trials`` Bernoulli draws (a binomial count, drawn once) or ``P`` itself with ``noise_free=True``.
Index and evaluation benchmarks are disjoint (out-of-distribution by benchmark) and each benchmark has
its own Dirichlet popularity over elements, so the evaluation mix differs from the index mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capfront_lib.inference_dynamics.scoring import TagCodes, Tags, encode_codes

PAPER_CAPABILITIES = (
    "Reasoning",
    "Comprehension",
    "Instruction Following",
    "Agentic",
    "Knowledge Retrieval",
    "Coding",
    "In-context Learning",
    "Multilingual",
)


@dataclass
class RoutingWorld:
    """Output of :func:`make_routing_world` (all arrays are ``n x T`` unless stated)."""

    queries: pd.DataFrame  # id, benchmark, split, knowledge (tuple), capabilities (tuple), text
    models: list[str]
    knowledge_elements: list[str]  # seen elements first, then the eval-only (unseen) ones
    capability_elements: list[str]
    P: np.ndarray  # true success probabilities
    Y: np.ndarray  # observed scores (mean of n_trials Bernoulli draws)
    C: np.ndarray  # cost per query, USD
    a: np.ndarray  # T x E_K knowledge aptitudes (incl. unseen elements)
    b: np.ndarray  # T x E_C capability aptitudes
    mu: np.ndarray  # T global logits
    prices: pd.DataFrame  # per model: usd_per_mtok_in, usd_per_mtok_out
    element_words: dict[str, list[str]]
    codes: TagCodes  # the latent tags of every query as integer codes (fast path)

    def mask(self, split: str) -> np.ndarray:
        return (self.queries["split"] == split).to_numpy()

    def tags(self, split: str | None = None) -> list[Tags]:
        q = self.queries if split is None else self.queries[self.queries["split"] == split]
        return [Tags(k, c) for k, c in zip(q["knowledge"], q["capabilities"])]

    def tag_codes(self, split: str | None = None) -> TagCodes:
        """The latent tags as :class:`TagCodes` (all queries, or one split)."""
        return self.codes if split is None else self.codes.subset(self.mask(split))

    def bayes_choice(self, split: str = "eval") -> np.ndarray:
        """Bayes oracle: argmax of the true success probability (known aptitudes)."""
        return np.argmax(self.P[self.mask(split)], axis=1)


def _sample_codes(rng: np.random.Generator, pop: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Ranked lists without replacement, Plackett-Luce in each row's popularity ``pop`` (``n x E``; Gumbel
    top-k), as codes ``n x max(lengths)`` padded with ``-1``."""
    n, E = pop.shape
    L = int(lengths.max()) if len(lengths) else 1
    keys = np.log(np.maximum(pop, 1e-300)) + rng.gumbel(size=(n, E))
    order = np.argsort(-keys, axis=1)[:, :L]
    order[np.arange(L)[None, :] >= lengths[:, None]] = -1
    return order


def _pseudo_text(rng, kcodes: np.ndarray, ccodes: np.ndarray, *, n_knowledge_total: int, words_per_element: int,
                 text_noise: float, n_vocab: int, mentions=(4, 2, 1)) -> list[np.ndarray]:
    """Word indices of each query's pseudo-text: the element at rank r is mentioned 4/2/1 times (r = 1/2/3+),
    plus a share ``text_noise`` of uniformly drawn foreign words; order shuffled. Vectorised."""
    n = kcodes.shape[0]
    ment = np.asarray(mentions)
    parts_q, parts_e, parts_m = [], [], []
    for codes, offset in ((kcodes, 0), (ccodes, n_knowledge_total)):
        v = codes >= 0
        rank = np.broadcast_to(np.arange(codes.shape[1])[None, :], codes.shape)
        parts_q.append(np.broadcast_to(np.arange(n)[:, None], codes.shape)[v])
        parts_e.append(codes[v] + offset)
        parts_m.append(ment[np.minimum(rank[v], len(ment) - 1)])
    q, el, m = (np.concatenate(x) for x in (parts_q, parts_e, parts_m))
    o = np.argsort(q, kind="stable")
    q, el, m = q[o], el[o], m[o]
    qq = np.repeat(q, m)
    words = np.repeat(el, m) * words_per_element + rng.integers(0, words_per_element, m.sum())
    n_sig = np.bincount(qq, minlength=n)
    n_noise = (np.rint(text_noise * n_sig / (1 - text_noise)).astype(int) if text_noise < 1 else n_sig)
    qn = np.repeat(np.arange(n), n_noise)
    allq = np.concatenate([qq, qn])
    allw = np.concatenate([words, rng.integers(0, n_vocab, n_noise.sum())])
    order = np.lexsort((rng.random(len(allq)), allq))
    allq, allw = allq[order], allw[order]
    cuts = np.cumsum(np.bincount(allq, minlength=n))[:-1]
    return np.split(allw, cuts)


def _words(rng: np.random.Generator, n: int) -> list[str]:
    cons, vow = list("bdfgklmnprstvz"), list("aeiou")
    out: set[str] = set()
    res: list[str] = []
    while len(res) < n:
        w = "".join(rng.choice(cons) + rng.choice(vow) for _ in range(3))
        if w not in out:
            out.add(w)
            res.append(w)
    return res


def make_routing_world(
    seed: int | np.random.Generator = 0,
    *,
    n_models: int = 6,
    n_knowledge: int = 12,
    n_capabilities: int = 8,
    n_index: int = 3000,
    n_eval: int = 1500,
    n_bench_index: int = 6,
    n_bench_eval: int = 3,
    max_k_tags: int = 3,
    max_c_tags: int = 3,
    aptitude_design: Literal["gaussian", "specialist", "ladder"] = "gaussian",
    specialisation: float = 1.0,
    hi: float = 1.5,
    lo: float = -0.5,
    ladder_gap: float = 0.625,
    mu_sd: float = 0.3,
    kappa_k: float = 1.0,
    kappa_c: float = 1.0,
    alpha_true: float = 0.5,
    sigma_d: float = 1.0,
    unseen_frac: float = 0.1,
    n_trials: int = 1,
    noise_free: bool = False,
    popularity: Literal["dirichlet", "uniform"] = "dirichlet",
    concentration: float = 1.0,
    price_quality_corr: float = 0.0,
    text_noise: float = 0.2,
    words_per_element: int = 8,
    with_text: bool = True,
) -> RoutingWorld:
    """Draw a synthetic routing world (spec §3.2); ``seed`` is an int or a ``numpy.random.Generator``.

    Aptitude designs: ``"gaussian"`` (``a = specialisation * z``), ``"specialist"`` (each element has one
    specialist model, assigned round-robin over a permuted pool, aptitude ``hi``; others ``lo``) and
    ``"ladder"`` (per element a random order of the models with logits ``0, gap, 2 gap, ...``; with
    ``mu_sd=0`` every element has a unique best model). ``with_text=False`` skips the pseudo-text. Costs are ``(in_tok * $in + out_tok * $out)/1e6``
    with prices log-uniform on [0.1, 10] USD per million tokens (output 3x input).
    """
    ints = dict(n_models=n_models, n_knowledge=n_knowledge, n_capabilities=n_capabilities, n_index=n_index,
                n_eval=n_eval, n_bench_index=n_bench_index, n_bench_eval=n_bench_eval, max_k_tags=max_k_tags,
                max_c_tags=max_c_tags, n_trials=n_trials, words_per_element=words_per_element)
    for name, v in ints.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if max_k_tags > n_knowledge:
        raise ValueError(f"max_k_tags ({max_k_tags}) cannot exceed n_knowledge ({n_knowledge})")
    if max_c_tags > n_capabilities:
        raise ValueError(f"max_c_tags ({max_c_tags}) cannot exceed n_capabilities ({n_capabilities})")
    for name, v in (("unseen_frac", unseen_frac), ("text_noise", text_noise)):
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    if not -1.0 <= price_quality_corr <= 1.0:
        raise ValueError(f"price_quality_corr must be in [-1, 1], got {price_quality_corr!r}")
    if sigma_d < 0 or mu_sd < 0 or specialisation < 0 or concentration <= 0:
        raise ValueError("sigma_d, mu_sd and specialisation must be >= 0 and concentration > 0")
    if aptitude_design not in ("gaussian", "specialist", "ladder"):
        raise ValueError(f"aptitude_design must be 'gaussian', 'specialist' or 'ladder', got {aptitude_design!r}")
    if popularity not in ("dirichlet", "uniform"):
        raise ValueError(f"popularity must be 'dirichlet' or 'uniform', got {popularity!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    T = n_models
    n_unseen = int(np.ceil(unseen_frac * n_knowledge)) if unseen_frac > 0 else 0
    EK = n_knowledge + n_unseen
    EC = n_capabilities
    models = [f"M{t + 1}" for t in range(T)]
    kel = [f"k{e:02d}" for e in range(n_knowledge)] + [f"u{e:02d}" for e in range(n_unseen)]
    cel = list(PAPER_CAPABILITIES[:EC]) + [f"cap{e:02d}" for e in range(EC - len(PAPER_CAPABILITIES))]

    # prices and global strength
    p_in = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=T))
    p_out = 3.0 * p_in
    z = rng.standard_normal(T)
    lp = np.log(p_in)
    lp_std = (lp - lp.mean()) / (lp.std() if lp.std() > 0 else 1.0)
    mu = mu_sd * (np.sqrt(1 - price_quality_corr**2) * z + price_quality_corr * lp_std)

    def aptitudes(E: int) -> np.ndarray:
        if aptitude_design == "gaussian":
            return specialisation * rng.standard_normal((T, E))
        if aptitude_design == "specialist":
            perm = rng.permutation(T)
            out = np.full((T, E), lo, dtype=float)
            out[perm[np.arange(E) % T], np.arange(E)] = hi
            return out
        out = np.empty((T, E))
        for e in range(E):
            out[rng.permutation(T), e] = ladder_gap * np.arange(T)
        return out

    a = aptitudes(EK)
    b = aptitudes(EC)

    # benchmarks and their popularity profiles
    n_bench = n_bench_index + n_bench_eval
    if popularity == "uniform":
        popk = np.full((n_bench, n_knowledge), 1.0 / n_knowledge)
        popc = np.full((n_bench, EC), 1.0 / EC)
    else:
        popk = rng.dirichlet(np.full(n_knowledge, concentration), size=n_bench)
        popc = rng.dirichlet(np.full(EC, concentration), size=n_bench)
    split = np.array(["index"] * n_index + ["eval"] * n_eval)
    bench = np.concatenate([rng.integers(0, n_bench_index, n_index), n_bench_index + rng.integers(0, n_bench_eval, n_eval)])
    n = n_index + n_eval
    lk = rng.integers(1, max_k_tags + 1, n)
    lc = rng.integers(1, max_c_tags + 1, n)
    kcodes = _sample_codes(rng, popk[bench], lk)
    ccodes = _sample_codes(rng, popc[bench], lc)
    if n_unseen:
        # each evaluation tag becomes an index-unseen element with probability unseen_frac (distinct per query)
        ev = np.flatnonzero(split == "eval")
        sub = kcodes[ev]
        swap = (rng.random(sub.shape) < unseen_frac) & (sub >= 0)
        perm = np.argsort(rng.random((len(ev), n_unseen)), axis=1)
        slot = np.cumsum(swap, axis=1) - 1
        ok = swap & (slot < n_unseen)
        rows = np.broadcast_to(np.arange(len(ev))[:, None], sub.shape)
        sub[ok] = n_knowledge + perm[rows[ok], slot[ok]]
        kcodes[ev] = sub

    # success probabilities (rank-weighted aptitudes as sparse products)
    Wk, _ = encode_codes(kcodes, EK, alpha_true)
    Wc, _ = encode_codes(ccodes, EC, alpha_true)
    logit = mu[None, :] + kappa_k * (Wk @ a.T) + kappa_c * (Wc @ b.T)
    logit = np.asarray(logit - sigma_d * rng.standard_normal(n)[:, None])
    P = 1.0 / (1.0 + np.exp(-logit))
    Y = P.copy() if noise_free else rng.binomial(n_trials, P) / n_trials

    # costs
    in_tok = np.exp(rng.normal(np.log(600), 0.5, n))
    verbosity = np.exp(rng.normal(0.0, 0.3, T))
    out_tok = np.exp(rng.normal(np.log(300), 0.4, (n, T))) * verbosity[None, :]
    C = (in_tok[:, None] * p_in[None, :] + out_tok * p_out[None, :]) / 1e6

    # pseudo-text
    all_el = kel + cel
    vocab = _words(rng, words_per_element * len(all_el))
    element_words = {e: vocab[j * words_per_element:(j + 1) * words_per_element] for j, e in enumerate(all_el)}
    texts = _pseudo_text(rng, kcodes, ccodes, n_knowledge_total=EK, words_per_element=words_per_element,
                         text_noise=text_noise, n_vocab=len(vocab)) if with_text else None
    if texts is not None:
        vocab_arr = np.asarray(vocab, dtype=object)
        texts = [" ".join(vocab_arr[t]) for t in texts]

    queries = pd.DataFrame(
        {
            "id": [f"q{i:06d}" for i in range(n)],
            "benchmark": [f"{'idx' if b_ < n_bench_index else 'ood'}{b_:02d}" for b_ in bench],
            "split": split,
            "knowledge": _code_tuples(kcodes, kel),
            "capabilities": _code_tuples(ccodes, cel),
            "text": texts if with_text else [""] * n,
        }
    )
    prices = pd.DataFrame({"usd_per_mtok_in": p_in, "usd_per_mtok_out": p_out}, index=pd.Index(models, name="model"))
    codes = TagCodes(kcodes, ccodes, tuple(kel), tuple(cel))
    return RoutingWorld(queries, models, kel, cel, P, Y, C, a, b, mu, prices, element_words, codes)


def _code_tuples(codes: np.ndarray, names: list[str]) -> list[tuple[str, ...]]:
    arr = np.asarray(names, dtype=object)
    return [tuple(arr[r[r >= 0]]) for r in codes]
