"""The host disappears (console closed, network lost): viewers are told at once, and
after PRIMETIME_HOST_AWAY_PAUSE_SECONDS the broadcast pauses by itself."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcasts.models import Broadcast, BroadcastState
from participation import services
from participation.models import Attendee
from participation.realtime.bus import bus
from participation.snapshots import live_snapshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def stage_events_since(slug: str, position) -> list[list[dict]]:
    now = bus().position(slug, epoch=position.epoch, since=position.seq)
    events = [json.loads(frame) for frame in now.missed]
    return [event["stage"] for event in events if event["type"] == "stage.changed"]


def host_entry(stage: list[dict], attendee: Attendee) -> dict:
    return next(entry for entry in stage if entry["id"] == attendee.pk)


def test_the_hosts_last_console_closing_shows_them_away_and_the_first_back(
    live_broadcast, host_attendee, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.attendee_connected(attendee=host_attendee)
        services.attendee_connected(attendee=host_attendee)  # a second tab
    before = bus().position(live_broadcast.slug)
    with django_capture_on_commit_callbacks(execute=True):
        services.attendees_disconnected([host_attendee])  # one tab of two: still here
    assert stage_events_since(live_broadcast.slug, before) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.attendees_disconnected([host_attendee])
    (stage,) = stage_events_since(live_broadcast.slug, before)
    assert host_entry(stage, host_attendee)["away"] is True
    seen = live_snapshot(broadcast=live_broadcast, attendee=host_attendee)
    assert host_entry(seen["stage"], host_attendee)["away"] is True

    before = bus().position(live_broadcast.slug)
    with django_capture_on_commit_callbacks(execute=True):
        services.attendee_connected(attendee=host_attendee)
    (stage,) = stage_events_since(live_broadcast.slug, before)
    assert host_entry(stage, host_attendee)["away"] is False


def test_a_host_who_never_opened_a_console_is_not_shown_away(live_broadcast, host_attendee):
    stage = live_snapshot(broadcast=live_broadcast, attendee=host_attendee)["stage"]
    assert host_entry(stage, host_attendee)["away"] is False


def gone_since(attendee: Attendee, seconds: float) -> None:
    Attendee.objects.filter(pk=attendee.pk).update(
        connections=0, last_seen_at=timezone.now() - timedelta(seconds=seconds)
    )


def state_of(broadcast: Broadcast) -> str:
    return Broadcast.objects.get(pk=broadcast.pk).state


def test_a_broadcast_pauses_by_itself_once_its_hosts_are_gone_long_enough(
    live_broadcast, host_attendee
):
    gone_since(host_attendee, 30)
    assert services.hosts_away_pause(away_seconds=60) == []
    assert state_of(live_broadcast) == BroadcastState.LIVE

    gone_since(host_attendee, 61)
    assert services.hosts_away_pause(away_seconds=60) == [live_broadcast.slug]
    assert state_of(live_broadcast) == BroadcastState.PAUSED
    transition = live_broadcast.transitions.order_by("-at", "-pk").first()
    assert (transition.to_state, transition.by) == (BroadcastState.PAUSED, None)
    # Paused already: a second sweep (another process) changes nothing.
    assert services.hosts_away_pause(away_seconds=60) == []


def test_a_co_hosts_open_console_keeps_the_broadcast_live(live_broadcast, host_attendee):
    co_host = UserFactory(username="cora")
    live_broadcast.co_hosts.add(co_host)
    cora = services.attendee_for_user(broadcast=live_broadcast, user=co_host)
    services.attendee_connected(attendee=cora)
    gone_since(host_attendee, 120)
    assert services.hosts_away_pause(away_seconds=60) == []
    assert state_of(live_broadcast) == BroadcastState.LIVE


def test_a_host_who_never_opened_a_console_is_not_gone(live_broadcast, host_attendee):
    # Started from the admin or the API, with no console open yet.
    assert Attendee.objects.get(pk=host_attendee.pk).last_seen_at is None
    assert services.hosts_away_pause(away_seconds=1) == []
    assert state_of(live_broadcast) == BroadcastState.LIVE
