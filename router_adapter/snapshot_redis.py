"""A fleet's snapshot in Redis (`snapshot="redis://..."`), followed off the request path.

The leader worker writes the snapshot to a Redis hash and rings a pub/sub channel
(`schemas/fleet.py` has the layout). One daemon thread here subscribes to the channel and
also polls the hash's `content_hash` every `refresh_interval` seconds as a backstop (a
missed message, a restarted Redis); it fetches the document only when that hash changed,
validates it, checks its signature when `TRACTION_SNAPSHOT_KEY` is set, and swaps in a
new view. As for HTTP (`PolledSource`), the request path (`current()`) only reads the last
good view: a slow, dead or poisoned Redis never delays or fails a request, it only lets
the data age until the usual stale fallback (`max_age`, `stale_after`) applies.

Refused, and counted (`router_adapter.refusals()`), keeping the last good snapshot:
unsigned or wrongly signed documents (with a key), and a replay of an older snapshot
than the one in use (neither a higher version nor a later `generated_at`).

redis-py is imported only when a redis:// snapshot is configured; its password, if the
URL carries one, is redacted from every log line and problem string.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from schemas.fleet import RedisLocation
from schemas.snapshot import Snapshot

from .snapshot_file import SnapshotRefused
from .snapshot_polled import PolledSource
from .snapshot_source import DEFAULTS

log = logging.getLogger("traction.adapter")

MAX_BACKOFF = 30.0  # seconds between reconnection attempts at most
LISTEN_SLICE = 1.0  # seconds the thread blocks on the channel before checking for close()


class RedisSnapshotSource(PolledSource):
    """A `PolledSource` that subscribes to the fleet's channel and polls the hash:
    `current()`, `location`, `loads`, `refused`, `wait_first()`, `close()`."""

    invalid_verb = "holds"

    def __init__(
        self,
        location: str,
        refresh_interval: float = DEFAULTS.refresh_interval,
        timeout: float = 5.0,
        key: bytes | None = None,
    ):
        try:
            import redis  # noqa: F401  (fail at register time, not in the thread)
        except ImportError:
            raise ValueError(
                "a redis:// snapshot needs redis-py in LiteLLM's environment:"
                " pip install 'traction[fleet]'"
            ) from None
        super().__init__(refresh_interval, timeout, key)
        self.where = RedisLocation.parse(location)
        self.location = self.where.redacted
        try:  # a bad URL or option is a configuration error now, not an outage later
            self._client().connection_pool.make_connection()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"snapshot {self.location}: {exc}") from None
        self.polls = 0
        self.connected = False
        self._refused_hash: bytes | None = None
        self._start("traction-snapshot-redis")

    # The background thread -----------------------------------------------------------

    def _client(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries inside redis-py: this loop owns reconnection and its backoff.
        return redis.Redis.from_url(
            self.where.url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            client = pubsub = None
            try:
                client = self._client()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.where.announce_channel)
                self.refresh(client)
                if not self.connected:
                    self.connected = True
                    if failures:
                        log.info("traction: %s reachable again", self.location)
                failures = 0
                self._first.set()
                self._follow(client, pubsub)
            except Exception as exc:  # redis errors, OSError, a surprise: never kill the thread
                failures += 1
                if self.connected or failures == 1:
                    kept = f"routing on v{self.view.version}" if self.view else "no snapshot yet"
                    log.warning(
                        "traction: snapshot source %s unreachable (%s: %s); %s",
                        self.location,
                        type(exc).__name__,
                        exc,
                        kept,
                    )
                self.connected = False
                self._problem = f"unreachable: {self.location}: {type(exc).__name__}"
                self._first.set()
                self._stop.wait(min(MAX_BACKOFF, self.refresh_interval, 0.25 * 2**failures))
            finally:
                for closing in (pubsub, client):
                    try:
                        if closing is not None:
                            closing.close()
                    except Exception:
                        pass

    def _follow(self, client: Any, pubsub: Any) -> None:
        """Wait for announcements, polling the hash every refresh_interval regardless."""
        next_poll = time.monotonic() + self.refresh_interval
        while not self._stop.is_set():
            wait = max(0.0, min(LISTEN_SLICE, next_poll - time.monotonic()))
            message = pubsub.get_message(timeout=wait)
            if message is not None or time.monotonic() >= next_poll:
                self.refresh(client)
                next_poll = time.monotonic() + self.refresh_interval

    def refresh(self, client: Any) -> None:
        """Load the published snapshot if its content hash changed; keep the last good one
        on anything doubtful. Redis errors propagate (the thread reconnects)."""
        self.polls += 1
        digest = client.hget(self.where.snapshot_key, "content_hash")
        if digest is None:  # nothing published yet (or Redis lost it): keep what we have
            if self.view is None:
                self._problem = "missing"
            return
        current = self.view.content_hash.encode() if self.view else None
        if digest in (current, self._refused_hash):
            return
        # Both fields in one read: the leader may have published again since the HGET.
        digest, data = client.hmget(self.where.snapshot_key, ["content_hash", "data"])
        if digest is None or data is None:
            return
        outcome = self._take(data)
        self._refused_hash = None if outcome == "loaded" else digest

    def _admit(self, snapshot: Snapshot) -> None:
        """Refuse a replay: a snapshot older than the one in use."""
        if self.view is not None and not (
            snapshot.version > self.view.version or snapshot.generated_at > self.view.generated_at
        ):
            raise SnapshotRefused(
                "older",
                f"v{snapshot.version} generated {snapshot.generated_at.isoformat()} is not"
                f" newer than v{self.view.version} in use (a replay?)",
            )
