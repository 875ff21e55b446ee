"""The live socket, through Channels' WebsocketCommunicator (DESIGN section 4)."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from broadcasts import services
from broadcasts.models import Audience, Broadcast
from participation.consumers import LiveConsumer
from participation.models import Attendee, Question
from participation.realtime.bus import bus
from tests.factories import BroadcastFactory, GroupFactory, GuestFactory
from tests.participation.live_client import live_client, refused

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOT_KEYS = {
    "type",
    "epoch",
    "seq",
    "broadcast",
    "me",
    "stage",
    "hands",
    "audience",
    "likes",
    "questions",
    "media",
}


@pytest.fixture
def guest(live_broadcast):
    return GuestFactory(broadcast=live_broadcast, display_name="Gina Guest")


def state_of(broadcast) -> str:
    return Broadcast.objects.get(pk=broadcast.pk).state


async def test_first_frame_is_a_snapshot_of_everything_a_page_needs(live_broadcast, guest, host):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        snapshot = viewer.snapshot
        assert set(snapshot) == SNAPSHOT_KEYS
        assert isinstance(snapshot["epoch"], str) and snapshot["epoch"]
        assert isinstance(snapshot["seq"], int)
        assert snapshot["broadcast"]["state"] == "live"
        assert snapshot["broadcast"]["title"] == "Spring launch"
        # The rules pages follow come with the state, from the server's tables.
        assert snapshot["broadcast"]["running"] is True
        assert snapshot["broadcast"]["actions"] == ["broadcast.pause", "broadcast.end"]
        assert snapshot["broadcast"]["limits"] == {"question_chars": 500}
        assert snapshot["broadcast"]["cta"] == {
            "headline": "Twenty percent off for viewers",
            "label": "Get the offer",
            "url": "https://example.com/offer",
        }
        me = snapshot["me"]
        assert (me["id"], me["name"], me["role"]) == (guest.pk, "Gina Guest", "viewer")
        assert me["avatar"].startswith("/avatar/GG/")
        assert me["widget_closed"] is False
        assert snapshot["audience"]["count"] == 1
        assert [a["name"] for a in snapshot["audience"]["sample"]] == ["Gina Guest"]
        assert snapshot["media"]["backend"] == settings.MEDIA_BACKEND


async def test_host_is_on_stage_and_every_viewer_sees_lifecycle_events_in_seq_order(
    live_broadcast, guest, host
):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer,
    ):
        assert console.snapshot["me"]["role"] == "host"
        assert [a["name"] for a in viewer.snapshot["stage"]] == ["Hana Host"]

        assert (await console.command("broadcast.pause"))["type"] == "ack"
        paused = await viewer.receive_until("broadcast.state")
        assert paused["state"] == "paused"
        assert paused["seq"] > viewer.snapshot["seq"]

        assert (await console.command("broadcast.resume"))["type"] == "ack"
        assert (await viewer.receive_until("broadcast.state"))["state"] == "live"
        assert (await console.command("broadcast.end"))["type"] == "ack"
        assert (await viewer.receive_until("broadcast.state"))["state"] == "ended"
    assert await database_sync_to_async(state_of)(live_broadcast) == "ended"


async def test_ack_echoes_the_ref(live_broadcast, guest):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        await viewer.send_raw(json.dumps({"type": "ping", "ref": "abc-1"}))
        assert await viewer.receive_until("ack") == {"type": "ack", "ref": "abc-1"}


@pytest.mark.parametrize(
    "command", ["broadcast.start", "broadcast.pause", "broadcast.resume", "broadcast.end"]
)
async def test_host_commands_are_forbidden_to_viewers(live_broadcast, guest, viewer_user, command):
    async with (
        live_client(live_broadcast.slug, guest_key=guest.guest_key) as as_guest,
        live_client(live_broadcast.slug, user=viewer_user) as as_user,
    ):
        for client in (as_guest, as_user):
            reply = await client.command(command)
            assert reply["type"] == "error"
            assert reply["code"] == "forbidden"
            assert reply["message"]
    assert await database_sync_to_async(state_of)(live_broadcast) == "live"


async def test_a_forbidden_move_is_a_conflict_and_changes_nothing(scheduled_broadcast, host):
    async with live_client(scheduled_broadcast.slug, user=host) as console:
        reply = await console.command("broadcast.pause")
        assert (reply["code"], reply["type"]) == ("conflict", "error")
        assert "scheduled" in reply["message"]
        assert await console.nothing_more()
    assert await database_sync_to_async(state_of)(scheduled_broadcast) == "scheduled"


@pytest.mark.parametrize(
    ("frame", "ref"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('"just a string"', None),
        ('{"ref": "x1"}', "x1"),
        ('{"type": "no.such.command", "ref": "x2"}', "x2"),
        ('{"type": 42, "ref": "x3"}', "x3"),
        ('{"type": "ping", "ref": {"nested": true}}', None),
        ('{"type": "ping", "ref": "' + "r" * 65 + '"}', None),
        # JSON nested past Python's recursion limit, and merely too deep.
        ('{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}", None),
        ('{"type": "ping", "x": ' + "[" * 7 + "]" * 7 + "}", None),
        # Half a UTF-16 pair, in a value and in a key: no database or page takes it.
        ('{"type": "question.ask", "ref": "q", "text": "hi \\ud800"}', None),
        ('{"type": "ping", "\\udfff": 1}', None),
    ],
    ids=[
        "not-json",
        "array",
        "string",
        "no-type",
        "unknown-type",
        "type-not-string",
        "ref-object",
        "ref-long",
        "nested-5000",
        "nested-8",
        "surrogate-value",
        "surrogate-key",
    ],
)
async def test_malformed_frames_get_invalid_and_the_connection_stays_open(
    live_broadcast, guest, frame, ref
):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        await viewer.send_raw(frame)
        error = await viewer.receive_until("error")
        assert error["code"] == "invalid"
        assert error["ref"] == ref
        assert (await viewer.command("ping"))["type"] == "ack"
    assert not await database_sync_to_async(Question.objects.exists)()


async def test_a_frame_nested_within_the_limit_is_a_command(live_broadcast, guest):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        await viewer.send_raw('{"type": "ping", "ref": "ok", "x": ' + "[" * 5 + "]" * 5 + "}")
        assert (await viewer.receive_until("ack"))["ref"] == "ok"


async def test_an_oversized_frame_is_refused(live_broadcast, guest):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        await viewer.send_raw(json.dumps({"type": "ping", "ref": "big", "pad": "x" * 70_000}))
        assert (await viewer.receive_until("error"))["code"] == "invalid"
        assert (await viewer.command("ping"))["type"] == "ack"


async def test_a_flood_of_commands_is_rate_limited(live_broadcast, guest):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        burst = settings.LIVE_COMMAND_BURST
        for n in range(burst + 5):
            await viewer.send_raw(json.dumps({"type": "ping", "ref": f"p{n}"}))
        replies = [await viewer.receive_until("ack") if n < burst else None for n in range(burst)]
        assert all(r["type"] == "ack" for r in replies)
        limited = await viewer.receive()
        while limited["type"] not in ("ack", "error"):
            limited = await viewer.receive()
        assert limited["code"] == "rate_limited"


async def test_reconnect_replays_missed_events_instead_of_a_snapshot(live_broadcast, guest, host):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key) as viewer:
        epoch, seq = viewer.snapshot["epoch"], viewer.snapshot["seq"]

    async with live_client(live_broadcast.slug, user=host) as console:
        await console.command("broadcast.pause")
        await console.command("broadcast.resume")

    query = f"epoch={epoch}&since={seq}"
    async with live_client(
        live_broadcast.slug, guest_key=guest.guest_key, query=query, expect_snapshot=False
    ) as viewer:
        viewer.seq = seq
        first = await viewer.receive()
        assert first["type"] != "snapshot"
        assert first["seq"] == seq + 1
        states = [first.get("state")]
        while len([s for s in states if s]) < 2:
            states.append((await viewer.receive()).get("state"))
        assert [s for s in states if s] == ["paused", "live"]


async def test_reconnect_with_an_unknown_epoch_or_too_old_a_seq_gets_a_fresh_snapshot(
    live_broadcast, guest
):
    async with live_client(
        live_broadcast.slug, guest_key=guest.guest_key, query="epoch=stale&since=1"
    ) as viewer:
        assert viewer.snapshot["type"] == "snapshot"
        epoch = viewer.snapshot["epoch"]
        assert epoch != "stale"

    # Push the start of the log past what the client has seen.
    for _ in range(settings.LIVE_EVENT_LOG_SIZE + 2):
        await database_sync_to_async(bus().publish)(
            live_broadcast.slug, {"type": "likes", "count": 0}
        )
    async with live_client(
        live_broadcast.slug, guest_key=guest.guest_key, query=f"epoch={epoch}&since=0"
    ) as viewer:
        assert viewer.snapshot["type"] == "snapshot"


async def test_audience_counts_are_coalesced_and_follow_connections(live_broadcast, host, settings):
    # A long interval, so that all the joins below surely fall within one or two.
    settings.LIVE_COALESCE_SECONDS = 2
    guests = [
        await database_sync_to_async(GuestFactory)(broadcast=live_broadcast) for _ in range(5)
    ]
    async with live_client(live_broadcast.slug, user=host) as console:
        opened = []
        for g in guests:
            client = live_client(live_broadcast.slug, guest_key=g.guest_key)
            await client.__aenter__()
            opened.append(client)
        audience = await console.receive_until("audience", timeout=6)
        # The five guests: the host's own console is not audience.
        while audience["count"] != 5:
            audience = await console.receive_until("audience", timeout=6)
        # Five joins within one interval give a handful of audience events, not one per join.
        counts = [f for f in console.frames if f["type"] == "audience"]
        assert len(counts) <= 3
        for client in opened:
            await client.__aexit__(None, None, None)
        audience = await console.receive_until("audience", timeout=6)
        while audience["count"] != 0:
            audience = await console.receive_until("audience", timeout=6)
        assert audience["sample"] == []


async def test_a_guest_without_a_name_is_refused(live_broadcast):
    assert await refused(live_broadcast.slug) == 4400
    assert await refused(live_broadcast.slug, guest_key=uuid.uuid4()) == 4400


async def test_a_forged_guest_cookie_is_refused(live_broadcast, guest):
    from tests.participation import live_client as module

    original = module.guest_cookie
    module.guest_cookie = lambda key: f"{settings.GUEST_COOKIE_NAME}={key.hex}:forged:sig"
    try:
        assert await refused(live_broadcast.slug, guest_key=guest.guest_key) == 4400
    finally:
        module.guest_cookie = original


async def test_a_foreign_origin_is_refused(live_broadcast, guest):
    assert (
        await refused(
            live_broadcast.slug, guest_key=guest.guest_key, origin=b"https://evil.example"
        )
        is not None
    )


async def test_unknown_broadcasts_and_drafts_are_not_found(host, guest):
    assert await refused("no-such-broadcast", guest_key=guest.guest_key) == 4404
    draft = await database_sync_to_async(BroadcastFactory)(host=host)
    draft_guest = await database_sync_to_async(GuestFactory)(broadcast=draft)
    assert await refused(draft.slug, guest_key=draft_guest.guest_key) == 4404
    async with live_client(draft.slug, user=host) as console:
        assert console.snapshot["broadcast"]["state"] == "draft"


async def test_signed_in_audience_refuses_guests_and_admits_users(
    live_broadcast, guest, viewer_user
):
    await database_sync_to_async(Broadcast.objects.filter(pk=live_broadcast.pk).update)(
        audience=Audience.SIGNED_IN
    )
    assert await refused(live_broadcast.slug, guest_key=guest.guest_key) == 4403
    async with live_client(live_broadcast.slug, user=viewer_user) as viewer:
        assert viewer.snapshot["me"]["name"] == "Vic Viewer"


async def test_group_audience_admits_members_only(live_broadcast, viewer_user, host):
    group = await database_sync_to_async(GroupFactory)(name="Customers")
    await database_sync_to_async(Broadcast.objects.filter(pk=live_broadcast.pk).update)(
        audience=Audience.GROUP, audience_group=group
    )
    assert await refused(live_broadcast.slug, user=viewer_user) == 4403
    await database_sync_to_async(viewer_user.groups.add)(group)
    async with live_client(live_broadcast.slug, user=viewer_user) as viewer:
        assert viewer.snapshot["me"]["role"] == "viewer"
    # The host is always admitted to their own broadcast.
    async with live_client(live_broadcast.slug, user=host) as console:
        assert console.snapshot["me"]["role"] == "host"


async def test_connections_are_counted_per_attendee(live_broadcast, guest):
    async with live_client(live_broadcast.slug, guest_key=guest.guest_key):
        async with live_client(live_broadcast.slug, guest_key=guest.guest_key):
            assert (
                await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)
            ).connections == 2
        assert (await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)).connections == 1
    attendee = await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)
    assert attendee.connections == 0
    assert attendee.left_at is not None
    await database_sync_to_async(services.broadcast_pause)(broadcast=live_broadcast, by=None)


async def test_a_page_gone_while_its_reply_is_sent_is_counted_out(
    live_broadcast, guest, monkeypatch
):
    """uvicorn raises ClientDisconnected (an OSError) on sending to a page that closed,
    and says nothing more: the page leaves then, or it would stay counted for ever."""
    from participation.realtime.hub import hubs
    from tests.participation.live_client import open_communicator

    communicator = await open_communicator(live_broadcast.slug, guest_key=guest.guest_key)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "snapshot"
    assert hubs.current().local_count(live_broadcast.slug) == 1

    async def gone(self, text_data=None, bytes_data=None, close=False):
        raise OSError("ClientDisconnected")

    monkeypatch.setattr(LiveConsumer, "send", gone)
    await communicator.send_to(text_data=json.dumps({"type": "ping", "ref": "last"}))
    await communicator.wait(timeout=5)  # the consumer ended, without an error
    assert (await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)).connections == 0
    assert hubs.current().local_count(live_broadcast.slug) == 0


@pytest.mark.parametrize("failing", ["attendees_for_connections", "attendees_connected"])
async def test_a_page_the_database_cannot_serve_now_is_asked_to_come_back(
    live_broadcast, guest, monkeypatch, failing
):
    """No pooled connection in time (or PostgreSQL down), while identifying the page or
    while counting it in: 1013 (try again later), which the page's socket reconnects
    after, and nothing counted."""
    from django.db import OperationalError

    from participation import admissions
    from tests.participation.live_client import open_communicator

    def refuse(*args, **kwargs):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr(admissions.services, failing, refuse)
    communicator = await open_communicator(live_broadcast.slug, guest_key=guest.guest_key)
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted, so that the close code reaches the page
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 1013)
    assert (await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)).connections == 0
    from participation.realtime.hub import hubs

    assert hubs.current().local_count(live_broadcast.slug) == 0
    await communicator.disconnect()  # as the page's browser does on the close
    assert (await database_sync_to_async(Attendee.objects.get)(pk=guest.pk)).connections == 0


@pytest.mark.parametrize("command", ["hand.approve", "question.hide", "rtc.signal"])
async def test_an_id_past_64_bits_is_invalid_not_a_failure(live_broadcast, host, command):
    """Found by the fuzzer: such an id reached the database, whose driver cannot send it
    (OverflowError on SQLite), and the host was told something went wrong."""
    huge = 10**30
    fields = {
        "hand.approve": {"attendee": huge},
        "question.hide": {"question": huge},
        "rtc.signal": {"to": huge, "data": {"kind": "bye", "pc": "p1"}},
    }[command]
    async with live_client(live_broadcast.slug, user=host) as console:
        reply = await console.command(command, **fields)
        assert (reply["type"], reply["code"]) == ("error", "invalid")
        assert reply["details"] == {next(iter(fields)): ["There is no such id."]}
        assert (await console.command("ping"))["type"] == "ack"
