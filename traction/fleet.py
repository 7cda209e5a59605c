"""Fleet mode, the worker side: one leader among N `traction run` replicas on one Redis.

Leadership is a Redis lock (`redis.lock.Lock`: `SET key token NX PX ttl` to take it, a
Lua compare-and-`PEXPIRE` to renew it, a Lua compare-and-`DEL` to give it back) on
`<prefix>leader`. A background thread renews it every `renew_interval` while leading and
tries to take it at the same pace while following, so a follower takes over at most
`lock_ttl + renew_interval` after a leader dies without releasing it (a clean stop
releases it at once).

Fencing: a leader that loses the lock must stop writing before another starts.

1. Local deadline. Each successful take or renewal moves `deadline` to the moment the
   request was *sent* plus `lock_ttl` less a clock-drift margin, so it always falls
   before the key can expire in Redis. `is_leader()` is false past it (no I/O), and
   every job and every publish checks it first: a leader cut off from Redis stops on its
   own, before the lock can pass to anyone.
2. Conditional publish. The snapshot is written and announced by one Lua script that
   first compares the lock's value with this worker's token (and refuses a version not
   above the fleet's): a leader paused between its check and its write (GC, a stopped
   VM) cannot overwrite its successor.

Each worker keeps its own DuckDB and ingests only while it leads. Versions stay monotonic
across the fleet: a new leader numbers its snapshots after the fleet's current one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from schemas.config import FleetConfig
from schemas.fleet import RedisLocation
from schemas.signing import key_from_env, verify
from schemas.snapshot import Snapshot
from scoring.snapshot import PublishRefused

log = logging.getLogger("traction.fleet")

CLOCK_DRIFT = 0.01  # share of the TTL the local deadline keeps in hand (Redlock's figure)

# KEYS[1] lock, KEYS[2] snapshot hash. ARGV: token, version, content_hash, generated_at,
# signature, data, published_by, published_at, channel, announcement.
# Returns 1 published, 0 lock not held by this token, -1 the fleet already has this version.
PUBLISH_SCRIPT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
    return 0
end
local current = tonumber(redis.call('hget', KEYS[2], 'version') or '0') or 0
if current >= tonumber(ARGV[2]) then
    return -1
end
redis.call('hset', KEYS[2], 'version', ARGV[2], 'content_hash', ARGV[3],
    'generated_at', ARGV[4], 'signature', ARGV[5], 'data', ARGV[6],
    'published_by', ARGV[7], 'published_at', ARGV[8])
redis.call('publish', ARGV[9], ARGV[10])
return 1
"""


class NotLeader(PublishRefused):
    """This worker does not (or no longer) lead the fleet: it must not publish."""


class VersionTaken(PublishRefused):
    """The fleet already has a snapshot at or past this version: versions only go up, so a
    worker whose numbering lags (or a replayed publish) writes nothing."""


class FleetUnavailable(PublishRefused):
    """Redis could not be reached to publish; the last fleet snapshot stays."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Fleet:
    """Leader election and conditional publishing for one worker.

    `on_change(leading, reason)` is called from the election thread whenever this worker
    gains or loses leadership (the daemon uses it to run its jobs at once on gaining)."""

    def __init__(
        self,
        config: FleetConfig,
        on_change: Callable[[bool, str], None] | None = None,
    ):
        if not config.redis_url:
            raise ValueError("fleet.redis_url is not set")
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            from .config import ConfigError

            raise ConfigError(
                "fleet.redis_url is set but redis-py is not installed:"
                " pip install 'traction[fleet]'"
            ) from None

        self.config = config
        self.where = RedisLocation(config.redis_url, config.key_prefix, config.channel)
        self.worker_id = config.worker_id or default_worker_id()
        self.ttl = config.lock_ttl
        self.renew_every = config.renew_every
        self.on_change = on_change
        # Every call is bounded well inside the TTL, and not retried by redis-py: the
        # election loop retries at its own pace, and a renewal that cannot finish in time
        # is one the deadline has already given up on.
        timeout = max(0.05, min(5.0, self.ttl / 3))
        self.redis = redis.Redis.from_url(
            config.redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._lock = self.redis.lock(
            self.where.leader_key, timeout=self.ttl, blocking=False, thread_local=False
        )
        self._publish = self.redis.register_script(PUBLISH_SCRIPT)
        self._leading = False
        self._deadline = float("-inf")
        self._state = threading.Lock()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._warned_unreachable = False
        self.problem: str | None = None  # why the last election step could not reach Redis
        self._thread: threading.Thread | None = None

    # Leadership ------------------------------------------------------------------------

    def is_leader(self) -> bool:
        """No I/O: leading, and the lock cannot have expired in Redis yet."""
        return self._leading and time.monotonic() < self._deadline

    @property
    def token(self) -> bytes | None:
        return self._lock.local.token

    def ensure_leader(self) -> None:
        """The fencing check before every write: raises NotLeader past the deadline."""
        if not self.is_leader():
            raise NotLeader(
                f"worker {self.worker_id} does not lead the fleet"
                f" (leader: {self.leader() or 'none'})"
            )

    def leader(self) -> str | None:
        """The current leader's worker id, as Redis says (None if none or unreachable)."""
        try:
            token = self.redis.get(self.where.leader_key)
        except Exception:
            return None
        return token.decode(errors="replace").rsplit(":", 1)[0] if token else None

    def start(self) -> Fleet:
        self._thread = threading.Thread(target=self._run, name="traction-fleet", daemon=True)
        self._thread.start()
        return self

    def wait_first(self, timeout: float) -> bool:
        """Block until the first election attempt finished (True if it did in time)."""
        return self._first.wait(timeout)

    def close(self) -> None:
        """Stop electing; give the lock back if held, so a follower takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl)
        with self._state:
            if self._leading and time.monotonic() < self._deadline:
                self._leading = False
                self._deadline = float("-inf")
                try:
                    self._lock.release()  # Lua compare-and-delete: never someone else's
                    log.info("leadership released by %s", self.worker_id)
                except Exception as exc:
                    log.warning("could not release the fleet lock (%s); it expires", exc)
        self.redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.elect()
            except Exception:  # the election loop must outlive any surprise
                log.exception("fleet election step failed")
            self._first.set()
            self._stop.wait(self.renew_every)

    def elect(self) -> None:
        """One step: renew if leading, else try to take the lock."""
        with self._state:
            sent = time.monotonic()
            if self._leading:
                self._renew(sent)
            else:
                self._try_acquire(sent)

    def _renew(self, sent: float) -> None:
        from redis.exceptions import LockError, RedisError

        try:
            self._lock.reacquire()  # Lua: PEXPIRE only if the value is still our token
        except LockError:
            self._lose("the lock expired or was taken before it could be renewed")
            return
        except (RedisError, OSError) as exc:
            self.problem = self._unreachable(exc)
            if time.monotonic() >= self._deadline:
                self._lose(f"redis unreachable past the lock deadline ({type(exc).__name__})")
            elif not self._warned_unreachable:
                self._warned_unreachable = True
                log.warning(
                    "cannot renew the fleet lock on %s (%s); leading until the deadline",
                    self.where.redacted,
                    exc,
                )
            return
        self._warned_unreachable = False
        self.problem = None
        self._deadline = sent + self.ttl * (1 - CLOCK_DRIFT)

    def _unreachable(self, exc: BaseException) -> str:
        return f"fleet redis {self.where.redacted} unreachable: {type(exc).__name__}: {exc}"

    def _try_acquire(self, sent: float) -> None:
        from redis.exceptions import RedisError

        token = f"{self.worker_id}:{uuid.uuid4().hex}"
        try:
            taken = self._lock.acquire(blocking=False, token=token)
        except (RedisError, OSError) as exc:
            self.problem = self._unreachable(exc)
            if not self._warned_unreachable:
                self._warned_unreachable = True
                log.warning("%s; following until it answers", self.problem)
            return
        self._warned_unreachable = False
        self.problem = None
        if not taken:
            return
        self._deadline = sent + self.ttl * (1 - CLOCK_DRIFT)
        self._leading = True
        log.info(
            "leadership acquired by %s (lock %s on %s, ttl %.1fs)",
            self.worker_id,
            self.where.leader_key,
            self.where.redacted,
            self.ttl,
            extra={"worker_id": self.worker_id, "leading": True},
        )
        self._notify(True, "acquired")

    def _lose(self, reason: str) -> None:
        self._leading = False
        self._deadline = float("-inf")
        self._lock.local.token = None
        log.warning(
            "leadership lost by %s: %s; following",
            self.worker_id,
            reason,
            extra={"worker_id": self.worker_id, "leading": False},
        )
        self._notify(False, reason)

    def _notify(self, leading: bool, reason: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(leading, reason)
            except Exception:
                log.exception("fleet leadership callback failed")

    # The fleet's snapshot ----------------------------------------------------------------

    def _fleet_document(self) -> tuple[int, Snapshot | None]:
        """(the version Redis holds, 0 for none; the snapshot if it is a valid one this
        fleet's key signed, else None). A forged document must neither hold back a genuine
        publish (by looking fresh) nor skew its guards. Raises FleetUnavailable."""
        try:
            version, data = self.redis.hmget(self.where.snapshot_key, ["version", "data"])
        except Exception as exc:
            raise FleetUnavailable(self._unreachable(exc)) from None
        if version is None:
            return 0, None
        try:
            snapshot = Snapshot.model_validate_json(data or b"")
        except ValueError:
            log.warning("the fleet's snapshot in Redis is invalid; it will be replaced")
            return int(version), None
        key = key_from_env()
        if key is not None and (problem := verify(snapshot, key)):
            log.warning(
                "the fleet's snapshot in Redis is not ours (%s); it will be replaced", problem
            )
            return int(version), None
        return int(version), snapshot

    def published(self) -> tuple[int, datetime] | None:
        """(version, generated_at) of the fleet's current snapshot, None if there is none
        (or none to trust). Raises FleetUnavailable when Redis cannot say."""
        snapshot = self._fleet_document()[1]
        return None if snapshot is None else (snapshot.version, snapshot.generated_at)

    def next_version_floor(self) -> int:
        """The version the fleet has reached (0 for none): this leader numbers after it."""
        return self.predecessor()[0]

    def predecessor(self) -> tuple[int, set[str] | None]:
        """What the next publish replaces: the version Redis holds (0 for none), and the
        model keys of the fleet's snapshot for the publish guards (None if there is none to
        trust). Raises NotLeader or FleetUnavailable."""
        self.ensure_leader()
        version, snapshot = self._fleet_document()
        return version, None if snapshot is None else {m.key for m in snapshot.models}

    def publish(self, snapshot: Snapshot, data: bytes) -> None:
        """Write and announce `snapshot` (its file bytes `data`) if, and only if, this worker
        still holds the lock at that moment in Redis. Raises NotLeader or FleetUnavailable."""
        self.ensure_leader()
        token = self.token
        if token is None:
            raise NotLeader(f"worker {self.worker_id} holds no fleet lock")
        announcement = json.dumps(
            {
                "version": snapshot.version,
                "content_hash": snapshot.content_hash,
                "published_by": self.worker_id,
            }
        )
        try:
            result = self._publish(
                keys=[self.where.leader_key, self.where.snapshot_key],
                args=[
                    token,
                    snapshot.version,
                    snapshot.content_hash,
                    snapshot.generated_at.isoformat(),
                    snapshot.signature or "",
                    data,
                    self.worker_id,
                    datetime.now(timezone.utc).isoformat(),
                    self.where.announce_channel,
                    announcement,
                ],
            )
        except Exception as exc:
            raise FleetUnavailable(self._unreachable(exc)) from None
        if result == 0:
            with self._state:
                if self._leading:
                    self._lose("the lock was no longer ours at publish time")
            raise NotLeader(
                f"worker {self.worker_id} lost the fleet lock before publishing"
                f" v{snapshot.version}; nothing was written"
            )
        if result == -1:
            raise VersionTaken(
                f"the fleet already has a snapshot at or past v{snapshot.version};"
                " nothing was written"
            )
        log.info(
            "published snapshot v%d to the fleet (%s)",
            snapshot.version,
            self.where.snapshot_key,
            extra={"worker_id": self.worker_id, "version": snapshot.version},
        )

    def status(self) -> dict[str, Any]:
        """For `traction status` and logs: who leads, and the fleet's snapshot."""
        info: dict[str, Any] = {
            "worker_id": self.worker_id,
            "leading": self.is_leader(),
            "leader": self.leader(),
            "redis": self.where.redacted,
        }
        try:
            found = self.published()
        except FleetUnavailable as exc:
            info["error"] = str(exc)
        else:
            info["snapshot_version"] = found[0] if found else None
        return info
