"""`traction serve` under idle and concurrent connections: threads and memory stay flat.

Why: the server ran on Python's standard-library HTTP server, a thread per connection
and no idle timeout, so every poller or load balancer that kept a connection open held a
thread (and its stack) for ever. It now runs on uvicorn (traction/http_app.py): one
event-loop thread, idle connections closed after the keep-alive timeout.

What it runs: a snapshot of `--models` models written to a temp directory, then
`python -m traction.cli serve --listen 127.0.0.1:0` on it as a real process (from
`--repo`, this checkout by default: pass an older checkout to compare). After one
warm-up request it reads the server's `Threads:` and `VmRSS:` from /proc/PID/status (at
rest); then it opens `--idle` connections and leaves them idle (half connect and send
nothing, half send one request and then nothing more), and, while they are open, fires
`--requests` GET /snapshot.json from `--concurrent` connections at once
(threads, http.client), sampling threads and RSS every 20 ms. It reports the peak threads
and RSS under load beside the at-rest figures and their ratio, latency p50/p99, errors,
and then waits for the keep-alive timeout and counts the idle connections the server
closed.

Exits 1 if the server's threads grew by more than 10 under load, or any request failed.

    python benchmarks/http_load.py                        # 500 idle, 200 concurrent, ~20 s
    python benchmarks/http_load.py --idle 1000 --requests 4000
    python benchmarks/http_load.py --repo /path/to/an/older/checkout   # compare
"""

from __future__ import annotations

import argparse
import http.client
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the shared snapshot builder

import httpx  # noqa: E402

from scoring.snapshot import render, write_atomically  # noqa: E402

from helpers import snapshot_body  # noqa: E402

THREAD_GROWTH_LIMIT = 10


def write_snapshot(path: Path, models: int) -> int:
    """A valid, sealed snapshot of `models` models; returns its size in bytes."""
    body = snapshot_body([(f"org/model-{i}", float(models - i), []) for i in range(models)])
    write_atomically(path, render(body.seal()))
    return path.stat().st_size


def proc_status(pid: int) -> tuple[int, float]:
    """(threads, RSS in MB) of process `pid`."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


class Sampler(threading.Thread):
    """Peak threads and RSS of `pid`, sampled every 20 ms until `stop()`."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.threads, self.rss = proc_status(pid)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.02):
            threads, rss = proc_status(self.pid)
            self.threads, self.rss = max(self.threads, threads), max(self.rss, rss)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def open_idle(address: tuple[str, int], count: int) -> list[socket.socket]:
    """`count` connections: the first half silent, the rest after one complete request."""
    sockets = []
    for i in range(count):
        sock = socket.create_connection(address, timeout=10)
        if i >= count // 2:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        sockets.append(sock)
    for sock in sockets[count // 2 :]:  # read each answer, so the connection is idle
        sock.recv(65536)
    return sockets


def closed_by_server(sockets: list[socket.socket], within: float) -> int:
    """How many of `sockets` the server closed (EOF or reset) within `within` seconds."""
    pending, closed = set(sockets), 0
    deadline = time.monotonic() + within
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(list(pending), [], [], 0.2)
        for sock in ready:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed += 1
                pending.discard(sock)
    return closed


def fire(
    address: tuple[str, int], path: str, requests: int, concurrent: int
) -> tuple[list[float], list[str]]:
    """`requests` GETs of `path` from `concurrent` threads at once, each over its own
    keep-alive connection (http.client: httpx's async pool, not the server, was the
    bottleneck at 200 connections)."""
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(concurrent)
    share = [requests // concurrent + (i < requests % concurrent) for i in range(concurrent)]

    def client(count: int) -> None:
        connection = http.client.HTTPConnection(*address, timeout=60)
        connection.connect()  # before the start line: latency is the request's, not the SYN's
        start.wait()
        for _ in range(count):
            began = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection(*address, timeout=60)
                continue
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
            else:
                latencies.append((time.perf_counter() - began) * 1000)
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=500, help="idle connections (500)")
    parser.add_argument("--concurrent", type=int, default=200, help="connections (200)")
    parser.add_argument("--requests", type=int, default=2000, help="GETs in all (2000)")
    parser.add_argument("--models", type=int, default=500, help="snapshot size (500)")
    parser.add_argument(
        "--keep-alive", type=float, default=5, help="the server's idle timeout, s (5)"
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout to run serve from")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="http-load-") as tmp:
        snapshot = Path(tmp) / "snapshot.json"
        size = write_snapshot(snapshot, args.models)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env["TRACTION_STORAGE__SNAPSHOT"] = str(snapshot)
        env["PYTHONPATH"] = str(args.repo.resolve())
        log = Path(tmp) / "serve.log"
        with log.open("w") as stderr:
            server = subprocess.Popen(
                [sys.executable, "-m", "traction.cli", "serve", "--listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=args.repo,
            )
        try:
            line = server.stdout.readline()
            if " on http://" not in line:
                print(f"serve did not start: {line}{log.read_text()[-2000:]}", file=sys.stderr)
                return 1
            url = line.split(" on ", 1)[1].split()[0]
            host, port = url.removeprefix("http://").rsplit(":", 1)
            httpx.get(url + "/snapshot.json", timeout=10).raise_for_status()  # warm: loaded
            time.sleep(0.5)
            rest_threads, rest_rss = proc_status(server.pid)

            sampler = Sampler(server.pid)
            sampler.start()
            opened = time.monotonic()
            idle = open_idle((host, int(port)), args.idle)
            idle_threads, _ = proc_status(server.pid)
            started = time.perf_counter()
            latencies, errors = fire(
                (host, int(port)), "/snapshot.json", args.requests, args.concurrent
            )
            elapsed = time.perf_counter() - started
            load_threads, load_rss = proc_status(server.pid)
            sampler.stop()
            load_seconds = time.monotonic() - opened

            remaining = max(0.0, args.keep_alive - load_seconds)
            closed = closed_by_server(idle, remaining + args.keep_alive + 3)
            for sock in idle:
                sock.close()
            after_threads, after_rss = proc_status(server.pid)
        finally:
            server.terminate()
            code = server.wait(timeout=30)
            server.stdout.close()
        tracebacks = log.read_text().count("Traceback")

    peak_threads, peak_rss = sampler.threads, sampler.rss
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(
        f"traction serve from {args.repo}: snapshot {args.models} models ({size / 1024:.0f} KB);"
        f" {args.idle} idle connections, then {args.requests} GET /snapshot.json over"
        f" {args.concurrent} concurrent connections"
    )
    print()
    print(f"{'':24}{'at rest':>10}{'under load':>12}{'ratio':>8}{'after':>10}")
    print(
        f"{'threads':24}{rest_threads:>10}{peak_threads:>12}"
        f"{peak_threads / rest_threads:>7.2f}x{after_threads:>10}"
    )
    print(
        f"{'RSS MB':24}{rest_rss:>10.1f}{peak_rss:>12.1f}"
        f"{peak_rss / rest_rss:>7.2f}x{after_rss:>10.1f}"
    )
    print()
    print(f"threads with the idle connections open, before the burst: {idle_threads}")
    print(
        f"requests: {len(latencies)} ok, {len(errors)} failed in {elapsed:.1f} s"
        f" ({len(latencies) / elapsed:.0f}/s); latency p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms,"
        f" max {max(latencies or [0]):.1f} ms"
    )
    if errors:
        print(f"  first errors: {sorted(set(errors))[:3]}")
    print(
        f"idle connections closed by the server within the keep-alive timeout (+3 s):"
        f" {closed}/{args.idle}"
    )
    print(f"serve exit code on SIGTERM: {code}; tracebacks on its stderr: {tracebacks}")
    failures = []
    if peak_threads > rest_threads + THREAD_GROWTH_LIMIT:
        failures.append(f"threads grew from {rest_threads} to {peak_threads}")
    if errors:
        failures.append(f"{len(errors)} requests failed")
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
