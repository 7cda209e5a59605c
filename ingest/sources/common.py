"""Helpers every parser uses to turn a contract failure into a quarantine reason."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from schemas.rows import Quarantined


def reason_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "record"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc) or type(exc).__name__


def quarantine(
    source: str, index: int, record: Any, exc: Exception, model_id: str | None = None
) -> Quarantined:
    if model_id is None and isinstance(record, dict):
        for key in ("id", "model", "channel_id", "name"):
            if isinstance(record.get(key), str):
                model_id = record[key]
                break
    return Quarantined(
        source=source,
        record_index=index,
        model_id=model_id,
        reason=reason_of(exc),
        raw=json.dumps(record, sort_keys=True, default=str)[:20000],  # Decimal -> str
    )
