"""HTTP for every source: one client factory and the one retry policy.

What is retried: connect and read failures, 429 and 5xx. What is not: every other
4xx (retrying a 404 only burns the rate limit), and a 200 whose body is not JSON
(a captive portal or an HTML error page will not fix itself in a second).
A `Retry-After` in seconds or as an HTTP date replaces the backoff when present.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from schemas.config import RetryConfig

USER_AGENT = "traction/0.1 (+https://github.com/traction-router/traction)"

# Which environment variable holds each source's token; tokens are read per request
# and never stored anywhere else.
TOKEN_ENV = {
    "huggingface": "HF_TOKEN",
    "openrouter": "OPENROUTER_API_KEY",
    "github": "GITHUB_TOKEN",
}


class FetchError(Exception):
    """A source could not be fetched; `unreachable` marks DNS/connect failures."""

    def __init__(self, message: str, *, unreachable: bool = False, status: int | None = None):
        super().__init__(message)
        self.unreachable = unreachable
        self.status = status


class PayloadError(Exception):
    """The body is not the contract at all (not JSON, wrong envelope)."""


class RetryableStatus(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code} from {response.request.url}")
        self.response = response


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    data: Any = field(default=None)


def auth_headers(source: str) -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV.get(source, ""), "")
    return {"Authorization": f"Bearer {token}"} if token else {}


def make_client(source: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **auth_headers(source)},
        follow_redirects=True,
    )


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | httpx.TransportError)


def retry_policy(config: RetryConfig) -> AsyncRetrying:
    """The single retry policy: exponential backoff with jitter, bounded in tries and time."""
    backoff = wait_exponential_jitter(
        initial=config.backoff_initial, max=config.backoff_max, jitter=config.backoff_initial
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus):
            hinted = retry_after_seconds(exc.response)
            if hinted is not None:
                return min(hinted, config.backoff_max)
        return backoff(state)

    return AsyncRetrying(
        stop=stop_after_attempt(config.attempts) | stop_after_delay(config.run_budget),
        wait=wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
    )


async def get_json(
    client: httpx.AsyncClient, url: str, config: RetryConfig, params: Any = None
) -> Fetched:
    """GET a JSON document under the retry policy, or raise FetchError / PayloadError."""

    async def attempt() -> httpx.Response:
        response = await client.get(url, params=params)
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableStatus(response)
        return response

    try:
        response = await retry_policy(config)(attempt)
    except RetryableStatus as exc:
        status = exc.response.status_code
        raise FetchError(f"HTTP {status} from {_safe(url)} after retries", status=status) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise FetchError(f"cannot connect to {_safe(url)}: {exc}", unreachable=True) from None
    except httpx.TransportError as exc:
        raise FetchError(f"transport error from {_safe(url)}: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise FetchError(
            f"HTTP {response.status_code} from {_safe(str(response.url))}",
            status=response.status_code,
            unreachable=response.status_code in (404, 410),
        )
    try:
        data = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "unknown content type")
        raise PayloadError(f"body from {_safe(url)} is not JSON ({kind}): {exc}") from None
    return Fetched(
        url=str(response.url),
        status=response.status_code,
        headers={k: v for k, v in response.headers.items() if k.lower() != "set-cookie"},
        body=response.content,
        data=data,
    )


def _safe(url: str) -> str:
    """URLs never carry tokens here, but strip any query credentials defensively."""
    return str(httpx.URL(url).copy_with(query=None)) if "token" in url.lower() else url


def content_hash(payloads: list[Any]) -> str:
    body = json.dumps(payloads, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()
