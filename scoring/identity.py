"""Which ids, across sources, name the same model, and why we think so.

One canonical key per model: its Hugging Face repo id lowercased when any source links
one, else its primary id lowercased. Links come, in order of trust, from:
1. the operator's alias table (`identity.aliases` in config): always wins;
2. the data: OpenRouter's `hugging_face_id`, its `canonical_slug` (shared by `:free` and
   `:batch` variants, which fold onto their base model), a `~...-latest` alias's
   `alias_target`, and the operator's GitHub `links`;
3. conservative normalisation (`schemas.identity`): case, provider prefixes, a few
   deployment suffixes such as `-Turbo`.
Sources that only describe models others list (per-provider offers, rankings by
permaslug, LiteLLM's price map) attach to an existing model or to nothing. A name two
models claim belongs to neither: an ambiguous match is no match, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from schemas.identity import base_id, norm, route_candidates, strip_suffixes

# Sources whose ids name models on their own; the others only attach to those.
PRIMARY_SOURCES = {"huggingface", "openrouter", "wzrd", "github"}

__all__ = ["Identity", "Resolution", "build_identity", "norm", "base_id", "PRIMARY_SOURCES"]


@dataclass
class Resolution:
    query: str
    key: str | None
    evidence: list[str]
    candidates: list[str] = field(default_factory=list)  # when ambiguous


@dataclass
class Identity:
    key_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, id) -> key
    owner: dict[str, str] = field(default_factory=dict)  # unambiguous alias -> key
    evidence: dict[str, str] = field(default_factory=dict)  # alias -> why it is that key
    ambiguous: dict[str, set[str]] = field(default_factory=dict)  # alias -> rival keys
    operator: dict[str, str] = field(default_factory=dict)  # operator alias -> key
    # resolve()'s answers for ids the sources did not link: a publish asks for every price
    # row's id (tens of thousands), and an identity is shared between publishes.
    _by_name: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def aliases(self) -> dict[str, set[str]]:
        """key -> every other name that resolves to it. Built once, on first use, from the
        finished identity (O(names)); callers read it once per model."""
        found: dict[str, set[str]] = {}
        for alias, key in self.owner.items():
            if alias != key:
                found.setdefault(key, set()).add(alias)
        for key in set(self.owner.values()):
            found.setdefault(key, set())
        return found

    def resolve(self, source: str, model_id: str) -> str | None:
        """The model key for a source's id, or None when it attaches to no known model."""
        known = self.key_of.get((source, model_id))
        if known:
            return known
        if model_id not in self._by_name:
            self._by_name[model_id] = self.lookup(model_id).key
        return self._by_name[model_id]

    def key(self, source: str, model_id: str) -> str:
        return self.resolve(source, model_id) or norm(model_id)

    def lookup(self, text: str) -> Resolution:
        """Resolve any string (an id, a LiteLLM route, an alias) and say why."""
        name = norm(text)
        if name in self.operator:
            return Resolution(text, self.operator[name], [f"operator alias {name!r}"])
        tiers: list[tuple[str, list[str]]] = [("exact", [name, norm(base_id(name))])]
        routes = [norm(c) for c in route_candidates(text)][1:]
        if routes:
            tiers.append(("provider prefix removed", routes))
        stripped = [s for s in (strip_suffixes(c) for c in [name, *routes]) if s]
        if stripped:
            tiers.append(("deployment suffix removed", stripped))
        for how, names in tiers:
            keys = {self.owner[n] for n in names if n in self.owner}
            rivals = set().union(*(self.ambiguous.get(n, set()) for n in names))
            if len(keys) == 1 and not rivals:
                hit = next(n for n in names if n in self.owner)
                evidence = [f"{how}: {hit!r}", self.evidence.get(hit, "")]
                return Resolution(text, keys.pop(), [e for e in evidence if e])
            if len(keys) > 1 or rivals:
                return Resolution(text, None, [f"ambiguous ({how})"], sorted(keys | rivals))
        return Resolution(text, None, ["no source, alias or normalisation names this model"])


def _trust(why: str) -> tuple[int, str]:
    """Evidence from the data's own links first: OpenRouter's, then the operator's GitHub
    links, then a source merely listing or reporting the id."""
    order = ("openrouter links", " links ", " lists ", " reports ")
    return (next((i for i, o in enumerate(order) if o in why), len(order)), why)


def build_identity(
    catalog: Iterable[tuple],
    observed: Iterable[tuple[str, str]],
    operator_aliases: Mapping[str, str] | None = None,
) -> Identity:
    """catalog rows: (source, model_id, canonical_slug, hugging_face_id[, alias_target]);
    observed: (source, model_id) pairs that carry facts.

    The same inputs give the same shared Identity (nothing changes it after this but its
    memo of names `resolve` looked up): the daemon publishes hourly while the catalogue
    changes about daily, and building one costs a publish ~70 ms of Python, more than its
    queries."""
    return _build(
        tuple(tuple(r) + (None,) * (5 - len(r)) for r in catalog),
        tuple(tuple(pair) for pair in observed),
        tuple((operator_aliases or {}).items()),
    )


@lru_cache(maxsize=4)
def _build(
    rows: tuple[tuple, ...],
    observed: tuple[tuple[str, str], ...],
    operator_aliases: tuple[tuple[str, str], ...],
) -> Identity:
    identity = Identity()
    claims: dict[str, dict[str, list[str]]] = {}  # alias -> {key: [evidence, ...]}

    def claim(source: str, model_id: str, key: str, why: str, *names: str | None) -> None:
        identity.key_of[(source, model_id)] = key
        for name in (key, *names):
            if name:
                whys = claims.setdefault(norm(name), {}).setdefault(key, [])
                if why not in whys:
                    whys.append(why)

    # A variant the source lists without a link (`:free`, `:nitro`, ...) is its linked
    # base model's variant, not a model of its own that would claim the base id.
    linked = {(r[0], r[1]): r[3] for r in rows if r[3]}
    for source, model_id, slug, hf_id, _target in rows:
        if source not in PRIMARY_SOURCES or model_id.startswith("~"):
            continue
        base_link = linked.get((source, base_id(model_id)))
        if hf_id:
            key, why = norm(hf_id), f"{source} links {model_id!r} to Hugging Face {hf_id!r}"
        elif base_link and base_id(model_id) != model_id:
            key = norm(base_link)
            why = f"{source} links {base_id(model_id)!r}, of which {model_id!r} is a variant"
        else:
            key, why = norm(base_id(model_id)), f"{source} lists {model_id!r}"
        claim(source, model_id, key, why, model_id, base_id(model_id), slug, slug and base_id(slug))
    for source, model_id in observed:
        if source not in PRIMARY_SOURCES or (source, model_id) in identity.key_of:
            continue
        owners = claims.get(norm(model_id), {})
        key = next(iter(owners)) if len(owners) == 1 else norm(model_id)
        claim(source, model_id, key, f"{source} reports {model_id!r}", model_id)

    def unique(name: str) -> str | None:
        owners = claims.get(norm(name), {})
        return next(iter(owners)) if len(owners) == 1 else None

    # `~author/family-latest` follows its current target; LiteLLM's price-map keys are
    # provider routes that attach to the one model their route names.
    for source, model_id, _slug, _hf, target in rows:
        if source == "openrouter" and model_id.startswith("~"):
            key = unique(target) if target else None
            if key:
                identity.key_of[(source, model_id)] = key
                claims.setdefault(norm(model_id), {})[key] = [f"alias of {target!r} (alias_target)"]
        elif source == "litellm_prices":
            names = route_candidates(model_id)
            names += [s for s in (strip_suffixes(n) for n in names) if s]
            owners = {unique(n) for n in names} - {None}
            if len(owners) == 1:
                key = owners.pop()
                identity.key_of[(source, model_id)] = key
                claims.setdefault(norm(model_id), {})[key] = [
                    f"LiteLLM price map route {model_id!r}"
                ]

    for alias, owners in claims.items():
        if len(owners) == 1:
            key, whys = next(iter(owners.items()))
            identity.owner[alias] = key
            identity.evidence[alias] = "; ".join(sorted(whys, key=_trust)[:3])
        else:
            identity.ambiguous[alias] = set(owners)

    for alias, target in operator_aliases:
        key = identity.owner.get(norm(target), norm(target))
        identity.operator[norm(alias)] = key
        identity.owner[norm(alias)] = key
        identity.evidence[norm(alias)] = f"operator alias {alias!r} -> {target!r}"
        identity.ambiguous.pop(norm(alias), None)
    return identity
