"""What the benchmarks share."""

import asyncio
import collections
import multiprocessing
import os
import re
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def stop_on_sigterm() -> None:
    """A benchmark stopped with SIGTERM (`timeout`, say) unwinds as on Ctrl-C, so that
    its `finally` blocks stop the servers it started."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def collect_static(env: dict[str, str]) -> None:
    """As the README's production steps: the hashed, compressed static files, which the
    pages of servers running with DJANGO_DEBUG=0 link to."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    subprocess.run(command, cwd=root, env=env, check=True)


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it is missing (on the same server)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


# Every simulated viewer comes from 127.0.0.1; a real crowd comes from many addresses,
# each far under the limit of new guests an address may make a minute.
LOOPBACK_CROWD = {"PRIMETIME_GUESTS_PER_ADDRESS_PER_MINUTE": "1000000"}


def production_environment(**extra: str) -> dict[str, str]:
    """Set this process up against the benchmark's database (created if it is missing,
    migrated) and give the environment of servers run as the README's production setup
    (`DJANGO_DEBUG=0`, this process's secret key, the same database; SQLite's file when
    DATABASE_URL is unset), with `extra` on top."""
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        ensure_database(database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        **LOOPBACK_CROWD,
    }
    if not database_url:
        env["DATABASE_URL"] = f"sqlite:///{settings.DATABASES['default']['NAME']}"
    return env | extra


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}"


@dataclass
class Tally:
    """What one client process saw of one page."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)
    flows: int = 0
    # 503 "busy for a moment" answers a tab waited out and asked again, as the page does.
    busy_retried: int = 0


class Tab:
    """One client: a browser tab with its own connection and cookies."""

    def __init__(
        self, session, base: str, host_header: str, tally: Tally, *, https=True, patient=False
    ):
        self.session, self.base, self.tally = session, base, tally
        # A patient tab waits out a 503 (its Retry-After) and asks again, as our 503 page
        # does by itself; otherwise a 503 is an error.
        self.patient = patient
        self.cookies: dict[str, str] = {}
        # Behind the TLS proxy of a production setup, or straight to a server on http.
        self.headers = {"Host": host_header}
        if https:
            self.headers["X-Forwarded-Proto"] = "https"
        self.origin = ("https://" if https else "http://") + host_header

    async def request(self, method: str, path: str, expect: int, data=None) -> str | None:
        while True:
            body, retry_after = await self._request(method, path, expect, data)
            if retry_after is None:
                return body
            self.tally.busy_retried += 1
            await asyncio.sleep(retry_after)

    async def _request(self, method, path, expect, data) -> tuple[str | None, float | None]:
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if data is not None:
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        begun = time.monotonic()
        try:
            async with self.session.request(
                method, self.base + path, headers=headers, data=data, allow_redirects=False
            ) as response:
                body = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
                for name, morsel in response.cookies.items():
                    self.cookies[name] = morsel.value
        except Exception as error:
            self.tally.errors[type(error).__name__] += 1
            return None, None
        if status == 503 and self.patient and retry_after:
            return None, float(retry_after)
        if status != expect:
            self.tally.errors[f"HTTP {status}"] += 1
            return None, None
        self.tally.latencies_ms.append((time.monotonic() - begun) * 1000)
        return body.decode("utf-8", "replace"), None


async def join_as_guest(tab: Tab, slug: str) -> bool:
    """A guest's way in through the watch page: the name form, its post, then the page.
    Afterwards `tab.cookies` holds the guest cookie the live socket knows them by."""
    form = await tab.request("GET", f"/b/{slug}/watch/", 200)
    token = CSRF_FIELD.search(form or "")
    if token is None:
        if form is not None:
            tab.tally.errors["no name form"] += 1
        return False
    name = {"csrfmiddlewaretoken": token.group(1), "display_name": f"Guest {uuid.uuid4().hex[:6]}"}
    if await tab.request("POST", f"/b/{slug}/watch/", 302, data=name) is None:
        return False
    return await tab.request("GET", f"/b/{slug}/watch/", 200) is not None


class ChildProcesses:
    """Client processes of a benchmark (one core cannot drive thousands of clients):
    each is spawned, daemonic, and talks to us over its own pipe. Process i runs
    `target(pipe, *argument_lists[i])`."""

    def __init__(self, target, argument_lists: list[tuple]):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for arguments in argument_lists:
            ours, theirs = context.Pipe()
            process = context.Process(target=target, args=(theirs, *arguments), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def ask(self, messages: list, *, timeout: float, what: str) -> list:
        """Send `messages[i]` to process i, and return their answers in order."""
        for pipe, message in zip(self.pipes, messages, strict=True):
            pipe.send(message)
        answers = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError(f"a client process did not answer {what}")
            answers.append(pipe.recv())
        return answers

    def ask_all(self, message, *, timeout: float, what: str) -> list:
        return self.ask([message] * len(self.pipes), timeout=timeout, what=what)

    def join(self) -> None:
        """Wait for them to exit (they were told to), killing any that will not."""
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
