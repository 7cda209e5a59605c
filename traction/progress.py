"""A one-line progress bar for long interactive commands (`ingest`, `run --once`).

Drawn on stderr only when stderr is a terminal: under cron, systemd or a pipe the logs
and the one-line-per-source summary are the record, and carriage returns would only
garble them.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class Progress:
    """`progress(step, done, total)`: redraws `label [#####-------] done/total step`."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.started = time.monotonic()
        self._drawn = 0

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = round(WIDTH * min(done, total) / total)
        line = (
            f"{self.label} [{'#' * filled}{'-' * (WIDTH - filled)}] {done}/{total}"
            f" {time.monotonic() - self.started:4.0f}s {step}"
        )
        self.stream.write("\r" + line.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(line)

    def close(self) -> None:
        """Erase the bar, so what follows starts on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
