"""What the HTTP server under `traction serve` (and the daemon's status port) promises an
operator, over real sockets on 127.0.0.1: idle connections are closed, SIGTERM lets an
in-flight download finish and exits 0, every request is one JSON access-log line, and a
client hanging up is never a traceback."""

from __future__ import annotations

import json
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scoring.snapshot import render, write_atomically
from traction.http_app import KEEP_ALIVE_TIMEOUT, HttpServer
from traction.serve import SnapshotServer

from helpers import Served, snapshot_body


@pytest.fixture
def big_snapshot(tmp_path: Path) -> Path:
    """A few MB of snapshot: more than loopback buffers take at once from a slow reader."""
    path = tmp_path / "snapshot.json"
    models = [(f"org/model-{i}", float(i), []) for i in range(8000)]
    write_atomically(path, render(snapshot_body(models).seal()))
    return path


@pytest.fixture
def served(big_snapshot: Path, tmp_path: Path) -> Iterator[Served]:
    process = Served(big_snapshot, tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.close()


def slow_reader(address: tuple[str, int], target: str = "/snapshot.json") -> socket.socket:
    """A client whose GET has started but which reads nothing yet: the response is in
    flight, held up by a 4 KB receive window."""
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(10)
    client.connect(address)
    client.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return client


def read_response(client: socket.socket, first: bytes = b"") -> tuple[bytes, bytes]:
    """(head, body) of one response, reading until the server closes the connection."""
    data = first
    while chunk := client.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_idle_connections_are_closed_after_the_keep_alive_timeout(big_snapshot):
    """A connection that never sends a request, and one idle after its response, are
    both closed by the server: neither holds a descriptor (or a thread) for ever."""
    with SnapshotServer(big_snapshot) as server:
        silent = socket.create_connection(server.address, timeout=KEEP_ALIVE_TIMEOUT + 5)
        kept = socket.create_connection(server.address, timeout=KEEP_ALIVE_TIMEOUT + 5)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = kept.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
        opened = time.monotonic()
        assert silent.recv(1) == b""  # closed by the server, not timed out here
        assert kept.recv(1) == b""
        waited = time.monotonic() - opened
        assert KEEP_ALIVE_TIMEOUT - 1 < waited < KEEP_ALIVE_TIMEOUT + 3
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        silent.close()
        kept.close()


def test_sigterm_lets_an_in_flight_download_finish_and_exits_0(served, big_snapshot):
    client = slow_reader(served.address)
    first = client.recv(100)  # the response has started; the rest waits for us
    assert first.startswith(b"HTTP/1.1 200 ")
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the server is shutting down while the body is still in flight
    head, body = read_response(client, first)
    client.close()
    assert body == big_snapshot.read_bytes()  # every byte, then the connection closed
    assert served.process.wait(timeout=20) == 0
    with pytest.raises(httpx.ConnectError):  # and it accepts nothing more
        httpx.get(served.url + "/healthz", timeout=2)
    err = served.stderr()
    assert "Traceback" not in err
    events = json_lines(err)  # every stderr line is one JSON event
    assert any(e["msg"] == "stopped serving" for e in events)


def test_each_request_is_one_json_access_log_line(served, big_snapshot):
    etag = httpx.get(served.url + "/snapshot.json", timeout=5).headers["etag"]
    httpx.get(served.url + "/snapshot.json", headers={"If-None-Match": etag}, timeout=5)
    httpx.head(served.url + "/snapshot.json", timeout=5)
    httpx.get(served.url + "/v1/signals/momentum?limit=3", timeout=5)
    httpx.get(served.url + "/nowhere", timeout=5)
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=20) == 0
    access = [e for e in json_lines(served.stderr()) if e["logger"] == "traction.http"]
    got = [(e["method"], e["path"], e["status"]) for e in access]
    assert got == [
        ("GET", "/snapshot.json", 200),
        ("GET", "/snapshot.json", 304),
        ("HEAD", "/snapshot.json", 200),
        ("GET", "/v1/signals/momentum", 200),  # no query string: clients put anything there
        ("GET", "/nowhere", 404),
    ]
    size = big_snapshot.stat().st_size
    assert [e["bytes"] for e in access][:3] == [size, 0, 0]
    for event in access:
        assert event["level"] == "info" and event["msg"].startswith(event["method"] + " ")
        assert isinstance(event["duration_ms"], float) and event["duration_ms"] >= 0
        assert event["client"].startswith("127.0.0.1:")
    assert not any(e["logger"] == "uvicorn.access" for e in json_lines(served.stderr()))


def test_a_client_hanging_up_mid_response_is_no_traceback(served):
    for _ in range(3):
        client = slow_reader(served.address)
        client.recv(100)  # the response has started; hang up with a reset mid-body
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    assert httpx.get(served.url + "/healthz", timeout=5).status_code == 200  # still serving
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=20) == 0
    err = served.stderr()
    assert "Traceback" not in err and "Exception" not in err
    levels = {e["level"] for e in json_lines(err)}
    assert levels == {"info"}, err  # not even a warning


def test_beyond_the_concurrency_limit_a_request_is_refused_with_503_at_once():
    """Connections and in-flight requests are bounded: past the limit the server answers
    503 instead of queueing (traction serve's limit is LIMIT_CONCURRENCY)."""

    async def ok(request: Request) -> Response:
        return Response(b"ok")

    with HttpServer(Starlette(routes=[Route("/", ok)]), limit_concurrency=3) as server:
        held = [socket.create_connection(server.address, timeout=5) for _ in range(3)]
        refused = httpx.get(server.url + "/", timeout=5)
        assert refused.status_code == 503
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 5
        while httpx.get(server.url + "/", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "still refusing once the connections closed"
            time.sleep(0.05)
