"""Public live events: numbered, logged for replay, and fanned out once per process.

A public event is encoded once, given the broadcast's next `seq` and appended to a
bounded replay log in one atomic step, then published once: a Redis pub/sub message
when REDIS_URL is set, an in-process call otherwise. Each server process receives it
once, and its hub writes the same text frame to every local connection watching that
broadcast (a channel-layer message per viewer per event does not scale: DESIGN section
4). Private messages (to one attendee's pages, or to a broadcast's hosts) take the same
road: one message, which each process's hub hands to its own connections for that
attendee, if it has any. So a live page has no channel of its own on the channel
layer: nothing to subscribe when a crowd joins, and no task or queue per page waiting
on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import os
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from . import channels as names

logger = logging.getLogger(__name__)

# Replay logs of broadcasts nobody touches for two days are dropped by Redis; a
# client coming back after that gets a fresh snapshot (the epoch changes).
LOG_TTL_SECONDS = 2 * 24 * 3600


def encode(payload: dict) -> str:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def _numbered(seq: int, body: str) -> str:
    # `body` is an encoded JSON object; the seq goes first so readers can find it cheaply.
    return '{"seq":' + str(seq) + "," + body[1:]


def seq_of(frame: str) -> int:
    return int(frame[7 : frame.index(",", 7)])


@dataclass
class Position:
    """Where a broadcast's event stream stands, and what a reconnecting client missed."""

    epoch: str
    seq: int
    missed: list[str] | None = None  # None: cannot replay, send a snapshot


class EventBus(Protocol):
    def publish(self, slug: str, payload: dict) -> int: ...

    def position(
        self, slug: str, *, epoch: str | None = None, since: int | None = None
    ) -> Position:
        """Read the stream's position and, when asked, the frames after `since`."""
        ...

    def send_private(self, kind: str, target_id: int, frame: str, *, close: bool) -> None:
        """Hand `frame` to the open pages of one attendee (`names.ATTENDEE`) or of a
        broadcast's hosts (`names.HOSTS`), in every process; with `close`, their sockets
        close after it."""
        ...

    async def start_listening(self, hub: LoopHub) -> asyncio.Task | None: ...

    def exclusive(self, name: str, spacing: float = 0) -> contextlib.AbstractContextManager[bool]:
        """Enter a section under `name` that no other process is in: yields whether it
        got in. Leaving it with `spacing` keeps everyone out for that many seconds."""
        ...


class MemoryEventBus:
    """The embedded bus: one process, so one lock orders every broadcast's events."""

    def __init__(self, log_size: int):
        self.epoch = uuid.uuid4().hex
        self.log_size = log_size
        self._lock = threading.Lock()
        self._streams: dict[str, tuple[int, collections.deque[str]]] = {}
        self._sections_lock = threading.Lock()
        self._sections: dict[str, list] = {}  # name -> [lock, when it may be entered]

    def publish(self, slug: str, payload: dict) -> int:
        body = encode(payload)
        with self._lock:
            seq, log = self._streams.get(slug, (0, collections.deque(maxlen=self.log_size)))
            seq += 1
            frame = _numbered(seq, body)
            log.append(frame)
            self._streams[slug] = (seq, log)
            # Inside the lock, so every loop receives events in seq order.
            hubs.dispatch_threadsafe(slug, seq, frame)
        return seq

    def position(
        self, slug: str, *, epoch: str | None = None, since: int | None = None
    ) -> Position:
        with self._lock:
            seq, log = self._streams.get(slug, (0, collections.deque()))
            position = Position(self.epoch, seq)
            if since is not None and epoch == self.epoch:
                position.missed = _replay(list(log), seq, since)
            return position

    def send_private(self, kind: str, target_id: int, frame: str, *, close: bool) -> None:
        hubs.dispatch_private_threadsafe((kind, target_id), frame, close)

    async def start_listening(self, hub: LoopHub) -> None:
        return None

    def forget_sections(self) -> None:
        """Forget who was in which `exclusive` section when (between tests)."""
        with self._sections_lock:
            self._sections.clear()

    @contextlib.contextmanager
    def exclusive(self, name: str, spacing: float = 0):
        # One process: a lock is enough (several event loops share it in tests).
        with self._sections_lock:
            section = self._sections.setdefault(name, [threading.Lock(), -math.inf])
        lock, free_at = section
        if time.monotonic() < free_at or not lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            section[1] = time.monotonic() + spacing
            lock.release()


def _replay(log: list[str], seq: int, since: int) -> list[str] | None:
    first = seq - len(log) + 1
    if since > seq or since + 1 < first:
        return None
    return log[since + 1 - first :]


_PUBLISH_LUA = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3])
end
local seq = redis.call('INCR', KEYS[2])
local frame = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('RPUSH', KEYS[3], frame)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
redis.call('PUBLISH', ARGV[5], frame)
return seq
"""

_POSITION_LUA = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'EX', ARGV[3])
  redis.call('DEL', KEYS[2], KEYS[3])
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[2])
if since < 0 then return {epoch, seq, 0, {}} end
local length = redis.call('LLEN', KEYS[3])
local first = seq - length + 1
if since > seq or since + 1 < first then return {epoch, seq, 0, {}} end
return {epoch, seq, 1, redis.call('LRANGE', KEYS[3], since + 1 - first, -1)}
"""


_ENTER_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_LEAVE_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return 1
"""
EXCLUSIVE_LEASE_MS = 5000


class RedisEventBus:
    """Several processes share one stream per broadcast in Redis.

    Numbering, logging and publishing happen in one Lua script, so the order of
    PUBLISH is the order of seq, and one subscription per process sees them in order.
    """

    def __init__(self, url: str, log_size: int):
        import redis

        self.url = url
        self.log_size = log_size
        self._client = redis.Redis.from_url(url)
        self._publish = self._client.register_script(_PUBLISH_LUA)
        self._position = self._client.register_script(_POSITION_LUA)
        self._enter = self._client.register_script(_ENTER_LUA)
        self._leave = self._client.register_script(_LEAVE_LUA)

    def close(self) -> None:
        self._client.close()

    def publish(self, slug: str, payload: dict) -> int:
        args = [uuid.uuid4().hex, encode(payload), self.log_size, LOG_TTL_SECONDS]
        return int(
            self._publish(keys=names.event_log_keys(slug), args=[*args, names.events_channel(slug)])
        )

    def position(
        self, slug: str, *, epoch: str | None = None, since: int | None = None
    ) -> Position:
        wanted = since if since is not None and since >= 0 else -1
        raw_epoch, seq, ok, frames = self._position(
            keys=names.event_log_keys(slug), args=[uuid.uuid4().hex, wanted, LOG_TTL_SECONDS]
        )
        position = Position(raw_epoch.decode(), int(seq))
        if ok and epoch == position.epoch:
            position.missed = [frame.decode() for frame in frames]
        return position

    def send_private(self, kind: str, target_id: int, frame: str, *, close: bool) -> None:
        # The first character says whether the sockets close after the frame.
        self._client.publish(
            names.private_channel(kind, target_id), ("1" if close else "0") + frame
        )

    @contextlib.contextmanager
    def exclusive(self, name: str, spacing: float = 0):
        # A lease, so a process that dies inside does not lock the others out for long.
        keys = [f"primetime:live:lock:{name}", f"primetime:live:lock:{name}:cooldown"]
        token = uuid.uuid4().hex
        acquired = bool(self._enter(keys=keys, args=[token, EXCLUSIVE_LEASE_MS]))
        try:
            yield acquired
        finally:
            if acquired:
                self._leave(keys=keys, args=[token, int(spacing * 1000)])

    async def start_listening(self, hub: LoopHub) -> asyncio.Task:
        subscribed = asyncio.Event()
        task = asyncio.create_task(self._listen(hub, subscribed), name="primetime-live-listener")
        # The subscription is confirmed before anyone reads a position, so no event
        # published after that read can be missed by this process.
        try:
            await asyncio.wait_for(subscribed.wait(), timeout=10)
        except TimeoutError:
            task.cancel()
            raise
        return task

    async def _listen(self, hub: LoopHub, subscribed: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        events = names.EVENTS_CHANNEL_PREFIX
        patterns = [events + "*", names.PRIVATE_CHANNEL_PREFIX + "*"]
        while True:
            # Named, so an operator (or a test) can tell each process's listener apart.
            client = aioredis.Redis.from_url(self.url, client_name=listener_name())
            pubsub = client.pubsub()
            confirmed = 0
            try:
                await pubsub.psubscribe(*patterns)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        confirmed += 1
                        if confirmed < len(patterns):
                            continue
                        if subscribed.is_set():
                            # Back after losing Redis: events may have been missed, so
                            # every local client reconnects and replays from its seq.
                            await hub.resync_all()
                        subscribed.set()
                    elif message["type"] == "pmessage":
                        channel = message["channel"].decode()
                        data = message["data"].decode()
                        if channel.startswith(events):
                            hub.enqueue(channel[len(events) :], seq_of(data), data)
                        else:
                            target = names.private_target(channel)
                            hub.enqueue_private(target, data[1:], close=data[0] == "1")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live event subscription lost; subscribing again")
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:  # noqa: S110 - the loop may already be closing
                    pass
            await asyncio.sleep(1)


def start_eagerly(coroutine) -> asyncio.Task | None:
    """Run `coroutine` now, up to its first real wait; only then make it a task.

    Python 3.12's eager tasks in small: writing a frame to a socket that takes it
    never waits, and a task per viewer per event is most of the cost of a fan-out.
    Returns the task that finishes it, or None if it is already done.
    """
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(coroutine, waiting_on))


async def _finish(coroutine, waiting_on) -> None:
    # Do what a task does for `coroutine`: wait until what it waits on is done (its
    # outcome is the coroutine's to see), then resume it; pass on a cancellation.
    try:
        while True:
            if waiting_on is None:  # a bare yield: give the loop a turn
                await asyncio.sleep(0)
            else:
                await asyncio.wait([waiting_on])
            waiting_on = coroutine.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        coroutine.close()
        raise


def listener_name() -> str:
    return f"primetime-live-{os.getpid()}"


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
        self.tasks.append(asyncio.create_task(self._dispatch(), name="primetime-live-dispatch"))
        self.tasks.append(
            asyncio.create_task(self._flush_counters(), name="primetime-live-counters")
        )
        self.tasks.append(asyncio.create_task(self._sweep_absent(), name="primetime-live-sweep"))
        self.tasks.append(
            asyncio.create_task(self._sample_viewers(), name="primetime-live-samples")
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

    def audience_changed(self, slug: str, broadcast_id: int) -> None:
        counters.mark("audience", broadcast_id)

    async def resync_all(self) -> None:
        for room in list(self.rooms.values()):
            for connection in list(room):
                await connection.resync()

    async def _dispatch(self) -> None:
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

    def _housekeeping(self, job):
        """`job` to run in this hub's own worker thread (with its own database
        connection), not behind the commands of thousands of viewers in the shared one:
        counts must go out on time when a crowd acts at once."""
        from .batching import database_call

        if self._housekeeper is None:
            self._housekeeper = ThreadPoolExecutor(1, thread_name_prefix="primetime-live")
        return database_call(job, thread_sensitive=False, executor=self._housekeeper)

    async def _flush_counters(self) -> None:
        # Counters are coalesced: at most one `audience`, `likes` or `rating` event per
        # broadcast per interval, however many viewers act.
        from .services import counter_publish

        while True:
            await asyncio.sleep(settings.LIVE_COALESCE_SECONDS)
            for kind, broadcast_id in counters.drain():
                try:
                    published = await self._housekeeping(counter_publish)(
                        kind=kind, broadcast_id=broadcast_id
                    )
                    if not published:  # another process is at it: ours goes next round
                        counters.mark(kind, broadcast_id)
                except Exception:
                    logger.exception("could not publish %s of broadcast %s", kind, broadcast_id)

    async def _sweep_absent(self) -> None:
        # Requests of people who left, and speakers who dropped off, are let go after a
        # grace period. Every process sweeps; the moves are idempotent under their locks.
        from .stage import speak_requests_sweep_absent

        while True:
            await asyncio.sleep(settings.SPEAK_REQUEST_SWEEP_SECONDS)
            try:
                await self._housekeeping(speak_requests_sweep_absent)(
                    grace_seconds=settings.SPEAK_REQUEST_GRACE_SECONDS
                )
            except Exception:
                logger.exception("could not sweep the requests of absent attendees")

    async def _sample_viewers_once(self) -> None:
        from .services import viewers_sample

        try:
            await self._housekeeping(viewers_sample)()
        except Exception:
            logger.exception("could not sample the viewers of running broadcasts")

    async def _sample_viewers(self) -> None:
        # The analytics chart's points: every process samples; one row per interval wins.
        while True:
            await asyncio.sleep(settings.VIEWER_SAMPLE_SECONDS)
            await self._sample_viewers_once()


class Counters:
    """Which broadcasts' counters changed since the last flush, in this process.

    Process-wide, not per event loop: services mark from worker threads, and any
    running hub's flusher publishes.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._dirty: dict[tuple[str, int], None] = {}

    def mark(self, kind: str, broadcast_id: int) -> None:
        with self._lock:
            self._dirty[(kind, broadcast_id)] = None

    def drain(self) -> list[tuple[str, int]]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        return list(dirty)


counters = Counters()


def counter_changed_on_commit(kind: str, broadcast_id: int) -> None:
    """Publish a counter (`likes`, `rating`) soon after the commit, coalesced with others."""
    transaction.on_commit(lambda: counters.mark(kind, broadcast_id), robust=True)


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

    def dispatch_threadsafe(self, slug: str, seq: int, frame: str) -> None:
        self._call_soon(lambda hub: slug in hub.rooms, lambda hub: hub.enqueue(slug, seq, frame))

    def dispatch_private_threadsafe(self, target: tuple[str, int], frame: str, close) -> None:
        self._call_soon(
            lambda hub: target in hub.recipients,
            lambda hub: hub.enqueue_private(target, frame, close=close),
        )

    def _call_soon(self, wanted, call) -> None:
        """`call(hub)` in the loop of each hub that `wanted(hub)`."""
        with self._lock:
            targets = list(self._by_loop.items())
        for loop, hub in targets:
            if not wanted(hub):
                continue
            try:
                loop.call_soon_threadsafe(call, hub)
            except RuntimeError:  # that loop has closed
                with self._lock:
                    self._by_loop.pop(loop, None)


hubs = _Hubs()
_bus: EventBus | None = None
_bus_lock = threading.Lock()


def bus() -> EventBus:
    global _bus
    with _bus_lock:
        if _bus is None:
            if settings.REDIS_URL:
                _bus = RedisEventBus(settings.REDIS_URL, settings.LIVE_EVENT_LOG_SIZE)
            else:
                _bus = MemoryEventBus(settings.LIVE_EVENT_LOG_SIZE)
        return _bus


def send_private(attendee_id: int, payload: dict, *, then_close: bool = False) -> None:
    """Send an event to one attendee's open pages only; with `then_close`, their sockets
    close after it (they were removed)."""
    bus().send_private(names.ATTENDEE, attendee_id, encode(payload), close=then_close)


def send_to_hosts(broadcast_id: int, payload: dict) -> None:
    """Send an event to the open host consoles of a broadcast (hosts and co-hosts) and
    its moderators' dashboards."""
    bus().send_private(names.HOSTS, broadcast_id, encode(payload), close=False)


def send_to_hosts_on_commit(broadcast_id: int, payload: dict) -> None:
    transaction.on_commit(lambda: send_to_hosts(broadcast_id, payload), robust=True)


def send_private_on_commit(attendee_id: int, payload: dict, *, then_close: bool = False) -> None:
    transaction.on_commit(
        lambda: send_private(attendee_id, payload, then_close=then_close), robust=True
    )


def publish_on_commit(slug: str, payload: dict) -> None:
    """Publish a public event of a broadcast once the current transaction commits."""
    transaction.on_commit(lambda: bus().publish(slug, payload), robust=True)
