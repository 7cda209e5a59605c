"""The one root of the errors traction raises on purpose.

Every stage raises a subclass of `TractionError` for a condition it means to report (a bad
configuration, a source that cannot be read, a refused publish, a busy database), so a
caller can catch traction's errors apart from bugs, and the command line maps each to its
message and exit code in one place: `exit_code` says which (docs/operating.md lists them).
Here, in `schemas`, because every layer may import it and it imports nothing.
"""

from __future__ import annotations

# The command line's exit codes (docs/operating.md; cron and systemd read them).
EXIT_FAILED = 1  # nothing published, nothing to show, or an error
EXIT_CONFIG = 2  # configuration or usage error
EXIT_LOCKED = 4  # another traction process works on this database


class TractionError(Exception):
    """An error traction reports in words: one line for people, `exit_code` for scripts."""

    exit_code = EXIT_FAILED
