"""Work that arrives together is done together.

When a broadcast starts, thousands of pages connect within seconds; when the host asks
for likes, thousands arrive within seconds. Each needs a few database reads and writes,
and a process has one database thread: one at a time, they queue behind each other, and
every round trip also waits for the interpreter's lock held by the event loop. A
`Batcher` hands everything that arrived while its previous batch ran to one call of its
batch function: a lone page waits for nobody, a crowd shares its queries and commits.
"""

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from channels.db import DatabaseSyncToAsync
from django.db import connections


class database_call(DatabaseSyncToAsync):
    """Channels' `database_sync_to_async`, after which the thread's connections are
    always given back (closed: a pooled one goes back to its pool).

    Channels' own clean-up (Django's `close_old_connections`) first asks each
    connection whether autocommit was restored, which needs the database; when that
    question fails, the connection stays with its thread, checked out of the pool, until
    the thread's next call, which for a quiet thread may be never. It failed in the
    PostgreSQL test pass: a call still running when the test that started it ended,
    after which pytest-django refuses every use of a connection, kept its connection,
    and the test database could not be dropped. A call here never leaves a transaction
    open for the next one, so nothing is lost by closing outright. Connections meant to
    be kept (CONN_MAX_AGE, without a pool) are left to Channels' rule."""

    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            give_back_connections()


def give_back_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.settings_dict["CONN_MAX_AGE"]:
            connection.close()


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
        self.run_batch = database_call(run_batch)
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
