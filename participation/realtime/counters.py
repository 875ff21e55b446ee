"""Coalesced counters: at most one event per counter of a broadcast per interval
(`LIVE_COALESCE_SECONDS`), however many viewers act.

What a counter is, and how its value is read and published, is the domain's: it
registers a publisher for each kind (`register`, in `AppConfig.ready()`), which each
hub's flusher calls in its housekeeping thread (hub.py).
"""

import threading
from collections.abc import Callable

from django.db import transaction

# `publish(kind=..., broadcast_id=...)`: publish that counter's current value, or
# answer False when another process is at it (the flusher tries again next round).
Publisher = Callable[..., bool]

_publishers: dict[str, Publisher] = {}


def register(kind: str, publish: Publisher) -> None:
    """Publish the counter `kind` with `publish` when it has changed."""
    if kind in _publishers:
        raise RuntimeError(f"live counter {kind!r} registered twice")
    _publishers[kind] = publish


def publisher(kind: str) -> Publisher:
    try:
        return _publishers[kind]
    except KeyError:
        raise LookupError(f"no such counter: {kind}") from None


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
