"""Database connections of the production setup under a burst of page requests.

Each test starts the README's production command (uvicorn, two worker processes) on a
PostgreSQL database of its own, and counts the connections the servers hold while
clients load pages at once, by their `application_name`. This is about PostgreSQL, so
it uses the machine's PostgreSQL whatever database the rest of the suite runs on."""

import asyncio
import threading
import uuid

import psycopg
import pytest

from bench.common import Tab, Tally, join_as_guest
from tests.servers import free_port, running_server

POSTGRES = "postgres://postgres@127.0.0.1:5432"
POOL_SIZE = 2
WORKERS = 2  # uvicorn-workers
CLIENTS = 40


@pytest.fixture
def demo_database(tmp_path):
    """A migrated PostgreSQL database with quickstart's demo broadcast; dropped after."""
    import subprocess
    import sys

    from tests.servers import ROOT, server_env

    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip(f"needs PostgreSQL at {POSTGRES}")
    name = f"primetime_pool_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES}/{name}"
    try:
        subprocess.run(
            [sys.executable, "manage.py", "quickstart", "--no-serve"],
            cwd=ROOT,
            env=server_env(DATABASE_URL=url),
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class ConnectionCounter:
    """Counts, every 20 ms, the sessions of one application name, and keeps the most."""

    def __init__(self, database_url: str, application_name: str):
        self.database_url, self.application_name = database_url, application_name
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self._stop.wait(0.02):
                (count,) = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [self.application_name],
                ).fetchone()
                self.most = max(self.most, count)


async def _burst(base: str, clients: int, rounds: int) -> Tally:
    """`clients` people at once, each loading the landing page and arriving on the watch
    page as a new guest (name form, its post, the page), `rounds` times over."""
    import aiohttp

    tally = Tally()
    host = base.split("://", 1)[1]

    async def person():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            for _ in range(rounds):
                tab = Tab(session, base, host, tally, https=False)
                if await tab.request("GET", "/b/demo/", 200) is not None:
                    await join_as_guest(tab, "demo")

    await asyncio.gather(*(person() for _ in range(clients)))
    return tally


def test_a_burst_of_page_requests_holds_at_most_the_pools_connections(demo_database):
    name = f"primetime-burst-{uuid.uuid4().hex[:6]}"
    env = {
        "DATABASE_URL": f"{demo_database}?application_name={name}",
        "PRIMETIME_DB_POOL_SIZE": str(POOL_SIZE),
    }
    with (
        running_server("uvicorn-workers", **env) as base,
        ConnectionCounter(demo_database, name) as connections,
    ):
        tally = asyncio.run(_burst(base, CLIENTS, rounds=2))
    # Every request answered as it should be (no 500, and no 503: the waits were short).
    assert not tally.errors, tally.errors
    assert len(tally.latencies_ms) == CLIENTS * 2 * 4
    # Forty people at once, yet never more connections than the pools hold.
    assert 1 <= connections.most <= POOL_SIZE * WORKERS


def test_without_a_pool_every_request_thread_keeps_a_connection(demo_database):
    """The control: what the pool prevents, and what the counter above can see. Each
    request runs in a thread of its own, which keeps its connection for a minute: they
    pile up with the requests (a few people suffice; forty filled PostgreSQL's 100)."""
    name = f"primetime-nopool-{uuid.uuid4().hex[:6]}"
    env = {
        "DATABASE_URL": f"{demo_database}?application_name={name}",
        "PRIMETIME_DB_POOL_SIZE": "0",
        "PRIMETIME_DB_CONN_MAX_AGE": "60",
    }
    with (
        running_server("uvicorn-workers", **env) as base,
        ConnectionCounter(demo_database, name) as connections,
    ):
        tally = asyncio.run(_burst(base, 8, rounds=1))
    assert not tally.errors, tally.errors
    assert connections.most > POOL_SIZE * WORKERS


def test_pages_answer_503_while_the_database_is_unreachable():
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/primetime"
    env = {"DATABASE_URL": nowhere, "PRIMETIME_DB_POOL_TIMEOUT": "1"}
    import urllib.error
    import urllib.request

    with running_server("uvicorn-workers", **env) as base:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/b/demo/", timeout=30)
        with urllib.request.urlopen(f"{base}/healthz", timeout=30) as health:
            assert health.status == 200
    assert refused.value.code == 503
    assert refused.value.headers["Retry-After"] == "5"
    page = refused.value.read().decode()
    assert "We are busy for a moment" in page
    assert "Traceback" not in page
