"""Where an idle viewer's memory goes: a tracemalloc breakdown per live connection.

    python bench/connection_memory.py                 # 1000 viewers, embedded
    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/connection_memory.py

Starts one live server as bench/live_load.py does (uvicorn, websockets-sansio), connects
`--warm` widget viewers (so that what the first connections load once is not counted),
takes a tracemalloc snapshot, connects `--viewers` more, lets them sit idle (pinging
like the page) for `--idle` seconds, takes another, and prints what the second holds
more than the first, per connection: by package of the code that allocated it and by
allocating line. A second run without tracing gives the RSS per connection beside it
(tracing itself costs memory), with bench/bare_server.py's as the floor.
Everything binds to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import (  # noqa: E402
    free_port,
    machine,
    production_environment,
    rss_kb,
    stop_on_sigterm,
)

# Where an allocation is counted: the innermost frame of the first of these areas.
AREAS = [
    ("primetime", ("/participation/", "/broadcasts/", "/leads/", "/config/")),
    ("channels_redis", ("/channels_redis/",)),
    ("channels", ("/channels/",)),
    ("uvicorn", ("/uvicorn/",)),
    ("websockets", ("/websockets/",)),
    ("redis", ("/redis/",)),
    ("django", ("/django/",)),
    ("asgiref", ("/asgiref/",)),
    ("asyncio", ("/asyncio/",)),
]


def area_of(traceback: tracemalloc.Traceback) -> tuple[str, str]:
    """(area, "file:line") of the frame an allocation is counted on: the innermost
    frame in a named library or in PrimeTime (tracebacks list the oldest frame first)."""
    for frame in reversed(traceback):
        for area, markers in AREAS:
            if any(marker in frame.filename for marker in markers):
                short = frame.filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
                return area, f"{short}:{frame.lineno}"
    frame = traceback[-1]
    return "other", f"{Path(frame.filename).name}:{frame.lineno}"


def breakdown(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, count: int):
    by_area: dict[str, int] = defaultdict(int)
    by_line: dict[tuple[str, str], int] = defaultdict(int)
    for stat in after.compare_to(before, "traceback"):
        if stat.size_diff == 0:
            continue
        area, line = area_of(stat.traceback)
        by_area[area] += stat.size_diff
        by_line[(area, line)] += stat.size_diff
    total = sum(by_area.values())
    return total / count, {a: s / count for a, s in by_area.items()}, by_line


class Server:
    def __init__(self, command: list[str], port: int, env: dict[str, str], log: Path):
        self.port = port
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        import socket

        deadline = time.monotonic() + 300  # tracing slows start-up several times over
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited; see {log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"server did not come up; see {log}") from None
                time.sleep(0.2)

    def rss_kb(self) -> int:
        return rss_kb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def snapshot(server: Server, path: Path) -> tracemalloc.Snapshot:
    done = path.with_name(path.name + ".done")
    done.unlink(missing_ok=True)
    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while not done.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no snapshot from the server")
        time.sleep(0.5)
    return tracemalloc.Snapshot.load(str(done))


def audience(port: int, slug: str | None, count: int, processes: int):
    from bench.live_load import Audience, Viewer, guest_tokens

    tokens = guest_tokens(count) if slug else [""] * count
    path = f"/ws/broadcasts/{slug}/" if slug else "/"
    viewers = [
        Viewer(
            url=f"ws://127.0.0.1:{port}{path}" + (f"?guest={token}" if token else ""),
            origin=f"http://127.0.0.1:{port}",
            connect_at=10 * index / count,
        )
        for index, token in enumerate(tokens)
    ]
    return Audience(viewers, processes, set())


def measure_rss(kind: str, env, logs, slug, args) -> float:
    from bench.live_load import server_command

    port = free_port()
    server = Server(server_command(kind, port), port, env, logs / f"memory-{kind}-{port}.log")
    try:
        warm = audience(server.port, slug, args.warm, 1)
        warm.join(60)
        time.sleep(2)
        before = server.rss_kb()
        crowd = audience(server.port, slug, args.viewers, args.client_processes)
        crowd.join(60)
        time.sleep(args.idle)
        after = server.rss_kb()
        for group in (crowd, warm):
            viewers = group.close()
            lost = sum(1 for v in viewers if v.failed or v.dropped)
            if lost:
                raise RuntimeError(f"{lost} viewers failed or dropped")
        return (after - before) / args.viewers
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--idle", type=float, default=15)
    parser.add_argument("--top", type=int, default=25, help="allocating lines shown")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--logs", default=str(ROOT / "var" / "bench-logs"))
    args = parser.parse_args(argv)
    stop_on_sigterm()
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)

    env = production_environment(DJANGO_SECURE_SSL_REDIRECT="0")

    from bench.live_load import prepare_broadcast

    _, slug, _ = prepare_broadcast(uuid.uuid4().hex[:8])

    print(f"# {args.viewers} idle viewers on {machine()}", flush=True)
    bare_kb = measure_rss("bare", env, logs, None, args)
    live_kb = measure_rss("uvicorn", env, logs, slug, args)

    snapshot_path = logs / f"memory-{uuid.uuid4().hex[:6]}.snapshot"
    port = free_port()
    traced = [sys.executable, str(ROOT / "bench" / "traced_server.py"), str(port)]
    server = Server([*traced, str(snapshot_path)], port, env, logs / "memory-traced.log")
    try:
        warm = audience(server.port, slug, args.warm, 1)
        warm.join(60)
        time.sleep(2)
        before = snapshot(server, snapshot_path)
        crowd = audience(server.port, slug, args.viewers, args.client_processes)
        crowd.join(120)
        time.sleep(args.idle)
        after = snapshot(server, snapshot_path)
        crowd.close()
        warm.close()
    finally:
        server.stop()
        for leftover in logs.glob(snapshot_path.name + "*"):
            leftover.unlink()
    per_connection, by_area, by_line = breakdown(before, after, args.viewers)

    print()
    print("| server | RSS per idle viewer, KB |")
    print("| --- | ---: |")
    print(f"| bare websockets (the floor) | {bare_kb:.1f} |")
    print(f"| uvicorn, the live socket | {live_kb:.1f} |")
    print()
    print(f"Traced Python allocations per connection: {per_connection / 1024:.1f} KB")
    print()
    print("| allocated in | KB per connection |")
    print("| --- | ---: |")
    for area, size in sorted(by_area.items(), key=lambda item: -item[1]):
        print(f"| {area} | {size / 1024:.2f} |")
    print()
    print("| area | allocating line | bytes per connection |")
    print("| --- | --- | ---: |")
    ranked = sorted(by_line.items(), key=lambda item: -item[1])[: args.top]
    for (area, line), size in ranked:
        print(f"| {area} | `{line}` | {size / args.viewers:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
