"""Signed snapshots: the one place that knows how a snapshot is signed and checked.

A snapshot's `content_hash` proves the document is whole, not who wrote it: anyone who
can write to the snapshot's file, HTTP cache or Redis key can seal a document of their
own. With `TRACTION_SNAPSHOT_KEY` set, the worker adds `signature` =
`hmac-sha256:<hex>`, the HMAC-SHA256 under that key of the snapshot's canonical bytes
(`schemas.snapshot.canonical_bytes`: every field but `content_hash` and `signature`,
sorted keys, no spaces), and adapters with the same key refuse a snapshot that is
unsigned or signed with another key. Worker and adapter both import this module, so they
cannot drift apart.

The key comes from the environment only (never the config file, the database, a log line
or the snapshot): it is a shared secret, and whoever holds it can steer traffic.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from .snapshot import Snapshot, SnapshotBody, canonical_bytes

KEY_ENV = "TRACTION_SNAPSHOT_KEY"
SCHEME = "hmac-sha256"
MIN_KEY_LENGTH = 16  # bytes; a short shared secret is one an attacker can guess offline


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The signing key, or None when signing is off. A set but short key is an error:
    silently signing with a guessable key would look safe and not be."""
    environ = os.environ if environ is None else environ
    raw = environ.get(KEY_ENV)
    if raw is None:
        return None
    key = raw.encode()
    if len(key) < MIN_KEY_LENGTH:
        # The value is never echoed: it is a secret even when it is a bad one.
        raise ValueError(
            f"{KEY_ENV} is set but shorter than {MIN_KEY_LENGTH} bytes;"
            " use a long random value (e.g. `openssl rand -hex 32`)"
        )
    return key


def signature_of(snapshot: SnapshotBody | dict, key: bytes) -> str:
    """`hmac-sha256:<hex>` over the snapshot's canonical bytes."""
    digest = hmac.new(key, canonical_bytes(snapshot), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{digest}"


def sign(snapshot: Snapshot, key: bytes) -> Snapshot:
    """The same snapshot with its signature (content and content_hash unchanged)."""
    return Snapshot.model_validate(
        {**snapshot.model_dump(mode="json"), "signature": signature_of(snapshot, key)}
    )


def verify(snapshot: Snapshot, key: bytes) -> str | None:
    """None when `snapshot` carries a valid signature under `key`, else why it does not."""
    if snapshot.signature is None:
        return "unsigned"
    if not hmac.compare_digest(snapshot.signature, signature_of(snapshot, key)):
        return "bad signature (signed with another key, or altered)"
    return None
