"""The admin's live dashboard socket: who may open it, what it sees, what it can do."""

import pytest
from channels.db import database_sync_to_async

from participation import questions, stage
from participation.models import Attendee, Question, SpeakRequest
from tests.factories import GuestFactory, UserFactory, in_group
from tests.participation.live_client import live_client, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def moderator(db):
    return in_group(
        UserFactory(username="mod", first_name="Mo", last_name="Derator", is_staff=True),
        "Moderators",
        "broadcasts.moderate_broadcast",
    )


@pytest.fixture
def ann(live_broadcast):
    return GuestFactory(broadcast=live_broadcast, display_name="Ann")


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
