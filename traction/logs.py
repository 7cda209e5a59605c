"""Logging for operators: one JSON object per event on stderr, or plain text for humans.

Fields: `ts` (UTC ISO 8601), `level`, `logger`, `msg`, plus whatever the call site put in
`extra=` (`run_id`, `source`, counts). Secrets never reach a log line: no code path logs
a request's headers, and errors carry URLs, not credentials.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

# `color_message`: uvicorn's copy of its message with terminal colour codes
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
