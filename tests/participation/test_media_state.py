"""`media.state`: a stage member's page says whether it sends camera and microphone, so
"Camera off" is said only of a camera switched off, not of video that stalled."""

import pytest
from channels.db import database_sync_to_async

from broadcasts import services as broadcasts
from core.errors import Conflict
from participation import services, stage
from participation.models import Attendee
from participation.snapshots import live_snapshot
from tests.participation.live_client import live_client

pytestmark = pytest.mark.django_db(transaction=True)


def on_stage(frame: dict, attendee_id: int) -> dict:
    return next(entry for entry in frame["stage"] if entry["id"] == attendee_id)


async def test_the_host_switching_the_camera_off_tells_every_viewer_once(live_broadcast, host, ann):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer,
    ):
        host_id = console.snapshot["me"]["id"]
        entry = on_stage(viewer.snapshot, host_id)
        assert (entry["camera"], entry["microphone"]) == (True, True)

        reply = await console.command("media.state", camera=False, microphone=True)
        assert reply["type"] == "ack"
        changed = await viewer.receive_until("stage.changed")
        entry = on_stage(changed, host_id)
        assert (entry["camera"], entry["microphone"]) == (False, True)

        # Saying the same again changes nothing and tells nobody: the next stage.changed
        # a viewer gets is the microphone going off.
        await console.command("media.state", camera=False, microphone=True)
        await console.command("media.state", camera=False, microphone=False)
        changed = await viewer.receive_until("stage.changed")
        assert on_stage(changed, host_id)["microphone"] is False

    # Who arrives later starts from it.
    snapshot = await database_sync_to_async(live_snapshot)(broadcast=live_broadcast, attendee=ann)
    assert on_stage(snapshot, host_id)["camera"] is False


async def test_only_the_stage_says_it_and_bad_fields_change_nothing(live_broadcast, host, ann):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer,
    ):
        reply = await viewer.command("media.state", camera=False, microphone=False)
        assert reply["code"] == "forbidden"
        reply = await console.command("media.state", camera="<b>", microphone=True)
        assert reply["code"] == "invalid"
        assert "camera" in reply["details"]
        reply = await console.command("media.state", camera=False)
        assert reply["code"] == "invalid"
        assert "microphone" in reply["details"]
        host_attendee = await database_sync_to_async(Attendee.objects.get)(
            pk=console.snapshot["me"]["id"]
        )
        assert (host_attendee.camera_on, host_attendee.microphone_on) == (True, True)


def test_a_speaker_comes_back_on_stage_with_camera_and_microphone_on(live_broadcast, host, ann):
    stage.hand_raise(attendee=ann)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    ann.refresh_from_db()
    services.media_state_set(broadcast=live_broadcast, attendee=ann, camera=False, microphone=False)
    entry = on_stage(live_snapshot(broadcast=live_broadcast, attendee=ann), ann.pk)
    assert (entry["camera"], entry["microphone"]) == (False, False)

    stage.stage_leave(attendee=ann)
    ann.refresh_from_db()
    stage.hand_raise(attendee=ann)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    entry = on_stage(live_snapshot(broadcast=live_broadcast, attendee=ann), ann.pk)
    assert (entry["camera"], entry["microphone"]) == (True, True)


def test_after_the_end_nothing_is_said(live_broadcast, host, host_attendee):
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    with pytest.raises(Conflict):
        services.media_state_set(
            broadcast=live_broadcast, attendee=host_attendee, camera=False, microphone=False
        )
