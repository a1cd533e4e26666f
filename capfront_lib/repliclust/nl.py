"""Natural-language interface as a pluggable client (thesis §5.3 "From verbal descriptions", App. 4F).

repliclust maps a description to archetype parameters with two chat calls (parameters as JSON, then a
Python-identifier name). Here the model behind those calls is a :class:`LLMClient`:

* :class:`ReplayClient` replays the outputs printed in the thesis (offline, exact);
* :class:`RuleBasedClient` applies deterministic keyword/regex rules (offline; a documented
  stand-in, not a claim that it matches an LLM);
* :class:`OpenAIClient` calls a chat model; opt-in only, imported lazily, never used in tests.

The prompts below are this book's own short paraphrase of the structure the thesis describes
(instructions, parameter glossary with overlap vocabulary, rules, few-shot examples); the package's
prompt text is not copied.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

from capfront_lib.core.resources import data_path

from .archetype import D2, D5, Archetype

SYSTEM_PROMPT = """You translate a verbal description of a cluster-data archetype into JSON parameters.
Allowed keys: n_clusters (int >= 1), dim (int >= 2), n_samples (int >= 1), aspect_ref (float >= 1,
how oblong a typical cluster is), aspect_maxmin (float >= 1, spread of oblongness), radius_maxmin
(float >= 1, spread of cluster sizes), imbalance_ratio (float >= 1, largest/smallest group),
max_overlap and min_overlap (floats in (0,1): 0.1-0.2 significant overlap, 0.01-0.05 little,
0.001 very little, 1e-4 or less well separated), distributions (list of: normal, standard_t,
exponential, uniform, beta, chisquare, gumbel, weibull, gamma, pareto, f, lognormal).
Rules: set min_overlap to about max_overlap/10; use pareto only when heavy tails are asked for;
leave out keys the description does not constrain. Reply with one JSON object only."""

ARCHETYPE_TEMPLATE = "Description: {description}\nArchetype JSON: "
NAME_SYSTEM_PROMPT = (
    "Give a short snake_case Python identifier (no leading digit) naming the described data set archetype. "
    "Reply with the identifier only."
)
NAME_TEMPLATE = "Description: {description}\nArchetype name: "

FEW_SHOT = [
    ("three oblong clusters in 5D", '{"n_clusters": 3, "dim": 5, "n_samples": 300, "aspect_ref": 3, "aspect_maxmin": 1.5}'),
    ("eight well-separated gaussian clusters", '{"n_clusters": 8, "max_overlap": 0.0001, "min_overlap": 0.00001, "distributions": ["normal"]}'),
]

REPLAY_PATH = data_path("repliclust", "nl_replay.json")


class LLMClient(Protocol):
    """Anything that completes a (system, user) chat turn into text."""

    def complete(self, system: str, user: str, json_mode: bool) -> str: ...


def _description_of(user: str) -> str:
    m = re.match(r"Description:\s*(.*?)\n", user, flags=re.S)
    if not m:
        raise ValueError(f"user message does not follow the template: {user!r}")
    return m.group(1).strip()


class ReplayClient:
    """Replays the thesis-printed LLM outputs (§5.4) from a JSON fixture keyed by description."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        p = Path(path) if path else REPLAY_PATH
        self.table: dict[str, dict[str, str]] = json.loads(p.read_text())

    def complete(self, system: str, user: str, json_mode: bool) -> str:
        d = _description_of(user)
        if d not in self.table:
            raise ValueError(f"ReplayClient has no recorded output for description {d!r}; known: {sorted(self.table)}")
        return self.table[d]["archetype" if json_mode else "name"]


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUM = r"(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_STOP = {"a", "an", "the", "of", "with", "and", "in", "each", "clusters", "cluster", "very", "highly", "samples"}


def _to_int(tok: str) -> int:
    return int(tok) if tok.isdigit() else _NUMBER_WORDS[tok]


def rule_parameters(description: str) -> dict[str, Any]:
    """Deterministic English → parameters rules (spec 4.3); unmatched fields keep the defaults."""
    t = description.lower()
    out: dict[str, Any] = {}
    # dimension
    m = re.search(r"\b(?:in\s+)?(\d+)\s*-?\s*d\b", t) or re.search(_NUM + r"\s+dimension", t)
    dim = _to_int(m.group(1)) if m else 2
    out["dim"] = dim
    # number of clusters: first number not attached to D / dimensions / samples
    k = 6
    for mm in re.finditer(r"\b" + _NUM + r"\b(?!\s*-?\s*d\b)(?!\s+(?:dimension|sample|point))", t):
        k = _to_int(mm.group(1))
        break
    out["n_clusters"] = k
    m = re.search(_NUM + r"\s+(?:samples|points)(\s+(?:each|per cluster))?", t)
    if m:
        out["n_samples"] = _to_int(m.group(1)) * (k if m.group(2) else 1)
    else:
        out["n_samples"] = 100 * k
    # shapes and sizes
    if "spherical" in t or "round" in t:
        out.update(aspect_ref=1.0, aspect_maxmin=1.0)
    elif re.search(r"(very|highly) (oblong|elongated)", t):
        out.update(aspect_ref=6.5, aspect_maxmin=1.4)
    elif "oblong" in t or "elongated" in t:
        out.update(aspect_ref=3.0, aspect_maxmin=1.5)
    if "very different shapes" in t:
        out.update(aspect_ref=1.5, aspect_maxmin=3.0, radius_maxmin=3.0)
    if "different sizes" in t:
        out["radius_maxmin"] = 3.0
    # overlap vocabulary (most specific first)
    if re.search(r"(well|highly)[ -]separated|far apart", t):
        out.update(max_overlap=1e-4, min_overlap=1e-5)
    elif "heavily overlap" in t or "heavy overlap" in t:
        out.update(max_overlap=0.4, min_overlap=0.3)
    elif "significant overlap" in t or "significantly overlap" in t:
        out.update(max_overlap=0.2, min_overlap=0.1)
    elif "moderate overlap" in t:
        out.update(max_overlap=0.1, min_overlap=0.05)
    elif "very little overlap" in t:
        out.update(max_overlap=1e-3, min_overlap=1e-4)
    elif re.search(r"(light|little) overlap", t):
        out.update(max_overlap=0.025, min_overlap=0.0025)
    else:
        out.update(max_overlap=0.05, min_overlap=0.001)
    # balance
    if "perfect class balance" in t or "balanced" in t:
        out["imbalance_ratio"] = 1
    elif "imbalance" in t:
        out["imbalance_ratio"] = 5
    else:
        out["imbalance_ratio"] = 2
    # distributions
    if "heavy tail" in t or "heavy-tail" in t:
        out["distributions"] = ["standard_t", "lognormal", "pareto"]
    elif "holes" in t:
        out["distributions"] = ["f"]
    elif "bounded support" in t:
        out["distributions"] = ["beta", "uniform"]
    elif "different distributions" in t or "variety" in t:
        out["distributions"] = list(D5)
    elif "gaussian" in t or "normal" in t:
        out["distributions"] = ["normal"]
    else:
        out["distributions"] = list(D2)
    return out


def slug_name(description: str) -> str:
    """A snake_case identifier from the description's content words (no leading digit)."""
    words = re.findall(r"[a-z0-9]+", description.lower())
    words = [w for w in words if w not in _STOP][:6] or ["archetype"]
    name = "_".join(words)
    return name if not name[0].isdigit() else "archetype_" + name


class RuleBasedClient:
    """Deterministic keyword/regex client: same answer on every run, no network."""

    def complete(self, system: str, user: str, json_mode: bool) -> str:
        d = _description_of(user)
        return json.dumps(rule_parameters(d)) if json_mode else slug_name(d)


class OpenAIClient:
    """Chat-model client (opt-in). The ``openai`` package is imported only when a call is made."""

    def __init__(self, model: str = "gpt-4o-mini", temperature: float = 0.0, api_key: str | None = None):
        self.model = model
        self.temperature = temperature
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not self.api_key:
            raise ValueError("OpenAIClient needs an API key (argument or OPENAI_API_KEY); use nl_backend='replay' offline")

    def complete(self, system: str, user: str, json_mode: bool) -> str:  # pragma: no cover - network
        import openai  # lazy: not a dependency of the project

        client = openai.OpenAI(api_key=self.api_key)
        kw: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        r = client.chat.completions.create(
            model=self.model,
            temperature=self.temperature,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            **kw,
        )
        return r.choices[0].message.content or ""


def parse_reply(text: str) -> dict[str, Any]:
    """Parse an LLM reply tolerantly: code fences, single quotes, trailing commas, Python literals."""
    s = text.strip()
    s = re.sub(r"^```(?:json)?|```$", "", s, flags=re.M).strip()
    a, b = s.find("{"), s.rfind("}")
    if a < 0 or b < a:
        raise ValueError(f"Failed to process the reply: no JSON object in {text!r}")
    s = s[a : b + 1]
    s = re.sub(r",\s*([}\]])", r"\1", s)
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        pass
    try:
        val = ast.literal_eval(s)
    except (ValueError, SyntaxError):
        s2 = s.replace("'", '"')
        s2 = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", s2)))
        try:
            return json.loads(s2)
        except json.JSONDecodeError as e:
            raise ValueError(f"Failed to process the reply {text!r}: {e}") from None
    if not isinstance(val, dict):
        raise ValueError(f"Failed to process the reply: not an object: {text!r}")
    return val


def make_identifier(name: str) -> str:
    """Clean a generated name into a valid identifier (lower-case, underscores, no leading digit)."""
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", name.strip().strip("'\"`")).strip("_").lower()
    if not s:
        s = "archetype"
    if s[0].isdigit():
        s = "archetype_" + s
    return s


def archetype_from_description(description: str, client: LLMClient) -> tuple[dict[str, Any], str]:
    """Description → (validated archetype kwargs, identifier name), via two client calls (§5.3).

    The parameters are validated against Table 5.1 by building an :class:`Archetype`; a reply that
    does not parse or validate raises ``ValueError`` ("Failed to process…").
    """
    if not isinstance(description, str) or not description.strip():
        raise ValueError("description must be a non-empty string")
    sys_prompt = SYSTEM_PROMPT + "\n\nExamples:\n" + "\n".join(
        ARCHETYPE_TEMPLATE.format(description=d) + o for d, o in FEW_SHOT
    )
    reply = client.complete(sys_prompt, ARCHETYPE_TEMPLATE.format(description=description), True)
    params = parse_reply(reply)
    params.pop("name", None)
    try:
        Archetype.from_params(params)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Failed to process the archetype for {description!r}: {e}") from None
    name = make_identifier(client.complete(NAME_SYSTEM_PROMPT, NAME_TEMPLATE.format(description=description), False))
    return params, name
