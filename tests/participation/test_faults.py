"""Faults of the live path under a crowd that acts: a server process killed with
kill -9 (the README's production setup, uvicorn workers behind one port). Every page
comes back, resumes where it left off, and nothing acknowledged is lost."""

import asyncio
import json
import os
import random
import signal
import time
from dataclasses import dataclass, field

import pytest
import websockets
from channels.db import database_sync_to_async

from leads.models import Lead
from participation.models import Attendee, Like, Question, Rating, SpeakRequest
from tests.factories import GuestFactory
from tests.participation.live_client import guest_cookie
from tests.servers import server_process

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
                    await self._send({"type": "ping"})
                    async for message in socket:
                        self._receive(json.loads(message))
            except (OSError, TimeoutError, websockets.WebSocketException):
                pass
            self.socket = None
            if not stop.is_set():
                self.lost_at.append(time.monotonic())
                await asyncio.sleep(random.uniform(0.05, 0.3))

    def _receive(self, frame: dict) -> None:
        if frame["type"] == "snapshot":
            self.snapshots += 1
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            return
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

    async def _send(self, command: dict) -> None:
        self._ref += 1
        ref = f"{self.number}-{self._ref}"
        self.sent[ref] = command
        try:
            await self.socket.send(json.dumps({**command, "ref": ref}))
        except (AttributeError, websockets.WebSocketException):
            self.sent.pop(ref, None)  # no socket now: never sent, so never acknowledged

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
            await self._send(action)


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
        last_rating = None
        for command in viewer.acked:
            kind, who = command["type"], viewer.attendee_id
            if kind == "question.ask" and command["text"] not in questions:
                missing.append(f"{who}: {command['text']}")
            elif kind == "like" and who not in likes:
                missing.append(f"{who}: like")
            elif kind == "rate":
                last_rating = command["stars"]
            elif kind == "hand.raise" and who not in hands:
                missing.append(f"{who}: hand")
            elif kind == "lead.submit" and command["email"] not in leads:
                missing.append(f"{who}: lead")
        if last_rating is not None and ratings.get(viewer.attendee_id) != last_rating:
            missing.append(f"{viewer.attendee_id}: rating {last_rating}")
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
            for viewer in viewers:
                if viewer.socket is not None:
                    await viewer.socket.close()
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
