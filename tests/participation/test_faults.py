"""Faults of the live path under a crowd that acts: a server process killed with
kill -9 (the README's production setup, uvicorn workers behind one port). Every page
comes back, resumes where it left off, and nothing acknowledged is lost."""

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field

import pytest
import redis
import websockets
from channels.db import database_sync_to_async

from leads.models import Lead
from participation.consumers import UNAVAILABLE_MESSAGE
from participation.models import Attendee, Like, Question, Rating, SpeakRequest
from tests.factories import GuestFactory
from tests.participation.live_client import guest_cookie, session_cookie
from tests.servers import free_port, server_process, stop

pytestmark = pytest.mark.django_db(transaction=True)

VIEWERS = 120
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
    # Seconds each command waited for its answer: its reply, or its socket's close.
    waited: list[float] = field(default_factory=list)
    epochs: list[str] = field(default_factory=list)
    sent_log: list[dict] = field(default_factory=list)  # every command sent, in order
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
                self.waited.append(now - self.sent_at.pop(ref))
                del self.sent[ref]
            if not stop.is_set():
                self.lost_at.append(time.monotonic())
                await asyncio.sleep(random.uniform(0.05, 0.3))

    def rated(self) -> set[int]:
        """The ratings the database may hold: the last one acknowledged, or one sent
        after it whose reply was lost with its socket."""
        sent = [c["stars"] for c in self.sent_log if c["type"] == "rate"]
        acked = [c["stars"] for c in self.acked if c["type"] == "rate"]
        if not acked:
            return set(sent) | {None}
        last = max(
            i for i, c in enumerate(self.sent_log) if c in self.acked and c["type"] == "rate"
        )
        return {acked[-1]} | {c["stars"] for c in self.sent_log[last + 1 :] if c["type"] == "rate"}

    def _receive(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            self.snapshots += 1
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            self.epochs.append(self.epoch)
            return
        if frame.get("ref") in self.sent_at:
            self.waited.append(time.monotonic() - self.sent_at.pop(frame["ref"]))
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

    during = [waited for viewer in viewers for waited in viewer.waited]
    errors = {e["code"] for v in viewers for e in v.errors}
    print(
        f"\nRedis killed for 3 s under {VIEWERS} viewers: every page on a fresh snapshot"
        f" {fresh + (up_at - down_at) - 3:.1f} s after Redis came back, events heard again"
        f" {heard:.1f} s after the pause; the longest wait for an answer {max(during):.1f} s;"
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
    assert counted >= 0
