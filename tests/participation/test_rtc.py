"""WebRTC signalling over the live socket: `rtc.signal` is relayed to one peer only."""

import base64
import hmac
import json
import time

import pytest
from channels.db import database_sync_to_async

from broadcasts import services
from tests.factories import BroadcastFactory, GuestFactory
from tests.participation.live_client import live_client

pytestmark = pytest.mark.django_db(transaction=True)

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def test_a_viewer_request_reaches_the_host_and_the_offer_only_that_viewer(
    live_broadcast, host, guests
):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer_a,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as viewer_b,
    ):
        host_id = console.snapshot["me"]["id"]
        reply = await viewer_a.command(
            "rtc.signal", to=host_id, data={"kind": "request", "pc": "pc-a1", "evil": "<x>"}
        )
        assert reply["type"] == "ack"
        request = await console.receive_until("rtc.signal")
        # Exactly the validated fields travel: nothing a client adds rides along.
        assert request == {
            "type": "rtc.signal",
            "from": ann.pk,
            "data": {"kind": "request", "pc": "pc-a1"},
        }

        await console.command(
            "rtc.signal", to=ann.pk, data={"kind": "offer", "pc": "pc-a1", "sdp": SDP}
        )
        offer = await viewer_a.receive_until("rtc.signal")
        assert offer["from"] == host_id
        assert offer["data"] == {"kind": "offer", "pc": "pc-a1", "sdp": SDP}

        candidate = {
            "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
        await viewer_a.command(
            "rtc.signal",
            to=host_id,
            data={"kind": "candidate", "pc": "pc-a1", "candidate": candidate},
        )
        relayed = await console.receive_until("rtc.signal")
        assert relayed["data"]["candidate"] == candidate
        await viewer_a.command(
            "rtc.signal", to=host_id, data={"kind": "candidate", "pc": "pc-a1", "candidate": None}
        )
        assert (await console.receive_until("rtc.signal"))["data"]["candidate"] is None

        await viewer_b.drain()
        assert not [f for f in viewer_b.frames if f["type"] == "rtc.signal"]


async def test_signals_between_two_viewers_are_refused(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer_a,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as viewer_b,
    ):
        reply = await viewer_a.command(
            "rtc.signal", to=ben.pk, data={"kind": "offer", "pc": "x", "sdp": SDP}
        )
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
        await viewer_b.drain()
        assert not [f for f in viewer_b.frames if f["type"] == "rtc.signal"]


async def test_signals_to_yourself_or_outside_the_broadcast_are_refused(live_broadcast, host):
    other = await database_sync_to_async(BroadcastFactory)(host=host)
    await database_sync_to_async(services.broadcast_start)(broadcast=other, by=host)
    outsider = await database_sync_to_async(GuestFactory)(broadcast=other)
    async with live_client(live_broadcast.slug, user=host) as console:
        me = console.snapshot["me"]["id"]
        to_self = await console.command("rtc.signal", to=me, data={"kind": "bye", "pc": "p"})
        assert to_self["code"] == "forbidden"
        elsewhere = await console.command(
            "rtc.signal", to=outsider.pk, data={"kind": "bye", "pc": "p"}
        )
        assert elsewhere["code"] == "not_found"
        nobody = await console.command("rtc.signal", to=999_999, data={"kind": "bye", "pc": "p"})
        assert nobody["code"] == "not_found"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"to": "host", "data": {"kind": "bye", "pc": "p"}},
        {"to": 1, "data": "offer"},
        {"to": 1, "data": {"kind": "hello", "pc": "p"}},
        {"to": 1, "data": {"kind": "offer", "pc": "p"}},
        {"to": 1, "data": {"kind": "candidate", "pc": "p"}},
        {"to": 1, "data": {"kind": "bye", "pc": "no spaces allowed"}},
        {"to": 1, "data": {"kind": "offer", "pc": "p", "sdp": "x" * 60_001}},
    ],
)
async def test_malformed_signals_are_invalid(live_broadcast, guests, fields):
    async with live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as viewer:
        reply = await viewer.command("rtc.signal", **fields)
        assert (reply["type"], reply["code"]) == ("error", "invalid")
        assert reply["details"]


async def test_a_request_before_the_broadcast_is_live_is_a_conflict(scheduled_broadcast, host):
    guest = await database_sync_to_async(GuestFactory)(broadcast=scheduled_broadcast)
    async with (
        live_client(scheduled_broadcast.slug, user=host) as console,
        live_client(scheduled_broadcast.slug, guest_key=guest.guest_key) as viewer,
    ):
        host_id = console.snapshot["me"]["id"]
        reply = await viewer.command("rtc.signal", to=host_id, data={"kind": "request", "pc": "p"})
        assert reply["code"] == "conflict"


async def test_a_full_mesh_session_tells_late_viewers_and_refuses_their_requests(
    live_broadcast, host, guests, settings
):
    settings.MESH_MAX_VIEWERS = 1
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as first,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as second,
    ):
        host_id = console.snapshot["me"]["id"]
        assert console.snapshot["media"]["publish"] is True
        assert first.snapshot["media"] | {"ice_servers": None} == {
            "backend": "mesh",
            "ice_servers": None,
            "ice_transport_policy": "all",
            "publish": False,
            "receive": "stage",
            "max_viewers": 1,
            "offer_timeout_ms": 8000,
            "allowed": True,
            "message": "",
        }
        assert second.snapshot["media"]["allowed"] is False
        assert "limited to 1 viewer in" in second.snapshot["media"]["message"]

        ok = await first.command("rtc.signal", to=host_id, data={"kind": "request", "pc": "a"})
        assert ok["type"] == "ack"
        full = await second.command("rtc.signal", to=host_id, data={"kind": "request", "pc": "b"})
        assert full["code"] == "conflict"
        # Other signalling of an admitted peer is not counted against the limit.
        bye = await first.command("rtc.signal", to=host_id, data={"kind": "bye", "pc": "a"})
        assert bye["type"] == "ack"

    # When the first viewer leaves, the second gets a place.
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as second,
    ):
        assert second.snapshot["media"]["allowed"] is True


async def test_each_page_gets_its_own_time_limited_turn_credentials(
    live_broadcast, host, guests, settings
):
    settings.ICE_SERVER_URLS = ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478"]
    settings.TURN_SECRET = "coturn-static-auth-secret"
    settings.TURN_TTL_SECONDS = 3600
    settings.ICE_TRANSPORT_POLICY = "relay"
    before = int(time.time())
    async with (
        live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as viewer,
        live_client(live_broadcast.slug, user=host) as console,
    ):
        pages = [viewer, console]
        for page in pages:
            media = page.snapshot["media"]
            assert media["ice_transport_policy"] == "relay"
            stun, turn = media["ice_servers"]
            assert stun == {"urls": ["stun:127.0.0.1:3478"]}
            assert turn["urls"] == ["turn:127.0.0.1:3478"]
            expiry, attendee = turn["username"].split(":")
            assert attendee == str(page.snapshot["me"]["id"])
            assert before + 3600 <= int(expiry) <= int(time.time()) + 3600
            # What coturn computes from its static-auth-secret to check the password.
            digest = hmac.new(b"coturn-static-auth-secret", turn["username"].encode(), "sha1")
            assert turn["credential"] == base64.b64encode(digest.digest()).decode()
        assert viewer.snapshot["media"]["ice_servers"] != console.snapshot["media"]["ice_servers"]
        assert "coturn-static-auth-secret" not in json.dumps(viewer.snapshot)


async def test_media_ready_tells_every_viewer_and_is_for_the_stage_only(
    live_broadcast, host, guests
):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as viewer,
    ):
        assert (await console.command("media.ready"))["type"] == "ack"
        ready = await viewer.receive_until("media.ready")
        assert ready["attendee"]["id"] == console.snapshot["me"]["id"]
        assert ready["seq"] > viewer.snapshot["seq"]
        assert (await viewer.command("media.ready"))["code"] == "forbidden"


async def test_signalling_has_its_own_rate_limit(live_broadcast, host, guests, settings):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=guests[0].guest_key),
    ):
        # More signals than the command burst allows go through: a host answers a crowd.
        for n in range(settings.LIVE_COMMAND_BURST + 10):
            data = {"kind": "candidate", "pc": f"p{n}", "candidate": None}
            reply = await console.command("rtc.signal", to=guests[0].pk, data=data)
            assert reply["type"] == "ack", reply


# --- The Janus backend: who may ask for what is decided before Janus is asked ----------


async def test_on_the_sfu_only_the_stage_publishes_and_viewers_only_subscribe(
    live_broadcast, host, guests, settings
):
    settings.MEDIA_BACKEND = "janus"
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer,
    ):
        media = viewer.snapshot["media"]
        assert (media["backend"], media["publish"], media["allowed"]) == ("janus", False, True)
        assert console.snapshot["media"]["publish"] is True
        host_id = console.snapshot["me"]["id"]
        refused = [
            # A viewer publishing (an offer to herself), offering to the host, to a viewer,
            # or subscribing to another viewer.
            (ann.pk, {"kind": "offer", "pc": "p1", "sdp": SDP}),
            (host_id, {"kind": "offer", "pc": "p2", "sdp": SDP}),
            (ben.pk, {"kind": "request", "pc": "p3"}),
            (ann.pk, {"kind": "request", "pc": "p4"}),
        ]
        for to, data in refused:
            reply = await viewer.command("rtc.signal", to=to, data=data)
            assert (reply["type"], reply["code"]) == ("error", "forbidden"), (to, data)
        # The host signalling with itself may only publish, not ask for its own feed.
        reply = await console.command("rtc.signal", to=host_id, data={"kind": "request", "pc": "x"})
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
