"""The Redis layout that workers and adapters share in fleet mode.

Keys, under a prefix (default `traction:`; use a hash tag such as `{traction}:` on Redis
Cluster, so the Lua publish touches one slot):

- `<prefix>leader`: the leader lock, a string holding the leader's token
  (`<worker id>:<random>`) with a TTL the leader keeps renewing.
- `<prefix>snapshot`: a hash: `data` (the snapshot document, exactly the bytes of the
  file), `version`, `content_hash`, `generated_at`, `signature` (empty when unsigned),
  `published_by` (worker id), `published_at`.

Channel `<prefix>snapshots` (by default): one message per publish, a small JSON
`{"version", "content_hash", "published_by"}`. It is only a doorbell: adapters always
re-read the key, so a forged message can at most make them look.

A location string for adapters is the Redis URL plus optional query parameters
`prefix=` and `channel=`: `redis://:PASSWORD@redis:6379/0?prefix=team-a:`. Everything else
in the query goes to redis-py unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PREFIX = "traction:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def leader_key(prefix: str) -> str:
    return f"{prefix}leader"


def snapshot_key(prefix: str) -> str:
    return f"{prefix}snapshot"


def default_channel(prefix: str) -> str:
    return f"{prefix}snapshots"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, fit for a log line or an error."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class RedisLocation:
    """Where a fleet's snapshot lives: the connection URL (for redis-py), key prefix and
    channel."""

    url: str
    prefix: str = DEFAULT_PREFIX
    channel: str | None = None

    @property
    def snapshot_key(self) -> str:
        return snapshot_key(self.prefix)

    @property
    def leader_key(self) -> str:
        return leader_key(self.prefix)

    @property
    def announce_channel(self) -> str:
        return self.channel or default_channel(self.prefix)

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

    @classmethod
    def parse(cls, location: str) -> RedisLocation:
        """Split traction's own `prefix`/`channel` query parameters off a Redis URL."""
        if not location.startswith(REDIS_SCHEMES):
            raise ValueError(
                f"{redact_url(location)}: not a Redis URL (redis://, rediss:// or unix://)"
            )
        parts = urlsplit(location)
        ours = {"prefix": DEFAULT_PREFIX, "channel": None}
        rest = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in ours:
                ours[name] = value
            else:
                rest.append((name, value))
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
        return cls(url=url, prefix=ours["prefix"] or "", channel=ours["channel"] or None)
