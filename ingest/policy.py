"""The retry and pacing policy for every source, in one place.

Retry: connect and read failures, 429 and 5xx, with exponential backoff and jitter;
a `Retry-After` (seconds or HTTP date) replaces the backoff; other 4xx and non-JSON
bodies are never retried; a run's total time is bounded.

Pacing: each source has a request budget (requests per window, its published limit)
that the worker stays under, across runs in one process and, through the `runs`
table, across cron invocations. Rate-limit headers tighten it further: Hugging Face's
`RateLimit: "api";r=0;t=N` and GitHub's `X-RateLimit-Remaining: 0` with
`X-RateLimit-Reset` hold the next request until the window resets.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from schemas.config import RetryConfig
from schemas.errors import TractionError

HF_RATELIMIT = re.compile(r'"?(?P<kind>\w+)"?\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)')
HF_POLICY = re.compile(r"q\s*=\s*(?P<q>\d+).*?w\s*=\s*(?P<w>\d+)")


class RetryableStatus(TractionError):
    """A 429 or 5xx: worth another try after a wait."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class BudgetExhausted(TractionError):
    """The next request would break the source's published limit before the run's deadline."""


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now, in either of its two forms."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def reset_wait_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """How long the server says to hold off before the next request, if its quota is spent."""
    ratelimit = response.headers.get("RateLimit")
    if ratelimit:
        match = HF_RATELIMIT.search(ratelimit)
        if match and int(match["r"]) == 0:
            return float(match["t"])
    remaining = response.headers.get("X-RateLimit-Remaining")
    reset = response.headers.get("X-RateLimit-Reset")
    if remaining is not None and remaining.strip() == "0" and reset and reset.strip().isdigit():
        return max(0.0, float(reset) - (now if now is not None else time.time()))
    return None


def announced_quota(response: httpx.Response) -> tuple[int, int] | None:
    """(requests, window seconds) from Hugging Face's `RateLimit-Policy`, if sent."""
    match = HF_POLICY.search(response.headers.get("RateLimit-Policy", ""))
    return (int(match["q"]), int(match["w"])) if match else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | httpx.TransportError)


def retry_policy(config: RetryConfig) -> AsyncRetrying:
    """Exponential backoff with jitter, bounded in tries and in time; server hints win."""
    backoff = wait_exponential(multiplier=config.backoff_initial, max=config.backoff_max) + (
        wait_random(0, config.backoff_initial)
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus):
            hinted = retry_after_seconds(exc.response)
            if hinted is None:
                hinted = reset_wait_seconds(exc.response)
            if hinted is not None:
                return min(hinted, config.backoff_max)
        return min(backoff(state), config.backoff_max)

    return AsyncRetrying(
        stop=stop_after_attempt(config.attempts) | stop_after_delay(config.run_budget),
        wait=wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
    )


class RequestBudget:
    """At most `limit` requests in any `window` seconds (a sliding log of request times)."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._hold_until = 0.0

    def preload(self, times: Iterable[float]) -> None:
        """Count requests made earlier (by another process) against the window."""
        for moment in sorted(times):
            self._sent.append(moment)

    def adopt(self, quota: tuple[int, int] | None) -> None:
        """A server-announced quota lower than the configured budget wins."""
        if quota and quota[1] == self.window and 0 < quota[0] < self.limit:
            self.limit = quota[0]

    def hold(self, seconds: float) -> None:
        """The server said its quota is spent: no request until this much time has passed."""
        self._hold_until = max(self._hold_until, time.time() + seconds)

    def wait_needed(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = max(0.0, self._hold_until - now)
        if len(self._sent) >= self.limit:
            wait = max(wait, self._sent[0] + self.window - now)
        return wait

    async def acquire(self, deadline: float) -> None:
        """Take a slot, sleeping for one if needed; BudgetExhausted if none frees in time.

        A source's requests are sequential, so no lock: one budget, one caller at a time.
        """
        now = time.time()
        wait = self.wait_needed(now)
        if wait > 0:
            if now + wait > deadline:
                raise BudgetExhausted(
                    f"request budget ({self.limit} per {self.window:.0f}s) is spent;"
                    f" next slot in {wait:.0f}s, after this run's deadline"
                )
            await asyncio.sleep(wait)
        self._sent.append(time.time())


_budgets: dict[str, RequestBudget] = {}


def budget_for(source: str, limit: int, window: float) -> RequestBudget:
    """One budget per source per process, so the daemon paces across cycles."""
    current = _budgets.get(source)
    if current is None or (current.limit, current.window) != (limit, window):
        current = _budgets[source] = RequestBudget(limit, window)
    return current
