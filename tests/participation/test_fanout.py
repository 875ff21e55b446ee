"""The live event bus: numbering, replay, recovery when Redis drops the subscription,
exclusive sections across processes, and delivery that no slow reader holds up."""

import asyncio
import time
import uuid

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings

from participation.consumers import LiveConsumer
from participation.realtime.bus import MemoryEventBus, RedisEventBus
from participation.realtime.codes import CLOSE_RESYNC, MAX_OUTBOX_FRAMES
from participation.realtime.hub import LoopHub
from participation.realtime.names import listener_name


class RecordingConnection:
    def __init__(self):
        self.events: list[tuple[int, str]] = []
        self.resyncs = 0

    def push_event(self, seq: int, frame: str) -> None:
        self.events.append((seq, frame))

    async def resync(self) -> None:
        self.resyncs += 1


@pytest.fixture
def make_bus(request):
    """Buses of either kind; Redis clients are closed at the end (an open socket left to
    the garbage collector is an error in this suite)."""
    made = []

    def make(kind: str, log_size: int = 5):
        if kind == "memory":
            return MemoryEventBus(log_size)
        made.append(RedisEventBus(request.getfixturevalue("redis_url"), log_size))
        return made[-1]

    yield make
    for bus in made:
        bus.close()


async def eventually(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_events_are_numbered_and_replayed_from_the_log(kind, make_bus):
    bus = make_bus(kind)
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


def test_a_lost_redis_log_changes_the_epoch(redis_url, make_bus):
    bus = make_bus("redis")
    slug = f"bus-{uuid.uuid4().hex[:8]}"
    bus.publish(slug, {"type": "likes", "count": 1})
    before = bus.position(slug)
    redis.Redis.from_url(redis_url).delete(*_keys(slug))
    after = bus.position(slug)
    assert after.epoch != before.epoch
    assert bus.position(slug, epoch=before.epoch, since=before.seq).missed is None


def _keys(slug):
    from participation.realtime.names import event_log_keys

    return event_log_keys(slug)


async def test_the_listener_resubscribes_and_resyncs_after_redis_drops_it(redis_url, make_bus):
    bus = make_bus("redis", 50)
    hub = LoopHub(asyncio.get_running_loop())
    slug = f"bus-{uuid.uuid4().hex[:8]}"
    connection = RecordingConnection()
    hub.rooms[slug].add(connection)
    listener = await bus.start_listening(hub)
    dispatcher = asyncio.create_task(hub.dispatch_events())
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
        assert connection.resyncs == 1  # once for the round, not once per pattern
        admin.close()
    finally:
        listener.cancel()
        dispatcher.cancel()
        await asyncio.gather(listener, dispatcher, return_exceptions=True)


class StuckPage(LiveConsumer):
    """A page whose socket takes nothing until `release` is set (a phone in a tunnel)."""

    def __init__(self):
        super().__init__()
        self.synced_seq = 0  # its snapshot is out
        self.release = asyncio.Event()
        self.sent: list[str] = []
        self.close_codes: list[int] = []

    async def send(self, text_data=None, bytes_data=None, close=False):
        await self.release.wait()
        self.sent.append(text_data)

    async def close(self, code=None, reason=None):
        self.close_codes.append(code)


async def test_a_reader_that_does_not_read_holds_up_nobody_else():
    hub = LoopHub(asyncio.get_running_loop())
    stuck, quick = StuckPage(), StuckPage()
    quick.release.set()
    hub.rooms["room"] |= {stuck, quick}
    dispatcher = asyncio.create_task(hub.dispatch_events())
    try:
        for seq in (1, 2, 3):
            hub.enqueue("room", seq, f'{{"seq":{seq}}}')
        await eventually(lambda: len(quick.sent) == 3)
        assert stuck.sent == []
        stuck.release.set()
        await eventually(lambda: len(stuck.sent) == 3)
        assert stuck.sent == quick.sent == ['{"seq":1}', '{"seq":2}', '{"seq":3}']
    finally:
        dispatcher.cancel()


async def test_a_reader_too_far_behind_is_asked_to_reconnect_and_replay():
    stuck = StuckPage()
    for seq in range(1, MAX_OUTBOX_FRAMES + 3):  # one is in the socket, the rest wait
        stuck.push_event(seq, f'{{"seq":{seq}}}')
    await eventually(lambda: stuck.close_codes == [CLOSE_RESYNC])
    assert not stuck.outbox  # what it missed, it replays from the log when it is back
    stuck.writer.cancel()


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_an_exclusive_section_admits_one_and_then_waits_out_its_spacing(kind, make_bus):
    bus = make_bus(kind)
    name = f"section-{uuid.uuid4().hex[:8]}"
    with bus.exclusive(name, spacing=0.3) as first, bus.exclusive(name, spacing=0.3) as second:
        assert (first, second) == (True, False)
    with bus.exclusive(name) as too_soon:
        assert not too_soon
    # Time itself is under test: the spacing must run out (0.3 s, with a margin for the
    # clock and a Redis round trip), and nothing else would tell that it has.
    time.sleep(0.4)
    with bus.exclusive(name) as later:
        assert later
    with bus.exclusive(name) as right_after_a_section_without_spacing:
        assert right_after_a_section_without_spacing


async def test_the_core_channel_layer_takes_a_crowd_and_waits_past_its_blocking_pop(redis_url):
    # redis-py 8's defaults broke channels_redis's core layer: a reply waited for more
    # than 5 s timed out, and the 101st command at once was refused (config/settings.py).
    from channels_redis.core import RedisChannelLayer
    from django.conf import settings

    layer = RedisChannelLayer(
        hosts=[{"address": redis_url, **settings.CORE_LAYER_HOST}],
        prefix=f"test-{uuid.uuid4().hex[:8]}",
    )
    try:
        channel = await layer.new_channel()
        await asyncio.gather(*(layer.group_add(f"crowd{n}", channel) for n in range(300)))
        receiving = asyncio.ensure_future(layer.receive(channel))
        # A negative check that needs time: the receive must outlast the 5 s that broke it
        # (the layer's blocking pop, and redis-py's default reply timeout) and still wait.
        await asyncio.sleep(6)
        assert not receiving.done()
        await layer.group_send("crowd7", {"type": "live.private", "frame": "{}"})
        message = await asyncio.wait_for(receiving, timeout=5)
        assert message == {"type": "live.private", "frame": "{}"}
    finally:
        await layer.flush()
        await layer.close_pools()


def test_the_domain_registers_its_counters_and_periodic_jobs():
    from participation.realtime import counters, jobs
    from participation.services import counter_publish

    # participation's own, then leads' (stalled exports queued again) where no Celery
    # worker runs them and sweeps them.
    expected = ["sweep", "host-away", "samples", "presence-lease", "presence-sweep"]
    if not settings.REDIS_URL:
        expected.append("exports")
    assert [job.name for job in jobs.registered()] == expected
    for kind in ("audience", "likes", "rating"):
        assert counters.publisher(kind) is counter_publish
    with pytest.raises(LookupError):
        counters.publisher("applause")


async def test_a_hub_runs_a_periodic_job_in_its_own_thread_and_outlives_a_failure():
    import threading

    from participation.realtime.jobs import Job

    runs: list[str] = []

    def run():
        runs.append(threading.current_thread().name)
        if len(runs) == 1:
            raise RuntimeError("the first run fails")

    hub = LoopHub(asyncio.get_running_loop())
    repeating = asyncio.create_task(
        hub.run_every(Job(name="test", run=run, every=lambda: 0.01, doing="test"))
    )
    try:
        await eventually(lambda: len(runs) >= 3)
    finally:
        repeating.cancel()
        hub.stop_housekeeping()
    assert all(name.startswith("primetime-live") for name in runs)
