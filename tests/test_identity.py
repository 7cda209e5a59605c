"""Model identity across sources: the real-world traps, and `traction resolve`."""

from __future__ import annotations

import pytest

from scoring.identity import build_identity

CATALOG = [
    # (source, model_id, canonical_slug, hugging_face_id, alias_target)
    (
        "openrouter",
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/Llama-3.3-70B-Instruct",
        None,
    ),
    (
        "openrouter",
        "meta-llama/llama-3.3-70b-instruct:free",
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/Llama-3.3-70B-Instruct",
        None,
    ),
    ("openrouter", "qwen/qwen3.8-27b", "qwen/qwen3.8-27b-20260814", "", None),
    ("openrouter", "qwen/qwen3.8-27b:batch", "qwen/qwen3.8-27b-20260814", None, None),
    ("openrouter", "anthropic/claude-opus-4.6", "anthropic/claude-opus-4.6-20260601", None, None),
    (
        "openrouter",
        "~anthropic/claude-opus-latest",
        "~anthropic/claude-opus-latest",
        None,
        "anthropic/claude-opus-4.6",
    ),
    ("github", "mistralai/mistral-inference", None, None, None),
    ("litellm_prices", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", None, None, None),
    ("litellm_prices", "groq/llama-3.3-70b-versatile", None, None, None),
]
OBSERVED = [
    ("huggingface", "meta-llama/Llama-3.3-70B-Instruct"),
    ("huggingface", "mistralai/Mistral-7B-Instruct-v0.3"),
    ("github", "mistralai/mistral-inference"),
]
LLAMA = "meta-llama/llama-3.3-70b-instruct"


@pytest.fixture
def identity():
    return build_identity(CATALOG, OBSERVED, {"house-llama": "meta-llama/Llama-3.3-70B-Instruct"})


@pytest.mark.parametrize(
    "name",
    [
        "meta-llama/Llama-3.3-70B-Instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "openrouter/meta-llama/llama-3.3-70b-instruct",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "meta-llama/llama-3.3-70b-instruct:free",
        "house-llama",
    ],
)
def test_one_model_under_every_name(identity, name):
    assert identity.lookup(name).key == LLAMA


def test_a_bare_name_is_not_a_repository(identity):
    """The peer matched `mistral` to mistralai/mistral-inference by substring."""
    found = identity.lookup("mistral")
    assert found.key is None
    assert identity.lookup("mistralai/mistral-inference").key == "mistralai/mistral-inference"
    assert identity.lookup("mistralai/Mistral-7B-Instruct-v0.3").key != (
        "mistralai/mistral-inference"
    )


def test_variants_fold_onto_their_base_model(identity):
    assert identity.resolve("openrouter", "qwen/qwen3.8-27b:batch") == "qwen/qwen3.8-27b"
    assert identity.lookup("qwen/qwen3.8-27b-20260814").key == "qwen/qwen3.8-27b"  # permaslug


def test_latest_alias_follows_its_target(identity):
    assert identity.resolve("openrouter", "~anthropic/claude-opus-latest") == (
        "anthropic/claude-opus-4.6"
    )


def test_litellm_routes_attach_only_to_a_model_they_name(identity):
    assert (
        identity.resolve("litellm_prices", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
        == LLAMA
    )
    # groq's own name shares no id with any source: it attaches to nothing, not to a guess
    assert identity.resolve("litellm_prices", "groq/llama-3.3-70b-versatile") is None


def test_evidence_says_why(identity):
    found = identity.lookup("openrouter/meta-llama/llama-3.3-70b-instruct")
    assert found.evidence[0].startswith("provider prefix removed")
    assert "Hugging Face" in found.evidence[1]
    turbo = identity.lookup("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    assert turbo.key == LLAMA and turbo.evidence


def test_a_name_two_models_claim_matches_neither():
    catalog = [
        ("openrouter", "vendor-a/model", "shared/slug", "org/model-a", None),
        ("openrouter", "vendor-b/model", "shared/slug", "org/model-b", None),
    ]
    identity = build_identity(catalog, [])
    found = identity.lookup("shared/slug")
    assert found.key is None and found.candidates == ["org/model-a", "org/model-b"]
    assert "ambiguous" in found.evidence[0]


def test_operator_alias_wins_over_ambiguity():
    catalog = [
        ("openrouter", "vendor-a/model", "shared/slug", "org/model-a", None),
        ("openrouter", "vendor-b/model", "shared/slug", "org/model-b", None),
    ]
    identity = build_identity(catalog, [], {"shared/slug": "org/model-b"})
    assert identity.lookup("shared/slug").key == "org/model-b"


def test_a_catalogue_change_is_seen_at_the_next_publish_though_identities_are_reused():
    """Publishes reuse the identity built from the same catalogue; a slug that becomes
    shared (a second model claims it) stops resolving at once, and an unchanged
    catalogue resolves as before, remembered route lookups included."""
    one = [("openrouter", "vendor-a/model", "shared/slug", "org/model-a", None)]
    two = [*one, ("openrouter", "vendor-b/model", "shared/slug", "org/model-b", None)]
    before = build_identity(one, [])
    assert before.resolve("litellm_prices", "openrouter/shared/slug") == "org/model-a"
    after = build_identity(two, [])
    assert after.resolve("litellm_prices", "openrouter/shared/slug") is None
    again = build_identity(list(one), [])
    assert again is before  # the same inputs: the same identity, not built again
    assert again.resolve("litellm_prices", "openrouter/shared/slug") == "org/model-a"
