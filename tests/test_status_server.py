"""The worker's HTTP port: /healthz, /metrics (Prometheus), and the status page in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas.snapshot import Snapshot, SnapshotBody
from scoring.snapshot import render
from traction.demo.upstream import Upstream
from traction.status_server import StatusServer, sparkline

from helpers import bundled_week, daemon_config, start

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The shared week, once for the module: the page only reads it."""
    return bundled_week(tmp_path_factory.mktemp("week"))[1]


@pytest.fixture
def server(week):
    with StatusServer(week) as running:
        yield running


def make_stale(path: Path) -> None:
    """Re-publish the snapshot as if it had been generated a day ago, validly sealed."""
    snap = Snapshot.model_validate_json(path.read_bytes())
    body = snap.model_dump(exclude={"content_hash"})
    body["generated_at"] = snap.generated_at - timedelta(days=1)
    body["stale_after"] = snap.stale_after - timedelta(days=1)
    tmp = path.with_name(".stale.json")
    tmp.write_bytes(render(SnapshotBody.model_validate(body).seal()))
    os.replace(tmp, path)


def test_healthz_turns_503_when_the_snapshot_goes_stale(week, tmp_path):
    snapshot = tmp_path / "snapshot.json"
    shutil.copy(week.storage.snapshot, snapshot)
    config = week.model_copy(
        update={"storage": week.storage.model_copy(update={"snapshot": snapshot})}
    )
    with StatusServer(config) as server:
        status, body = get(f"{server.url}/healthz")
        assert status == 200 and '"status": "ok"' in body
        make_stale(snapshot)
        status, body = get(f"{server.url}/healthz")
        assert status == 503 and '"status": "stale"' in body
        metrics = {
            s.name: s.value
            for f in text_string_to_metric_families(get(f"{server.url}/metrics")[1])
            for s in f.samples
        }
        assert metrics["traction_snapshot_stale"] == 1.0
        assert metrics["traction_snapshot_age_seconds"] > 86400


def test_metrics_parse_with_prometheus_clients_parser(server, week):
    status, text = get(f"{server.url}/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    # eight daily cycles: every Hugging Face run stored new facts
    assert value("traction_runs_total", source="huggingface", status="ok") == 8
    assert value("traction_run_failures_total", source="huggingface") == 0
    assert value("traction_rows_stored_total", source="huggingface") > 0
    assert value("traction_rows_quarantined_total", source="huggingface") >= 0
    assert value("traction_source_enabled", source="wzrd") == 1  # the test config turns it on
    assert value("traction_source_enabled", source="github") == 0
    # the mirror does not serve WZRD: every run found it unreachable, and counts as failed
    assert value("traction_runs_total", source="wzrd", status="unreachable") == 8
    assert value("traction_run_failures_total", source="wzrd") == 8
    assert value("traction_snapshot_version") == 8
    assert value("traction_snapshot_stale") == 0
    assert 0 < value("traction_snapshot_age_seconds") < 3600
    assert value("traction_source_last_success_age_seconds", source="openrouter") < 3600


def test_status_page_lists_sources_runs_and_movers(server):
    status, page = get(f"{server.url}/")
    assert status == 200
    rows = dict(re.findall(r'<tr data-source="(\w+)">.*?<span class="badge \w+">([^<]+)', page))
    assert rows["huggingface"] == "fresh" and rows["openrouter"] == "fresh"
    assert rows["github"] == "disabled"
    assert rows["wzrd"] == "failing"  # enabled, never answered
    movers = page.split("<table id=movers>")[1].split("</table>")[0]
    assert "Qwen/Qwen3.5-9B" in movers and movers.count("<svg") >= 2
    assert "downloads_all_time" not in movers  # unweighted signals are not movers
    assert page.split("<table id=runs>")[1].count("<tr>") > 5


def test_sparkline_scales_to_its_own_range():
    svg = sparkline([10, 20, 30])
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] > ys[1] > ys[2]  # rising values climb (SVG y grows downwards)
    flat = sparkline([5, 5, 5])
    assert "nan" not in flat and "<polyline" in flat


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("no chromium binary (Debian package `chromium`); CI installs it")
    return found


def headless(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_page_renders_in_headless_chromium(server, week, tmp_path):
    binary = chromium()
    dom = headless(binary, tmp_path / "profile", "--dump-dom", f"{server.url}/")
    assert dom.returncode == 0, dom.stderr[-2000:]
    table = dom.stdout.split('<table id="sources">')[1].split("</table>")[0]
    for name in week.sources.enabled():
        assert f'data-source="{name}"' in table
    assert dom.stdout.count("<polyline") >= 2  # the movers' sparklines were parsed as SVG
    shot = tmp_path / "status.png"
    result = headless(
        binary,
        tmp_path / "profile2",
        "--window-size=1200,1400",
        f"--screenshot={shot}",
        f"{server.url}/",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a page, not a blank frame
    keep = os.environ.get("STATUS_SCREENSHOT_DIR")  # to look at it: set this and rerun
    if keep:
        shutil.copy(shot, Path(keep) / "status.png")


def test_daemon_serves_status_on_its_http_port(tmp_path):
    with Upstream() as up:
        up.set_day(7)
        config = daemon_config(tmp_path, up.url)
        log = tmp_path / "daemon.log"
        proc = start(config, log, "--http", "127.0.0.1:0")
        try:
            url = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and url is None and proc.poll() is None:
                found = re.search(r"serving status on (http://[\d.]+:\d+)", log.read_text())
                url = found.group(1) if found else None
                time.sleep(0.2)
            assert url, log.read_text()
            while time.monotonic() < deadline:  # until the first cycle published
                if get(f"{url}/healthz")[0] == 200:
                    break
                time.sleep(0.3)
            assert get(f"{url}/healthz")[0] == 200, log.read_text()
            while time.monotonic() < deadline:  # and its analytics copy landed
                if 'source="huggingface",status="ok"' in get(f"{url}/metrics")[1]:
                    break
                time.sleep(0.3)
            metrics = get(f"{url}/metrics")[1]
            assert 'traction_runs_total{source="huggingface",status="ok"}' in metrics
            page = get(f"{url}/")[1]
            assert 'data-source="huggingface"' in page and "snapshot<b>v" in page
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    assert code == 0, log.read_text()
