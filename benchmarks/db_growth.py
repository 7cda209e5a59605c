"""How fast traction's database grows, per simulated day, week and month, at the defaults.

Why: the worker keeps every fact, every score and every snapshot it publishes, plus a raw
archive of every fetched body, in one DuckDB file. Operators need to know how big that
file gets, what `ingest.archive_retention_days` and `traction vacuum` buy back, and whether
anything grows without bound. Guessing from row sizes misses DuckDB's compression, the
archive's dedupe and the "unchanged payload" shortcut, so this runs the real thing.

What it runs: the daemon's schedule at the default source settings (`schemas/config.py`:
every enabled source, its `interval`, its top-N and page sizes), on a scheduler that ticks
every 5 simulated minutes and runs each source's cycle when its interval is due, exactly
as `traction.daemon.cycle_job` does: `traction.pipeline.run_cycle(config, now,
only=[source])`, i.e. the real fetch (httpx, pagination, budgets), contract checks, the
content-hash dedupe, the raw archive, `store.land`, scoring, the publish guards and the
snapshot file, against a real DuckDB file in a temp directory. The archive is pruned by
`ingest` after every cycle, and the daemon's retention job (`traction.pipeline.vacuum`,
what `traction vacuum` runs: prune the archive, downsample observations, thin snapshots
and their scores, CHECKPOINT) runs an hour in and then daily, as in production.

Upstream is the loopback mirror (`traction/demo/upstream.py`) serving a synthetic,
seeded world that evolves with the simulated clock at realistic rates: Hugging Face
download counts drift, likes and trending scores move every hour, new repositories appear
(some surge); OpenRouter's ~330-model catalogue gains a model or changes a price about once
a day (so most hourly catalogue fetches are byte-identical and recorded as `unchanged`);
per-provider uptime changes every fetch; GitHub stars grow; the OpenRouter rankings add a
day each day; LiteLLM's price map changes only when litellm is upgraded (simulated every
14 days on a copy of the installed map). A few malformed records land in quarantine.

What is simulated rather than real, and why:

* the clock. Production reads the wall clock for the archive's `fetched_at`, the
  retention cutoffs and the run rows; `SimClock` points those few names
  (`utcnow` in the `store` modules, `datetime` in `ingest.http` and two sources) at the
  simulated time, so a month of retention happens in a minute;
* request budgets are raised (as `traction demo` does): an hour of simulated time passes
  in milliseconds, and pacing changes no byte that is stored;
* `OPENROUTER_API_KEY` is set to a dummy value (only ever sent to 127.0.0.1), so the
  rankings source runs instead of being skipped: the larger, realistic case;
  `--no-rankings` leaves it unset;
* the analytics copy, which the daemon rewrites after every cycle, is written only at each
  report (its size does not depend on how often it is rewritten; its cost does, and is
  reported).

How long: every simulated cycle does what a production cycle does, including scoring the
whole history and publishing (~56 snapshots a day at the defaults: Hugging Face and GitHub
hourly, each followed by its own publish), so a simulated day costs 1.5 minutes or more
on 2 cores, and more as the history grows: a month takes hours. The default run therefore
simulates one day and extrapolates; `--days 30` simulates the month itself, `--quick` half
a day at a quarter of the upstream size (a smoke run).

It prints, per report period (a week for runs of 14 days or more): the file size after
CHECKPOINT and the blocks in use, rows per table, archive bytes, the analytics copy's size
and the worker's time; then runs per source by status, the final file by table, what the
period costs once retention has aged it (a probe on a copy: clock moved past every
horizon, `traction vacuum`'s three steps one by one), the extrapolation per month and per
year with and without retention, checks of the dedupe and retention promises, and what
the next publish's guard and CHECKPOINT cost at the final size. Deterministic for
a seed (only run ids, which carry a random suffix, and timings differ between runs).

    python benchmarks/db_growth.py                # 1 simulated day, about 2 minutes
    python benchmarks/db_growth.py --quick        # half a day, a quarter of the models: 20 s
    python benchmarks/db_growth.py --days 30 --keep /tmp/growth   # the month, kept
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import ingest.http as ingest_http  # noqa: E402
import ingest.sources.litellm_prices as litellm_prices_source  # noqa: E402
import ingest.sources.openrouter_rankings as rankings_source  # noqa: E402
import store  # noqa: E402
import store.archive  # noqa: E402
import store.connection  # noqa: E402
import store.facts  # noqa: E402
import store.runs  # noqa: E402
import store.snapshots  # noqa: E402
from schemas.config import DEFAULT_GITHUB_REPOS, DEFAULT_HF_AUTHORS, TractionConfig  # noqa: E402
from traction.analytics import refresh  # noqa: E402
from traction.demo.upstream import Upstream  # noqa: E402
from traction.pipeline import run_cycle  # noqa: E402

# Every module that reads the wall clock through `utcnow` (the package re-exports it).
STORE_CLOCK_MODULES = (
    store,
    store.connection,
    store.runs,
    store.archive,
    store.facts,
    store.snapshots,
)

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a fixed Monday: output is reproducible
TICK = timedelta(minutes=5)
DAY = 86400
TABLES = [
    "runs",
    "observations",
    "prices",
    "price_changes",
    "catalog",
    "raw_pages",
    "raw_bodies",
    "quarantine",
    "scores",
    "snapshots",
]
# fmt: off
# Authors outside the configured list whose models fill Hugging Face's overall top-N.
OTHER_HF_AUTHORS = [
    "sentence-transformers", "BAAI", "FacebookAI", "google-bert", "openai-community",
    "Xenova", "intfloat", "TheBloke", "unsloth", "bartowski", "lmstudio-community",
    "mlx-community", "stabilityai", "black-forest-labs", "laion", "timm", "pyannote",
    "jonatasgrosman", "distilbert", "cardiffnlp", "nomic-ai", "Alibaba-NLP", "jinaai",
    "HuggingFaceTB", "tiiuae", "01-ai", "CohereForAI", "ByteDance", "tencent", "LiquidAI",
]
OPENROUTER_ORGS = {
    "openai": "openai", "anthropic": None, "google": "google", "meta-llama": "meta-llama",
    "mistralai": "mistralai", "qwen": "Qwen", "deepseek": "deepseek-ai", "x-ai": None,
    "cohere": None, "nvidia": "nvidia", "microsoft": "microsoft", "amazon": None,
    "perplexity": None, "moonshotai": "moonshotai", "z-ai": "zai-org", "minimax": None,
    "baidu": None, "nousresearch": None, "sao10k": None, "thedrummer": None,
    "ai21": None, "inflection": None, "liquid": None, "arcee-ai": None, "ibm-granite":
    "ibm-granite", "allenai": "allenai", "inception": None, "bytedance": None,
}
PROVIDERS = [
    "deepinfra", "together", "fireworks", "groq", "novita", "parasail", "baseten",
    "nebius", "lambda", "hyperbolic", "cerebras", "sambanova", "chutes", "friendli",
    "atlas-cloud", "crusoe", "siliconflow", "gmicloud", "azure", "google-vertex",
]
WORDS = [
    "model", "reasoning", "instruction", "tuned", "context", "tokens", "multilingual", "code",
    "math", "agentic", "tool", "use", "efficient", "mixture", "experts", "dense", "sparse",
    "attention", "long", "benchmark", "quality", "latency", "open", "weights", "license",
    "safety", "alignment", "chat", "completion", "vision", "audio", "structured", "output",
]
PARAMETERS = [
    "max_tokens", "temperature", "top_p", "tools", "tool_choice", "stop", "seed",
    "response_format", "structured_outputs", "reasoning", "frequency_penalty",
    "presence_penalty", "logprobs",
]
# The `*_url` fields of GitHub's repository and owner objects: most of a repository's bytes.
OWNER_URLS = [
    "followers", "following", "gists", "starred", "subscriptions", "organizations", "repos",
    "events", "received_events",
]
REPO_URLS = [
    "forks", "keys", "collaborators", "teams", "hooks", "issue_events", "events", "assignees",
    "branches", "tags", "blobs", "git_tags", "git_refs", "trees", "statuses", "languages",
    "stargazers", "contributors", "subscribers", "subscription", "commits", "git_commits",
    "comments", "issue_comment", "contents", "compare", "merges", "archive", "downloads",
    "issues", "pulls", "milestones", "notifications", "labels", "releases", "deployments",
]
# fmt: on


def stable_rng(*parts: object) -> random.Random:
    """A generator seeded by its arguments: the same payload for the same (seed, thing, time),
    whatever order the mirror's server thread is asked in."""
    return random.Random(hashlib.sha256(repr(parts).encode()).hexdigest())


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def per_token(usd_per_mtok: float) -> str:
    """OpenRouter's per-token decimal string for a price per million tokens."""
    return format((Decimal(str(round(usd_per_mtok, 4))) / 1_000_000).normalize(), "f")


# --------------------------------------------------------------------------- the clock


class SimClock:
    """The simulated UTC time, and the few wall-clock reads it has to replace."""

    def __init__(self, start: datetime):
        self.now = start

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Point the archive's `fetched_at`, the retention cutoffs and the run rows at the
        simulated clock; restore the real ones afterwards."""
        clock = self

        class SimDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

        sim_utcnow = lambda: clock.now.replace(tzinfo=None)  # noqa: E731
        patched: list[tuple[Any, str, Any]] = [
            *((module, "utcnow", sim_utcnow) for module in STORE_CLOCK_MODULES),
            (ingest_http, "datetime", SimDatetime),
            (litellm_prices_source, "datetime", SimDatetime),
            (rankings_source, "datetime", SimDatetime),
        ]
        saved = [(module, name, getattr(module, name)) for module, name, _ in patched]
        for module, name, value in patched:
            setattr(module, name, value)
        try:
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)


# --------------------------------------------------------------------------- the world


@dataclass
class HFModel:
    id: str
    oid: str
    downloads: float  # rolling 30 days
    all_time: float
    likes: float
    growth: float  # log growth of downloads per day
    like_rate: float  # likes per day
    created: datetime
    modified: datetime


@dataclass
class ORModel:
    record: dict[str, Any]
    price: float  # prompt USD per million tokens
    providers: list[str]


@dataclass
class World:
    """Seeded upstream state, advanced hour by hour with the simulated clock."""

    seed: int
    scale: float = 1.0
    rng: random.Random = field(init=False)
    hf: list[HFModel] = field(default_factory=list)
    openrouter: dict[str, ORModel] = field(default_factory=dict)
    github: dict[str, dict[str, Any]] = field(default_factory=dict)
    hour: datetime = START
    hf_broken: str | None = None  # a record sent malformed this hour
    hf_cache: tuple[datetime, list[dict[str, Any]]] | None = None
    or_cache: dict[str, Any] | None = None
    events: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for author in DEFAULT_HF_AUTHORS:
            for _ in range(int(self.rng.randint(60, 90) * self.scale)):
                self.hf.append(self._new_hf(author, START, new=False))
        for author in OTHER_HF_AUTHORS:
            for _ in range(int(self.rng.randint(8, 20) * self.scale)):
                self.hf.append(self._new_hf(author, START, new=False))
        for _ in range(int(330 * self.scale)):
            self._new_openrouter(START, new=False)
        for repo in DEFAULT_GITHUB_REPOS:
            self.github[repo] = self._new_repo(repo)

    # Hugging Face -----------------------------------------------------------------------
    def _new_hf(self, author: str, when: datetime, new: bool) -> HFModel:
        rng = self.rng
        family = rng.choice(["chat", "instruct", "base", "coder", "vl", "embed", "reasoner"])
        size = rng.choice([0.5, 1, 1.5, 3, 4, 7, 8, 9, 14, 24, 32, 70, 120, 235])
        name = f"{author}/{rng.choice(WORDS).title()}-{size:g}B-{family}-{rng.randrange(10**4)}"
        if new:  # a release: starts small, often surges for a couple of weeks
            downloads, growth = rng.uniform(50, 2000), rng.uniform(0.05, 0.4)
        else:
            downloads, growth = math.exp(rng.gauss(8.5, 2.2)), rng.gauss(0.0, 0.02)
        return HFModel(
            id=name,
            oid=hashlib.md5(name.encode()).hexdigest()[:24],
            downloads=downloads,
            all_time=downloads * rng.uniform(1, 12),
            likes=downloads**0.5 * rng.uniform(0.05, 0.6),
            growth=growth,
            like_rate=downloads**0.5 * rng.uniform(0.0005, 0.01),
            created=when - timedelta(days=0 if new else rng.randint(10, 900)),
            modified=when - timedelta(days=0 if new else rng.randint(0, 60)),
        )

    def _advance_hf(self) -> None:
        rng = self.rng
        for model in self.hf:
            model.growth = model.growth * 0.995 + rng.gauss(0, 0.002)  # drifts back to flat
            model.downloads *= math.exp(model.growth / 24 + rng.gauss(0, 0.004))
            model.all_time += model.downloads / 720
            if rng.random() < model.like_rate / 24:
                model.likes += 1 + int(rng.expovariate(1.0))
            if rng.random() < 0.002:
                model.modified = self.hour
        if rng.random() < 6 * self.scale / 24:  # ~6 new repositories a day
            author = rng.choice(DEFAULT_HF_AUTHORS + OTHER_HF_AUTHORS)
            self.hf.append(self._new_hf(author, self.hour, new=True))
            self.events["hf new model"] += 1
        self.hf_broken = None
        if rng.random() < 0.02:  # one of the listed (most downloaded) models, sent malformed
            listed = sorted(self.hf, key=lambda m: -m.downloads)[:100]
            self.hf_broken = rng.choice(listed).id
            self.events["hf malformed record"] += 1

    def hf_payload(self) -> list[dict[str, Any]]:
        """GET /api/models with the expand fields traction asks for, every model (the mirror
        filters by author, sorts by downloads and paginates)."""
        if self.hf_cache and self.hf_cache[0] == self.hour:
            return self.hf_cache[1]
        out = []
        for m in self.hf:
            trending = int(m.like_rate * (1 + max(0.0, m.growth) * 40))
            out.append(
                {
                    "_id": m.oid,
                    "id": m.id,
                    "downloads": int(m.downloads),
                    "downloadsAllTime": int(m.all_time),
                    # drift: a count sent as a string, which the contract quarantines
                    "likes": str(int(m.likes)) if m.id == self.hf_broken else int(m.likes),
                    "trendingScore": trending,
                    "createdAt": iso(m.created),
                    "lastModified": iso(m.modified),
                }
            )
        self.hf_cache = (self.hour, out)
        return out

    # OpenRouter -----------------------------------------------------------------------
    def _new_openrouter(self, when: datetime, new: bool) -> None:
        rng = self.rng
        org = rng.choice(list(OPENROUTER_ORGS))
        hf_author = OPENROUTER_ORGS[org]
        linked = None
        if hf_author and rng.random() < 0.7:
            candidates = [m for m in self.hf if m.id.startswith(hf_author + "/")]
            if candidates:
                linked = rng.choice(candidates).id
        if linked:
            name = linked.split("/", 1)[1].lower()
        else:
            name = f"{rng.choice(WORDS)}-{rng.randrange(10**4)}"
        model_id = f"{org}/{name}"
        if model_id in self.openrouter:
            return
        price = round(math.exp(rng.gauss(-0.5, 1.4)), 3)
        created = when - timedelta(days=0 if new else rng.randint(1, 700))
        context = rng.choice([8192, 32768, 65536, 131072, 200000, 262144, 1048576])
        record: dict[str, Any] = {
            "id": model_id,
            "canonical_slug": f"{model_id}-{created:%Y%m%d}",
            "hugging_face_id": linked or "",
            "name": f"{org.title()}: {name}",
            "created": int(created.timestamp()),
            "description": words(rng, rng.randint(40, 140)),
            "context_length": context,
            "architecture": {
                "modality": "text->text",
                "input_modalities": ["text"],
                "output_modalities": ["text"],
                "tokenizer": rng.choice(["GPT", "Llama3", "Qwen3", "Mistral", "Other"]),
                "instruct_type": None,
            },
            "pricing": {},
            "top_provider": {
                "context_length": context,
                "max_completion_tokens": rng.choice([None, 8192, 16384, 32768]),
                "is_moderated": rng.random() < 0.2,
            },
            "per_request_limits": None,
            "supported_parameters": rng.sample(PARAMETERS, rng.randint(3, 12)),
            "default_parameters": {},
            "supported_voices": None,
            "knowledge_cutoff": None,
            "expiration_date": None,
            "links": {"details": f"/api/v1/models/{model_id}-{created:%Y%m%d}/endpoints"},
        }
        providers = rng.sample(PROVIDERS, rng.randint(1, 10))
        self.openrouter[model_id] = ORModel(record, price, providers)
        self._set_price(model_id, price)
        if rng.random() < 0.1:  # a free variant, folded onto the base model by the parser
            free = json.loads(json.dumps(record))
            free["id"] = f"{model_id}:free"
            free["pricing"] = {"prompt": "0", "completion": "0", "request": "0", "image": "0"}
            self.openrouter[free["id"]] = ORModel(free, 0.0, providers[:1])
        self.or_cache = None

    def _set_price(self, model_id: str, price: float) -> None:
        entry = self.openrouter[model_id]
        entry.price = price
        entry.record["pricing"] = {
            "prompt": per_token(price),
            "completion": per_token(price * 4),
            "request": "0",
            "image": "0",
            "web_search": "0",
            "internal_reasoning": "0",
            "input_cache_read": per_token(price / 10),
        }
        self.or_cache = None

    def _advance_openrouter(self) -> None:
        rng = self.rng
        if rng.random() < 0.7 / 24:  # a new model about every day and a half
            self._new_openrouter(self.hour, new=True)
            self.events["openrouter new model"] += 1
        if rng.random() < 0.5 / 24:  # a price change every other day
            paid = [k for k, v in self.openrouter.items() if v.price > 0]
            model_id = rng.choice(paid)
            self._set_price(model_id, self.openrouter[model_id].price * rng.uniform(0.5, 1.2))
            self.events["openrouter price change"] += 1
        if rng.random() < 0.15 / 24:  # a model leaves
            del self.openrouter[rng.choice(sorted(self.openrouter))]
            self.or_cache = None
            self.events["openrouter model removed"] += 1

    def openrouter_payload(self) -> dict[str, Any]:
        if self.or_cache is None:
            data = [m.record for m in self.openrouter.values()]
            self.or_cache = {"data": data, "total_count": len(data), "links": None}
        return self.or_cache

    def endpoints(self, model_id: str) -> dict[str, Any] | None:
        """GET /models/{id}/endpoints now: each provider's offer, uptime moving every fetch."""
        entry = self.openrouter.get(model_id)
        if entry is None:
            return None
        rng = stable_rng(self.seed, "endpoints", model_id, self.hour)
        offers = []
        for provider in entry.providers:
            factor = stable_rng(self.seed, model_id, provider).uniform(0.6, 1.6)
            uptime = round(100 - rng.expovariate(2.0), 2)
            offers.append(
                {
                    "name": f"{provider.title()} | {entry.record['canonical_slug']}",
                    "model_id": model_id,
                    "model_name": entry.record["name"],
                    "context_length": entry.record["context_length"],
                    "pricing": {
                        "prompt": per_token(entry.price * factor),
                        "completion": per_token(entry.price * factor * 4),
                        "discount": 0,
                    },
                    "provider_name": provider.title(),
                    "tag": provider,
                    "quantization": rng.choice(["fp8", "bf16", "fp4", "int8"]),
                    "max_completion_tokens": None,
                    "max_prompt_tokens": None,
                    "supported_parameters": entry.record["supported_parameters"],
                    "uptime_last_30m": max(0.0, uptime),
                    "uptime_last_5m": None,
                    "uptime_last_1d": max(0.0, round(100 - rng.expovariate(4.0), 2)),
                    "supports_implicit_caching": False,
                    "latency_last_30m": round(rng.uniform(0.2, 2.5), 3),
                    "throughput_last_30m": round(rng.uniform(20, 400), 1),
                    "status": 0,
                }
            )
        return {
            "data": {
                "id": model_id,
                "name": entry.record["name"],
                "created": entry.record["created"],
                "description": entry.record["description"],
                "architecture": entry.record["architecture"],
                "endpoints": offers,
            }
        }

    def rankings(self, days: int) -> dict[str, Any]:
        """GET /datasets/rankings-daily for the last `days` complete days: the top 60 models'
        token volume per day, plus the long tail's `other` row."""
        today = self.hour.date()
        slugs = sorted(
            (m.record["canonical_slug"] for k, m in self.openrouter.items() if ":" not in k),
            key=lambda s: stable_rng(self.seed, "rank", s).random(),
        )[:60]
        rows = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            for rank, slug in enumerate(slugs):
                base = 5e11 / (rank + 1) ** 1.1
                wobble = stable_rng(self.seed, slug, day).uniform(0.85, 1.2)
                trend = 1 + stable_rng(self.seed, "trend", slug).gauss(0, 0.02) * back
                rows.append(
                    {
                        "date": str(day),
                        "model_permaslug": slug,
                        "variant": "standard",
                        "total_tokens": str(int(base * wobble * max(0.1, trend))),
                    }
                )
            other = {"date": str(day), "model_permaslug": "other", "total_tokens": "7000000000"}
            rows.append(other)
        end = today - timedelta(days=1)
        return {
            "data": rows,
            "meta": {
                "as_of": str(today),
                "version": "1",
                "start_date": str(today - timedelta(days=days)),
                "end_date": str(end),
            },
        }

    # GitHub ---------------------------------------------------------------------------
    def _new_repo(self, full_name: str) -> dict[str, Any]:
        """A `GET /repos/{owner}/{repo}` body in its real shape (~5 KB, mostly URLs)."""
        owner, name = full_name.split("/")
        api = f"https://api.github.com/repos/{full_name}"
        rng = self.rng
        stars = rng.randint(8000, 70000)
        body: dict[str, Any] = {
            "id": rng.randrange(10**8, 10**9),
            "node_id": "R_kgDO" + hashlib.md5(full_name.encode()).hexdigest()[:8],
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {
                "login": owner,
                "id": rng.randrange(10**7, 10**8),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{rng.randrange(10**8)}?v=4",
                "html_url": f"https://github.com/{owner}",
                "type": "Organization",
                "site_admin": False,
                **{f"{k}_url": f"https://api.github.com/users/{owner}/{k}" for k in OWNER_URLS},
            },
            "html_url": f"https://github.com/{full_name}",
            "description": words(rng, 12),
            "fork": False,
            "url": api,
            **{f"{k}_url": f"{api}/{k}" for k in REPO_URLS},
            "created_at": "2024-04-17T15:00:00Z",
            "updated_at": iso(START),
            "pushed_at": iso(START),
            "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "clone_url": f"https://github.com/{full_name}.git",
            "homepage": f"https://{owner}.ai",
            "size": rng.randint(500, 50000),
            "stargazers_count": stars,
            "watchers_count": stars,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": True,
            "forks_count": stars // 9,
            "archived": False,
            "disabled": False,
            "open_issues_count": rng.randint(20, 400),
            "license": {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"},
            "allow_forking": True,
            "topics": rng.sample(WORDS, 5),
            "visibility": "public",
            "forks": stars // 9,
            "open_issues": 0,
            "watchers": stars,
            "default_branch": "main",
            "network_count": stars // 9,
            "subscribers_count": stars // 60,
        }
        body["open_issues"] = body["open_issues_count"]
        return body

    def _advance_github(self) -> None:
        rng = self.rng
        for repo in self.github.values():
            stars = repo["stargazers_count"] + int(rng.expovariate(1 / (repo["watchers"] / 4000)))
            repo["stargazers_count"] = repo["watchers_count"] = repo["watchers"] = stars
            if rng.random() < 0.4:
                repo["forks_count"] = repo["forks"] = repo["network_count"] = repo["forks"] + 1
            if rng.random() < 0.3:
                repo["open_issues_count"] += rng.choice([-1, 1])
                repo["open_issues"] = repo["open_issues_count"]
            if rng.random() < 0.2:
                repo["pushed_at"] = iso(self.hour)
            repo["updated_at"] = iso(self.hour)

    def github_payload(self) -> dict[str, dict[str, Any]]:
        return json.loads(json.dumps(self.github))  # the mirror serves a stable copy

    def advance_to(self, moment: datetime) -> None:
        """Step the world, an hour at a time, up to `moment`."""
        while self.hour + timedelta(hours=1) <= moment:
            self.hour += timedelta(hours=1)
            self._advance_hf()
            self._advance_openrouter()
            self._advance_github()


class EndpointsFeed:
    """The mirror looks models up with `.get(id)`; answer from the world at fetch time."""

    def __init__(self, world: World):
        self.world = world

    def __len__(self) -> int:
        return len(self.world.openrouter)

    def get(self, model_id: str) -> dict[str, Any] | None:
        return self.world.endpoints(model_id)


def litellm_upgrade(source: Path, target: Path, generation: int, seed: int) -> None:
    """Write LiteLLM's price map as `generation` litellm upgrades past the installed one
    would leave it: each changes ~1% of the prices and adds ~40 models."""
    data = json.loads(source.read_text("utf-8"))
    rng = random.Random(f"{seed}:litellm:{generation}")
    keys = sorted(
        key
        for key, entry in data.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("input_cost_per_token"), float)
        and entry["input_cost_per_token"] > 0
    )
    for release in range(1, generation + 1):
        for key in rng.sample(keys, len(keys) // 100):
            price = data[key]["input_cost_per_token"] * rng.uniform(0.5, 1.1)
            data[key]["input_cost_per_token"] = float(f"{price:.4g}")
        for index in range(40):
            data[f"sim-provider/new-model-{release}-{index}"] = dict(data[rng.choice(keys)])
    target.write_text(json.dumps(data, indent=4), encoding="utf-8")


# --------------------------------------------------------------------------- measuring


@dataclass
class Period:
    """What the worker did between two reports."""

    cycles: int = 0
    publishes: int = 0
    busy: float = 0.0  # seconds inside run_cycle
    publish_busy: float = 0.0  # seconds inside the cycles that published


@dataclass
class Measure:
    day: float
    file_bytes: int
    used_bytes: int  # blocks in use: the file keeps freed blocks for reuse
    wal_bytes: int
    rows: dict[str, int]
    archive_gzip: int
    archive_raw: int
    analytics_bytes: int | None
    analytics_seconds: float | None
    period: Period
    period_days: float


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def used_bytes(con: duckdb.DuckDBPyConnection) -> int:
    block_size, used = store.rows(
        con, "SELECT block_size, used_blocks FROM pragma_database_size()"
    )[0]
    return int(block_size) * int(used)


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: store.scalar(con, f"SELECT count(*) FROM {t}") or 0 for t in TABLES}


def measure(config: TractionConfig, day: float, period: Period, period_days: float) -> Measure:
    """CHECKPOINT, then sizes and row counts, and a fresh analytics copy (the daemon writes
    one after every cycle; this one is timed)."""
    db = Path(config.storage.database)
    with store.connect(db) as con:
        con.execute("CHECKPOINT")
        gz, raw = store.rows(
            con,
            "SELECT coalesce(sum(octet_length(body)), 0), coalesce(sum(size), 0) FROM raw_bodies",
        )[0]
        rows, used = row_counts(con), used_bytes(con)
        analytics_bytes = seconds = None
        if config.storage.analytics:
            began = time.perf_counter()
            path = refresh(con, config.storage.analytics)
            seconds = time.perf_counter() - began
            analytics_bytes = file_size(path)
    return Measure(
        day=day,
        file_bytes=file_size(db),
        used_bytes=used,
        wal_bytes=file_size(Path(f"{db}.wal")),
        rows=rows,
        archive_gzip=int(gz),
        archive_raw=int(raw),
        analytics_bytes=analytics_bytes,
        analytics_seconds=seconds,
        period=period,
        period_days=period_days,
    )


def table_bytes(db: Path, scratch: Path) -> dict[str, int]:
    """Each table's bytes on its own: copied alone into a fresh file, minus an empty file.
    DuckDB reports no per-table size; this is what the table costs, compacted, rounded up
    to its 256 KB blocks."""
    sizes = {}
    empty = scratch / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    base = file_size(empty)
    empty.unlink()
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        for table in TABLES:
            target = scratch / f"{table}.duckdb"
            con.execute(f"ATTACH '{target}' AS one")
            con.execute(f"CREATE TABLE one.{table} AS FROM src.{table}")
            con.execute("DETACH one")
            sizes[table] = max(0, file_size(target) - base)
            target.unlink()
        con.execute("DETACH src")
    return sizes


def compacted_size(db: Path, scratch: Path) -> int:
    """The database rewritten into a fresh file: the bytes its live rows need."""
    target = scratch / "compacted.duckdb"
    target.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS fresh")
        con.execute("COPY FROM DATABASE src TO fresh")
        con.execute("DETACH fresh")
        con.execute("DETACH src")
    size = file_size(target)
    target.unlink()
    return size


def vacuum(config: TractionConfig) -> tuple[int, int, int]:
    """The daemon's daily retention job, which is `traction vacuum` itself
    (`traction.pipeline.vacuum`: prune the archive, downsample observations, thin old
    snapshots and their scores, CHECKPOINT); (pages, observations, snapshots) removed."""
    from traction.pipeline import vacuum as retention

    done = retention(config)
    return done.pages, done.observations, done.snapshots


def checks(config: TractionConfig, now: datetime) -> list[tuple[str, bool, str]]:
    """The retention and dedupe promises, checked on the simulated database."""
    retention = config.ingest.archive_retention_days
    cutoff = now.replace(tzinfo=None) - timedelta(days=retention)
    with store.connect(config.storage.database) as con:
        unchanged = store.scalar(con, "SELECT count(*) FROM runs WHERE status = 'unchanged'")
        leaked = store.scalar(
            con,
            "SELECT (SELECT count(*) FROM observations WHERE run_id IN (SELECT run_id FROM runs"
            " WHERE status = 'unchanged')) + (SELECT count(*) FROM prices WHERE run_id IN"
            " (SELECT run_id FROM runs WHERE status = 'unchanged'))",
        )
        pages, bodies = store.rows(
            con, "SELECT count(*), count(DISTINCT content_hash) FROM raw_pages"
        )[0]
        stored_bodies = store.scalar(con, "SELECT count(*) FROM raw_bodies")
        orphans = store.scalar(
            con,
            "SELECT count(*) FROM raw_bodies WHERE content_hash NOT IN"
            " (SELECT content_hash FROM raw_pages)",
        )
        old = store.scalar(con, "SELECT count(*) FROM raw_pages WHERE fetched_at < ?", [cutoff])
        running = store.scalar(con, "SELECT count(*) FROM runs WHERE status = 'running'")
    return [
        (
            "unchanged payloads store no facts",
            leaked == 0,
            f"{unchanged} unchanged runs, {leaked} facts carry their run ids",
        ),
        (
            "archive keeps each body once",
            stored_bodies == bodies,
            f"{pages:,} archived pages share {stored_bodies:,} bodies",
        ),
        ("no orphaned archive bodies", orphans == 0, f"{orphans} bodies no page refers to"),
        (
            f"no archived page older than {retention} days",
            old == 0,
            f"{old} pages fetched before {cutoff:%Y-%m-%d %H:%M}",
        ),
        ("no run left 'running'", running == 0, f"{running} runs"),
    ]


# --------------------------------------------------------------------------- the run


def sim_config(data: Path, url: str, litellm_map: Path | None) -> TractionConfig:
    """The built-in defaults, pointed at the mirror and a temp directory; nothing else but
    request budgets (an hour passes in milliseconds here)."""
    sources: dict[str, Any] = {
        "openrouter": {"base_url": f"{url}/api/v1"},
        "openrouter_endpoints": {"base_url": f"{url}/api/v1"},
        "openrouter_rankings": {"base_url": f"{url}/api/v1"},
        "huggingface": {"base_url": url},
        "github": {"base_url": url},
    }
    if litellm_map is not None:
        sources["litellm_prices"] = {"location": str(litellm_map)}
    config = TractionConfig.model_validate(
        {
            "storage": {
                "database": data / "traction.duckdb",
                "snapshot": data / "snapshot.json",
                "analytics": data / "analytics.duckdb",
            },
            "sources": sources,
        }
    )
    for name in config.sources.enabled():
        getattr(config.sources, name).requests_per_window = 10**6
    return config


@dataclass
class Result:
    config: TractionConfig
    world: World
    measures: list[Measure] = field(default_factory=list)
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    seconds: Counter = field(default_factory=Counter)
    cycles: Counter = field(default_factory=Counter)
    publishes: Counter = field(default_factory=Counter)
    vacuums: list[tuple[float, int, int, int, float]] = field(default_factory=list)
    end: datetime = START
    wall: float = 0.0


def simulate(args: argparse.Namespace, data: Path, scratch: Path) -> Result:
    """Tick a 5-minute scheduler through `args.days`, running each source's cycle when due.
    The database as the first round of cycles left it is copied to `scratch` (the baseline:
    one-off rows that are not daily growth)."""
    world = World(args.seed, scale=args.scale)
    clock = SimClock(START)
    bundled = litellm_prices_source.bundled_map()
    litellm_map = data / "model_prices_and_context_window.json" if bundled else None
    if bundled and litellm_map:
        shutil.copyfile(bundled, litellm_map)  # until the first upgrade: the installed map
    end = START + timedelta(days=args.days)
    every = timedelta(days=args.report_every)
    # The daemon's retention job: an hour in, then daily (traction/daemon.py).
    vacuum_every = timedelta(hours=args.retention_every or 24 * (args.days + 2))
    next_vacuum = START + (timedelta(hours=1) if args.retention_every else vacuum_every)
    next_report, next_upgrade = START + every, START
    generation, period, last_report = 0, Period(), START
    began = time.perf_counter()
    with Upstream() as upstream, clock.installed():
        result = Result(sim_config(data, upstream.url, litellm_map), world)
        config = result.config
        upstream.payloads = {
            "openrouter": world.openrouter_payload,
            "huggingface": world.hf_payload,
            "openrouter_endpoints": EndpointsFeed(world),
        }
        due = {name: START for name in config.sources.enabled()}  # all due at start
        if args.progress:
            print(PERIOD_HEAD, file=sys.stderr, flush=True)
        moment = START
        while moment < end:
            clock.now = moment
            world.advance_to(moment)
            if litellm_map and bundled and moment >= next_upgrade + timedelta(days=14):
                next_upgrade += timedelta(days=14)
                generation += 1
                litellm_upgrade(bundled, litellm_map, generation, args.seed)
            for name, when in due.items():  # the daemon's jobs, in its order, one at a time
                if when > moment:
                    continue
                due[name] = when + timedelta(seconds=getattr(config.sources, name).interval)
                if name == "github":
                    upstream.payloads["github"] = world.github_payload()
                elif name == "openrouter_rankings":
                    days = config.sources.openrouter_rankings.days
                    upstream.payloads[name] = world.rankings(days)
                started = time.perf_counter()
                report = run_cycle(config, now=moment, only=[name], analytics=False)
                spent = time.perf_counter() - started
                result.seconds[name] += spent
                result.cycles[name] += 1
                result.publishes[name] += report.published
                period.cycles += 1
                period.busy += spent
                if report.published:
                    period.publishes += 1
                    period.publish_busy += spent
                for outcome in report.outcomes:
                    result.statuses[name][outcome.status] += 1
            if moment == START:
                with store.connect(config.storage.database) as con:
                    con.execute("CHECKPOINT")
                shutil.copyfile(config.storage.database, scratch / "baseline.duckdb")
            moment += TICK
            clock.now = moment
            if moment >= next_vacuum:  # the retention job, between two cycles
                next_vacuum += vacuum_every
                started = time.perf_counter()
                pages, rows, snapshots = vacuum(config)
                day = (moment - START).total_seconds() / DAY
                spent = time.perf_counter() - started
                result.vacuums.append((day, pages, rows, snapshots, spent))
            if moment >= next_report or moment >= end:
                next_report += every
                day = (moment - START).total_seconds() / DAY
                days = (moment - last_report).total_seconds() / DAY
                result.measures.append(measure(config, day, period, days))
                period, last_report = Period(), moment
                if args.progress:
                    elapsed = time.perf_counter() - began
                    row = period_row(result.measures[-1])
                    print(f"{row}   ({elapsed:.0f}s)", file=sys.stderr, flush=True)
        result.end = moment
    result.wall = time.perf_counter() - began
    return result


# --------------------------------------------------------------------------- the report


def mb(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value / 1e6:,.{digits}f}"


PERIOD_HEAD = (
    f"  {'day':>5} {'file':>8} {'used':>8} {'archive':>7} {'analyt.':>8} {'runs':>6}"
    f" {'observ.':>8} {'prices':>6} {'rawpg':>6} {'bodies':>6} {'quar.':>5}"
    f" {'scores':>7} {'snaps':>6} {'busy s/d':>8} {'ms/pub':>6}"
)


def period_row(m: Measure) -> str:
    k = {name: count / 1000 for name, count in m.rows.items()}
    p = m.period
    busy = p.busy / m.period_days if m.period_days else 0
    per_publish = p.publish_busy / p.publishes * 1000 if p.publishes else 0
    return (
        f"  {m.day:>5g} {mb(m.file_bytes):>8} {mb(m.used_bytes):>8} {mb(m.archive_gzip):>7}"
        f" {mb(m.analytics_bytes):>8} {k['runs']:>6.1f} {k['observations']:>8.1f}"
        f" {k['prices']:>6.1f} {k['raw_pages']:>6.1f} {k['raw_bodies']:>6.1f}"
        f" {k['quarantine']:>5.2f} {k['scores']:>7.1f} {k['snapshots']:>6.2f}"
        f" {busy:>8.0f} {per_publish:>6.0f}"
    )


def print_periods(result: Result) -> None:
    print("\nper simulated period: sizes in MB after CHECKPOINT, rows in thousands")
    print(PERIOD_HEAD)
    for m in result.measures:
        print(period_row(m))
    last = result.measures[-1]
    print(
        "  file: the DuckDB file; used: its blocks in use; archive: raw_bodies, gzip"
        f" ({mb(last.archive_raw)} MB unpacked); analyt.: the analytics copy; busy s/d:"
        " worker seconds per simulated day; ms/pub: a cycle that published, on average."
        f" WAL after CHECKPOINT: {last.wal_bytes} bytes"
    )


def print_runs(result: Result) -> None:
    config = result.config
    print("\nruns per source")
    for name, statuses in result.statuses.items():
        interval = getattr(config.sources, name).interval
        parts = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        mean = result.seconds[name] / max(1, result.cycles[name]) * 1000
        print(
            f"  {name:<21} every {interval:>5}s: {parts}; published {result.publishes[name]}"
            f" ({mean:.0f} ms per cycle)"
        )
    total = sum(result.publishes.values())
    per_day = total / max(1e-9, result.measures[-1].day)
    print(f"  snapshots published: {total} ({per_day:.0f} a day)")
    print(f"  upstream events: {', '.join(f'{k} {v}' for k, v in result.world.events.items())}")
    if result.vacuums:
        removed = [sum(v[i] for v in result.vacuums) for i in (1, 2, 3)]
        slowest = max(v[4] for v in result.vacuums)
        print(
            f"  retention job: ran {len(result.vacuums)} times; pruned {removed[0]:,} archived"
            f" pages, downsampled away {removed[1]:,} observations, thinned away"
            f" {removed[2]:,} snapshots in all (slowest run {slowest:.1f}s)"
        )
    last = result.measures[-1]
    if last.analytics_seconds is not None and last.analytics_bytes is not None:
        cycles_per_day = sum(result.cycles.values()) / max(1e-9, last.day)
        print(
            f"  analytics copy: {mb(last.analytics_bytes)} MB, rewritten in"
            f" {last.analytics_seconds:.1f}s; the daemon rewrites it after every cycle"
            f" ({cycles_per_day:.0f} a day): {last.analytics_seconds * cycles_per_day / 60:.0f}"
            f" min and {last.analytics_bytes * cycles_per_day / 1e9:.1f} GB written a day"
            " at this size"
        )


@dataclass
class Aged:
    used: list[int]  # blocks in use: before, after the prune, the downsampling, the thinning
    removed: list[int]  # archived pages, observations, snapshots
    file_bytes: int
    compact_bytes: int
    tables: dict[str, int]
    rows: dict[str, int]
    seconds: float


def aged_probe(result: Result, db: Path, scratch: Path) -> Aged:
    """What database `db` costs once retention has had its way: on a copy, move the clock
    past every horizon and run `traction vacuum`'s three steps, checkpointing after each
    to see what each gives back in place."""
    ingest = result.config.ingest
    probe_db = scratch / "aged.duckdb"
    shutil.copyfile(db, probe_db)
    horizon = max(
        ingest.archive_retention_days, ingest.downsample_after_days, ingest.snapshot_history_days
    )
    clock = SimClock(result.end + timedelta(days=horizon + 1))
    with clock.installed(), store.connect(probe_db) as con:
        started = time.perf_counter()
        used, removed = [used_bytes(con)], []
        for step, days in (
            (store.prune_archive, ingest.archive_retention_days),
            (store.downsample, ingest.downsample_after_days),
            (store.thin_snapshots, ingest.snapshot_history_days),
        ):
            removed.append(step(con, days))
            con.execute("CHECKPOINT")
            used.append(used_bytes(con))
        seconds = time.perf_counter() - started
        counts = row_counts(con)
    aged = Aged(
        used=used,
        removed=removed,
        file_bytes=file_size(probe_db),
        compact_bytes=compacted_size(probe_db, scratch),
        tables=table_bytes(probe_db, scratch),
        rows=counts,
        seconds=seconds,
    )
    probe_db.unlink()
    return aged


def print_tables(result: Result, tables: dict[str, int], compact: int, aged: Aged) -> None:
    last = result.measures[-1]
    total = sum(tables.values()) or 1
    print("\nthe final database by table (each copied alone into a fresh file: compacted MB)")
    print(f"  {'table':<14} {'MB':>8} {'share':>6} {'rows':>11} {'B/row':>7} {'aged MB':>8}")
    for table in sorted(tables, key=lambda t: -tables[t]):
        count = last.rows[table]
        per_row = f"{tables[table] / count:.0f}" if count else "-"
        print(
            f"  {table:<14} {mb(tables[table]):>8} {tables[table] / total:>6.1%} {count:>11,}"
            f" {per_row:>7} {mb(aged.tables[table]):>8}"
        )
    print("  (a table under 256 KB still shows a block or two; aged: after the probe below)")
    print(
        f"  file {mb(last.file_bytes)} MB, blocks in use {mb(last.used_bytes)} MB,"
        f" rewritten into a fresh file {mb(compact)} MB"
    )
    pages, observations, snapshots = aged.removed
    print(
        f"\nonce retention has aged it all (on a copy, the clock moved past every horizon,"
        f" `traction vacuum`'s three steps, {aged.seconds:.1f}s): pruned {pages:,} archived"
        f" pages, downsampled away {observations:,} observations"
        f" ({aged.rows['observations']:,} left), thinned away {snapshots:,} snapshots"
        f" ({aged.rows['snapshots']:,} left, {aged.rows['scores']:,} score rows)"
    )
    used = " -> ".join(mb(u) for u in aged.used)
    print(
        f"  blocks in use {used} MB (prune, downsample, thin); the file stays"
        f" {mb(aged.file_bytes)} MB (DuckDB reuses freed blocks, never shrinks the file);"
        f" rewritten into a fresh file {mb(aged.compact_bytes)} MB"
    )


def print_extrapolation(result: Result, aged: Aged, baseline: Aged) -> None:
    """Per month and per year, from what the final database holds and what retention gives
    back once it has aged (the probe, in blocks in use, as `traction vacuum` leaves them).

    At the end of a D-day run the database holds min(D, horizon) days of what each step
    removes: the raw archive (`archive_retention_days`), full-resolution observations
    (`downsample_after_days`) and every publish's snapshot and scores
    (`snapshot_history_days`); what is left after all three is kept forever. Less the same
    for the database as the first round of cycles left it (catalogues, the price map, empty
    tables' blocks: one-offs), divided by those days, these are daily rates. After T days a
    database then holds the aged baseline + kept x T + each rate x min(T, its horizon);
    without retention, the aged baseline + every rate x T. On disk is that times the run's
    file/used ratio (DuckDB reuses freed blocks but never returns them to the file system).
    """
    config = result.config
    days = result.measures[-1].day
    ingest = config.ingest
    horizons = [
        ingest.archive_retention_days,
        ingest.downsample_after_days,
        ingest.snapshot_history_days,
    ]

    def freed(probe: Aged) -> list[int]:
        return [max(0, a - b) for a, b in zip(probe.used, probe.used[1:], strict=False)]

    net = [max(0, a - b) for a, b in zip(freed(aged), freed(baseline), strict=True)]
    rates = [f / min(days, h) for f, h in zip(net, horizons, strict=True)]
    base = baseline.used[-1]
    kept = max(0, aged.used[-1] - base) / days
    last = result.measures[-1]
    overhead = last.file_bytes / max(1, last.used_bytes)

    def live(total: float, retention: bool) -> float:
        if not retention:
            return base + (kept + sum(rates)) * total
        held = sum(r * min(total, h) for r, h in zip(rates, horizons, strict=True))
        return base + kept * total + held

    print(
        "\ngrowth, extrapolated (live: blocks in use; on disk: x the file/used ratio measured,"
        f" {overhead:.2f})"
    )
    print(
        f"  one-offs of the first cycles, aged: {mb(base)} MB; then each day adds {mb(kept, 2)}"
        f" MB kept forever, {mb(rates[0])} MB of raw archive (kept {horizons[0]} days),"
        f" {mb(rates[1])} MB of observations that downsampling removes after {horizons[1]}"
        f" days, {mb(rates[2])} MB of snapshots and scores that thinning removes after"
        f" {horizons[2]} days"
    )
    print(f"  {'':<30} {'1 month':>10} {'3 months':>10} {'1 year':>10} {'later, a month':>15}")
    for label, retention in (("without retention", False), ("with the defaults", True)):
        sizes = [live(30, retention), live(90, retention), live(365, retention)]
        later = live(395, retention) - sizes[-1]
        for kind, factor in (("live", 1.0), ("on disk", overhead)):
            cells = " ".join(f"{mb(size * factor):>7} MB" for size in sizes)
            print(f"  {label + ', ' + kind:<30} {cells} {mb(later * factor):>12} MB")
    if days >= 29:
        print(
            f"  measured at day {days:g}: file {mb(last.file_bytes)} MB,"
            f" in use {mb(last.used_bytes)} MB"
        )


def publish_costs(result: Result, scratch: Path) -> tuple[float, float]:
    """Two costs of the next publish that grow with every publish before it, timed on a
    copy: the publish guard (`scoring.snapshot.guard`) reading the last snapshot's model
    keys, and the CHECKPOINT (every cycle ends with one, when it closes the database)
    after one more `snapshots` row."""
    from schemas.snapshot import Snapshot
    from scoring.snapshot import guard

    db = scratch / "costs.duckdb"
    shutil.copyfile(result.config.storage.database, db)
    with store.connect(db) as con:
        latest = "SELECT max(version) FROM snapshots"
        body = store.scalar(con, f"SELECT body FROM snapshots WHERE version = ({latest})")
        snapshot = Snapshot.model_validate_json(body)
        started = time.perf_counter()
        guard(con, result.config, snapshot)
        guard_seconds = time.perf_counter() - started
        con.execute(
            "INSERT INTO snapshots SELECT version + 1, run_id, generated_at, published_at,"
            f" content_hash, path, body FROM snapshots WHERE version = ({latest})"
        )
        started = time.perf_counter()
        con.execute("CHECKPOINT")
        checkpoint_seconds = time.perf_counter() - started
    db.unlink()
    return guard_seconds, checkpoint_seconds


def print_checks(result: Result, costs: tuple[float, float]) -> None:
    print("\nchecks")
    for name, ok, detail in checks(result.config, result.end):
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
    snapshots = result.measures[-1].rows["snapshots"]
    print(
        f"  the next publish, with {snapshots:,} snapshots stored: the guard takes"
        f" {costs[0]:.2f}s, the CHECKPOINT after its snapshot row {costs[1]:.2f}s"
        " (both grow with every snapshot stored)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=None, help="simulated days (default 1)")
    parser.add_argument(
        "--quick", action="store_true", help="half a day at a quarter of the models: a smoke run"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--scale", type=float, default=None, help="upstream size (1: realistic)")
    parser.add_argument(
        "--report-every", type=float, help="days between reports (default 7, or days/4)"
    )
    parser.add_argument(
        "--retention-every",
        type=float,
        default=24,
        help="hours between the daemon's retention job (default 24, the daemon's; 0: never)",
    )
    parser.add_argument(
        "--no-rankings", action="store_true", help="no OPENROUTER_API_KEY: rankings skipped"
    )
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    parser.add_argument("--progress", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    args.days = args.days or (0.5 if args.quick else 1.0)
    args.scale = args.scale or (0.25 if args.quick else 1.0)
    args.report_every = args.report_every or (7.0 if args.days >= 14 else args.days / 4)
    for name in ("HF_TOKEN", "GITHUB_TOKEN", "OPENROUTER_API_KEY", "TRACTION_SNAPSHOT_KEY"):
        os.environ.pop(name, None)  # anonymous defaults, unsigned snapshots
    if not args.no_rankings:
        os.environ["OPENROUTER_API_KEY"] = "sim-not-a-key"  # only ever sent to 127.0.0.1
    defaults = TractionConfig()
    print(
        f"traction database growth: {args.days:g} simulated days from {START:%Y-%m-%d}, a"
        f" scheduler tick every 5 minutes, seed {args.seed}, upstream scale {args.scale:g}"
    )
    schedule = ", ".join(
        f"{name} {getattr(defaults.sources, name).interval // 60} min"
        for name in defaults.sources.enabled()
    )
    print(f"  default sources and intervals: {schedule}")
    print(
        f"  ingest.archive_retention_days {defaults.ingest.archive_retention_days},"
        f" ingest.downsample_after_days {defaults.ingest.downsample_after_days},"
        f" ingest.snapshot_history_days {defaults.ingest.snapshot_history_days};"
        f" retention job every {args.retention_every:g} h"
    )
    with tempfile.TemporaryDirectory(prefix="traction-growth-") as tmp:
        data = args.keep or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        for leftover in ("traction.duckdb", "traction.duckdb.wal", "snapshot.json"):
            (data / leftover).unlink(missing_ok=True)
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        result = simulate(args, data, scratch)
        db = Path(result.config.storage.database)
        tables, compact = table_bytes(db, scratch), compacted_size(db, scratch)
        aged = aged_probe(result, db, scratch)
        baseline = aged_probe(result, scratch / "baseline.duckdb", scratch)
        print_periods(result)
        print_runs(result)
        print_tables(result, tables, compact, aged)
        print_extrapolation(result, aged, baseline)
        print_checks(result, publish_costs(result, scratch))
    per_day = result.wall / args.days
    print(
        f"\nsimulated {args.days:g} days in {result.wall:.0f}s ({per_day:.0f}s per simulated day"
        f" at scale {args.scale:g}); seed {args.seed}"
    )
    if args.days < 30:
        print(
            f"  month and year figures extrapolate {args.days:g} days; `--days 30` simulates the"
            f" month (about {per_day * 30 / 60 * 1.5:.0f} min: cycles slow as history grows)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
