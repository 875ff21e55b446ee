"""Live connections that open together are admitted together.

When a broadcast starts, thousands of pages connect within seconds. Each needs a few
database reads and writes, and a process has one database thread: one page at a time,
they queue behind each other, and every round trip also waits for the interpreter's
lock held by the event loop. A `Batcher` hands everything that arrived while its
previous batch ran to one call of its batch function: a lone page waits for nobody, a
crowd shares its queries.
"""

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from channels.db import database_sync_to_async

from . import services
from .fanout import Position, bus, encode
from .models import Attendee
from .selectors import snapshots_for_connections

Item = TypeVar("Item")
Result = TypeVar("Result")

# Large enough to share the queries of a crowd, small enough that the first of a batch
# do not wait long for the snapshots of the last.
MAX_BATCH = 100


class Batcher(Generic[Item, Result]):
    """Runs `run_batch(items)` in the database thread for the items submitted while
    the previous call ran. `run_batch` answers one result per item, in order: a value,
    or an exception that only that item's submitter raises."""

    def __init__(self, run_batch: Callable[[list[Item]], list], *, max_size: int = MAX_BATCH):
        self.run_batch = database_sync_to_async(run_batch)
        self.max_size = max_size
        # Futures belong to one event loop (tests run several): each has its queue, and
        # while it is not empty, the task that drains it.
        self._waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list] = (
            weakref.WeakKeyDictionary()
        )
        self._drains: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        waiting = self._waiting.get(loop)
        if waiting is None:
            self._waiting[loop] = waiting = []
            self._drains[loop] = loop.create_task(self._drain(waiting))
        waiting.append((item, future))
        return await future

    async def _drain(self, waiting: list) -> None:
        try:
            while waiting:
                batch = waiting[: self.max_size]
                del waiting[: self.max_size]
                try:
                    results = await self.run_batch([item for item, _ in batch])
                except Exception as error:  # the whole batch failed: each of it says so
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its connection went away meanwhile
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Emptied, or cancelled with its loop: the next submit starts a new drain.
            loop = asyncio.get_running_loop()
            del self._waiting[loop], self._drains[loop]
            for _, future in waiting:
                future.cancel()


identify = Batcher(services.attendees_for_connections)


@dataclass(frozen=True)
class Entry:
    """A connection that has joined its broadcast's room and wants its first frames."""

    slug: str
    attendee: Attendee
    # Where the page left off, when it reconnects (the protocol's ?epoch=&since=).
    epoch: str | None = None
    since: int | None = None


def first_frames(entries: list[Entry]) -> list[tuple[list[str], int]]:
    """Count the connections in, then each one's first frames and stream position:
    the events it missed when it can replay them, else a snapshot."""
    services.attendees_connected(attendees=[entry.attendee for entry in entries])
    # Read after every connection of the batch joined its room: any event numbered
    # after this position reaches them all through the hub.
    positions: dict[tuple, Position] = {}
    chosen = []
    for entry in entries:
        # Pages that resume ask for their own replay; the others share one read.
        key = (entry.slug, entry.epoch, entry.since) if entry.since is not None else (entry.slug,)
        if key not in positions:
            positions[key] = bus().position(entry.slug, epoch=entry.epoch, since=entry.since)
        chosen.append(positions[key])
    fresh = [i for i, position in enumerate(chosen) if position.missed is None]
    snapshots = snapshots_for_connections(
        [(entries[i].attendee, chosen[i].epoch, chosen[i].seq) for i in fresh]
    )
    frames: list[tuple[list[str], int]] = [(p.missed or [], p.seq) for p in chosen]
    for i, snapshot in zip(fresh, snapshots, strict=True):
        frames[i] = ([encode(snapshot)], chosen[i].seq)
    return frames


enter = Batcher(first_frames)
