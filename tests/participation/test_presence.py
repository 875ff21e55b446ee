"""Presence across server processes: a process that dies has its pages counted out
(presence.py); one that was only stalled reconnects its pages."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from participation import presence, services
from participation.models import Attendee, PagePresence, Role, ServerLease
from participation.realtime import jobs
from participation.realtime.counters import counters
from participation.realtime.hub import LoopHub
from tests.factories import GuestFactory

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 15


def in_process(monkeypatch, key: uuid.UUID) -> uuid.UUID:
    """From now on this test is the server process that holds lease `key`."""
    monkeypatch.setattr(presence, "_key", key)
    return key


def stops_renewing(key: uuid.UUID) -> None:
    ServerLease.objects.filter(key=key).update(
        renewed_at=timezone.now() - timedelta(seconds=LEASE_SECONDS + 1)
    )


def pages(*attendees) -> dict[int, int]:
    ids = [attendee.pk for attendee in attendees]
    return dict(Attendee.objects.filter(pk__in=ids).values_list("pk", "connections"))


def test_a_killed_process_has_its_pages_counted_out(
    live_broadcast, monkeypatch, django_capture_on_commit_callbacks
):
    ann, ben, cid = (GuestFactory(broadcast=live_broadcast) for _ in range(3))
    killed = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[ann, ann, ben])
    in_process(monkeypatch, uuid.uuid4())  # the survivor
    services.attendees_connected(attendees=[ben, cid])
    assert services.presence_sweep(lease_seconds=LEASE_SECONDS) == 0  # both alive
    stops_renewing(killed)
    counters.drain()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.presence_sweep(lease_seconds=LEASE_SECONDS) == 3

    assert pages(ann, ben, cid) == {ann.pk: 0, ben.pk: 1, cid.pk: 1}
    ann.refresh_from_db()
    assert ann.left_at is not None and ann.online_since is None  # her visit ended
    ben.refresh_from_db()
    assert ben.left_at is None and ben.online_since is not None  # his other page is open
    assert ("audience", live_broadcast.pk) in counters.drain()  # the count goes out again
    assert ServerLease.objects.get(key=killed).expired_at is not None
    assert not PagePresence.objects.filter(lease_key=killed).exists()
    # A second sweep (another process) finds nothing left to count out.
    assert services.presence_sweep(lease_seconds=LEASE_SECONDS) == 0
    assert pages(ann, ben, cid) == {ann.pk: 0, ben.pk: 1, cid.pk: 1}


def test_a_process_never_counts_its_own_pages_out(live_broadcast, monkeypatch):
    ann = GuestFactory(broadcast=live_broadcast)
    late = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[ann])
    stops_renewing(late)  # too busy to renew on time, yet it is the one sweeping
    assert services.presence_sweep(lease_seconds=LEASE_SECONDS) == 0
    assert pages(ann) == {ann.pk: 1}


def test_a_page_closing_after_its_process_was_swept_is_not_counted_out_twice(
    live_broadcast, monkeypatch
):
    ben = GuestFactory(broadcast=live_broadcast)
    stalled = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[ben])
    elsewhere = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[ben])
    stops_renewing(stalled)
    assert services.presence_sweep(lease_seconds=LEASE_SECONDS) == 1
    assert pages(ben) == {ben.pk: 1}

    services.attendees_disconnected([ben], lease=stalled)  # the stalled process wakes up
    assert pages(ben) == {ben.pk: 1}  # his page elsewhere still counts
    services.attendees_disconnected([ben], lease=elsewhere)
    assert pages(ben) == {ben.pk: 0}


def test_a_stalled_process_takes_a_new_lease_and_has_its_pages_reconnect(
    live_broadcast, monkeypatch
):
    ann = GuestFactory(broadcast=live_broadcast)
    stalled = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[ann])
    assert presence.lease_renew() is None  # alive: renewed
    stops_renewing(stalled)
    in_process(monkeypatch, uuid.uuid4())  # another process sweeps
    services.presence_sweep(lease_seconds=LEASE_SECONDS)
    in_process(monkeypatch, stalled)  # and the stalled one wakes up

    assert presence.lease_renew() == jobs.RESYNC
    fresh = presence.lease_key()
    assert fresh != stalled
    # Its page reconnects: counted once, under the new lease.
    services.attendees_disconnected([ann], lease=stalled)
    assert services.attendees_connected(attendees=[ann]) == fresh
    assert pages(ann) == {ann.pk: 1}
    assert presence.lease_renew() is None


def test_a_host_counted_out_is_shown_away(host_attendee, monkeypatch):
    host = host_attendee
    assert host.role == Role.HOST
    killed = in_process(monkeypatch, uuid.uuid4())
    services.attendees_connected(attendees=[host])
    stops_renewing(killed)
    in_process(monkeypatch, uuid.uuid4())  # a survivor sweeps
    services.presence_sweep(lease_seconds=LEASE_SECONDS)
    host.refresh_from_db()
    assert host.connections == 0 and host.last_seen_at is not None


async def test_a_job_answering_resync_has_every_connection_of_the_hub_reconnect():
    class Page:
        resynced = False

        async def resync(self):
            self.resynced = True

    hub = LoopHub(asyncio.get_running_loop())
    pages_here = [Page(), Page()]
    hub.rooms["a"].add(pages_here[0])
    hub.rooms["b"].add(pages_here[1])
    job = jobs.Job(name="t", run=lambda: jobs.RESYNC, every=lambda: 0.01, doing="test")
    task = asyncio.create_task(hub.run_every(job))
    try:
        for _ in range(100):
            if all(page.resynced for page in pages_here):
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        hub.stop_housekeeping()
    assert all(page.resynced for page in pages_here)


async def test_a_page_closing_while_postgresql_is_away_is_counted_out_when_it_is_back(
    live_broadcast, ann, monkeypatch
):
    from django.db import OperationalError

    from participation import admissions
    from participation.realtime.batching import Batcher
    from tests.participation.live_client import live_client

    def refuse(closing):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    async with live_client(live_broadcast.slug, guest_key=ann.guest_key):
        monkeypatch.setattr(admissions, "leave", Batcher(refuse))
    assert (await database_sync_to_async(pages)(ann)) == {ann.pk: 1}  # not written yet
    await database_sync_to_async(services.presence_sweep)(lease_seconds=LEASE_SECONDS)
    assert (await database_sync_to_async(pages)(ann)) == {ann.pk: 0}
