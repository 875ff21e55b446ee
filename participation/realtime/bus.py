"""Public live events: numbered, logged for replay, and published once per event.

A public event is encoded once, given the broadcast's next `seq` and appended to a
bounded replay log in one atomic step, then published once: a Redis pub/sub message
when REDIS_URL is set, an in-process call otherwise. Each server process receives it
once, and its hub (hub.py) writes the same text frame to every local connection
watching that broadcast (a channel-layer message per viewer per event does not scale:
DESIGN section 4). Private messages (to one attendee's pages, or to a broadcast's
hosts) take the same road: one message, which each process's hub hands to its own
connections for that attendee, if it has any. So a live page has no channel of its own
on the channel layer: nothing to subscribe when a crowd joins, and no task or queue per
page waiting on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from . import names
from .frames import encode, numbered, seq_of

logger = logging.getLogger(__name__)

# Replay logs of broadcasts nobody touches for two days are dropped by Redis; a
# client coming back after that gets a fresh snapshot (the epoch changes).
LOG_TTL_SECONDS = 2 * 24 * 3600


@dataclass
class Position:
    """Where a broadcast's event stream stands, and what a reconnecting client missed."""

    epoch: str
    seq: int
    missed: list[str] | None = None  # None: cannot replay, send a snapshot


class Subscriber(Protocol):
    """What a bus delivers to: the hub of one event loop (hub.LoopHub)."""

    loop: asyncio.AbstractEventLoop
    rooms: dict[str, set]
    recipients: dict[tuple[str, int], set]

    def enqueue(self, slug: str, seq: int, frame: str) -> None: ...

    def enqueue_private(self, target: tuple[str, int], frame: str, *, close: bool) -> None: ...

    async def resync_all(self) -> None: ...


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

    async def start_listening(self, hub: Subscriber) -> asyncio.Task | None:
        """Deliver every event and private message to `hub` from now on."""
        ...

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
        # The listening hubs, one per event loop (a server process has one; tests many).
        self._hubs_lock = threading.Lock()
        self._hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Subscriber] = (
            weakref.WeakKeyDictionary()
        )

    def publish(self, slug: str, payload: dict) -> int:
        body = encode(payload)
        with self._lock:
            seq, log = self._streams.get(slug, (0, collections.deque(maxlen=self.log_size)))
            seq += 1
            frame = numbered(seq, body)
            log.append(frame)
            self._streams[slug] = (seq, log)
            # Inside the lock, so every loop receives events in seq order.
            self._call_soon(
                lambda hub: slug in hub.rooms, lambda hub: hub.enqueue(slug, seq, frame)
            )
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
        target = (kind, target_id)
        self._call_soon(
            lambda hub: target in hub.recipients,
            lambda hub: hub.enqueue_private(target, frame, close=close),
        )

    async def start_listening(self, hub: Subscriber) -> None:
        with self._hubs_lock:
            self._hubs[hub.loop] = hub
        return None

    def _call_soon(self, wanted, call) -> None:
        """`call(hub)` in the loop of each listening hub that `wanted(hub)`."""
        with self._hubs_lock:
            targets = list(self._hubs.items())
        for loop, hub in targets:
            if not wanted(hub):
                continue
            try:
                loop.call_soon_threadsafe(call, hub)
            except RuntimeError:  # that loop has closed
                with self._hubs_lock:
                    self._hubs.pop(loop, None)

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
        self._client = redis.Redis.from_url(url, **settings.REDIS_CLIENT_OPTIONS)
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
        keys = names.lock_keys(name)
        token = uuid.uuid4().hex
        acquired = bool(self._enter(keys=keys, args=[token, EXCLUSIVE_LEASE_MS]))
        try:
            yield acquired
        finally:
            if acquired:
                self._leave(keys=keys, args=[token, int(spacing * 1000)])

    async def start_listening(self, hub: Subscriber) -> asyncio.Task:
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

    async def _listen(self, hub: Subscriber, subscribed: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        events = names.EVENTS_CHANNEL_PREFIX
        patterns = [events + "*", names.PRIVATE_CHANNEL_PREFIX + "*"]
        while True:
            client = aioredis.Redis.from_url(
                self.url, client_name=names.listener_name(), **async_client_options()
            )
            pubsub = client.pubsub()
            unconfirmed = set(patterns)  # of this round of subscriptions
            try:
                await pubsub.psubscribe(*patterns)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        pattern = message["channel"].decode()
                        if pattern not in unconfirmed:
                            # A new round: the client reconnected and subscribed again
                            # by itself (redis-py's retry), or this loop did.
                            unconfirmed = set(patterns)
                        unconfirmed.discard(pattern)
                        if unconfirmed:
                            continue
                        if subscribed.is_set():
                            # Back after losing Redis: events may have been missed, so
                            # every local client reconnects and replays from its seq.
                            logger.warning("live event subscription back; pages resync")
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


def async_client_options() -> dict:
    """settings.REDIS_CLIENT_OPTIONS for redis.asyncio, whose Retry is a class of its own."""
    from redis.asyncio.retry import Retry

    options = dict(settings.REDIS_CLIENT_OPTIONS)
    sync_retry = options.pop("retry", None)
    if sync_retry is not None:
        options["retry"] = Retry(sync_retry._backoff, sync_retry._retries)
    return options


_bus: EventBus | None = None
_bus_lock = threading.Lock()


def bus() -> EventBus:
    """This process's bus: Redis when REDIS_URL is set, else the embedded one."""
    global _bus
    with _bus_lock:
        if _bus is None:
            if settings.REDIS_URL:
                _bus = RedisEventBus(settings.REDIS_URL, settings.LIVE_EVENT_LOG_SIZE)
            else:
                _bus = MemoryEventBus(settings.LIVE_EVENT_LOG_SIZE)
        return _bus
