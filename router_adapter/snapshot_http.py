"""A snapshot served over HTTP (`traction serve`), refreshed off the request path.

A daemon thread polls the URL (conditional GET with the last ETag) every
`refresh_interval` seconds and swaps in a new view when a valid snapshot arrives. The
request path only reads the last known good view: a slow or dead snapshot server never
delays a request, it only lets the data age until the usual stale fallback applies.
Standard library only (urllib): the adapter does not bring httpx into LiteLLM.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from pydantic import ValidationError

from schemas.signing import key_from_env

from .snapshot_file import (
    SnapshotRefused,
    SnapshotView,
    count_refusal,
    describe_invalid,
    load_snapshot,
)

log = logging.getLogger("traction.adapter")


class HttpSnapshotSource:
    def __init__(
        self,
        url: str,
        refresh_interval: float = 30.0,
        timeout: float = 5.0,
        opener: Callable[..., object] | None = None,
        key: bytes | None = None,
    ):
        self.url = url
        self.location = url
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.key = key
        self.loads = 0
        self.fetches = 0
        self.refused = 0
        self._view: SnapshotView | None = None
        self._problem: str | None = "missing"
        self._etag: str | None = None
        self._stop = threading.Event()
        self._first = threading.Event()
        self._open = opener or urllib.request.urlopen
        self._thread = threading.Thread(
            target=self._run, name="traction-snapshot-refresh", daemon=True
        )
        self._thread.start()

    def current(self) -> tuple[SnapshotView | None, str | None]:
        """No I/O: the last good view, or why there is none."""
        return self._view, (None if self._view else self._problem)

    def wait_first(self, timeout: float) -> bool:
        """For tests and start-up scripts: block until the first fetch attempt finished."""
        return self._first.wait(timeout)

    def refresh(self) -> None:
        """One conditional fetch; on any failure the last good view stays."""
        self.fetches += 1
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        if self._etag:
            request.add_header("If-None-Match", self._etag)
        try:
            with self._open(request, timeout=self.timeout) as response:  # type: ignore[attr-defined]
                body = response.read()
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return
            self._problem = f"unreachable: HTTP {exc.code} from {self.url}"
            return
        except (OSError, ValueError) as exc:
            self._problem = f"unreachable: {exc}"
            return
        try:
            snapshot = load_snapshot(body, self.key)
        except SnapshotRefused as exc:
            self.refused += 1
            self._etag = etag  # refused once is enough: a 304 from now on until it changes
            self._problem = f"refused: {exc}"
            count_refusal(self.url, exc, self._view)
            return
        except ValidationError as exc:
            self._problem = describe_invalid(exc)
            log.warning(
                "traction: %s served an invalid snapshot (%s); keeping the last good one",
                self.url,
                self._problem,
            )
            return
        self._view = SnapshotView.from_snapshot(snapshot)
        self._etag = etag
        self._problem = None
        self.loads += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # the refresher must outlive any surprise
                log.exception("traction: snapshot refresh failed")
            self._first.set()
            self._stop.wait(self.refresh_interval)

    def close(self) -> None:
        self._stop.set()


def open_source(location: str, check_interval: float = 1.0, refresh_interval: float = 30.0):
    """A file path, an http(s) URL served by `traction serve`, or a fleet's redis:// URL.

    With `TRACTION_SNAPSHOT_KEY` set, every transport refuses unsigned or wrongly signed
    snapshots (ValueError here if the key is too short to be safe)."""
    from schemas.fleet import REDIS_SCHEMES

    from .snapshot_file import SnapshotReader

    key = key_from_env()
    text = str(location)
    if text.startswith(REDIS_SCHEMES):
        from .snapshot_redis import RedisSnapshotSource  # redis-py only for redis:// users

        return RedisSnapshotSource(text, refresh_interval=refresh_interval, key=key)
    if text.startswith(("http://", "https://")):
        return HttpSnapshotSource(text, refresh_interval=refresh_interval, key=key)
    return SnapshotReader(text, check_interval=check_interval, key=key)
