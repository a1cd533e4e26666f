"""Taggers (ranked knowledge + capabilities per query) and knowledge consolidation (spec §1.1, §1.5, §3.1).

The paper asks an auxiliary LLM (GPT-4o-mini) for two ranked lists per query. Offline, capfront uses
query metadata (:class:`MetadataTagger`) or a deterministic text tagger (:class:`KeywordTagger`,
:class:`TfidfTagger`). :class:`LLMTagger` wraps any completion function behind the same interface but
refuses to run unless ``CAPFRONT_ALLOW_NETWORK=1``; only its response parser is tested.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np
import pandas as pd

from capfront_lib.inference_dynamics.scoring import OTHER, TagCodes, Tags
from capfront_lib.inference_dynamics.synthetic import PAPER_CAPABILITIES

CAPABILITIES = PAPER_CAPABILITIES  # the 8 of the App. D prompt (§3.2 lists 7, without In-context Learning)


class Tagger(Protocol):
    """Anything with ``tag(df) -> list[Tags]`` and a ``cost_per_query_usd`` attribute."""

    cost_per_query_usd: float

    def tag(self, df: pd.DataFrame) -> list[Tags]: ...


# ---------------------------------------------------------------------------------------------
# metadata tagger


SCIBENCH_SUBJECTS = {
    "atkins": "physical chemistry",
    "matter": "physical chemistry",
    "chemmc": "chemistry",
    "quan": "quantum chemistry",
    "fund": "physics",
    "class": "classical mechanics",
    "thermo": "thermodynamics",
    "diff": "differential equations",
    "stat": "statistics",
    "calculus": "calculus",
}
THEOREMQA_SUBJECTS = {"EECS": "electrical engineering and computer science"}

#: Hand rule table (ours, documented in the chapter): ranked capabilities per MMLU-Pro category.
CATEGORY_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "math": ("Reasoning",),
    "physics": ("Reasoning", "Knowledge Retrieval"),
    "chemistry": ("Reasoning", "Knowledge Retrieval"),
    "engineering": ("Reasoning", "Knowledge Retrieval"),
    "computer science": ("Reasoning", "Coding", "Knowledge Retrieval"),
    "business": ("Reasoning", "Knowledge Retrieval"),
    "economics": ("Knowledge Retrieval", "Reasoning"),
    "biology": ("Knowledge Retrieval", "Reasoning"),
    "health": ("Knowledge Retrieval", "Reasoning"),
    "psychology": ("Knowledge Retrieval", "Comprehension"),
    "law": ("Knowledge Retrieval", "Reasoning", "Comprehension"),
    "history": ("Knowledge Retrieval", "Comprehension"),
    "philosophy": ("Comprehension", "Reasoning", "Knowledge Retrieval"),
    "other": ("Knowledge Retrieval",),
}
REASONING_FIRST_SOURCES = ("theoremQA", "scibench")


def mmlu_pro_subject(src: str) -> str:
    """Readable subject from an MMLU-Pro ``src`` code (``ori_mmlu-high_school_physics`` -> ``high school physics``)."""
    src = str(src)
    head, _, tail = src.partition("-")
    if not tail:
        raise ValueError(f"src {src!r} has no '<source>-<subject>' form")
    if head == "ori_mmlu":
        return tail.replace("_", " ").lower()
    if head == "scibench":
        if tail not in SCIBENCH_SUBJECTS:
            raise ValueError(f"unknown SciBench code {tail!r} in src {src!r}")
        return SCIBENCH_SUBJECTS[tail]
    if head == "theoremQA" and tail in THEOREMQA_SUBJECTS:
        return THEOREMQA_SUBJECTS[tail]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tail).lower()


def mmlu_pro_capabilities(category: str, src: str) -> tuple[str, ...]:
    """Capabilities from :data:`CATEGORY_CAPABILITIES`; TheoremQA and SciBench put Reasoning first."""
    if category not in CATEGORY_CAPABILITIES:
        raise ValueError(f"unknown MMLU-Pro category {category!r}; known: {sorted(CATEGORY_CAPABILITIES)}")
    caps = list(CATEGORY_CAPABILITIES[category])
    if str(src).split("-")[0] in REASONING_FIRST_SOURCES:
        caps = ["Reasoning"] + [c for c in caps if c != "Reasoning"]
    return tuple(caps)


def corrupt_lists(lists: Sequence[Sequence[str]], universe: Sequence[str], p: float, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Swap each tag for a uniformly random element of ``universe`` with probability ``p`` (tag noise)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"tag_noise must be in [0, 1], got {p!r}")
    uni = np.asarray(list(universe), dtype=object)
    if p == 0:
        return [tuple(l) for l in lists]
    lens = np.array([len(l) for l in lists])
    flat = np.array([lab for l in lists for lab in l], dtype=object)
    swap = rng.random(len(flat)) < p
    draws = rng.integers(0, len(uni), len(flat))
    flat = np.where(swap, uni[draws], flat)
    out, start = [], 0
    for L in lens:
        out.append(tuple(flat[start:start + L]))
        start += L
    return out


def corrupt_codes(codes: np.ndarray, n_universe: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """:func:`corrupt_lists` on integer codes (``-1`` = no tag): each tag becomes a uniform draw from
    ``range(n_universe)`` with probability ``p``. Draws the same random numbers, in the same order (row-major
    over the tags), as :func:`corrupt_lists` on the same lists, so both give the same tags."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"tag_noise must be in [0, 1], got {p!r}")
    codes = np.asarray(codes, dtype=np.int64)
    if p == 0:
        return codes.copy()
    valid = codes >= 0
    flat = codes[valid]
    swap = rng.random(len(flat)) < p
    draws = rng.integers(0, n_universe, len(flat))
    out = codes.copy()
    out[valid] = np.where(swap, draws, flat)
    return out


class MetadataTagger:
    """Tags from metadata columns (cost 0).

    * Tables with ``knowledge``/``capabilities`` columns (the synthetic world) return those lists,
      corrupted with probability ``tag_noise`` per tag (swap for a random element seen in the table
      or in ``universe_k`` / ``universe_c``).
    * MMLU-Pro items (``category``, ``src``): knowledge ``[category, subject]`` (``knowledge="category"``
      gives ``[category]`` only), capabilities from :func:`mmlu_pro_capabilities`.
    * Other tables: ``knowledge_cols`` (ranked columns) and a fixed ``capabilities`` list.
    """

    cost_per_query_usd = 0.0

    def __init__(
        self,
        *,
        tag_noise: float = 0.0,
        seed: int | np.random.Generator = 0,
        knowledge: str = "category+subject",
        knowledge_cols: Sequence[str] | None = None,
        capabilities: Sequence[str] | None = None,
        universe_k: Sequence[str] | None = None,
        universe_c: Sequence[str] | None = None,
    ) -> None:
        if not 0.0 <= tag_noise <= 1.0:
            raise ValueError(f"tag_noise must be in [0, 1], got {tag_noise!r}")
        if knowledge not in ("category+subject", "category", "subject"):
            raise ValueError(f"knowledge must be 'category+subject', 'category' or 'subject', got {knowledge!r}")
        self.tag_noise = float(tag_noise)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.knowledge = knowledge
        self.knowledge_cols = list(knowledge_cols) if knowledge_cols else None
        self.capabilities = tuple(capabilities) if capabilities else None
        self.universe_k = universe_k
        self.universe_c = universe_c

    def tag(self, df: pd.DataFrame) -> list[Tags]:
        if "knowledge" in df.columns and "capabilities" in df.columns:
            kl = [tuple(x) for x in df["knowledge"]]
            cl = [tuple(x) for x in df["capabilities"]]
        elif self.knowledge_cols is not None:
            missing = [c for c in self.knowledge_cols if c not in df.columns]
            if missing:
                raise ValueError(f"MetadataTagger: columns {missing} are missing; the table has {list(df.columns)[:10]}")
            kl = [tuple(str(v) for v in row if pd.notna(v)) for row in df[self.knowledge_cols].itertuples(index=False)]
            cl = [self.capabilities or ()] * len(df)
        elif "category" in df.columns and "src" in df.columns:
            subj = [mmlu_pro_subject(s) for s in df["src"]]
            cats = df["category"].astype(str).tolist()
            if self.knowledge == "category":
                kl = [(c,) for c in cats]
            elif self.knowledge == "subject":
                kl = [(s,) for s in subj]
            else:
                kl = [(c, s) if s != c else (c,) for c, s in zip(cats, subj)]
            cl = [mmlu_pro_capabilities(c, s) for c, s in zip(cats, df["src"])]
        else:
            raise ValueError(
                "MetadataTagger needs columns 'knowledge' and 'capabilities', or 'category' and 'src', "
                f"or knowledge_cols=...; the table has {list(df.columns)[:10]}"
            )
        if self.tag_noise > 0:
            uk = self.universe_k or sorted({k for l in kl for k in l})
            uc = self.universe_c or sorted({c for l in cl for c in l})
            kl = corrupt_lists(kl, uk, self.tag_noise, self.rng)
            cl = corrupt_lists(cl, uc, self.tag_noise, self.rng)
        return [Tags(k, c) for k, c in zip(kl, cl)]

    def tag_codes(self, codes: TagCodes) -> TagCodes:
        """The latent tags of a synthetic world (``RoutingWorld.codes``), corrupted like :meth:`tag` (fast path).

        The noise universe is the code's element list (``universe_k``/``universe_c`` must equal it if given)."""
        for uni, el, name in ((self.universe_k, codes.kelements, "universe_k"), (self.universe_c, codes.celements, "universe_c")):
            if uni is not None and tuple(uni) != tuple(el):
                raise ValueError(f"MetadataTagger.tag_codes: {name} must equal the codes' element list")
        if self.tag_noise == 0:
            return codes
        k = corrupt_codes(codes.k, len(codes.kelements), self.tag_noise, self.rng)
        c = corrupt_codes(codes.c, len(codes.celements), self.tag_noise, self.rng)
        return TagCodes(k, c, codes.kelements, codes.celements)


# ---------------------------------------------------------------------------------------------
# text taggers


def _rank_codes(scores: np.ndarray, max_tags: int, min_score: float) -> np.ndarray:
    """:func:`_rank_hits` as codes (``n x max_tags``, ``-1`` padded)."""
    k = min(max_tags, scores.shape[1])
    if k == 0:
        return np.full((scores.shape[0], 1), -1, dtype=np.int64)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    keep = np.take_along_axis(scores, order, axis=1) > min_score
    return np.where(keep, order, -1).astype(np.int64)


def _rank_hits(scores: np.ndarray, names: Sequence[str], max_tags: int, min_score: float) -> list[tuple[str, ...]]:
    """Per row: elements with score > min_score, by score descending, ties by vocabulary order."""
    order = np.argsort(-scores, axis=1, kind="stable")
    out = []
    for i in range(scores.shape[0]):
        sel = [names[j] for j in order[i, :max_tags] if scores[i, j] > min_score]
        out.append(tuple(sel))
    return out


class KeywordTagger:
    """Deterministic lexicon tagger: count lexicon hits per element, rank by count (ties: vocabulary order).

    Elements with fewer than ``min_hits`` hits are not tagged (``min_hits=1``: any hit counts).
    """

    cost_per_query_usd = 0.0

    def __init__(self, knowledge_lexicon: Mapping[str, Sequence[str]], capability_lexicon: Mapping[str, Sequence[str]],
                 *, max_knowledge: int = 5, max_capabilities: int = 3, min_hits: int = 1, text_col: str = "text") -> None:
        if not knowledge_lexicon:
            raise ValueError("knowledge_lexicon is empty")
        if min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {min_hits!r}")
        self.min_hits = int(min_hits)
        self.kl = {k: [w.lower() for w in v] for k, v in knowledge_lexicon.items()}
        self.cl = {k: [w.lower() for w in v] for k, v in capability_lexicon.items()}
        self.max_k, self.max_c, self.text_col = max_knowledge, max_capabilities, text_col

    @staticmethod
    def _counts(texts: Sequence[str], lex: Mapping[str, Sequence[str]]) -> np.ndarray:
        """Hits per (text, element): token counts (scikit-learn) times a word -> element incidence matrix."""
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer

        names = list(lex)
        words = sorted({w for e in names for w in lex[e]})
        if not words:
            return np.zeros((len(texts), len(names)))
        widx = {w: j for j, w in enumerate(words)}
        rows = [widx[w] for e in names for w in lex[e]]
        cols = [j for j, e in enumerate(names) for _ in lex[e]]
        inc = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(words), len(names)))
        vec = CountVectorizer(vocabulary=words, token_pattern=r"[\w']+", lowercase=True)
        X = vec.transform([str(t) for t in texts])
        return np.asarray((X @ inc).todense())

    def tag(self, df: pd.DataFrame) -> list[Tags]:
        if self.text_col not in df.columns:
            raise ValueError(f"KeywordTagger needs a text column {self.text_col!r}; the table has {list(df.columns)[:10]}")
        return self.tags_from_counts(*self.counts(df))

    def counts(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Lexicon hits per query and knowledge element, and per query and capability."""
        if self.text_col not in df.columns:
            raise ValueError(f"KeywordTagger needs a text column {self.text_col!r}; the table has {list(df.columns)[:10]}")
        texts = df[self.text_col].tolist()
        ck = self._counts(texts, self.kl)
        cc = self._counts(texts, self.cl) if self.cl else np.zeros((len(texts), 0))
        return ck, cc

    def tags_from_counts(self, ck: np.ndarray, cc: np.ndarray, min_hits: int | None = None) -> list[Tags]:
        """Ranked tags from hit counts (``min_hits`` overrides the tagger's threshold)."""
        thr = (self.min_hits if min_hits is None else min_hits) - 0.5
        k = _rank_hits(ck, list(self.kl), self.max_k, thr)
        c = _rank_hits(cc, list(self.cl), self.max_c, thr) if self.cl else [()] * len(ck)
        return [Tags(a, b) for a, b in zip(k, c)]

    def codes_from_counts(self, ck: np.ndarray, cc: np.ndarray, min_hits: int | None = None) -> TagCodes:
        """:meth:`tags_from_counts` as :class:`TagCodes` over the lexicons' element lists (fast path)."""
        thr = (self.min_hits if min_hits is None else min_hits) - 0.5
        k = _rank_codes(ck, self.max_k, thr)
        c = _rank_codes(cc, self.max_c, thr) if self.cl else np.full((len(ck), 1), -1, dtype=np.int64)
        return TagCodes(k, c, tuple(self.kl), tuple(self.cl))


class TfidfTagger:
    """TF-IDF cosine between a query's text and one prototype document per element (scikit-learn)."""

    cost_per_query_usd = 0.0

    def __init__(self, knowledge_docs: Mapping[str, str], capability_docs: Mapping[str, str], *, max_knowledge: int = 5,
                 max_capabilities: int = 3, min_score: float = 0.05, text_col: str = "text") -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.kn, self.cn = list(knowledge_docs), list(capability_docs)
        self.vec = TfidfVectorizer().fit(list(knowledge_docs.values()) + list(capability_docs.values()))
        self.kp = self.vec.transform(list(knowledge_docs.values()))
        self.cp = self.vec.transform(list(capability_docs.values()))
        self.max_k, self.max_c, self.min_score, self.text_col = max_knowledge, max_capabilities, min_score, text_col

    def tag(self, df: pd.DataFrame) -> list[Tags]:
        if self.text_col not in df.columns:
            raise ValueError(f"TfidfTagger needs a text column {self.text_col!r}; the table has {list(df.columns)[:10]}")
        X = self.vec.transform(df[self.text_col].astype(str).tolist())
        k = _rank_hits((X @ self.kp.T).toarray(), self.kn, self.max_k, self.min_score)
        c = _rank_hits((X @ self.cp.T).toarray(), self.cn, self.max_c, self.min_score)
        return [Tags(a, b) for a, b in zip(k, c)]


# ---------------------------------------------------------------------------------------------
# LLM tagger (never called in tests or builds)

TAG_PROMPT = """You profile a user query for a model router.
1. Capabilities: choose the capabilities the query needs, most important first, only from this list:
   Reasoning; Comprehension (understanding long passages); Instruction Following (several constraints);
   Agentic (planning and acting); Knowledge Retrieval; Coding; In-context Learning; Multilingual.
   If the query is not in English, Multilingual must be among the first three.
2. Knowledge: name the knowledge domains the query needs, most important first (free text).
Answer in exactly this format:
Capabilities: <comma-separated list>
Knowledge: 1. <domain> 2. <domain> ...

Query:
{query}
"""


def canonical_capability(label: str) -> str | None:
    """Map a free-text capability to one of :data:`CAPABILITIES` (case/spacing-insensitive), else ``None``."""
    key = re.sub(r"[^a-z]", "", str(label).lower())
    for c in CAPABILITIES:
        if re.sub(r"[^a-z]", "", c.lower()) == key:
            return c
    return None


def parse_tag_response(text: str) -> Tags:
    """Parse ``Capabilities: a, b`` / ``Knowledge: 1. x 2. y`` into :class:`Tags` (unknown capabilities dropped)."""
    cap_m = re.search(r"capabilities\s*:\s*(.*)", text, flags=re.I)
    know_m = re.search(r"knowledge\s*:\s*(.*)", text, flags=re.I)
    if cap_m is None and know_m is None:
        raise ValueError(f"tag response has neither a 'Capabilities:' nor a 'Knowledge:' line: {text[:80]!r}")
    caps: list[str] = []
    if cap_m:
        for part in re.split(r"[,;]", cap_m.group(1)):
            c = canonical_capability(re.sub(r"^\s*\d+\.\s*", "", part).strip())
            if c and c not in caps:
                caps.append(c)
    know: list[str] = []
    if know_m:
        body = know_m.group(1).strip()
        parts = re.split(r"\s*\d+\.\s*", body) if re.match(r"\d+\.", body) else re.split(r"[,;]", body)
        know = [p.strip().rstrip(",;") for p in parts if p.strip().rstrip(",;")]
    return Tags(know, caps)


class LLMTagger:
    """Tagger backed by an LLM completion function ``complete_fn(prompt, model) -> str`` (App. D prompt, paraphrased).

    Refuses to run unless the environment variable ``CAPFRONT_ALLOW_NETWORK`` is ``1``: tests and book
    builds never call it.
    """

    def __init__(self, complete_fn: Callable[[str, str], str], model: str = "gpt-4o-mini", *,
                 cost_per_query_usd: float = 1.2e-4, text_col: str = "text") -> None:
        self.complete_fn, self.model = complete_fn, model
        self.cost_per_query_usd = float(cost_per_query_usd)
        self.text_col = text_col

    def tag(self, df: pd.DataFrame) -> list[Tags]:
        if os.environ.get("CAPFRONT_ALLOW_NETWORK", "") != "1":
            raise RuntimeError("LLMTagger calls a network API; set CAPFRONT_ALLOW_NETWORK=1 to allow it")
        return [parse_tag_response(self.complete_fn(TAG_PROMPT.format(query=q), self.model)) for q in df[self.text_col]]


# ---------------------------------------------------------------------------------------------
# knowledge consolidation (§1.5)


def tfidf_char_embedder(labels: Sequence[str]) -> np.ndarray:
    """Offline default embedder: TF-IDF of character 3-5-grams (word-boundary), L2-normalised rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))
    return vec.fit_transform([str(l).lower() for l in labels]).toarray()


class KnowledgeConsolidator:
    """Merge near-duplicate knowledge labels and send rare/unseen ones to ``'Other'`` (paper §4.1, spec §3.1).

    ``fit``: sort labels by index frequency (ties alphabetical), greedy leader clustering (a label joins
    the most similar existing leader if cosine > ``threshold``, else becomes a leader), then leaders held
    by fewer than ``min_freq`` index queries become ``'Other'``. ``transform``: a label maps to its
    leader; a new label to the most similar leader if cosine > ``threshold`` (``unseen="similar"``) or to
    ``'Other'`` (``unseen="exact"``, the paper's literal rule). ``embedder(labels) -> array`` (rows are
    normalised here); the default is :func:`tfidf_char_embedder`, refitted on all labels it sees.
    """

    def __init__(self, embedder: Callable[[Sequence[str]], np.ndarray] | None = None, threshold: float = 0.6,
                 min_freq: int = 10, unseen: str = "similar", other_label: str = OTHER) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
        if min_freq < 0:
            raise ValueError(f"min_freq must be >= 0, got {min_freq!r}")
        if unseen not in ("similar", "exact"):
            raise ValueError(f"unseen must be 'similar' or 'exact', got {unseen!r}")
        self.embedder = embedder or tfidf_char_embedder
        self.threshold, self.min_freq, self.unseen, self.other = float(threshold), int(min_freq), unseen, other_label
        self.mapping: dict[str, str] = {}
        self.leaders: list[str] = []

    def _embed(self, labels: Sequence[str]) -> np.ndarray:
        X = np.asarray(self.embedder(list(labels)), dtype=float)
        nrm = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(nrm > 0, nrm, 1.0)

    def fit(self, lists: Sequence[Sequence[str]]) -> "KnowledgeConsolidator":
        freq: dict[str, int] = {}
        for lst in lists:
            for lab in set(lst):
                freq[lab] = freq.get(lab, 0) + 1
        labels = sorted(freq, key=lambda s: (-freq[s], s))
        if not labels:
            raise ValueError("no knowledge labels to consolidate")
        self._all = labels
        X = self._embed(labels)
        leaders: list[int] = []
        leader_of: dict[str, str] = {}
        for i, lab in enumerate(labels):
            if leaders:
                sims = X[leaders] @ X[i]
                j = int(np.argmax(sims))
                if sims[j] > self.threshold:
                    leader_of[lab] = labels[leaders[j]]
                    continue
            leaders.append(i)
            leader_of[lab] = lab
        # frequency after merging = index queries containing the leader
        lfreq: dict[str, int] = {}
        for lst in lists:
            for ld in {leader_of[l] for l in lst}:
                lfreq[ld] = lfreq.get(ld, 0) + 1
        kept = [labels[i] for i in leaders if lfreq.get(labels[i], 0) >= self.min_freq]
        self._kept_X = X[[labels.index(k) for k in kept]] if kept else np.zeros((0, X.shape[1]))
        self.leaders = kept
        keep = set(kept)
        self.mapping = {lab: (ld if ld in keep else self.other) for lab, ld in leader_of.items()}
        return self

    def transform(self, lists: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        if not self.mapping:
            raise ValueError("the consolidator is not fitted: call fit(index_lists) first")
        new = sorted({l for lst in lists for l in lst if l not in self.mapping})
        extra: dict[str, str] = {}
        if new:
            if self.unseen == "exact" or not self.leaders:
                extra = {l: self.other for l in new}
            else:
                X = self._embed(list(self._all) + new)
                L = X[[self._all.index(k) for k in self.leaders]]
                N = X[len(self._all):]
                sims = N @ L.T
                for i, lab in enumerate(new):
                    j = int(np.argmax(sims[i]))
                    extra[lab] = self.leaders[j] if sims[i, j] > self.threshold else self.other
        m = {**self.mapping, **extra}
        return [tuple(m[l] for l in lst) for lst in lists]

    def fit_transform(self, lists: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        return self.fit(lists).transform(lists)
