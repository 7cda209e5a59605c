"""Helpers every parser uses to turn a contract failure into a quarantine reason."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from schemas.limits import MODEL_ID_MAX_LENGTH, REASON_MAX_LENGTH, printable
from schemas.rows import Quarantined

# What one record can raise on its way from the payload to stored rows: its contract
# (ValidationError is a ValueError), or arithmetic on its numbers (OverflowError,
# decimal.Overflow and InvalidOperation are ArithmeticErrors). Each quarantines the
# record; anything else is a bug, and the runner fails the source's run with it.
RECORD_ERRORS = (ValueError, ArithmeticError)


def reason_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "record"
            parts.append(f"{loc}: {err['msg']}")
        reason = "; ".join(parts)
    else:
        reason = str(exc) or type(exc).__name__
    return printable(reason, REASON_MAX_LENGTH)


def quarantine(
    source: str, index: int, record: Any, exc: Exception, model_id: Any = None
) -> Quarantined:
    if model_id is None and isinstance(record, dict):
        for key in ("id", "model", "channel_id", "full_name", "model_permaslug", "name"):
            if isinstance(record.get(key), str):
                model_id = record[key]
                break
    return Quarantined(
        source=source,
        record_index=index,
        # The id as it came may be what was wrong with it: kept printable and short.
        model_id=None if model_id is None else printable(model_id, MODEL_ID_MAX_LENGTH),
        reason=reason_of(exc),
        raw=json.dumps(record, sort_keys=True, default=str)[:20000],  # Decimal -> str
    )
