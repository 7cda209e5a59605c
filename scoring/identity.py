"""Which ids, across sources, name the same model.

Conservative on purpose: ids are compared lowercased, OpenRouter variants (`:free`,
`:batch`, ...) fold onto their base id, and OpenRouter's own `hugging_face_id` links
its models to Hugging Face repos. Anything that would make one id name two models
is dropped from both: an ambiguous match is no match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


def norm(model_id: str) -> str:
    return model_id.strip().lower()


def base_id(model_id: str) -> str:
    """`author/slug:variant` -> `author/slug`."""
    return model_id.split(":", 1)[0]


@dataclass
class Identity:
    key_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, id) -> key
    aliases: dict[str, set[str]] = field(default_factory=dict)  # key -> aliases

    def key(self, source: str, model_id: str) -> str:
        return self.key_of.get((source, model_id), norm(model_id))


def build_identity(
    catalog: Iterable[tuple[str, str, str | None, str | None]],
    observed: Iterable[tuple[str, str]],
) -> Identity:
    """catalog rows: (source, model_id, canonical_slug, hugging_face_id); observed: (source, id)."""
    identity = Identity()
    claims: dict[str, set[str]] = {}

    def claim(source: str, model_id: str, key: str, *names: str | None) -> None:
        identity.key_of[(source, model_id)] = key
        for name in (key, *names):
            if name:
                claims.setdefault(norm(name), set()).add(key)

    for source, model_id, slug, hf_id in catalog:
        key = norm(hf_id) if hf_id else norm(base_id(model_id))
        claim(source, model_id, key, model_id, base_id(model_id), slug, slug and base_id(slug))
    for source, model_id in observed:
        if (source, model_id) in identity.key_of:
            continue
        name = norm(model_id)
        owners = claims.get(name, set())
        key = next(iter(owners)) if len(owners) == 1 else name
        claim(source, model_id, key, model_id)

    for alias, owners in claims.items():
        if len(owners) == 1:
            identity.aliases.setdefault(next(iter(owners)), set()).add(alias)
    for key in list(identity.aliases):
        identity.aliases[key].discard(key)
    for owners in claims.values():
        for key in owners:
            identity.aliases.setdefault(key, set())
    return identity
