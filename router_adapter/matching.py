"""Which snapshot model a LiteLLM deployment serves.

In order, and the first tier that answers wins:
1. explicit ids in `model_info`: `traction_model`, `hf_repo_id`, `openrouter_slug`;
2. the operator's `alias_map`, keyed by `model_info.id` or by model group name;
3. the deployment's `litellm_params.model`, whole or without its provider prefix,
   compared exactly (lowercased) with the snapshot's aliases; failing that, without a
   deployment suffix such as `-Turbo` (`schemas.identity`).
Only `org/name` strings take part in tier 3, never substrings, so a group called
`mistral` can never match `mistralai/mistral-inference`. If the candidates of a tier
point at different models the deployment matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from schemas.identity import route_candidates, strip_suffixes

from .snapshot_file import ModelView, SnapshotView

EXPLICIT_KEYS = ("traction_model", "hf_repo_id", "openrouter_slug")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [v for v in value if isinstance(v, str)]
    return []


def _unique(view: SnapshotView, names: list[str]) -> ModelView | None | bool:
    """The one model these names point at; None if none; False if they disagree."""
    found = {view.by_alias[n.strip().lower()] for n in names if n.strip().lower() in view.by_alias}
    if len(found) > 1:
        return False
    return next(iter(found), None)


def match_deployment(
    deployment: Mapping[str, Any],
    view: SnapshotView,
    alias_map: Mapping[str, Any] | None = None,
) -> ModelView | None:
    info = deployment.get("model_info") or {}
    explicit = [n for k in EXPLICIT_KEYS for n in _names(info.get(k))]
    if explicit:
        hit = _unique(view, explicit)
        return hit or None
    if alias_map:
        mapped = _names(alias_map.get(str(info.get("id")))) or _names(
            alias_map.get(str(deployment.get("model_name")))
        )
        if mapped:
            hit = _unique(view, mapped)
            return hit or None
    route = (deployment.get("litellm_params") or {}).get("model")
    if isinstance(route, str):
        names = route_candidates(route)
        hit = _unique(view, names)
        if hit is None:  # last resort: `...-Instruct-Turbo` is `...-Instruct`, served fast
            hit = _unique(view, [s for s in map(strip_suffixes, names) if s])
        return hit or None
    return None
