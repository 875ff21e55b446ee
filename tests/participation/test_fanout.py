"""The live event bus: numbering, replay, and recovery when Redis drops the subscription."""

import asyncio
import uuid

import pytest
import redis
from channels.db import database_sync_to_async

from participation.fanout import LoopHub, MemoryEventBus, RedisEventBus, listener_name


class RecordingConnection:
    def __init__(self):
        self.events: list[tuple[int, str]] = []
        self.resyncs = 0

    def push_event(self, seq: int, frame: str) -> None:
        self.events.append((seq, frame))

    async def resync(self) -> None:
        self.resyncs += 1


async def eventually(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_events_are_numbered_and_replayed_from_the_log(kind, request):
    bus = (
        MemoryEventBus(5)
        if kind == "memory"
        else RedisEventBus(request.getfixturevalue("redis_url"), 5)
    )
    slug = f"bus-{uuid.uuid4().hex[:8]}"
    start = bus.position(slug)
    seqs = [bus.publish(slug, {"type": "likes", "count": n}) for n in range(7)]
    assert seqs == list(range(start.seq + 1, start.seq + 8))

    position = bus.position(slug, epoch=start.epoch, since=seqs[3])
    assert position.seq == seqs[-1]
    assert position.missed == [f'{{"seq":{seqs[n]},"type":"likes","count":{n}}}' for n in (4, 5, 6)]
    assert bus.position(slug, epoch=start.epoch, since=seqs[-1]).missed == []
    # Older than the log holds, ahead of the stream, or another epoch: no replay.
    assert bus.position(slug, epoch=start.epoch, since=seqs[0]).missed is None
    assert bus.position(slug, epoch=start.epoch, since=seqs[-1] + 1).missed is None
    assert bus.position(slug, epoch="other", since=seqs[3]).missed is None


def test_a_lost_redis_log_changes_the_epoch(redis_url):
    bus = RedisEventBus(redis_url, 5)
    slug = f"bus-{uuid.uuid4().hex[:8]}"
    bus.publish(slug, {"type": "likes", "count": 1})
    before = bus.position(slug)
    redis.Redis.from_url(redis_url).delete(*_keys(slug))
    after = bus.position(slug)
    assert after.epoch != before.epoch
    assert bus.position(slug, epoch=before.epoch, since=before.seq).missed is None


def _keys(slug):
    from participation.channels import event_log_keys

    return event_log_keys(slug)


async def test_the_listener_resubscribes_and_resyncs_after_redis_drops_it(redis_url):
    bus = RedisEventBus(redis_url, 50)
    hub = LoopHub(asyncio.get_running_loop())
    slug = f"bus-{uuid.uuid4().hex[:8]}"
    connection = RecordingConnection()
    hub.rooms[slug].add(connection)
    listener = await bus.start_listening(hub)
    dispatcher = asyncio.create_task(hub._dispatch())
    try:
        await database_sync_to_async(bus.publish)(slug, {"type": "likes", "count": 1})
        await eventually(lambda: len(connection.events) == 1)

        admin = redis.Redis.from_url(redis_url)
        killed = [
            client["id"]
            for client in admin.client_list(_type="pubsub")
            if client["name"] == listener_name()
        ]
        assert killed
        for client_id in killed:
            admin.client_kill_filter(_id=client_id)

        await eventually(lambda: connection.resyncs == 1)
        await database_sync_to_async(bus.publish)(slug, {"type": "likes", "count": 2})
        await eventually(lambda: len(connection.events) == 2)
        assert connection.events[1][1].endswith('"count":2}')
    finally:
        listener.cancel()
        dispatcher.cancel()
        await asyncio.gather(listener, dispatcher, return_exceptions=True)
