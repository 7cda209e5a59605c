"""Which ids, across sources, name the same model.

Conservative on purpose: ids are compared lowercased; OpenRouter variants (`:free`,
`:batch`, ...) fold onto their base id; OpenRouter's own `hugging_face_id`, and the
operator's GitHub `links`, tie a catalogue entry to a Hugging Face repo. Sources that
only describe models others list (per-provider offers, daily rankings by permaslug,
LiteLLM's price map) attach to an existing model or to nothing. Anything that would
make one id name two models is dropped from both: an ambiguous match is no match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Sources whose ids name models on their own; the others only attach to those.
PRIMARY_SOURCES = {"huggingface", "openrouter", "wzrd", "github"}


def norm(model_id: str) -> str:
    return model_id.strip().lower()


def base_id(model_id: str) -> str:
    """`author/slug:variant` -> `author/slug`."""
    return model_id.split(":", 1)[0]


def route_candidates(model: str) -> list[str]:
    """`together_ai/Qwen/Qwen3.5-35B-A3B` -> itself and `Qwen/Qwen3.5-35B-A3B` (org/name only)."""
    parts = model.strip().split("/")
    return ["/".join(parts[i:]) for i in range(len(parts) - 1)]


@dataclass
class Identity:
    key_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, id) -> key
    aliases: dict[str, set[str]] = field(default_factory=dict)  # key -> aliases
    owner: dict[str, str] = field(default_factory=dict)  # unambiguous alias -> key

    def resolve(self, source: str, model_id: str) -> str | None:
        """The model key for a source's id, or None when it attaches to no known model."""
        known = self.key_of.get((source, model_id))
        if known:
            return known
        return self.owner.get(norm(model_id)) or self.owner.get(norm(base_id(model_id)))

    def key(self, source: str, model_id: str) -> str:
        return self.resolve(source, model_id) or norm(model_id)


def build_identity(
    catalog: Iterable[tuple[str, str, str | None, str | None]],
    observed: Iterable[tuple[str, str]],
) -> Identity:
    """catalog rows: (source, model_id, canonical_slug, hugging_face_id); observed: (source, id)."""
    identity = Identity()
    claims: dict[str, set[str]] = {}
    catalog = list(catalog)

    def claim(source: str, model_id: str, key: str, *names: str | None) -> None:
        identity.key_of[(source, model_id)] = key
        for name in (key, *names):
            if name:
                claims.setdefault(norm(name), set()).add(key)

    for source, model_id, slug, hf_id in catalog:
        if source not in PRIMARY_SOURCES:
            continue
        key = norm(hf_id) if hf_id else norm(base_id(model_id))
        claim(source, model_id, key, model_id, base_id(model_id), slug, slug and base_id(slug))
    for source, model_id in observed:
        if source not in PRIMARY_SOURCES or (source, model_id) in identity.key_of:
            continue
        owners = claims.get(norm(model_id), set())
        key = next(iter(owners)) if len(owners) == 1 else norm(model_id)
        claim(source, model_id, key, model_id)

    def unique(name: str) -> str | None:
        owners = claims.get(norm(name), set())
        return next(iter(owners)) if len(owners) == 1 else None

    # LiteLLM's price map keys are provider routes: attach each to the one model its
    # route names once the provider prefix is stripped, and keep the full route as an
    # alias so a deployment with that exact route matches directly.
    for source, model_id, _slug, _hf in catalog:
        if source != "litellm_prices":
            continue
        owners = {unique(c) for c in route_candidates(model_id)} - {None}
        if len(owners) == 1:
            key = owners.pop()
            identity.key_of[(source, model_id)] = key
            claims.setdefault(norm(model_id), set()).add(key)

    for alias, owners in claims.items():
        if len(owners) == 1:
            key = next(iter(owners))
            identity.owner[alias] = key
            identity.aliases.setdefault(key, set()).add(alias)
    for key in set(identity.key_of.values()):
        identity.aliases.setdefault(key, set()).discard(key)
    return identity
