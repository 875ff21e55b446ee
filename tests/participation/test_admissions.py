"""Connections that open together are admitted together: the batcher, and the batch
reads and writes behind it (a crowd costs a few queries, not a few per page)."""

import asyncio
import threading
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone

from broadcasts import services as broadcasts
from broadcasts.models import Audience
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from leads.models import Lead
from participation import reactions, services, stage
from participation.consumers import run_batch
from participation.models import Attendee, Like
from participation.realtime.batching import Batcher
from participation.realtime.bus import bus
from participation.realtime.commands import REGISTRY
from participation.snapshots import snapshots_for_connections
from tests.factories import BroadcastFactory, GuestFactory, UserFactory
from tests.garbage import cyclic_garbage
from tests.participation.live_client import live_client, widget_query

# --- The batcher -------------------------------------------------------------------


async def eventually(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


class HeldBatches:
    """A batch function whose first call waits until `release` is set."""

    def __init__(self, answer=lambda item: item * 10):
        self.calls: list[list] = []
        self.release = threading.Event()
        self.answer = answer

    def __call__(self, items: list) -> list:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            assert self.release.wait(5)
        return [self.answer(item) for item in items]


async def test_what_arrives_while_a_batch_runs_goes_together_in_the_next():
    run = HeldBatches()
    batcher = Batcher(run)
    first = asyncio.ensure_future(batcher.submit(1))
    await eventually(lambda: run.calls)
    crowd = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    # One turn of the loop, not a wait: the crowd's tasks were scheduled before this one
    # resumes, and each runs until it waits on its result, its item queued by then.
    await asyncio.sleep(0)
    run.release.set()
    assert await first == 10
    assert await asyncio.gather(*crowd) == [20, 30, 40]
    assert run.calls == [[1], [2, 3, 4]]


async def test_a_batch_holds_at_most_max_size_items():
    run = HeldBatches()
    batcher = Batcher(run, max_size=2)
    first = asyncio.ensure_future(batcher.submit(1))
    await eventually(lambda: run.calls)
    crowd = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4, 5, 6)]
    await asyncio.sleep(0)  # the crowd queues its items (as above)
    run.release.set()
    assert await asyncio.gather(first, *crowd) == [10, 20, 30, 40, 50, 60]
    assert run.calls == [[1], [2, 3], [4, 5], [6]]


async def test_an_items_error_reaches_only_its_submitter():
    run = HeldBatches(answer=lambda item: Forbidden("not you") if item == 2 else item)
    run.release.set()
    batcher = Batcher(run)
    results = await asyncio.gather(
        batcher.submit(1), batcher.submit(2), batcher.submit(3), return_exceptions=True
    )
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], Forbidden)


async def test_a_failed_batch_fails_each_of_its_items_and_the_next_batch_runs():
    calls = []

    def run(items):
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return items

    batcher = Batcher(run)
    failed = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [type(error) for error in failed] == [RuntimeError, RuntimeError]
    assert await batcher.submit(3) == 3


# --- Who connects: many at once ------------------------------------------------------


def request(slug, key=None, *, embedded=False, user=None):
    return services.ConnectionRequest(
        slug=slug, user=user or AnonymousUser(), guest_key=key, embedded=embedded
    )


@pytest.mark.django_db
def test_a_crowd_of_guests_is_identified_in_a_few_queries(
    live_broadcast, django_assert_max_num_queries
):
    known = [GuestFactory(broadcast=live_broadcast, display_name=f"Known {n}") for n in range(3)]
    arriving = [uuid.uuid4() for _ in range(60)]
    requests = [request(live_broadcast.slug, g.guest_key) for g in known] + [
        request(live_broadcast.slug, key, embedded=True) for key in arriving
    ]
    # The broadcast, the known guests, then one insert in its own transaction.
    with django_assert_max_num_queries(6):
        outcomes = services.attendees_for_connections(requests)

    assert [a.pk for a in outcomes[:3]] == [g.pk for g in known]
    created = outcomes[3:]
    assert all(isinstance(a, Attendee) and a.pk for a in created)
    assert [a.guest_key for a in created] == arriving
    assert [a.display_name for a in created] == [
        services.widget_guest_name(key) for key in arriving
    ]
    assert Attendee.objects.filter(broadcast=live_broadcast).count() == 1 + 3 + 60  # + host


@pytest.mark.django_db
def test_each_connection_of_a_batch_gets_its_own_answer(live_broadcast, host):
    removed = GuestFactory(broadcast=live_broadcast, removed_at=timezone.now())
    other = GuestFactory(broadcast=live_broadcast)
    widget_key = uuid.uuid4()
    private = broadcasts.broadcast_schedule(
        broadcast=BroadcastFactory(host=host, audience=Audience.SIGNED_IN),
        by=host,
        scheduled_start=timezone.now() + timedelta(hours=1),
    )
    viewer = UserFactory(first_name="Vera", last_name="Viewer")
    outcomes = services.attendees_for_connections(
        [
            request(live_broadcast.slug, removed.guest_key),
            request(live_broadcast.slug, uuid.uuid4()),  # the watch page, no name chosen
            request(live_broadcast.slug, widget_key, embedded=True),
            request(live_broadcast.slug, widget_key, embedded=True),  # the same visitor's tab
            request(live_broadcast.slug, other.guest_key),
            request("no-such-broadcast", uuid.uuid4(), embedded=True),
            request(private.slug, uuid.uuid4(), embedded=True),
            request(live_broadcast.slug, user=viewer),
            request(live_broadcast.slug, user=host),
        ]
    )
    assert isinstance(outcomes[0], Forbidden)
    assert isinstance(outcomes[1], InvalidInput)
    assert outcomes[2].pk == outcomes[3].pk
    assert Attendee.objects.filter(guest_key=widget_key).count() == 1
    assert outcomes[4].pk == other.pk
    assert isinstance(outcomes[5], NotFound)
    assert isinstance(outcomes[6], Forbidden)
    assert not Attendee.objects.filter(broadcast=private).exists()
    assert (outcomes[7].display_name, outcomes[7].role) == ("Vera Viewer", "viewer")
    assert (outcomes[8].user_id, outcomes[8].role) == (host.pk, "host")


@pytest.mark.django_db
def test_a_widget_guest_another_page_created_first_is_found_not_duplicated(live_broadcast):
    # Between the lookup and the insert, another process's page made the same guest:
    # the batch's insert fails, and each of its guests is made or found one at a time.
    already = GuestFactory(broadcast=live_broadcast, display_name="Already here")
    fresh_key = uuid.uuid4()
    joined = services.widget_guests_join(
        broadcast=live_broadcast, guest_keys={already.guest_key, fresh_key}
    )
    assert joined[already.guest_key].pk == already.pk
    assert joined[fresh_key].display_name == services.widget_guest_name(fresh_key)
    assert Attendee.objects.filter(guest_key__in=[already.guest_key, fresh_key]).count() == 2


@pytest.mark.django_db
def test_presence_counts_every_page_of_a_batch(live_broadcast, django_assert_max_num_queries):
    ann, ben, cid = (GuestFactory(broadcast=live_broadcast) for _ in range(3))
    services.attendee_connected(attendee=cid)
    with django_assert_max_num_queries(7):  # one is each process's pages (presence.py)
        services.attendees_connected(attendees=[ann, ben, ann, cid])
    pages = dict(
        Attendee.objects.filter(pk__in=[ann.pk, ben.pk, cid.pk]).values_list("pk", "connections")
    )
    assert pages == {ann.pk: 2, ben.pk: 1, cid.pk: 2}
    for attendee in Attendee.objects.filter(pk__in=[ann.pk, ben.pk]):
        assert attendee.online_since is not None and attendee.left_at is None


@pytest.mark.django_db
def test_leaving_counts_down_every_page_of_a_batch_and_ends_the_last_pages_visits(
    live_broadcast, django_assert_max_num_queries
):
    ann, ben, cid, dan = (GuestFactory(broadcast=live_broadcast) for _ in range(4))
    services.attendees_connected(attendees=[ann, ann, ben, cid, cid])
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Attendee.objects.filter(pk__in=[ann.pk, ben.pk, cid.pk]).update(online_since=an_hour_ago)
    with django_assert_max_num_queries(10):  # three are each process's pages (presence.py)
        services.attendees_disconnected([ann, ben, ann, cid, dan])  # dan had no page open
    state = {a.pk: a for a in Attendee.objects.filter(pk__in=[ann.pk, ben.pk, cid.pk, dan.pk])}
    assert {pk: a.connections for pk, a in state.items()} == {
        ann.pk: 0, ben.pk: 0, cid.pk: 1, dan.pk: 0
    }  # fmt: skip
    for gone in (state[ann.pk], state[ben.pk]):
        assert gone.online_since is None and gone.left_at is not None
        assert 3590 <= gone.watched_seconds <= 3700
    still_here = state[cid.pk]
    assert still_here.online_since == an_hour_ago and still_here.left_at is None
    assert still_here.watched_seconds == 0


@pytest.mark.django_db
def test_a_crowd_leaves_in_the_same_few_queries_as_a_handful(
    live_broadcast, django_assert_max_num_queries
):
    crowd = [GuestFactory(broadcast=live_broadcast) for _ in range(40)]
    services.attendees_connected(attendees=crowd)
    with django_assert_max_num_queries(8):  # two are each process's pages (presence.py)
        services.attendees_disconnected(crowd)
    assert set(Attendee.objects.filter(pk__in=[a.pk for a in crowd]).values_list(
        "connections", "online_since"
    )) == {(0, None)}  # fmt: skip


# --- First snapshots: many at once ----------------------------------------------------


@pytest.mark.django_db
def test_a_batch_of_snapshots_is_each_attendees_own(live_broadcast, settings):
    settings.MESH_MAX_VIEWERS = 3
    viewers = [GuestFactory(broadcast=live_broadcast, display_name=f"V{n}") for n in range(6)]
    services.attendees_connected(attendees=viewers)
    liker, rater, asker, lead_giver = viewers[:4]
    reactions.like(attendee=liker)
    reactions.rate(attendee=rater, stars=4)
    stage.hand_raise(attendee=asker)
    Lead.objects.create(
        broadcast=live_broadcast, attendee=lead_giver, name="Lee", email="lee@example.com"
    )
    position = bus().position(live_broadcast.slug)
    entries = [(v, position.epoch, position.seq) for v in viewers]

    batch = snapshots_for_connections(entries)
    one_by_one = [snapshots_for_connections([entry])[0] for entry in entries]
    assert batch == one_by_one

    mine = {snapshot["me"]["id"]: snapshot for snapshot in batch}
    assert mine[liker.pk]["me"]["liked"] is True
    assert mine[rater.pk]["me"]["rating"] == 4
    assert mine[asker.pk]["me"]["request"]["state"] == "pending"
    assert mine[lead_giver.pk]["me"]["lead"]["email"] == "lee@example.com"
    # The first three viewers to come have a place in the mesh; the others are told.
    assert [s["media"]["allowed"] for s in batch] == [True, True, True, False, False, False]


@pytest.mark.django_db
def test_a_crowds_snapshots_take_the_same_few_queries_as_a_handful(
    live_broadcast, django_assert_max_num_queries
):
    crowd = [GuestFactory(broadcast=live_broadcast) for _ in range(50)]
    services.attendees_connected(attendees=crowd)
    position = bus().position(live_broadcast.slug)
    snapshots_for_connections([(crowd[0], position.epoch, position.seq)])  # the shared part

    def queries_for(viewers) -> int:
        with django_assert_max_num_queries(100) as captured:
            snapshots_for_connections([(v, position.epoch, position.seq) for v in viewers])
        return len(captured.captured_queries)

    assert queries_for(crowd[:5]) == queries_for(crowd) <= 4


@pytest.mark.django_db
def test_a_like_storm_leaves_no_garbage_per_like_for_the_cyclic_collector(live_broadcast, settings):
    # 5,000 likes at once: objects in reference cycles would wait for a collection, a
    # pause of the whole server.
    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "like": (1, 1_000_000)}
    batch = [(GuestFactory(broadcast=live_broadcast).pk, REGISTRY["like"], {}) for _ in range(40)]
    with cyclic_garbage() as found:
        outcomes = run_batch(batch)
    assert outcomes == [{"liked": True}] * 40
    assert [o for o in found if isinstance(o, Model | ModelState)] == []


# --- Through the socket -----------------------------------------------------------------


async def widgets_at_once(stack: AsyncExitStack, slug: str, keys: list[uuid.UUID]) -> list:
    """Widget guests with these keys, all connecting at the same moment."""
    clients = (live_client(slug, query=widget_query(key)) for key in keys)
    return await asyncio.gather(*(stack.enter_async_context(c) for c in clients))


@pytest.mark.django_db(transaction=True)
async def test_a_crowd_connecting_and_leaving_at_once_is_counted_in_and_out(live_broadcast, host):
    keys = [uuid.uuid4() for _ in range(30)]
    async with live_client(live_broadcast.slug, user=host) as console, AsyncExitStack() as stack:
        widgets = await widgets_at_once(stack, live_broadcast.slug, keys)
        assert sorted(w.snapshot["me"]["name"] for w in widgets) == sorted(
            services.widget_guest_name(k) for k in keys
        )
        assert len({w.snapshot["me"]["id"] for w in widgets}) == 30
        # Everyone is counted once, and the host sees the whole audience (not themselves).
        await console.receive_until("audience", count=30, timeout=10)
        pages = await database_sync_to_async(
            lambda: sorted(
                Attendee.objects.filter(guest_key__in=keys).values_list("connections", flat=True)
            )
        )()
        assert pages == [1] * 30
        # And all leave at once: counted out, the host alone again.
        await stack.aclose()
        await console.receive_until("audience", count=0, timeout=10)
        left = await database_sync_to_async(
            lambda: set(
                Attendee.objects.filter(guest_key__in=keys).values_list(
                    "connections", "online_since"
                )
            )
        )()
        assert left == {(0, None)}


# --- Commands a crowd sends at once: likes ------------------------------------------


@pytest.mark.django_db
def test_a_crowds_likes_are_counted_in_one_transaction(
    live_broadcast, settings, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "like": (1, 1_000_000)}
    crowd = list(
        Attendee.objects.select_related("broadcast").filter(
            pk__in=[GuestFactory(broadcast=live_broadcast).pk for _ in range(40)]
        )
    )
    early, *rest = crowd
    reactions.like(attendee=early)
    # The one who liked already, then everyone, one of them from two pages at once.
    batch = [early, *rest, rest[0]]
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(4):
        outcomes = reactions.likes(attendees=batch)
    assert isinstance(outcomes[0], RateLimited)  # past this test's allowance of one
    assert outcomes[1:-1] == [True] * len(rest)
    assert isinstance(outcomes[-1], RateLimited)  # the same person's second like
    assert Like.objects.filter(broadcast=live_broadcast).count() == 40


@pytest.mark.django_db
def test_likes_of_a_batch_are_refused_one_by_one(live_broadcast):
    scheduled = GuestFactory(broadcast=BroadcastFactory())
    liked_before, fresh = (GuestFactory(broadcast=live_broadcast) for _ in range(2))
    reactions.like(attendee=liked_before)
    outcomes = reactions.likes(attendees=[scheduled, liked_before, fresh])
    assert isinstance(outcomes[0], Conflict)
    assert outcomes[1:] == [False, True]
    assert not Like.objects.filter(attendee=scheduled).exists()


@pytest.mark.django_db(transaction=True)
async def test_a_crowd_liking_at_once_is_answered_and_counted_once_each(live_broadcast, host):
    keys = [uuid.uuid4() for _ in range(30)]
    async with live_client(live_broadcast.slug, user=host) as console, AsyncExitStack() as stack:
        widgets = await widgets_at_once(stack, live_broadcast.slug, keys)
        replies = await asyncio.gather(*(w.command("like") for w in widgets))
        assert [r["type"] for r in replies] == ["ack"] * 30
        assert all(r["liked"] is True for r in replies)
        again = await widgets[0].command("like")
        assert again["type"] == "ack"
        await console.receive_until("likes", count=30, timeout=10)
    assert await database_sync_to_async(Like.objects.filter(broadcast=live_broadcast).count)() == 30
