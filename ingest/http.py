"""HTTP for every source: a client that paces, retries, and keeps what it fetched.

The policy itself (what is retried, how long to wait, the request budgets) lives in
`policy.py`; this module applies it to each request and records every page fetched,
so the runner can archive exactly the bodies it parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx

from schemas.config import RetryConfig
from schemas.errors import TractionError
from schemas.limits import MAX_JSON_DEPTH, json_too_deep

from .policy import (
    BudgetExhausted,
    RequestBudget,
    RetryableStatus,
    announced_quota,
    reset_wait_seconds,
    retry_policy,
)

USER_AGENT = "traction/0.1 (signal-driven routing for LiteLLM)"

# Which environment variable holds each source's token. Tokens are read when a client
# is made and go only into the Authorization header.
TOKEN_ENV = {
    "huggingface": "HF_TOKEN",
    "openrouter": "OPENROUTER_API_KEY",
    "openrouter_endpoints": "OPENROUTER_API_KEY",
    "openrouter_rankings": "OPENROUTER_API_KEY",
    "github": "GITHUB_TOKEN",
}
REDACTED_HEADERS = {"authorization", "set-cookie", "cookie", "proxy-authorization"}


class FetchError(TractionError):
    """A source could not be fetched; `unreachable` marks DNS/connect failures and 404/410."""

    def __init__(self, message: str, *, unreachable: bool = False, status: int | None = None):
        super().__init__(message)
        self.unreachable = unreachable
        self.status = status


class SourceSkipped(TractionError):
    """Nothing to do this run, and that is fine (no API key for a keyed endpoint, say)."""


class PayloadError(TractionError):
    """The body is not the contract at all (not JSON, wrong envelope, a pagination loop)."""


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    # Kept out of repr: asyncio.run formats the finished task's result (a list of these)
    # while restoring its SIGINT handler, and megabytes of body cost each cycle ~20 ms.
    body: bytes = field(repr=False)
    fetched_at: datetime
    data: Any = field(default=None, repr=False)

    @property
    def content_hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.body).hexdigest()


def token_for(source: str) -> str | None:
    return os.environ.get(TOKEN_ENV.get(source, ""), "") or None


def redact(headers: httpx.Headers | dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in REDACTED_HEADERS}


def decode_json(body: bytes, exact_numbers: bool = False) -> Any:
    """JSON from bytes; with `exact_numbers`, decimals stay Decimal (prices must not drift).

    ValueError when the body is not JSON (bad syntax or encoding, an integer of more
    digits than Python converts); PayloadError when it nests deeper than MAX_JSON_DEPTH,
    which nothing real does and which would make every later step recurse out of stack."""
    try:
        data = json.loads(body, parse_float=Decimal if exact_numbers else None)
    except RecursionError:
        raise PayloadError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if json_too_deep(data):
        raise PayloadError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


_SSL_CONTEXTS: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (per SSL_CERT_FILE/SSL_CERT_DIR, which httpx
    honours), shared by every client. httpx builds a fresh one per client, loading the CA
    bundle each time (~25 ms): a cost paid by every source run of every cycle, for
    nothing, since the bundle does not change while the process runs."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        context = _SSL_CONTEXTS[key] = httpx.create_ssl_context()
    return context


class SourceClient:
    """One source's HTTP for one run: paced, retried, deadline-bound, every page kept."""

    def __init__(
        self,
        source: str,
        timeout: float,
        retry: RetryConfig,
        budget: RequestBudget,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        token = token_for(source)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.source = source
        self.retry = retry
        self.budget = budget
        self.deadline = time.time() + retry.run_budget
        self.pages: list[Fetched] = []
        self.requests = 0
        self.has_token = token is not None
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers=headers,
            follow_redirects=True,
            transport=transport,
            verify=ssl_context(),
        )

    async def __aenter__(self) -> SourceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def get_json(
        self,
        url: str,
        params: Any = None,
        headers: dict[str, str] | None = None,
        *,
        exact_numbers: bool = False,
        missing_ok: bool = False,
    ) -> Fetched | None:
        """GET a JSON document under the policy; None for 304, or 404 when `missing_ok`."""

        async def attempt() -> httpx.Response:
            await self.budget.acquire(self.deadline)
            self.requests += 1
            response = await self._client.get(url, params=params, headers=headers)
            hold = reset_wait_seconds(response)
            if hold:
                self.budget.hold(hold)
            self.budget.adopt(announced_quota(response))
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableStatus(response)
            return response

        try:
            response = await retry_policy(self.retry)(attempt)
        except RetryableStatus as exc:
            status = exc.response.status_code
            raise FetchError(f"HTTP {status} from {url} after retries", status=status) from None
        except BudgetExhausted as exc:
            raise FetchError(str(exc)) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise FetchError(f"cannot connect to {url}: {exc}", unreachable=True) from None
        except httpx.TransportError as exc:
            raise FetchError(f"{type(exc).__name__} from {url} after retries") from None
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            # Not worth a retry: a redirect loop (TooManyRedirects), a body that does not
            # decode as its Content-Encoding says (DecodingError), a URL it cannot ask.
            raise FetchError(f"{type(exc).__name__} from {url}: {exc}") from None
        if response.status_code == 304:
            return None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise FetchError(
                f"HTTP {response.status_code} from {response.url}",
                status=response.status_code,
                unreachable=response.status_code in (404, 410),
            )
        try:
            data = decode_json(response.content, exact_numbers)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
            kind = response.headers.get("content-type", "no content type")
            raise PayloadError(f"body from {response.url} is not JSON ({kind}): {exc}") from None
        page = Fetched(
            url=str(response.url),
            status=response.status_code,
            headers=redact(response.headers),
            body=response.content,
            fetched_at=datetime.now(timezone.utc),
            data=data,
        )
        self.pages.append(page)
        return page


def content_hash(payloads: list[Any]) -> str:
    body = json.dumps(payloads, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()
