"""How model ids are compared: the normalisation both the worker and the adapter use.

Conservative by design. Ids compare lowercased; a provider route loses its provider
prefix(es) one segment at a time (`together_ai/meta-llama/X` -> `meta-llama/X`); a few
deployment suffixes that never change the weights (`-Turbo`, quantisation tags) are
dropped as a last resort. Nothing else: no substrings, no token overlap, so `mistral`
never becomes `mistralai/mistral-inference`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Suffixes providers add to a model's name for how they serve it, not what it is.
DEPLOYMENT_SUFFIXES = ("-turbo", "-fp8", "-fp16", "-bf16", "-int4", "-int8", "-awq", "-gptq")


def norm(model_id: str) -> str:
    return model_id.strip().lower()


def base_id(model_id: str) -> str:
    """`author/slug:variant` -> `author/slug` (OpenRouter's `:free`, `:batch`, ...)."""
    return model_id.split(":", 1)[0]


def variant(model_id: str) -> str | None:
    return model_id.split(":", 1)[1] if ":" in model_id else None


def route_candidates(model: str) -> list[str]:
    """`together_ai/Qwen/Qwen3.5-35B-A3B` -> itself and `Qwen/Qwen3.5-35B-A3B` (org/name only)."""
    parts = model.strip().split("/")
    return ["/".join(parts[start:]) for start in range(len(parts) - 1)]


def strip_suffixes(model_id: str) -> str | None:
    """The id without one trailing deployment suffix, or None if it has none."""
    lowered = norm(model_id)
    for suffix in DEPLOYMENT_SUFFIXES:
        if lowered.endswith(suffix):
            return lowered[: -len(suffix)]
    return None


# Which model a LiteLLM deployment serves ------------------------------------------------

EXPLICIT_KEYS = ("traction_model", "hf_repo_id", "openrouter_slug")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [v for v in value if isinstance(v, str)]
    return []


def _unique(by_alias: Mapping[str, T], names: list[str]) -> T | None | bool:
    """The one model these names point at; None if none; False if they disagree."""
    found = {by_alias[n.strip().lower()] for n in names if n.strip().lower() in by_alias}
    if len(found) > 1:
        return False
    return next(iter(found), None)


def match_deployment(
    deployment: Mapping[str, Any],
    by_alias: Mapping[str, T],
    alias_map: Mapping[str, Any] | None = None,
) -> T | None:
    """The model (a value of `by_alias`, keyed by lowercase alias) a LiteLLM deployment
    serves, or None. Here, not in the adapter, so that the worker (the backtest's group
    measure) matches deployments exactly as the adapter will.

    In order, and the first tier that answers wins:
    1. explicit ids in `model_info`: `traction_model`, `hf_repo_id`, `openrouter_slug`;
    2. the operator's `alias_map`, keyed by `model_info.id` or by model group name;
    3. the deployment's `litellm_params.model`, whole or without its provider prefix,
       compared exactly (lowercased) with the aliases; failing that, without a
       deployment suffix such as `-Turbo`.
    Only `org/name` strings take part in tier 3, never substrings, so a group called
    `mistral` can never match `mistralai/mistral-inference`. If the candidates of a tier
    point at different models the deployment matches nothing."""
    info = deployment.get("model_info") or {}
    explicit = [n for k in EXPLICIT_KEYS for n in _names(info.get(k))]
    if explicit:
        hit = _unique(by_alias, explicit)
        return hit or None
    if alias_map:
        mapped = _names(alias_map.get(str(info.get("id")))) or _names(
            alias_map.get(str(deployment.get("model_name")))
        )
        if mapped:
            hit = _unique(by_alias, mapped)
            return hit or None
    route = (deployment.get("litellm_params") or {}).get("model")
    if isinstance(route, str):
        names = route_candidates(route)
        hit = _unique(by_alias, names)
        if hit is None:  # last resort: `...-Instruct-Turbo` is `...-Instruct`, served fast
            hit = _unique(by_alias, [s for s in map(strip_suffixes, names) if s])
        return hit or None
    return None


def read_model_list(path: str | Path) -> list[dict[str, Any]]:
    """The `model_list` of a LiteLLM config.yaml (or a bare list of deployments). Here so
    that the worker's snapshot scope (`[snapshot] model_list`) and the backtest's
    `--model-list` read a file the same way. ValueError says why a file will not do."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())  # YAML's errors span lines; the message is one
        raise ValueError(f"cannot read it: {reason}") from None
    models = data.get("model_list") if isinstance(data, dict) else data
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ValueError("no `model_list` of deployments in it")
    return models
