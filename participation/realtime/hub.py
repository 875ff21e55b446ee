"""The hub of each event loop: the live connections of one server process, by
broadcast, and the tasks that feed them.

The bus (bus.py) hands each event to the hub once; one task writes it to every local
connection watching that broadcast, in seq order. The hub also runs the housekeeping
of the live path in a thread of its own: the coalesced counters' flush (counters.py)
and the periodic jobs the domain registered (jobs.py).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from . import counters as counter_registry
from . import jobs
from .batching import database_call
from .bus import bus
from .counters import counters

logger = logging.getLogger(__name__)


class LiveConnection(Protocol):
    def push_event(self, seq: int, frame: str) -> None:
        """Take a public event for sending; never waits (a slow reader must not hold up
        the others)."""
        ...

    def push_private(self, frame: str, close: bool) -> None:
        """Take a private message for sending, after any public event taken before it;
        with `close`, the socket closes once it is sent. Never waits."""
        ...

    async def resync(self) -> None: ...


# A queue item of LoopHub that is a private message, not a broadcast's public event.
_PRIVATE = object()


@dataclass(eq=False)
class LoopHub:
    """The connections of one event loop (one server process), by broadcast."""

    loop: asyncio.AbstractEventLoop
    rooms: dict[str, set[LiveConnection]] = field(
        default_factory=lambda: collections.defaultdict(set)
    )
    # (names.ATTENDEE, attendee id) or (names.HOSTS, broadcast id) -> connections
    recipients: dict[tuple[str, int], set[LiveConnection]] = field(
        default_factory=lambda: collections.defaultdict(set)
    )
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    tasks: list[asyncio.Task] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    _starting: bool = False
    _housekeeper: ThreadPoolExecutor | None = None

    async def ensure_started(self) -> None:
        if self._starting:
            await self.started.wait()
            return
        self._starting = True
        try:
            listener = await bus().start_listening(self)
        except BaseException:
            self._starting = False
            raise
        if listener is not None:
            self.tasks.append(listener)
        self.tasks.append(
            asyncio.create_task(self.dispatch_events(), name="primetime-live-dispatch")
        )
        self.tasks.append(
            asyncio.create_task(self._flush_counters(), name="primetime-live-counters")
        )
        for job in jobs.registered():
            self.tasks.append(
                asyncio.create_task(self.run_every(job), name=f"primetime-live-{job.name}")
            )
        self.started.set()

    async def join(self, slug: str, connection: LiveConnection) -> None:
        await self.ensure_started()
        self.rooms[slug].add(connection)

    def leave(self, slug: str, connection: LiveConnection) -> None:
        room = self.rooms.get(slug)
        if room is not None:
            room.discard(connection)
            if not room:
                del self.rooms[slug]

    def receive_private(self, target: tuple[str, int], connection: LiveConnection) -> None:
        """`connection` gets the private messages for `target` from now on."""
        self.recipients[target].add(connection)

    def stop_private(self, target: tuple[str, int], connection: LiveConnection) -> None:
        connections = self.recipients.get(target)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self.recipients[target]

    def local_count(self, slug: str) -> int:
        return len(self.rooms.get(slug, ()))

    def enqueue(self, slug: str, seq: int, frame: str) -> None:
        self.queue.put_nowait((slug, seq, frame))

    def enqueue_private(self, target: tuple[str, int], frame: str, *, close: bool) -> None:
        # Through the same queue as public events: each page gets both in arrival order.
        self.queue.put_nowait((_PRIVATE, target, (frame, close)))

    async def resync_all(self) -> None:
        for room in list(self.rooms.values()):
            for connection in list(room):
                await connection.resync()

    async def dispatch_events(self) -> None:
        # One task writes every frame, so each connection sees events in seq order.
        while True:
            slug, seq, frame = await self.queue.get()
            if slug is _PRIVATE:
                target, (frame, close) = seq, frame
                for connection in list(self.recipients.get(target, ())):
                    try:
                        connection.push_private(frame, close)
                    except Exception:
                        logger.exception("could not deliver a private message")
                continue
            for connection in list(self.rooms.get(slug, ())):
                try:
                    connection.push_event(seq, frame)
                except Exception:
                    logger.exception("could not deliver a live event to a connection")

    def stop_housekeeping(self) -> None:
        """Let the housekeeping thread go (a hub of a test's own event loop)."""
        if self._housekeeper is not None:
            self._housekeeper.shutdown()
            self._housekeeper = None

    def _housekeeping(self, job):
        """`job` to run in this hub's own worker thread (with its own database
        connection), not behind the commands of thousands of viewers in the shared one:
        counts must go out on time when a crowd acts at once."""
        if self._housekeeper is None:
            self._housekeeper = ThreadPoolExecutor(1, thread_name_prefix="primetime-live")
        return database_call(job, thread_sensitive=False, executor=self._housekeeper)

    async def _flush_counters(self) -> None:
        # Counters are coalesced: at most one event per counter of a broadcast per
        # interval, however many viewers act.
        while True:
            await asyncio.sleep(settings.LIVE_COALESCE_SECONDS)
            for kind, broadcast_id in counters.drain():
                try:
                    publish = counter_registry.publisher(kind)
                    published = await self._housekeeping(publish)(
                        kind=kind, broadcast_id=broadcast_id
                    )
                    if not published:  # another process is at it: ours goes next round
                        counters.mark(kind, broadcast_id)
                except Exception:
                    logger.exception("could not publish %s of broadcast %s", kind, broadcast_id)

    async def run_every(self, job: jobs.Job) -> None:
        """Run a registered job in the housekeeping thread, at its interval, for ever."""
        while True:
            await asyncio.sleep(job.every())
            try:
                outcome = await self._housekeeping(job.run)()
            except Exception:
                logger.exception("could not %s", job.doing)
                continue
            if outcome == jobs.RESYNC:
                await self.resync_all()


class _Hubs:
    """One LoopHub per running event loop (a server process has one; tests have many)."""

    def __init__(self):
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopHub] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def current(self) -> LoopHub:
        loop = asyncio.get_running_loop()
        with self._lock:
            hub = self._by_loop.get(loop)
            if hub is None:
                hub = self._by_loop[loop] = LoopHub(loop)
            return hub


hubs = _Hubs()
