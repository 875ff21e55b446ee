"""Removing someone from a broadcast: disconnected, off stage, and no way back."""

import pytest
from channels.db import database_sync_to_async

from core.errors import Conflict, Forbidden
from participation import stage
from participation.models import Attendee, SpeakRequest
from tests.factories import UserFactory, in_group
from tests.participation.live_client import live_client, refused

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_speaker_removed_leaves_the_stage_and_cannot_come_back(live_broadcast, host, ann):
    stage.hand_raise(attendee=ann)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    ann.refresh_from_db()
    assert ann.removed_at is not None and ann.removed_by == host
    assert ann.role == "viewer"
    assert SpeakRequest.objects.get(attendee=ann).state == "removed"
    with pytest.raises(Conflict):
        stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=host)


def test_a_raised_hand_is_declined_on_removal(live_broadcast, host, ann):
    stage.hand_raise(attendee=ann)
    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    assert SpeakRequest.objects.get(attendee=ann).state == "declined"


def test_only_hosts_and_moderators_remove_and_hosts_cannot_be_removed(live_broadcast, host, ann):
    with pytest.raises(Forbidden):
        stage.attendee_remove(
            broadcast=live_broadcast, attendee_id=ann.pk, by=UserFactory(username="stranger")
        )
    moderator = in_group(UserFactory(username="mod"), "Moderators", "broadcasts.moderate_broadcast")
    host_attendee = Attendee.objects.get(broadcast=live_broadcast, user=host)
    with pytest.raises(Conflict):
        stage.attendee_remove(broadcast=live_broadcast, attendee_id=host_attendee.pk, by=moderator)
    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=moderator)


async def test_the_removed_viewer_is_told_disconnected_and_refused(live_broadcast, host, ann):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer,
    ):
        reply = await viewer.command("attendee.remove", attendee=ann.pk)
        assert reply["code"] == "forbidden"  # a viewer never removes anyone
        assert (await console.command("attendee.remove", attendee=ann.pk))["type"] == "ack"
        told = await viewer.receive_until("removed")
        assert told["message"] == "You were removed from this broadcast."
        closed = await viewer.communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
    assert await refused(live_broadcast.slug, guest_key=ann.guest_key) == 4403


def test_the_watch_page_refuses_a_removed_viewer(client, live_broadcast, host, ann):
    from participation.guests import guest_cookie_value

    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    client.cookies["primetime_guest"] = guest_cookie_value(ann.guest_key)
    response = client.get(f"/b/{live_broadcast.slug}/watch/")
    assert response.status_code == 403
    assert "You were removed from this broadcast." in response.content.decode()


def test_moderators_remove_from_the_admin(client, live_broadcast, ann):
    moderator = in_group(
        UserFactory(username="mod", is_staff=True),
        "Moderators",
        "broadcasts.moderate_broadcast",
        "participation.view_attendee",
        "participation.change_attendee",
    )
    client.force_login(moderator)
    client.post(
        "/admin/participation/attendee/",
        {"action": "remove_from_broadcast", "_selected_action": [ann.pk]},
    )
    ann.refresh_from_db()
    assert ann.removed_by == moderator


async def test_a_co_host_taken_off_the_hosts_loses_the_console_at_once(live_broadcast, host):
    cohost = await database_sync_to_async(UserFactory)(username="cora", first_name="Cora")
    await database_sync_to_async(live_broadcast.co_hosts.add)(cohost)
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, user=cohost) as second_console,
    ):
        assert second_console.snapshot["me"]["role"] == "host"
        assert (await second_console.command("lead.prompt"))["type"] == "ack"

        # The admin takes her off the broadcast's hosts while her console is open.
        await database_sync_to_async(live_broadcast.co_hosts.remove)(cohost)
        told = await second_console.receive_until("removed")
        assert told["message"] == "You are no longer a host of this broadcast."
        closed = await second_console.communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
        stage = await console.receive_until("stage.changed")
        assert [entry["name"] for entry in stage["stage"]] == ["Hana Host"]

    attendee = await database_sync_to_async(Attendee.objects.get)(user=cohost)
    assert attendee.role == "viewer" and attendee.removed_at is None
    # Back as a viewer (not removed from the broadcast): no host command passes.
    async with live_client(live_broadcast.slug, user=cohost) as page:
        assert page.snapshot["me"]["role"] == "viewer"
        for command in ("lead.prompt", "broadcast.pause", "hand.lower_all"):
            assert (await page.command(command))["code"] == "forbidden"
