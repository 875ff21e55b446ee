"""Faults of the live path under a crowd that acts: a server process killed with
kill -9 (the README's production setup, uvicorn workers behind one port). Every page
comes back, resumes where it left off, and nothing acknowledged is lost."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
import pytest
import redis
import websockets
from channels.db import database_sync_to_async

from leads.models import Lead
from participation.consumers import UNAVAILABLE_MESSAGE
from participation.models import Attendee, Like, Question, Rating, SpeakRequest
from tests.factories import GuestFactory
from tests.participation.live_client import guest_cookie, session_cookie
from tests.servers import ROOT, free_port, server_env, server_process, stop
from tests.workers import WORKER

pytestmark = pytest.mark.django_db(transaction=True)

VIEWERS = 120
DB_POOL_TIMEOUT = 10  # the servers' PRIMETIME_DB_POOL_TIMEOUT (its default)
LEASE_SECONDS = 3  # the servers' PRIMETIME_PRESENCE_LEASE_SECONDS (its least)
BACK_WITHIN = 5.0  # seconds for every page to be back and resynced


@dataclass
class Viewer:
    """A page of the live protocol that reconnects as the client does: at once after a
    close, resuming with ?epoch=&since=, and checking that public events come in
    order, without a gap or a duplicate."""

    base: str
    slug: str
    attendee_id: int
    cookie: str
    number: int
    epoch: str | None = None
    seq: int | None = None
    connections: int = 0
    synced_at: list[float] = field(default_factory=list)  # each (re)connection's ping ack
    lost_at: list[float] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    snapshots: int = 0
    audience: int | None = None  # the viewer count it was told last
    acked: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    sent: dict[str, dict] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    # When each command was sent, and how long it waited for its answer (its reply,
    # or its socket's close).
    waited: list[tuple[float, float]] = field(default_factory=list)
    epochs: list[str] = field(default_factory=list)
    sent_log: list[dict] = field(default_factory=list)  # every command sent, in order
    unknown: list[dict] = field(default_factory=list)  # sent, their socket lost unanswered
    states: list[str] = field(default_factory=list)  # broadcast.state events
    socket: object = None
    _ref: int = 0

    def url(self) -> str:
        query = f"?epoch={self.epoch}&since={self.seq}" if self.seq is not None else ""
        return self.base.replace("http://", "ws://") + f"/ws/broadcasts/{self.slug}/{query}"

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with websockets.connect(
                    self.url(),
                    origin=self.base,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=5,
                ) as socket:
                    self.socket = socket
                    self.connections += 1
                    await self.send({"type": "ping"})
                    async for message in socket:
                        self._receive(json.loads(message))
            except (OSError, TimeoutError, websockets.WebSocketException):
                pass
            self.socket = None
            now = time.monotonic()
            for ref in list(self.sent):  # answered by the close: sent again if need be
                sent_at = self.sent_at.pop(ref)
                self.waited.append((sent_at, now - sent_at))
                # Done or not, nobody knows: it may still run, even after a later command
                # of this page's next socket (on another worker).
                self.unknown.append(self.sent.pop(ref))
            if not stop.is_set():
                self.lost_at.append(time.monotonic())
                await asyncio.sleep(random.uniform(0.05, 0.3))

    def rated(self) -> set[int]:
        """The ratings the database may hold: the last one acknowledged, one sent after
        it, or one whose socket was lost before its answer."""
        sent = [c["stars"] for c in self.sent_log if c["type"] == "rate"]
        acked = [c["stars"] for c in self.acked if c["type"] == "rate"]
        if not acked:
            return set(sent) | {None}
        last = max(
            i for i, c in enumerate(self.sent_log) if c in self.acked and c["type"] == "rate"
        )
        later = {c["stars"] for c in self.sent_log[last + 1 :] if c["type"] == "rate"}
        return {acked[-1]} | later | {c["stars"] for c in self.unknown if c["type"] == "rate"}

    def _receive(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            self.snapshots += 1
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            self.epochs.append(self.epoch)
            return
        if frame.get("ref") in self.sent_at:
            sent_at = self.sent_at.pop(frame["ref"])
            self.waited.append((sent_at, time.monotonic() - sent_at))
        if frame["type"] == "broadcast.state":
            self.states.append(frame["state"])
        if frame["type"] == "ack":
            command = self.sent.pop(frame["ref"])
            if command["type"] == "ping":
                self.synced_at.append(time.monotonic())
            else:
                self.acked.append(command)
            return
        if frame["type"] == "error":
            self.errors.append(frame)
            self.sent.pop(frame.get("ref"), None)
            return
        if frame["type"] == "audience":
            self.audience = frame["count"]
        if "seq" in frame:
            if frame["seq"] <= self.seq:
                self.duplicates.append(frame["seq"])
            elif frame["seq"] != self.seq + 1:
                self.gaps.append((self.seq, frame["seq"]))
            self.seq = max(self.seq, frame["seq"])

    async def send(self, command: dict) -> None:
        self._ref += 1
        ref = f"{self.number}-{self._ref}"
        self.sent[ref] = command
        self.sent_at[ref] = time.monotonic()
        self.sent_log.append(command)
        try:
            await self.socket.send(json.dumps({**command, "ref": ref}))
        except (AttributeError, websockets.WebSocketException):
            # No socket now: never sent, so never acknowledged.
            self.sent.pop(ref, None)
            self.sent_at.pop(ref, None)

    async def act(self, stop: asyncio.Event) -> None:
        """What a viewer does during a show, a little at a time."""
        n = self.number
        actions = [
            {"type": "question.ask", "text": f"Question {n}-1 from viewer {n}?"},
            {"type": "like"},
            {"type": "rate", "stars": 1 + n % 5},
            {"type": "hand.raise"},
            {"type": "question.ask", "text": f"Question {n}-2 from viewer {n}?"},
            {
                "type": "lead.submit",
                "name": f"Viewer {n}",
                "email": f"viewer{n}@example.com",
                "company": "Acme",
                "consent": True,
            },
            {"type": "rate", "stars": 5 - n % 5},
            {"type": "question.ask", "text": f"Question {n}-3 from viewer {n}?"},
        ]
        for action in actions:
            await asyncio.sleep(random.uniform(0.2, 1.2))
            if stop.is_set():
                return
            await self.send(action)


async def close_all(pages: list[Viewer]) -> None:
    """Close every page at once: each closing handshake completes (the server answers
    the close; a client would otherwise wait its close timeout, 10 s, and drop it)."""
    sockets = [page.socket for page in pages if page.socket is not None]
    async with asyncio.timeout(8):
        await asyncio.gather(*(socket.close() for socket in sockets))
    assert {socket.close_code for socket in sockets} <= {1000}, "handshakes did not complete"


def present(viewers: list[Viewer]) -> list[int]:
    """The pages counted open of each viewer."""
    ids = [viewer.attendee_id for viewer in viewers]
    return list(Attendee.objects.filter(pk__in=ids).values_list("connections", flat=True))


async def wait_for(check, within: float) -> float:
    """Seconds until `check()` holds (awaited in the database thread), or fail."""
    started = time.monotonic()
    while not await database_sync_to_async(check)():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def missing_from_database(viewers: list[Viewer], broadcast_id: int) -> list[str]:
    """What was acknowledged but is not in the database (must be nothing)."""
    questions = set(
        Question.objects.filter(attendee__broadcast_id=broadcast_id).values_list("text", flat=True)
    )
    likes = set(
        Like.objects.filter(attendee__broadcast_id=broadcast_id).values_list(
            "attendee_id", flat=True
        )
    )
    ratings = dict(
        Rating.objects.filter(attendee__broadcast_id=broadcast_id).values_list(
            "attendee_id", "stars"
        )
    )
    hands = set(
        SpeakRequest.objects.filter(attendee__broadcast_id=broadcast_id).values_list(
            "attendee_id", flat=True
        )
    )
    leads = set(Lead.objects.filter(broadcast_id=broadcast_id).values_list("email", flat=True))
    missing = []
    for viewer in viewers:
        for command in viewer.acked:
            kind, who = command["type"], viewer.attendee_id
            if kind == "question.ask" and command["text"] not in questions:
                missing.append(f"{who}: {command['text']}")
            elif kind == "like" and who not in likes:
                missing.append(f"{who}: like")
            elif kind == "hand.raise" and who not in hands:
                missing.append(f"{who}: hand")
            elif kind == "lead.submit" and command["email"] not in leads:
                missing.append(f"{who}: lead")
        if ratings.get(viewer.attendee_id) not in viewer.rated():
            missing.append(f"{viewer.attendee_id}: rating {viewer.rated()}")
    return missing


async def test_a_killed_server_process_loses_no_page_and_nothing_acknowledged(
    redis_url, live_broadcast
):
    guests = await database_sync_to_async(
        lambda: [GuestFactory(broadcast=live_broadcast) for _ in range(VIEWERS)]
    )()
    random.seed(18)
    with server_process(
        "uvicorn-workers",
        REDIS_URL=redis_url,
        PRIMETIME_PRESENCE_LEASE_SECONDS=str(LEASE_SECONDS),
    ) as server:
        viewers = [
            Viewer(server.base, live_broadcast.slug, guest.pk, guest_cookie(guest.guest_key), n)
            for n, guest in enumerate(guests)
        ]
        stop = asyncio.Event()
        pages = [asyncio.create_task(viewer.run(stop)) for viewer in viewers]
        try:
            await wait_for(lambda: all(v.synced_at for v in viewers), within=30)
            acting = [asyncio.create_task(viewer.act(stop)) for viewer in viewers]
            await asyncio.sleep(2.5)  # the crowd is mid-way through its actions

            victim, held = server.busiest_worker()
            assert held >= VIEWERS // 4, "the kernel gave the busiest worker a share of the pages"
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            await asyncio.sleep(0.5)
            hit = [v for v in viewers if v.lost_at and v.lost_at[-1] >= killed_at]
            assert len(hit) == held

            # Every page is back, and has caught up (its ping answered after the kill).
            back = await wait_for(
                lambda: all(v.synced_at and v.synced_at[-1] > v.lost_at[-1] for v in hit),
                within=BACK_WITHIN,
            )
            # Its pages are counted once again when its lease has expired.
            counted = await wait_for(
                lambda: present(viewers) == [1] * VIEWERS,
                within=LEASE_SECONDS * 2 + 2,
            )
            # And every page is told the right viewer count.
            told = await wait_for(lambda: {v.audience for v in viewers} == {VIEWERS}, within=5)
            await asyncio.gather(*acting)
            await asyncio.sleep(1)  # the last replies
        finally:
            stop.set()
            await close_all(viewers)
            await asyncio.gather(*pages, return_exceptions=True)
        # Every page closed: nobody is left counted.
        await wait_for(lambda: present(viewers) == [0] * VIEWERS, within=LEASE_SECONDS * 2 + 2)
        log = server.log_path.read_text()

    print(
        f"\nkill -9 of one of 2 workers, {VIEWERS} viewers: {len(hit)} pages lost, back"
        f" and resynced in {back + 0.5:.1f} s, counted right in {counted + back + 0.5:.1f} s"
        f" and told in {told + counted + back + 0.5:.1f} s;"
        f" {sum(len(v.acked) for v in viewers)} commands acknowledged,"
        f" {sum(v.snapshots for v in viewers) - VIEWERS} fresh snapshots on reconnect"
    )
    assert [v.gaps for v in viewers if v.gaps] == []
    assert [v.duplicates for v in viewers if v.duplicates] == []
    # The bus and its log lived on: every page resumed with a replay, not a snapshot.
    assert sum(v.snapshots for v in viewers) == VIEWERS
    assert {e["code"] for v in viewers for e in v.errors} <= {"rate_limited"}
    acked = sum(len(v.acked) for v in viewers)
    assert acked >= VIEWERS * 3  # most of what they did, through the fault
    assert await database_sync_to_async(missing_from_database)(viewers, live_broadcast.pk) == []
    assert "Traceback" not in log


class OwnRedis:
    """A Redis of the test's own on a free port, which it can kill and start again
    (empty, as a Redis that lost its memory comes back)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        stop(server.process)


async def test_redis_killed_and_restarted_empty_the_live_path_comes_back(
    own_redis, live_broadcast, host
):
    guests = await database_sync_to_async(
        lambda: [GuestFactory(broadcast=live_broadcast) for _ in range(VIEWERS)]
    )()
    random.seed(6379)
    with server_process("uvicorn-workers", REDIS_URL=own_redis.url) as server:
        viewers = [
            Viewer(server.base, live_broadcast.slug, guest.pk, guest_cookie(guest.guest_key), n)
            for n, guest in enumerate(guests)
        ]
        console = Viewer(server.base, live_broadcast.slug, 0, await session_cookie(host), -1)
        stop = asyncio.Event()
        pages = [asyncio.create_task(page.run(stop)) for page in [*viewers, console]]
        try:
            await wait_for(lambda: all(v.synced_at for v in [*viewers, console]), within=30)
            acting = [asyncio.create_task(viewer.act(stop)) for viewer in viewers]
            await asyncio.sleep(1.5)

            own_redis.kill()
            down_at = time.monotonic()
            await asyncio.sleep(3)  # commands meanwhile
            own_redis.start()
            up_at = time.monotonic()

            # Every page takes a fresh snapshot of a new epoch (the log was lost).
            fresh = await wait_for(
                lambda: all(len(set(v.epochs)) == 2 for v in [*viewers, console]), within=10
            )
            await asyncio.gather(*acting)
            # Live events flow again: the host pauses, every page hears it.
            await console.send({"type": "broadcast.pause"})
            heard = await wait_for(lambda: all("paused" in v.states for v in viewers), within=5)
            counted = await wait_for(lambda: present(viewers) == [1] * VIEWERS, within=10)
            await asyncio.sleep(1)  # the last replies
        finally:
            stop.set()
            await close_all([*viewers, console])
            await asyncio.gather(*pages, return_exceptions=True)
        await wait_for(lambda: present(viewers) == [0] * VIEWERS, within=10)
        log = server.log_path.read_text()

    during = [waited for viewer in viewers for _, waited in viewer.waited]
    errors = {e["code"] for v in viewers for e in v.errors}
    print(
        f"\nRedis killed for 3 s under {VIEWERS} viewers: every page on a fresh snapshot"
        f" {fresh + (up_at - down_at) - 3:.1f} s after Redis came back, events heard again"
        f" {heard:.1f} s after the pause, every page counted once {heard + counted:.1f} s after"
        f" it; the longest wait for an answer {max(during):.1f} s;"
        f" error codes {sorted(errors)}; {sum(len(v.acked) for v in viewers)} commands acknowledged"
    )
    assert max(during) < 5  # a clear answer, never a hang
    assert errors <= {"conflict", "rate_limited"}
    assert {e["message"] for v in viewers for e in v.errors if e["code"] == "conflict"} == {
        UNAVAILABLE_MESSAGE
    }
    assert "Exception in ASGI application" not in log
    assert [v.gaps for v in viewers if v.gaps] == []
    assert [v.duplicates for v in viewers if v.duplicates] == []
    assert await database_sync_to_async(missing_from_database)(viewers, live_broadcast.pk) == []


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL that the test cuts: every connection through
    it is reset, and new ones are refused, until it is mended."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.cut = False
        self.links: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _link(self, reader, writer) -> None:
        self.tasks.add(asyncio.current_task())
        try:
            await self._relay(reader, writer)
        finally:
            self.tasks.discard(asyncio.current_task())

    async def _relay(self, reader, writer) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, upstream}
        await asyncio.gather(self._pipe(reader, upstream), self._pipe(upstream_reader, writer))
        self.links -= {writer, upstream}

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()

    def cut_off(self) -> None:
        self.cut = True
        for writer in list(self.links):
            writer.transport.abort()

    def mend(self) -> None:
        self.cut = False

    async def close(self) -> None:
        self.cut_off()
        self.server.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


# The broadcast and its viewers of the database test, made in that database.
SETUP = """
import json, django
django.setup()
from broadcasts import services
from tests.factories import BroadcastFactory, GuestFactory, UserFactory
host = UserFactory(username="cut-host")
broadcast = services.broadcast_start(broadcast=BroadcastFactory(host=host), by=host)
guests = [GuestFactory(broadcast=broadcast) for _ in range({count})]
print(json.dumps({{"slug": broadcast.slug, "guests": [[g.pk, g.guest_key.hex] for g in guests]}}))
"""


@pytest.fixture
def database_of_its_own():
    """A PostgreSQL database of the test's own (in both passes of CI), migrated."""
    import psycopg

    name = f"primetime_cut_{WORKER or 'serial'}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = {**server_env(), "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


async def test_postgresql_cut_off_for_10_s_commands_and_pages_say_so_and_all_recovers(
    database_of_its_own, redis_url
):
    count = 40
    made = subprocess.run(
        [sys.executable, "-c", SETUP.format(count=count)],
        cwd=ROOT,
        env={**server_env(), "DATABASE_URL": database_of_its_own},
        capture_output=True,
        text=True,
        check=True,
    )
    world = json.loads(made.stdout.strip().splitlines()[-1])
    proxy = CuttableProxy(5432)
    port = await proxy.start()
    behind_proxy = database_of_its_own.replace(":5432/", f":{port}/")
    try:
        with server_process(
            "uvicorn-workers",
            DATABASE_URL=behind_proxy,
            REDIS_URL=redis_url,
            PRIMETIME_QUESTIONS_PER_MINUTE="1000",
        ) as server:
            viewers = [
                Viewer(server.base, world["slug"], pk, guest_cookie(uuid.UUID(key)), n)
                for n, (pk, key) in enumerate(world["guests"])
            ]
            stop = asyncio.Event()
            pages = [asyncio.create_task(v.run(stop)) for v in viewers]
            # The watch page of a guest reads the database each time (the landing page
            # may come from the cache).
            landing = f"{server.base}/b/{world['slug']}/watch/"
            cookie = {"Cookie": viewers[0].cookie}
            async with aiohttp.ClientSession(headers=cookie) as http:
                try:
                    await wait_for(lambda: all(v.synced_at for v in viewers), within=30)
                    async with http.get(landing) as response:
                        assert response.status == 200

                    proxy.cut_off()
                    cut_at = time.monotonic()
                    asked_during, statuses, page_waits = [], set(), []

                    async def page_now() -> None:
                        started = time.monotonic()
                        async with http.get(landing) as response:
                            statuses.add(response.status)
                            pages_read.append(await response.text())
                        page_waits.append((started - cut_at, time.monotonic() - started))

                    pages_read: list[str] = []
                    visits = []
                    # The first round is in flight as the cut comes: those pages' next
                    # commands wait behind it (a page's commands run one after another).
                    # The others ask after the outage is known.
                    rounds = 0
                    while time.monotonic() - cut_at < 10:
                        first = rounds == 0
                        rounds += 1
                        for viewer in viewers[:10] if first else viewers[10:]:
                            text = f"Asked at {time.monotonic() - cut_at:.2f} by {viewer.number}?"
                            asked_during.append(text)
                            await viewer.send({"type": "question.ask", "text": text})
                        visits.append(asyncio.create_task(page_now()))
                        await asyncio.sleep(0.5)
                    await asyncio.gather(*visits)
                    page = pages_read[-1]
                    proxy.mend()
                    mended_at = time.monotonic()

                    # It recovers by itself: pages, and commands.
                    async def landing_ok() -> bool:
                        async with http.get(landing) as response:
                            return response.status == 200

                    while not await landing_ok():
                        assert time.monotonic() - mended_at < 10, "pages did not recover"
                        await asyncio.sleep(0.2)
                    pages_back = time.monotonic() - mended_at
                    # Commands work again: each page asks once more, again if refused (a
                    # worker learns PostgreSQL is back at its pool's next connection).
                    asked_after = {v.number: f"After the cut, from {v.number}?" for v in viewers}

                    def answered(viewer) -> bool:
                        text = asked_after[viewer.number]
                        return any(c.get("text") == text for c in viewer.acked)

                    while not all(answered(v) for v in viewers):
                        assert time.monotonic() - mended_at < 15, "commands did not recover"
                        for viewer in viewers:
                            if not answered(viewer) and not viewer.sent:
                                text = asked_after[viewer.number]
                                await viewer.send({"type": "question.ask", "text": text})
                        await asyncio.sleep(0.3)
                    commands_back = time.monotonic() - mended_at
                finally:
                    stop.set()
                    await close_all(viewers)
                    await asyncio.gather(*pages, return_exceptions=True)
            log = server.log_path.read_text()
    finally:
        await proxy.close()

    errors = [e for v in viewers for e in v.errors]
    waits = [(sent - cut_at, w) for v in viewers[10:] for sent, w in v.waited if sent > cut_at]
    in_flight = [w for v in viewers[:10] for sent, w in v.waited if sent > cut_at]
    acked = {c["text"] for v in viewers for c in v.acked if c["type"] == "question.ask"}
    stored = {
        text for (text,) in rows(database_of_its_own, "SELECT text FROM participation_question")
    }
    print(
        f"\nPostgreSQL cut off for 10 s under {count} viewers: pages answered {sorted(statuses)},"
        f" {len(errors)} commands refused with a clear error, back by themselves"
        f" {pages_back:.1f} s after (commands {commands_back:.1f} s); the longest wait for a page"
        f" {max(w for s, w in page_waits if s > 1):.1f} s once known,"
        f" for an answer {max(w for sent, w in waits if sent > 1):.1f} s once known"
    )
    assert statuses == {503}  # a clear page, never a 500
    # At once, once the outage is known (the first callers wait the pool's timeout).
    assert max(waited for started, waited in page_waits if started > 1) < 1
    assert max(waited for started, waited in page_waits) < DB_POOL_TIMEOUT + 1
    assert "try again" in page.lower()
    assert errors and {(e["code"], e["message"]) for e in errors} == {
        ("conflict", UNAVAILABLE_MESSAGE)
    }
    assert max(w for sent, w in waits if sent > 1) < 1
    assert max(in_flight) < DB_POOL_TIMEOUT + 2  # the pool's timeout, then the error
    # Nothing half-applied: what was refused is not stored, what was acknowledged is.
    assert not (set(asked_during) - acked) & stored
    assert acked <= stored
    assert set(asked_after.values()) <= stored
    assert "Exception in ASGI application" not in log
