"""How model ids are compared: the normalisation both the worker and the adapter use.

Conservative by design. Ids compare lowercased; a provider route loses its provider
prefix(es) one segment at a time (`together_ai/meta-llama/X` -> `meta-llama/X`); a few
deployment suffixes that never change the weights (`-Turbo`, quantisation tags) are
dropped as a last resort. Nothing else: no substrings, no token overlap, so `mistral`
never becomes `mistralai/mistral-inference`.
"""

from __future__ import annotations

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
