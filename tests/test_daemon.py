"""`traction run` as a daemon: first cycle at start, clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from traction.demo.upstream import Upstream

from test_cli import write_config


def test_daemon_publishes_then_stops_cleanly_on_sigterm(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        up.payloads["wzrd"] = {"contract_version": "wzrd.momentum.v1", "count": 0, "models": []}
        config = write_config(tmp_path, up.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env["TRACTION_CONFIG"] = str(config)
        proc = subprocess.Popen(
            [sys.executable, "-m", "traction.cli", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        snapshot = tmp_path / "data" / "snapshot.json"
        try:
            deadline = time.monotonic() + 60
            prefixes = ("/api/v1/models", "/api/models", "/v1/signals/momentum")

            def every_source_ran() -> bool:
                return all(any(p.startswith(x) for p in up.requests) for x in prefixes)

            while not (snapshot.exists() and every_source_ran()) and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.2)
            assert snapshot.exists(), "the daemon published nothing within 60 s"
            assert every_source_ran(), up.requests
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "daemon started" in stderr and "signal 15" in stderr
