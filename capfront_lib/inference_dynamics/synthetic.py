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

from capfront_lib.inference_dynamics.scoring import Tags, encode_lists

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

    def mask(self, split: str) -> np.ndarray:
        return (self.queries["split"] == split).to_numpy()

    def tags(self, split: str | None = None) -> list[Tags]:
        q = self.queries if split is None else self.queries[self.queries["split"] == split]
        return [Tags(k, c) for k, c in zip(q["knowledge"], q["capabilities"])]

    def bayes_choice(self, split: str = "eval") -> np.ndarray:
        """Bayes oracle: argmax of the true success probability (known aptitudes)."""
        return np.argmax(self.P[self.mask(split)], axis=1)


def _sample_lists(rng: np.random.Generator, pop: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    """Ranked lists without replacement, Plackett-Luce in the popularity (Gumbel top-k)."""
    n, E = len(lengths), pop.shape[-1]
    keys = np.log(np.maximum(pop, 1e-300)) + rng.gumbel(size=(n, E))
    order = np.argsort(-keys, axis=1)
    return [order[i, : lengths[i]].tolist() for i in range(n)]


def _pseudo_text(rng, klists, clists, *, n_knowledge_total: int, words_per_element: int, text_noise: float,
                 n_vocab: int, mentions=(4, 2, 1)) -> list[np.ndarray]:
    """Word indices of each query's pseudo-text: the element at rank r is mentioned 4/2/1 times (r = 1/2/3+),
    plus a share ``text_noise`` of uniformly drawn foreign words; order shuffled. Vectorised."""
    q, el, m = [], [], []
    for i, (kl, cl) in enumerate(zip(klists, clists)):
        for r, e in enumerate(kl):
            q.append(i); el.append(e); m.append(mentions[min(r, 2)])
        for r, e in enumerate(cl):
            q.append(i); el.append(n_knowledge_total + e); m.append(mentions[min(r, 2)])
    q, el, m = np.asarray(q), np.asarray(el), np.asarray(m)
    qq = np.repeat(q, m)
    words = np.repeat(el, m) * words_per_element + rng.integers(0, words_per_element, m.sum())
    n = len(klists)
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
    klists: list[list[int]] = [None] * n  # type: ignore[list-item]
    clists: list[list[int]] = [None] * n  # type: ignore[list-item]
    for bidx in range(n_bench):
        rows = np.flatnonzero(bench == bidx)
        for r, l in zip(rows, _sample_lists(rng, np.broadcast_to(popk[bidx], (len(rows), n_knowledge)), lk[rows])):
            klists[r] = l
        for r, l in zip(rows, _sample_lists(rng, np.broadcast_to(popc[bidx], (len(rows), EC)), lc[rows])):
            clists[r] = l
    if n_unseen:
        for r in np.flatnonzero(split == "eval"):
            lst = klists[r]
            swap = rng.random(len(lst)) < unseen_frac
            if swap.any():
                cand = rng.permutation(n_unseen)[: int(swap.sum())] + n_knowledge
                for j, u in zip(np.flatnonzero(swap), cand):
                    lst[j] = int(u)

    # success probabilities (rank-weighted aptitudes as sparse products)
    Wk, _ = encode_lists(klists, list(range(EK)), alpha_true, unknown="error")
    Wc, _ = encode_lists(clists, list(range(EC)), alpha_true, unknown="error")
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
    texts = _pseudo_text(rng, klists, clists, n_knowledge_total=EK, words_per_element=words_per_element,
                         text_noise=text_noise, n_vocab=len(vocab)) if with_text else None
    if texts is not None:
        vocab_arr = np.asarray(vocab, dtype=object)
        texts = [" ".join(vocab_arr[t]) for t in texts]

    queries = pd.DataFrame(
        {
            "id": [f"q{i:06d}" for i in range(n)],
            "benchmark": [f"{'idx' if b_ < n_bench_index else 'ood'}{b_:02d}" for b_ in bench],
            "split": split,
            "knowledge": [tuple(kel[e] for e in l) for l in klists],
            "capabilities": [tuple(cel[e] for e in l) for l in clists],
            "text": texts if with_text else [""] * n,
        }
    )
    prices = pd.DataFrame({"usd_per_mtok_in": p_in, "usd_per_mtok_out": p_out}, index=pd.Index(models, name="model"))
    return RoutingWorld(queries, models, kel, cel, P, Y, C, a, b, mu, prices, element_words)
