"""A snapshot served over HTTP (`traction serve`), refreshed off the request path.

A daemon thread (`PolledSource`) polls the URL (conditional GET with the last ETag) every
`refresh_interval` seconds and swaps in a new view when a valid snapshot arrives. The
request path only reads the last known good view: a slow or dead snapshot server never
delays a request, it only lets the data age until the usual stale fallback applies.
Standard library only (urllib): the adapter does not bring httpx into LiteLLM.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

from .snapshot_polled import PolledSource
from .snapshot_source import DEFAULTS


class HttpSnapshotSource(PolledSource):
    def __init__(
        self,
        url: str,
        refresh_interval: float = DEFAULTS.refresh_interval,
        timeout: float = 5.0,
        opener: Callable[..., object] | None = None,
        key: bytes | None = None,
    ):
        super().__init__(refresh_interval, timeout, key)
        self.url = url
        self.location = url
        self.fetches = 0
        self._etag: str | None = None
        self._open = opener or urllib.request.urlopen
        self._start("traction-snapshot-refresh")

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
        # refused once is enough: a 304 from now on until it changes
        if self._take(body) != "invalid":
            self._etag = etag
