"""Requests to speak over the live socket: commands, public events, private frames."""

import pytest
from channels.db import database_sync_to_async

from participation.models import Attendee
from tests.participation.live_client import live_client

pytestmark = pytest.mark.django_db(transaction=True)


async def test_raise_cancel_approve_and_end_call(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as requester,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as watcher,
    ):
        assert (await requester.command("hand.raise"))["type"] == "ack"
        pending = await requester.receive_until("hand.pending")
        assert pending["request"]["position"] == 1
        assert "seq" not in pending  # private frames are not numbered
        raised = await watcher.receive_until("hand.raised")
        assert raised["attendee"]["id"] == ann.pk
        await console.receive_until("hand.raised")

        # Ben asks too and learns he is second.
        await watcher.command("hand.raise")
        assert (await watcher.receive_until("hand.pending"))["request"]["position"] == 2

        assert (await requester.command("hand.cancel"))["type"] == "ack"
        lowered = await console.receive_until("hand.lowered")
        assert lowered["attendee"]["id"] == ann.pk
        # Ben moves up.
        assert (await watcher.receive_until("hand.pending"))["request"]["position"] == 1

        await requester.command("hand.raise")
        reply = await console.command("hand.approve", attendee=ann.pk)
        assert reply["type"] == "ack"
        approved = await requester.receive_until("hand.approved")
        assert approved["request"]["state"] == "approved"
        stage = await watcher.receive_until("stage.changed")
        assert [a["name"] for a in stage["stage"]] == ["Hana Host", "Ann"]
        assert stage["stage"][1]["role"] == "speaker"

        # The speaker may now publish: signalling between two stage members is allowed.
        host_id = console.snapshot["me"]["id"]
        ok = await requester.command("rtc.signal", to=host_id, data={"kind": "request", "pc": "s1"})
        assert ok["type"] == "ack"

        assert (await requester.command("stage.leave"))["type"] == "ack"
        back = await watcher.receive_until("stage.changed")
        assert [a["name"] for a in back["stage"]] == ["Hana Host"]

        await console.command("hand.decline", attendee=ben.pk)
        declined = await watcher.receive_until("hand.declined")
        assert declined["request"]["state"] == "declined"


async def test_a_raised_hand_survives_a_reload(live_broadcast, host, guests):
    ann = guests[0]
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as requester:
        await requester.command("hand.raise")
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as reloaded:
        assert reloaded.snapshot["me"]["request"]["state"] == "pending"
        assert reloaded.snapshot["me"]["request"]["position"] == 1
        assert [a["id"] for a in reloaded.snapshot["hands"]] == [ann.pk]


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("hand.approve", {"attendee": 1}),
        ("hand.decline", {"attendee": 1}),
        ("hand.lower_all", {}),
        ("stage.remove", {"attendee": 1}),
        ("stage.invite", {"attendee": 1}),
        ("stage.leave", {}),
    ],
)
async def test_viewers_cannot_decide(live_broadcast, guests, command, fields):
    async with live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as viewer:
        reply = await viewer.command(command, **fields)
        assert reply["code"] == "forbidden"


async def test_hosts_do_not_raise_hands_and_bad_fields_are_invalid(live_broadcast, host, guests):
    async with live_client(live_broadcast.slug, user=host) as console:
        assert (await console.command("hand.raise"))["code"] == "forbidden"
        assert (await console.command("hand.approve"))["code"] == "invalid"
        assert (await console.command("hand.approve", attendee="Ann"))["code"] == "invalid"
        assert (await console.command("hand.approve", attendee=guests[0].pk))["code"] == "not_found"


async def test_approving_beyond_the_stage_size_is_a_conflict(live_broadcast, host, guests):
    await database_sync_to_async(type(live_broadcast).objects.filter(pk=live_broadcast.pk).update)(
        stage_size=1
    )
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as first,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as second,
    ):
        await first.command("hand.raise")
        await second.command("hand.raise")
        assert (await console.command("hand.approve", attendee=ann.pk))["type"] == "ack"
        full = await console.command("hand.approve", attendee=ben.pk)
        assert full["code"] == "conflict"
        assert "full" in full["message"]
        assert (await database_sync_to_async(Attendee.objects.get)(pk=ben.pk)).role == "viewer"


async def test_an_invitation_and_its_answers(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as invited,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as refuser,
    ):
        await console.command("stage.invite", attendee=ann.pk)
        invitation = await invited.receive_until("stage.invited")
        assert invitation["request"]["invited_by"] == "Hana Host"
        assert invitation["request"]["invited"] is True
        await invited.command("invitation.accept")
        await invited.receive_until("hand.approved")
        await console.receive_until("stage.changed")

        await console.command("stage.invite", attendee=ben.pk)
        await refuser.receive_until("stage.invited")
        await refuser.command("invitation.decline")
        declined = await console.receive_until("invitation.declined")
        assert declined["attendee"]["name"] == "Ben"

        await console.command("stage.remove", attendee=ann.pk)
        back = await refuser.receive_until("stage.changed")
        assert [a["name"] for a in back["stage"]] == ["Hana Host"]


async def test_ending_the_broadcast_clears_hands_and_stage(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as speaker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as waiting,
    ):
        await speaker.command("hand.raise")
        await console.command("hand.approve", attendee=ann.pk)
        await waiting.command("hand.raise")
        await waiting.receive_until("hand.pending")
        await console.command("broadcast.end")
        assert (await waiting.receive_until("hand.lowered"))["attendee"]["id"] == ben.pk
        stage = await waiting.receive_until("stage.changed")
        assert [a["role"] for a in stage["stage"]] == ["host"]
        await waiting.receive_until("broadcast.state", state="ended")
        assert (await waiting.command("hand.raise"))["code"] == "conflict"
