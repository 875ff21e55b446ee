"""Work-arounds of the Python, Channels and DRF we run on, behind one boundary.

Each says why it is here and when it can go. Nothing else in the project reaches into
those libraries' internals for the live path.
"""

import asyncio

from channels.consumer import get_handler_name
from rest_framework import serializers

# --- Eager tasks ---------------------------------------------------------------------
# Can go with Python 3.12 (pyproject pins 3.11): `asyncio.Task(coro, loop=loop,
# eager_start=True)` starts a task eagerly, one task at a time (3.12's
# `eager_task_factory` would do it for every task of the loop, the server's own too).
# Mind the difference when swapping: an eager task that finishes at once is returned
# done, where `start_eagerly` returns None, and the consumer's outbox writer relies on
# that to know whether a writer is still running.


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


# --- Serializers freed without the cyclic collector ---------------------------------
# Can go when DRF stops linking a serializer and its bound fields both ways (the
# serializer's `fields` and each field's `parent`), or when commands stop validating
# with a serializer; tests/participation/test_commands.py tells (a validated frame must
# leave no cyclic garbage).


def unbind(field: serializers.Field) -> None:
    """Unlink a serializer that has validated a frame from its bound fields.

    A serializer and its bound fields point at each other (`fields`, `parent`), so every
    frame it validated would wait for the cyclic garbage collector. Thousands of pages
    pinging made that a collection of ~25,000 objects every half minute, a pause each
    viewer felt as fan-out latency (docs/benchmarks.md). Unlinked, a frame's objects go
    as soon as the frame is answered.
    """
    children = list(field.__dict__.pop("fields", {}).values())
    if isinstance(field.__dict__.get("child"), serializers.Field):
        children.append(field.__dict__["child"])
    for child in children:
        unbind(child)
        child.parent = None


# --- A consumer's dispatch without Channels' connection clean-up --------------------
# Can go when Channels lets a consumer skip `aclose_old_connections()` in
# `AsyncConsumer.dispatch` (or runs it without a hop to a worker thread). Until then
# this copies Channels' dispatch, less that line; read it again on a Channels upgrade.


class DispatchOnTheLoop:
    """Mixed in before Channels' consumer class: its `dispatch`, without the hop to a
    worker thread before every message to close stale database connections.

    Thousands of pages send pings and likes, and every database call of the live path
    goes through `batching.database_call`, which closes them itself.
    """

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
