"""Load the pages: N concurrent clients loading PrimeTime's pages on the production setup.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/primetime_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 python bench/pages_load.py
    ... python bench/pages_load.py --clients 32,128,512 --seconds 20

It starts the servers exactly as the README's production setup does (one uvicorn
command with two worker processes behind one port, `DJANGO_DEBUG=0`, collected static
files), and the clients arrive as a TLS proxy would hand them over (`X-Forwarded-Proto:
https`, the browser's `Origin` on a form post). For each number of concurrent clients,
each page is loaded for a fixed time by every client over and over, one request after
the other, each client with its own connection and cookies, as a browser tab:

- minimal view (the baseline): `/healthz`, a Django view that touches no database,
  through every middleware;
- static file (the baseline): a hashed JavaScript file, served by WhiteNoise;
- landing page: `/b/<slug>/`, anonymous;
- watch page: a new guest each time: the name form, its post, then the page;
- host console: `/b/<slug>/host/`, signed in as the host.

It reports requests per second, p50/p99 latency, errors (a status other than the page's,
or a failed connection: must be 0), the most PostgreSQL connections the servers held
at once (sampled every 50 ms), and the most threads a server process ran. Exits
non-zero on any error. Everything binds to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import (  # noqa: E402
    ChildProcesses,
    Tab,
    Tally,
    collect_static,
    free_port,
    join_as_guest,
    machine,
    percentiles,
    production_environment,
    stop_on_sigterm,
)

PAGES = ("minimal view", "static file", "landing page", "watch page", "host console")
BASELINES = ("minimal view", "static file")
REQUEST_TIMEOUT = 60


# --- The clients ------------------------------------------------------------------


async def _flow(tab: Tab, page: str, target: dict) -> bool:
    """Load `page` once, as a person would; False if a step failed."""
    slug = target["slug"]
    if page == "minimal view":
        return await tab.request("GET", "/healthz", 200) is not None
    if page == "static file":
        return await tab.request("GET", target["static_path"], 200) is not None
    if page == "landing page":
        return await tab.request("GET", f"/b/{slug}/", 200) is not None
    if page == "host console":
        tab.cookies["sessionid"] = target["host_session"]
        return await tab.request("GET", f"/b/{slug}/host/", 200) is not None
    if page == "watch page":
        tab.cookies.clear()  # a new guest each time
        return await join_as_guest(tab, slug)
    raise ValueError(page)


async def _load(base: str, host_header: str, page: str, clients: int, seconds: float, target):
    import aiohttp

    tally = Tally()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        # One connection per tab, kept alive, as a browser does for a page's requests.
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            tab = Tab(session, base, host_header, tally)
            while time.monotonic() < deadline:
                if await _flow(tab, page, target):
                    tally.flows += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return tally


def _client_process(pipe, base: str, host_header: str, target: dict) -> None:
    while True:
        command = pipe.recv()
        if command is None:
            return
        page, clients, seconds = command
        tally = asyncio.run(_load(base, host_header, page, clients, seconds, target))
        pipe.send(tally)


class Clients:
    """The clients, spread over a few processes (one core cannot drive 512 of them)."""

    def __init__(self, processes: int, base: str, host_header: str, target: dict):
        self.children = ChildProcesses(_client_process, [(base, host_header, target)] * processes)

    def load(self, page: str, clients: int, seconds: float) -> Tally:
        count = len(self.children.pipes)
        shares = [clients // count] * count
        for index in range(clients % count):
            shares[index] += 1
        parts = self.children.ask(
            [(page, share, seconds) for share in shares],
            timeout=seconds + REQUEST_TIMEOUT + 60,
            what=f"loading the {page}",
        )
        merged = Tally()
        for part in parts:
            merged.latencies_ms += part.latencies_ms
            merged.errors.update(part.errors)
            merged.flows += part.flows
        return merged

    def close(self) -> None:
        for pipe in self.children.pipes:
            pipe.send(None)  # no answer: they exit
        self.children.join()


# --- What the servers hold --------------------------------------------------------


class Watcher:
    """Samples, every 50 ms, the PostgreSQL connections the servers hold and the
    threads of each server process; keeps the highest since the last `reset`."""

    def __init__(self, database_url: str | None, application_name: str, server_pids):
        self.database_url = database_url
        self.application_name = application_name
        self.server_pids = server_pids
        self.peak_connections = 0
        self.peak_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.peak_connections = self.peak_threads = 0

    def _run(self) -> None:
        connection = None
        if self.database_url and self.database_url.startswith("postgres"):
            import psycopg

            connection = psycopg.connect(self.database_url, autocommit=True)
        try:
            while not self._stop.wait(0.05):
                if connection is not None:
                    (count,) = connection.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND application_name = %s",
                        [self.application_name],
                    ).fetchone()
                    self.peak_connections = max(self.peak_connections, count)
                for pid in self.server_pids():
                    self.peak_threads = max(self.peak_threads, _threads(pid))
        finally:
            if connection is not None:
                connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _threads(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes: its children but multiprocessing's resource tracker."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                command = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in command:
                    found.append(int(child))
    except OSError:
        pass
    return found


class ProductionServer:
    """The README's production command: uvicorn, two workers behind one port."""

    def __init__(self, env: dict[str, str], logs: Path, workers: int):
        self.port = free_port()
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"pages-uvicorn-{self.port}.log"
        command = [
            sys.executable, "-m", "uvicorn", "config.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
            "--ws-max-size", "65536", "--http", "config.http:HeadersTimeoutProtocol",
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.workers = workers
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited; see {self.log_path}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}/healthz",
                    headers={"X-Forwarded-Proto": "https"},
                )
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"uvicorn did not come up; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        return _workers(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# --- The run ----------------------------------------------------------------------


@dataclass
class Row:
    page: str
    clients: int
    seconds: float
    requests: int = 0
    flows: int = 0
    requests_per_second: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: dict = field(default_factory=dict)
    peak_db_connections: int = 0
    peak_threads: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def prepare(tag: str) -> dict:
    """A live broadcast, its host's session, and the address of a hashed static file
    (the collected manifest's name, as a production page links it)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from broadcasts import services

    host = get_user_model().objects.create_user(username=f"pages-host-{tag}")
    broadcast = services.broadcast_create(title=f"Pages {tag}", slug=f"pages-{tag}", host=host)
    services.broadcast_start(broadcast=broadcast, by=host)
    client = Client()
    client.force_login(host)
    return {
        "slug": broadcast.slug,
        "host_session": client.cookies["sessionid"].value,
        "static_path": _hashed_static_path("js/live.js"),
    }


def run(args, env: dict[str, str], target: dict) -> list[Row]:
    # The servers' sessions by a name of their own, so that only theirs are counted.
    name = f"primetime-pages-{uuid.uuid4().hex[:6]}"
    database_url = env["DATABASE_URL"]
    server_env = dict(env)
    if database_url.startswith("postgres"):
        joiner = "&" if "?" in database_url else "?"
        server_env["DATABASE_URL"] = f"{database_url}{joiner}application_name={name}"
    server = ProductionServer(server_env, Path(args.logs), args.workers)
    base = f"http://127.0.0.1:{server.port}"
    watcher = Watcher(database_url, name, server.worker_pids)
    clients = Clients(args.client_processes, base, f"127.0.0.1:{server.port}", target)
    rows = []
    try:
        for count in args.clients:
            for page in args.pages:
                watcher.reset()
                tally = clients.load(page, count, args.seconds)
                latency = percentiles(tally.latencies_ms)
                row = Row(
                    page=page,
                    clients=count,
                    seconds=args.seconds,
                    requests=len(tally.latencies_ms),
                    flows=tally.flows,
                    requests_per_second=round(len(tally.latencies_ms) / args.seconds, 1),
                    p50_ms=round(latency["p50"], 1) if latency["p50"] is not None else None,
                    p99_ms=round(latency["p99"], 1) if latency["p99"] is not None else None,
                    errors=dict(tally.errors),
                    peak_db_connections=watcher.peak_connections,
                    peak_threads=watcher.peak_threads,
                )
                rows.append(row)
                print(
                    f"{count:>4} clients, {page}: {row.requests_per_second} req/s,"
                    f" p99 {row.p99_ms} ms, errors {row.errors or 0},"
                    f" peak PostgreSQL connections {row.peak_db_connections}",
                    flush=True,
                )
                time.sleep(1)  # let the last answers drain before the next page
    finally:
        clients.close()
        watcher.stop()
        server.stop()
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| clients | page | requests/s | vs minimal view | p50 ms | p99 ms | errors"
        " | peak PostgreSQL connections | peak threads per process |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    minimal = {r.clients: r.requests_per_second for r in rows if r.page == "minimal view"}
    for r in rows:
        floor = minimal.get(r.clients)
        ratio = f"{r.requests_per_second / floor:.2f}x" if floor else "-"
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "0"
        lines.append(
            f"| {r.clients} | {r.page} | {r.requests_per_second} | {ratio} | {r.p50_ms}"
            f" | {r.p99_ms} | {errors} | {r.peak_db_connections} | {r.peak_threads} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="32,128,512", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=20, help="per page and count")
    parser.add_argument(
        "--pages", default=",".join(PAGES), help="comma-separated, of: " + ", ".join(PAGES)
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--logs", default=str(ROOT / "var" / "bench-logs"))
    args = parser.parse_args(argv)
    stop_on_sigterm()
    args.clients = [int(count) for count in args.clients.split(",")]
    args.pages = [page.strip() for page in args.pages.split(",")]
    unknown = set(args.pages) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages: {sorted(unknown)}")

    env = production_environment()
    collect_static(env)
    target = prepare(uuid.uuid4().hex[:8])
    # Only the servers' connections are counted: this process lets its own go.
    from django.db import connection

    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()

    print(f"# pages on {machine()}; {args.workers} uvicorn workers", flush=True)
    rows = run(args, env, target)
    print()
    print(table(rows))
    failed = [r for r in rows if r.error_count]
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine(), "rows": [asdict(r) for r in rows]}, indent=2)
        )
    for r in failed:
        print(f"FAILED {r.clients} clients, {r.page}: errors {r.errors}")
    return 1 if failed else 0


def _hashed_static_path(name: str) -> str:
    from django.conf import settings

    manifest = json.loads((Path(settings.STATIC_ROOT) / "staticfiles.json").read_text())
    return f"/{settings.STATIC_URL.strip('/')}/{manifest['paths'][name]}"


if __name__ == "__main__":
    sys.exit(main())
