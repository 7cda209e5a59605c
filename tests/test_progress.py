"""The progress bar of interactive commands: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys

from traction.demo.upstream import Upstream
from traction.progress import Progress

from helpers import write_config


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_redraws_one_line_and_erases_itself():
    out = Terminal()
    with Progress("ingest", out) as bar:
        bar("huggingface fetched", 1, 4)
        bar("huggingface stored", 4, 4)
    text = out.getvalue()
    assert text.count("\r") >= 3 and "\n" not in text  # one line, redrawn in place
    assert "[######------------------] 1/4" in text and "4/4" in text
    assert text.endswith("\r") and text.rstrip("\r").split("\r")[-1].strip() == ""


def test_bar_is_silent_when_not_a_terminal():
    out = io.StringIO()
    with Progress("ingest", out) as bar:
        bar("huggingface fetched", 1, 2)
    assert out.getvalue() == ""


def test_run_once_draws_the_bar_on_a_terminal_only(tmp_path):
    """Under a pseudo-terminal the operator sees the bar; piped (cron), stderr stays clean."""
    with Upstream() as up:
        up.set_day(0)
        config = write_config(tmp_path, up.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env["TRACTION_CONFIG"] = str(config)
        command = [sys.executable, "-m", "traction.cli", "run", "--once"]
        master, slave = pty.openpty()
        proc = subprocess.Popen(command, env=env, stderr=slave, stdout=subprocess.PIPE)
        os.close(slave)
        seen = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=60)
        os.close(master)
        piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    terminal = seen.decode(errors="replace")
    assert "run [" in terminal and "huggingface stored" in terminal
    assert "run [" not in piped.stderr and "\r" not in piped.stderr
