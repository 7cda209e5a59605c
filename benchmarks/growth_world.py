"""The simulated upstream world the growth benchmark (`db_growth.py`) ingests from.

Why a world of its own: what the database stores, and how much work each cycle does,
depend on how often upstream values really change. A mirror that changes every value
every hour makes every fetch new facts, every publish a new score for every model, and
overstates growth and cost many times. These are the rates the world follows, taken from
real daily captures of Hugging Face's model list (`/api/models` with the expand fields
traction asks for, captured once a day over weeks) and of the other sources:

* Hugging Face `downloads` is a rolling ~30-day count that Hugging Face refreshes about
  once a day, at a different time for each model and day; consecutive captures are often
  identical (here: a model's count is recomputed once a day at its own hour, and one
  refresh in five leaves it as it was), and falls are real (a rolling window forgets).
* `likes` is cumulative: a few a day for most models, popular ones more, and it can drop a
  little (an unlike): a Poisson count per hour at a rate that grows with downloads, and a
  rare -1.
* `trendingScore` is computed from recent likes, so it changes when likes do: here, the
  likes of the last 7 days, recomputed whenever the model's likes change.
* new releases appear with a few downloads and can reach millions within days (a growth
  rate that starts high, heavy-tailed, and decays day by day); 2-7 models a day enter or
  leave the top pools traction lists (its overall top-N and each author's top-N), which
  the report counts (`hf top-pool entries`).
* GitHub: stars come in through the day for popular repositories and a few times a day
  for most (a Poisson count per hour at about stars/2000 a day); forks, open issues and
  pushes change less often. A repository that did not change keeps its ETag (304).
* OpenRouter's catalogue changes about once a day (a new model every day and a half, a
  price every other day, a removal a week), so most hourly fetches are byte-identical;
  per-provider uptime, latency and throughput move every fetch of the endpoints; the
  rankings gain a day each day. LiteLLM's price map changes only when litellm is
  upgraded (every 14 simulated days).

Everything is drawn from generators seeded by `seed` (and, where the mirror's server
thread asks in an order of its own, by the thing and the simulated hour), so a seed gives
the same bytes on every run. Payloads are built once per change, not once per request:
the world's own cost is not the worker's.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.config import DEFAULT_GITHUB_REPOS, DEFAULT_HF_AUTHORS

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a fixed Monday: output is reproducible
HOUR = timedelta(hours=1)
TRENDING_HOURS = 7 * 24  # trendingScore: likes gained within this many hours

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


# --------------------------------------------------------------------------- the world


@dataclass
class ORModel:
    record: dict[str, Any]
    price: float  # prompt USD per million tokens
    providers: list[str]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: means here are small, a few per hour at most)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@dataclass
class HFModel:
    id: str
    oid: str
    downloads: float  # the rolling 30-day count, as last refreshed
    all_time: float
    likes: int
    growth: float  # log growth of the 30-day count per day
    decay: float  # how much of `growth` is left the next day (releases cool down)
    like_share: float  # likes a day per sqrt(downloads)
    refresh_hour: int  # the hour of day Hugging Face recomputes this model's count
    created: datetime
    modified: datetime
    trending: int = 0
    recent_likes: list[tuple[int, int]] = field(default_factory=list)  # (hour index, gained)

    @property
    def like_rate(self) -> float:
        """Likes a day: a few for most models, more for popular ones."""
        return 0.3 + self.like_share * math.sqrt(self.downloads)


@dataclass
class World:
    """Seeded upstream state, advanced hour by hour with the simulated clock."""

    seed: int
    scale: float = 1.0
    top_n: int = 200  # Hugging Face's overall top-N traction lists (the default config's)
    per_author: int = 50  # and each configured author's top-N
    rng: random.Random = field(init=False)
    hf: list[HFModel] = field(default_factory=list)
    openrouter: dict[str, ORModel] = field(default_factory=dict)
    github: dict[str, dict[str, Any]] = field(default_factory=dict)
    hour: datetime = START
    hours: int = 0  # hours since START
    hf_broken: str | None = None  # a record sent malformed this hour
    hf_changed: bool = True
    hf_cache: list[dict[str, Any]] | None = None
    github_cache: dict[str, dict[str, Any]] | None = None
    or_cache: dict[str, Any] | None = None
    pools: set[str] = field(default_factory=set)
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
        self.pools = self._pools()

    # Hugging Face -----------------------------------------------------------------------
    def _new_hf(self, author: str, when: datetime, new: bool) -> HFModel:
        rng = self.rng
        family = rng.choice(["chat", "instruct", "base", "coder", "vl", "embed", "reasoner"])
        size = rng.choice([0.5, 1, 1.5, 3, 4, 7, 8, 9, 14, 24, 32, 70, 120, 235])
        name = f"{author}/{rng.choice(WORDS).title()}-{size:g}B-{family}-{rng.randrange(10**4)}"
        if new:  # a release: a few downloads, sometimes millions within days
            downloads = rng.uniform(5, 500)
            growth, decay = min(3.5, rng.expovariate(1.0)), 0.75
        else:
            downloads, growth, decay = math.exp(rng.gauss(8.5, 2.2)), rng.gauss(0, 0.01), 0.9
        like_share = rng.uniform(0.005, 0.03)
        return HFModel(
            id=name,
            oid=hashlib.md5(name.encode()).hexdigest()[:24],
            downloads=downloads,
            all_time=downloads * (1 if new else rng.uniform(1, 12)),
            likes=0 if new else int(downloads**0.5 * rng.uniform(0.05, 0.6)),
            growth=growth,
            decay=decay,
            like_share=like_share,
            refresh_hour=rng.randrange(24),
            created=when - timedelta(days=0 if new else rng.randint(10, 900)),
            modified=when - timedelta(days=0 if new else rng.randint(0, 60)),
        )

    def _advance_hf(self) -> None:
        rng, hour_of_day, now = self.rng, self.hour.hour, self.hours
        changed = False
        for model in self.hf:
            if model.refresh_hour == hour_of_day:  # Hugging Face recomputes the 30-day count
                model.growth = model.growth * model.decay + rng.gauss(0, 0.01)
                if rng.random() >= 0.2:  # one refresh in five: the same count as yesterday
                    before = int(model.downloads)
                    model.downloads = max(
                        1.0, model.downloads * math.exp(model.growth + rng.gauss(0, 0.03))
                    )
                    model.all_time += model.downloads / 30
                    if int(model.downloads) != before:
                        changed = True
                        self.events["hf downloads refreshed"] += 1
            gained = poisson(rng, model.like_rate / 24)
            if rng.random() < 0.0005:  # an unlike
                gained -= 1
            if gained and model.likes + gained >= 0:
                model.likes += gained
                recent = [(h, n) for h, n in model.recent_likes if h > now - TRENDING_HOURS]
                recent.append((now, gained))
                model.recent_likes = recent
                model.trending = max(0, sum(n for _, n in recent))
                changed = True
                self.events["hf likes changed"] += 1
            if rng.random() < 0.0005:
                model.modified = self.hour
                changed = True
        if rng.random() < 3 * self.scale / 24:  # ~3 releases a day
            author = rng.choice(DEFAULT_HF_AUTHORS + OTHER_HF_AUTHORS)
            self.hf.append(self._new_hf(author, self.hour, new=True))
            self.events["hf new model"] += 1
            changed = True
        broken = None
        if rng.random() < 0.02:  # one of the listed (most downloaded) models, sent malformed
            listed = sorted(self.hf, key=lambda m: -m.downloads)[:100]
            broken = rng.choice(listed).id
            self.events["hf malformed record"] += 1
        if broken != self.hf_broken:
            self.hf_broken, changed = broken, True
        if changed:
            self.hf_cache = None
        if hour_of_day == 0:  # the day's churn of the pools traction lists
            pools = self._pools()
            self.events["hf top-pool entries"] += len(pools - self.pools)
            self.pools = pools

    def _pools(self) -> set[str]:
        """The ids traction's default listings return: the overall top-N by downloads and
        each configured author's top-N."""
        ranked = sorted(self.hf, key=lambda m: -int(m.downloads))
        pools = {m.id for m in ranked[: self.top_n]}
        taken: Counter = Counter()
        for m in ranked:
            author = m.id.split("/", 1)[0]
            if author in DEFAULT_HF_AUTHORS and taken[author] < self.per_author:
                taken[author] += 1
                pools.add(m.id)
        return pools

    def hf_payload(self) -> list[dict[str, Any]]:
        """GET /api/models with the expand fields traction asks for, every model, most
        downloaded first (the mirror filters by author, sorts by downloads, paginates:
        sorting an already sorted list is cheap)."""
        if self.hf_cache is not None:
            return self.hf_cache
        out = []
        for m in sorted(self.hf, key=lambda m: -int(m.downloads)):
            out.append(
                {
                    "_id": m.oid,
                    "id": m.id,
                    "downloads": int(m.downloads),
                    "downloadsAllTime": int(m.all_time),
                    # drift: a count sent as a string, which the contract quarantines
                    "likes": str(m.likes) if m.id == self.hf_broken else m.likes,
                    "trendingScore": m.trending,
                    "createdAt": iso(m.created),
                    "lastModified": iso(m.modified),
                }
            )
        self.hf_cache = out
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
            changed = False
            gained = poisson(rng, repo["watchers"] / 2000 / 24)  # about stars/2000 a day
            if gained:
                stars = repo["stargazers_count"] + gained
                repo["stargazers_count"] = repo["watchers_count"] = repo["watchers"] = stars
                changed = True
            if rng.random() < repo["watchers"] / 18000 / 24:
                repo["forks_count"] = repo["forks"] = repo["network_count"] = repo["forks"] + 1
                changed = True
            if rng.random() < 0.05:
                repo["open_issues_count"] = max(0, repo["open_issues_count"] + rng.choice([-1, 1]))
                repo["open_issues"] = repo["open_issues_count"]
                changed = True
            if rng.random() < 0.03:
                repo["pushed_at"] = iso(self.hour)
                changed = True
            if changed:
                repo["updated_at"] = iso(self.hour)
                self.github_cache = None
                self.events["github repository changed"] += 1

    def github_payload(self) -> dict[str, dict[str, Any]]:
        """Every repository's body; a copy, so the mirror serves what was true when asked."""
        if self.github_cache is None:
            self.github_cache = json.loads(json.dumps(self.github))
        return self.github_cache

    def advance_to(self, moment: datetime) -> None:
        """Step the world, an hour at a time, up to `moment`."""
        while self.hour + HOUR <= moment:
            self.hour += HOUR
            self.hours += 1
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
