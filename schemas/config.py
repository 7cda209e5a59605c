"""The operator's configuration: one TOML file, every key overridable from the environment.

Unknown keys are errors (a typo must not silently fall back to a default), and no
key holds a secret: tokens come from `HF_TOKEN`, `OPENROUTER_API_KEY` and
`GITHUB_TOKEN` only.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_HF_AUTHORS = [
    "meta-llama",
    "Qwen",
    "mistralai",
    "deepseek-ai",
    "google",
    "microsoft",
    "nvidia",
    "openai",
    "allenai",
    "ibm-granite",
    "moonshotai",
    "zai-org",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SourceConfig(_Section):
    enabled: bool = True
    base_url: str
    interval: int = Field(default=3600, ge=10, description="seconds between runs in the daemon")
    timeout: float = Field(default=30.0, gt=0, description="seconds per HTTP request")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class OpenRouterConfig(SourceConfig):
    base_url: str = "https://openrouter.ai/api/v1"
    output_modalities: str = Field(
        default="all", description="`all` keeps image/audio models the default `text` would hide"
    )


class HuggingFaceConfig(SourceConfig):
    base_url: str = "https://huggingface.co"
    authors: list[str] = Field(default_factory=lambda: list(DEFAULT_HF_AUTHORS))
    models_per_author: int = Field(default=50, ge=1, le=1000)
    top_n: int = Field(default=200, ge=0, le=5000, description="top models by downloads overall")
    page_size: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=20, ge=1, description="per listing; guards against Link loops")


class WzrdConfig(SourceConfig):
    enabled: bool = False  # the service is retired; opt in for a mirror or a replacement
    base_url: str = "https://api.twzrd.xyz"


class SourcesConfig(_Section):
    openrouter: OpenRouterConfig = Field(default_factory=OpenRouterConfig)
    huggingface: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)
    wzrd: WzrdConfig = Field(default_factory=WzrdConfig)


class StorageConfig(_Section):
    database: Path = Path("traction-data/traction.duckdb")
    snapshot: Path = Path("traction-data/snapshot.json")


class RetryConfig(_Section):
    attempts: int = Field(default=4, ge=1, le=20)
    backoff_initial: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    run_budget: float = Field(
        default=300.0, gt=0, description="max seconds one source run may take"
    )


class ScoringConfig(_Section):
    stale_after: int = Field(
        default=6 * 3600, ge=60, description="seconds a snapshot stays fresh after it is generated"
    )
    source_max_age: int = Field(
        default=48 * 3600, ge=60, description="seconds after which a source counts as stale"
    )
    metric_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "huggingface.downloads": 1.0,
            "huggingface.likes": 0.5,
            "huggingface.trending_score": 0.5,
            "wzrd.momentum": 1.0,
        }
    )

    @field_validator("metric_weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight for {key!r} must be >= 0")
        return value


class TractionConfig(_Section):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
