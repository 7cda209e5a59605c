"""The operator's configuration: one TOML file, every key overridable from the environment.

Unknown keys are errors (a typo must not silently fall back to a default), and no
key holds a secret: tokens come from `HF_TOKEN`, `OPENROUTER_API_KEY` and
`GITHUB_TOKEN` only, the snapshot signing key from `TRACTION_SNAPSHOT_KEY`. The one
exception is a Redis password inside `fleet.redis_url`, which is redacted wherever the
URL is shown (prefer setting it as `TRACTION_FLEET__REDIS_URL`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


# Repositories whose stars track adoption of the open-weight families above.
DEFAULT_GITHUB_REPOS = [
    "meta-llama/llama-models",
    "QwenLM/Qwen3",
    "deepseek-ai/DeepSeek-V3",
    "mistralai/mistral-inference",
    "google-deepmind/gemma",
    "openai/gpt-oss",
]


class _Section(BaseModel):
    # inf and NaN pass `gt`/`ge` bounds (NaN compares false both ways) and then break
    # scoring far from the config file: refused here, in every section and dict value.
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class SourceConfig(_Section):
    """What every source has: a switch, a schedule, a per-request timeout, a request budget."""

    enabled: bool = True
    interval: int = Field(default=3600, ge=1, description="seconds between runs in the daemon")
    timeout: float = Field(default=30.0, gt=0, description="seconds per HTTP request")
    requests_per_window: int = Field(default=60, ge=1, description="request budget ...")
    window: int = Field(default=60, ge=1, description="... per this many seconds")


class HttpSourceConfig(SourceConfig):
    base_url: str

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class OpenRouterConfig(HttpSourceConfig):
    base_url: str = "https://openrouter.ai/api/v1"
    # OpenRouter's data endpoints allow 30 requests a minute; all OpenRouter sources share it.
    requests_per_window: int = Field(default=30, ge=1)
    window: int = Field(default=60, ge=1)
    output_modalities: str = Field(
        default="all", description="`all` keeps image/audio models the default `text` would hide"
    )


class OpenRouterEndpointsConfig(OpenRouterConfig):
    interval: int = Field(default=6 * 3600, ge=1)
    models: list[str] = Field(
        default_factory=list, description="OpenRouter ids your LiteLLM deployments use"
    )
    top_n: int = Field(
        default=10, ge=0, le=200, description="plus the best-ranked models of the last snapshot"
    )


class OpenRouterRankingsConfig(OpenRouterConfig):
    interval: int = Field(default=24 * 3600, ge=1)
    days: int = Field(default=7, ge=1, le=90, description="how many days back to request")


class HuggingFaceConfig(HttpSourceConfig):
    base_url: str = "https://huggingface.co"
    # Anonymous quota: 500 requests per 5-minute window (1,000 with a free token).
    requests_per_window: int = Field(default=500, ge=1)
    window: int = Field(default=300, ge=1)
    authors: list[str] = Field(default_factory=lambda: list(DEFAULT_HF_AUTHORS))
    models_per_author: int = Field(default=50, ge=1, le=1000)
    top_n: int = Field(default=200, ge=0, le=5000, description="top models by downloads overall")
    page_size: int = Field(default=100, ge=1, le=1000)
    max_pages: int = Field(default=20, ge=1, description="per listing; guards against Link loops")


class GitHubConfig(HttpSourceConfig):
    base_url: str = "https://api.github.com"
    # Anonymous: 60 requests an hour (5,000 with a token: raise requests_per_window then).
    requests_per_window: int = Field(default=60, ge=1)
    window: int = Field(default=3600, ge=1)
    repositories: list[str] = Field(default_factory=lambda: list(DEFAULT_GITHUB_REPOS))
    links: dict[str, str] = Field(
        default_factory=dict, description="repository -> model id it stands for (optional)"
    )

    @field_validator("repositories")
    @classmethod
    def _owner_repo(cls, value: list[str]) -> list[str]:
        for repo in value:
            if repo.count("/") != 1 or not all(repo.split("/")):
                raise ValueError(f"{repo!r} is not owner/name")
        return value


class LiteLLMPricesConfig(SourceConfig):
    interval: int = Field(default=24 * 3600, ge=1)
    location: str | None = Field(
        default=None,
        description="file path or http(s) URL of model_prices_and_context_window.json;"
        " default: the copy inside an installed litellm",
    )


class WzrdConfig(HttpSourceConfig):
    enabled: bool = False  # the service is retired; opt in for a mirror or a replacement
    base_url: str = "https://api.twzrd.xyz"


class SourcesConfig(_Section):
    openrouter: OpenRouterConfig = Field(default_factory=OpenRouterConfig)
    openrouter_endpoints: OpenRouterEndpointsConfig = Field(
        default_factory=OpenRouterEndpointsConfig
    )
    openrouter_rankings: OpenRouterRankingsConfig = Field(default_factory=OpenRouterRankingsConfig)
    huggingface: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    litellm_prices: LiteLLMPricesConfig = Field(default_factory=LiteLLMPricesConfig)
    wzrd: WzrdConfig = Field(default_factory=WzrdConfig)

    def enabled(self) -> list[str]:
        return [name for name in type(self).model_fields if getattr(self, name).enabled]


class IngestConfig(_Section):
    quarantine_threshold: float = Field(
        default=0.2, ge=0, le=1, description="quarantined share above which a run is degraded"
    )
    archive_retention_days: int = Field(
        default=30, ge=0, description="days raw fetched bodies are kept (0 = keep none)"
    )
    downsample_after_days: int = Field(
        default=90, ge=1, description="`traction vacuum` keeps one observation per day past this"
    )
    snapshot_history_days: int = Field(
        default=7,
        ge=1,
        description="published snapshots (and their scores) older than this are thinned to"
        " the last of each day",
    )


class StorageConfig(_Section):
    database: Path = Path("traction-data/traction.duckdb")
    snapshot: Path = Path("traction-data/snapshot.json")
    analytics: Path | None = Field(
        default=Path("traction-data/analytics.duckdb"),
        description="read-only copy for analysts (empty: none)",
    )
    analytics_delay: int = Field(
        default=120,
        ge=0,
        le=86400,
        description="the daemon refreshes the analytics copy this many seconds after a cycle"
        " (one refresh for the sources that run together; 0: after every cycle)",
    )
    compact_every_days: int = Field(
        default=7,
        ge=0,
        le=3650,
        description="the daemon's retention job rewrites the database file this often, giving"
        " back the space DuckDB keeps after deletes (0: only `traction vacuum` does)",
    )

    @field_validator("analytics", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class RetryConfig(_Section):
    attempts: int = Field(default=4, ge=1, le=20)
    backoff_initial: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    run_budget: float = Field(
        default=300.0, gt=0, description="max seconds one source run may take"
    )


class IdentityConfig(_Section):
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description="any name (a LiteLLM route, a house alias) -> the model id it stands for;"
        " always wins over links found in the data",
    )
    presence_window: int = Field(
        default=7 * 86400,
        ge=60,
        description="seconds an id counts as present after a source last reported it, for"
        " sources that list no whole catalogue (Hugging Face, GitHub, rankings, WZRD); ids"
        " of full-list sources (OpenRouter, its endpoints, LiteLLM's price map) are present"
        " while their source's latest complete list names them. Only present ids claim"
        " names and quote prices",
    )


class BalancedWeights(_Section):
    momentum: float = Field(default=1.0, ge=0)
    cost: float = Field(default=1.0, ge=0)


class ScoringConfig(_Section):
    formula: Literal["traction", "wzrd"] = Field(
        default="traction",
        description="`traction`: expected growth ranked among peers (scoring/growth.py);"
        " `wzrd`: litellm-wzrd-momentum 0.1.0's threshold formula (scoring/formula.py)",
    )
    growth_windows: list[int] = Field(
        default_factory=lambda: [3, 7],
        min_length=1,
        description="days over which the traction formula measures growth (averaged)",
    )
    growth_windows_by_metric: dict[str, list[int]] = Field(
        default_factory=lambda: {"huggingface.likes": [7, 14], "github.stars": [7, 14]},
        description="source.metric -> windows; cumulative counts need longer ones",
    )
    horizon_days: int = Field(
        default=7, ge=1, le=90, description="the traction formula's growth is expected over"
    )
    young_model_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="models younger than this (Hugging Face createdAt) get the age term",
    )
    unrefreshed_share: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="a capture in which this share of a source's series repeat their last"
        " value is `not refreshed`, left out of growth",
    )
    stale_after: int = Field(
        default=6 * 3600, ge=60, description="seconds a snapshot stays fresh after it is generated"
    )
    min_publish_interval: int = Field(
        default=900,
        ge=0,
        description="seconds: new facts wait until the current snapshot is this old before"
        " they are published (coalesced); 0 publishes whenever there is something new",
    )
    source_max_age: int = Field(
        default=48 * 3600, ge=60, description="seconds after which a source counts as stale"
    )
    policy: Literal["momentum", "cost", "balanced"] = Field(
        default="momentum", description="what ranks models: adoption momentum, price, or both"
    )
    balanced: BalancedWeights = Field(default_factory=BalancedWeights)
    input_output_ratio: float = Field(
        default=3.0, gt=0, description="input tokens per output token, to blend two prices"
    )
    cost_reference_usd_per_mtok: float = Field(
        default=1.0, gt=0, description="the blended price that earns half the cost points"
    )
    signal_half_life: int = Field(
        default=3 * 86400, ge=60, description="seconds after which a signal weighs half"
    )
    signal_max_age: int = Field(
        default=7 * 86400, ge=60, description="seconds after which a signal counts for nothing"
    )
    signal_max_age_by_source: dict[str, int] = Field(
        default_factory=lambda: {"wzrd": 86400, "openrouter_rankings": 3 * 86400}
    )
    max_vanished_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="refuse to publish when more than this share of the last snapshot's"
        " models would vanish",
    )
    metric_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "huggingface.downloads": 1.0,
            "huggingface.likes": 1.0,
            "huggingface.trending_score": 0.5,
            "github.stars": 0.5,
            "openrouter_rankings.total_tokens": 1.0,
            "wzrd.momentum": 1.0,
        }
    )

    @field_validator("growth_windows")
    @classmethod
    def _positive_windows(cls, value: list[int]) -> list[int]:
        if any(w < 1 or w > 365 for w in value):
            raise ValueError("windows are whole days from 1 to 365")
        return value

    @field_validator("growth_windows_by_metric")
    @classmethod
    def _positive_metric_windows(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for key, windows in value.items():
            if not windows or any(w < 1 or w > 365 for w in windows):
                raise ValueError(f"windows for {key!r}: one or more whole days from 1 to 365")
        return value

    @field_validator("metric_weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight for {key!r} must be >= 0")
        return value


class AdapterConfig(_Section):
    """The LiteLLM side (`router_adapter`); read from `TRACTION_ADAPTER__*` by the proxy."""

    snapshot: str = Field(
        default="traction-data/snapshot.json",
        description="file path, traction serve URL, or a fleet's redis:// URL",
    )
    max_age: float | None = Field(default=6 * 3600, gt=0)
    policy: Literal["winner", "weighted"] = "winner"
    top_k: int = Field(default=3, ge=1)
    hysteresis: float = Field(default=0.0, ge=0)
    check_interval: float = Field(default=1.0, ge=0)
    refresh_interval: float = Field(
        default=30.0, gt=0, description="seconds between polls of a snapshot URL (http or redis)"
    )
    alias_map: dict[str, list[str] | str] = Field(default_factory=dict)


class FleetConfig(_Section):
    """Several workers on one Redis: one leader ingests and publishes, the rest stand by.

    Unset `redis_url` (the default) is single-worker mode: no Redis, no lock. The URL may
    carry a password (`redis://:PASSWORD@host:6379/0`); give it as
    `TRACTION_FLEET__REDIS_URL` rather than in the file. It is redacted in every log line
    and error. The snapshot signing key is never configured here: `TRACTION_SNAPSHOT_KEY`.
    """

    redis_url: str | None = Field(
        default=None,
        repr=False,  # may hold a password
        description="redis://, rediss:// or unix:// URL; unset: no fleet",
    )
    key_prefix: str = Field(default="traction:", description="prefix of the lock and snapshot keys")
    channel: str | None = Field(
        default=None,
        description="pub/sub channel announcing each snapshot; default `<key_prefix>snapshots`",
    )
    lock_ttl: float = Field(
        default=15.0,
        ge=0.2,
        description="seconds the leader lock lives unless renewed: the longest a dead"
        " leader keeps the fleet without one",
    )
    renew_interval: float | None = Field(
        default=None,
        gt=0,
        description="seconds between the leader's renewals and the followers' attempts;"
        " default lock_ttl / 3",
    )
    worker_id: str | None = Field(
        default=None, description="this worker's name in logs and Redis; default host-pid"
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if value == "":
            return None
        if isinstance(value, str) and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _renew_within_ttl(self) -> FleetConfig:
        if self.renew_interval is not None and self.renew_interval >= self.lock_ttl / 2:
            raise ValueError(
                "renew_interval must be under half of lock_ttl, or one late renewal loses the lock"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.redis_url is not None

    @property
    def renew_every(self) -> float:
        return self.renew_interval if self.renew_interval is not None else self.lock_ttl / 3


class SnapshotConfig(_Section):
    """Which scored models the published snapshot carries. Routers need the models their
    deployments serve and the leaders; a snapshot of every model any source lists (a few
    thousand) costs every publish, every score row and every router's reload for models
    nobody routes to. Scoring itself always covers every model (`traction score`, the
    backtest); the scope only decides what is published."""

    top_n: int = Field(
        default=100,
        ge=0,
        description="the top N models by score, always published (100: everything the"
        " WZRD endpoint serves unfiltered); 0 publishes every scored model",
    )
    model_list: Path | None = Field(
        default=None,
        description="a LiteLLM config.yaml: the model each of its deployments serves (matched"
        " as the adapter matches, with adapter.alias_map) is always published",
    )
    models: list[str] = Field(
        default_factory=list,
        description="more model ids (or any alias of one) always published; the targets of"
        " identity.aliases always are",
    )

    @field_validator("model_list")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            from .identity import read_model_list

            read_model_list(value)  # a missing or broken file is a config error, now
        return value


class TractionConfig(_Section):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    adapter: AdapterConfig = Field(default_factory=AdapterConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    snapshot: SnapshotConfig = Field(default_factory=SnapshotConfig)
    fleet: FleetConfig = Field(default_factory=FleetConfig)
