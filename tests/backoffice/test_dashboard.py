"""The admin's live dashboard socket: who may open it, what it sees, what it can do."""

import json
from dataclasses import replace

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from participation import questions, stage
from participation.models import Attendee, Question, SpeakRequest
from participation.realtime.commands import MODERATORS, REGISTRIES
from tests.factories import UserFactory
from tests.participation.live_client import live_client, refused

pytestmark = pytest.mark.django_db(transaction=True)


async def test_only_staff_who_may_moderate_open_it(live_broadcast, viewer_user, ann):
    path = "dashboard/"
    assert await refused(live_broadcast.slug, path_suffix=path) == 4403
    assert await refused(live_broadcast.slug, user=viewer_user, path_suffix=path) == 4403
    staff = await database_sync_to_async(UserFactory)(username="intern", is_staff=True)
    assert await refused(live_broadcast.slug, user=staff, path_suffix=path) == 4403
    assert await refused("no-such-thing", user=staff, path_suffix=path) == 4404


async def test_the_moderator_sees_the_session_and_moderates_it(
    live_broadcast, host, moderator, ann
):
    await database_sync_to_async(stage.hand_raise)(attendee=ann)
    asked = await database_sync_to_async(questions.question_ask)(attendee=ann, text="Replay?")
    async with (
        live_client(live_broadcast.slug, user=moderator, path_suffix="dashboard/") as board,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer,
    ):
        snapshot = board.snapshot
        assert snapshot["me"]["role"] == "host" and snapshot["me"]["id"] == 0
        assert [a["name"] for a in snapshot["hands"]] == ["Ann"]
        assert [q["text"] for q in snapshot["questions"]] == ["Replay?"]
        assert snapshot["leads"] == 0
        # The moderator is not in the audience.
        assert not await database_sync_to_async(Attendee.objects.filter(user=moderator).exists)()

        assert (await board.command("question.hide", question=asked.pk))["type"] == "ack"
        hidden = await viewer.receive_until("question.updated")
        assert hidden["question"] == {"id": asked.pk, "state": "hidden", "pinned": False}
        full = await board.receive_until("question.updated")
        if "text" not in full["question"]:
            # The public notice and the hosts' full copy travel apart: either may be first.
            full = await board.receive_until("question.updated")
        assert full["question"]["text"] == "Replay?"  # the board keeps what was hidden

        assert (await board.command("hand.decline", attendee=ann.pk))["type"] == "ack"
        await viewer.receive_until("hand.declined")
        assert (await board.command("broadcast.pause"))["type"] == "ack"
        await viewer.receive_until("broadcast.state", state="paused")
        reply = await board.command("like")
        assert reply["code"] == "invalid"

    moved = await database_sync_to_async(
        lambda: (
            Question.objects.get(pk=asked.pk).moderated_by_id,
            SpeakRequest.objects.get(attendee=ann).transitions.last().by_id,
        )
    )()
    assert moved == (moderator.pk, moderator.pk)


async def test_the_dashboard_takes_commands_through_the_live_sockets_guards(
    live_broadcast, moderator, monkeypatch
):
    """The same path as the live socket: a frame cap, malformed frames answered, rate
    limits, and a failing handler answered with an error instead of a dropped socket."""
    async with live_client(live_broadcast.slug, user=moderator, path_suffix="dashboard/") as board:
        await board.send_raw(json.dumps({"type": "ping", "ref": "big", "pad": "x" * 70_000}))
        assert (await board.receive_until("error"))["message"] == (
            "Send JSON text frames of at most 64 KB."
        )
        await board.send_raw('{"type": "ping", "ref": {"nested": true}}')
        assert (await board.receive_until("error"))["code"] == "invalid"
        reply = await board.command("question.hide", question="many")
        assert (reply["code"], list(reply["details"])) == ("invalid", ["question"])

        def broken(context, data):
            raise RuntimeError("a bug in a service")

        moves = REGISTRIES[MODERATORS]
        monkeypatch.setitem(moves, "hand.decline", replace(moves["hand.decline"], handler=broken))
        reply = await board.command("hand.decline", attendee=1)
        assert (reply["type"], reply["code"]) == ("error", "conflict")
        assert (await board.command("ping"))["type"] == "ack"  # still open

        await board.drain()
        flood = settings.LIVE_COMMAND_BURST + 5
        for n in range(flood):
            await board.send_raw(json.dumps({"type": "ping", "ref": f"p{n}"}))
        codes = []
        while len(codes) < flood:
            frame = await board.receive()
            if frame["type"] in ("ack", "error"):
                codes.append(frame.get("code"))
        assert codes[0] is None and "rate_limited" in codes


async def test_a_moderator_who_loses_the_permission_can_no_longer_move_anything(
    live_broadcast, moderator, ann
):
    await database_sync_to_async(stage.hand_raise)(attendee=ann)
    async with live_client(live_broadcast.slug, user=moderator, path_suffix="dashboard/") as board:
        await database_sync_to_async(moderator.groups.clear)()
        reply = await board.command("hand.decline", attendee=ann.pk)
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
        reply = await board.command("broadcast.end")
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
    assert (
        await database_sync_to_async(lambda: SpeakRequest.objects.get(attendee=ann).state)()
        == "pending"
    )
    await database_sync_to_async(live_broadcast.refresh_from_db)()
    assert live_broadcast.state == "live"


async def test_moderators_approve_requests_but_do_not_invite(live_broadcast, moderator, ann, ben):
    """A moderator answers a request to speak from the dashboard; inviting someone who
    did not ask is the hosts' call, not a dashboard move."""
    await database_sync_to_async(stage.hand_raise)(attendee=ann)
    async with live_client(live_broadcast.slug, user=moderator, path_suffix="dashboard/") as board:
        reply = await board.command("stage.invite", attendee=ben.pk)
        assert (reply["code"], reply["message"]) == ("invalid", "Unknown command type.")
        reply = await board.command("hand.approve", attendee=ann.pk)
        assert reply["type"] == "ack", reply
    approved = await database_sync_to_async(lambda: SpeakRequest.objects.get(attendee=ann))()
    assert approved.state == "approved"
