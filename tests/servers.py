"""Real server processes for tests: daphne or uvicorn on a free loopback port."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.workers import WORKER

ROOT = Path(settings.BASE_DIR)
ARTIFACTS = ROOT / "test-artifacts"

SERVER_COMMANDS = {
    "daphne": lambda port: [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "config.asgi:application",
    ],
    "uvicorn": lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets",
        "--lifespan",
        "off",
        "--no-access-log",
    ],
    # The README's production command: worker processes behind one port.
    "uvicorn-workers": lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        "65536",
        "--http",
        "config.http:HeadersTimeoutProtocol",
        "--no-access-log",
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shared_database_url() -> str:
    """The URL of the database this test run uses, for a server process to share it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env |= {
        "DATABASE_URL": shared_database_url(),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        # Lead exports of test servers stay with the test artifacts (export ids repeat
        # between parallel workers' databases).
        "PRIMETIME_EXPORTS_DIR": str(ARTIFACTS / "exports" / (WORKER or "serial")),
        "PRIMETIME_MEDIA_ROOT": str(ARTIFACTS / "media" / (WORKER or "serial")),
        # Every browser of the suite comes from 127.0.0.1.
        "PRIMETIME_GUESTS_PER_ADDRESS_PER_MINUTE": "100000",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env |= overrides
    return env


@dataclass
class Server:
    """A server process of a test: its base URL, its process, and its log."""

    base: str
    process: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the server's own, or its workers (uvicorn
        --workers)."""
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
            pids = [int(pid) for pid in children.read().split()]
        return [pid for pid in pids if _is_server_worker(pid)] or [self.process.pid]

    def busiest_worker(self) -> tuple[int, int]:
        """The worker process holding the most client connections, and their number
        (the kernel hands connections of a shared port to workers unevenly)."""
        port = int(self.base.rsplit(":", 1)[1])
        accepted = _established_sockets(port)
        held = {pid: len(_socket_inodes(pid) & accepted) for pid in self.worker_pids()}
        pid = max(held, key=held.get)
        return pid, held[pid]


def _established_sockets(port: int) -> set[str]:
    """The inodes of the TCP connections accepted on `port` of 127.0.0.1."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _is_server_worker(pid: int) -> bool:
    # uvicorn's workers are multiprocessing children; its resource tracker is not one.
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"resource_tracker" not in cmdline.read()
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def running_server(kind: str = "daphne", **env_overrides: str):
    """Start a server, wait until it answers, yield its base URL, and always stop it."""
    with server_process(kind, **env_overrides) as server:
        yield server.base


@contextlib.contextmanager
def server_process(kind: str = "daphne", **env_overrides: str):
    """As running_server, yielding the Server (for tests that kill its processes)."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"server-{kind}-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            SERVER_COMMANDS[kind](port),
            cwd=ROOT,
            env=server_env(**env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log_path)
            yield Server(base=base, process=process, log_path=log_path)
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    """Ask a server to stop, and make sure it does."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"server did not come up:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def running_worker(**env_overrides: str):
    """Start a Celery worker (one process, Redis as broker), wait until it is ready, and
    always stop it. Pass REDIS_URL: without a broker there is nothing to work for."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"celery-worker-{os.getpid()}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                # Tasks left on the queue by earlier tests (their exports are gone).
                "--purge",
            ],
            cwd=ROOT,
            env=server_env(**env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while b" ready." not in log_path.read_bytes():
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker not ready:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            process.log_path = log_path
            yield process
        finally:
            stop(process)
