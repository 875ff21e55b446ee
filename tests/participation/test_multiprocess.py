"""Two server processes share one Redis: an event from one reaches viewers of the other."""

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async

from tests.factories import GuestFactory
from tests.participation.live_client import guest_cookie, session_cookie
from tests.servers import running_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_servers(redis_url):
    # One of each ASGI server, so both are proven to carry the live path.
    with (
        running_server("daphne", REDIS_URL=redis_url) as first,
        running_server("uvicorn", REDIS_URL=redis_url) as second,
    ):
        yield first, second


class Socket:
    def __init__(self, connection):
        self.connection = connection
        self.frames = []

    async def receive_until(self, type_: str, timeout: float = 5, **match) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.connection.recv())
                self.frames.append(frame)
                if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def command(self, type_: str, ref: str) -> dict:
        await self.connection.send(json.dumps({"type": type_, "ref": ref}))
        return await self.receive_until("ack", ref=ref)


def connect(base: str, slug: str, cookie: str, query: str = ""):
    url = base.replace("http://", "ws://") + f"/ws/broadcasts/{slug}/" + query
    return websockets.connect(url, origin=base, additional_headers={"Cookie": cookie})


async def test_a_pause_on_one_process_reaches_a_viewer_on_the_other(
    two_servers, live_broadcast, host
):
    first, second = two_servers
    guest = await database_sync_to_async(GuestFactory)(
        broadcast=live_broadcast, display_name="Far Away"
    )
    host_cookie = await session_cookie(host)

    async with (
        connect(first, live_broadcast.slug, host_cookie) as host_ws,
        connect(second, live_broadcast.slug, guest_cookie(guest.guest_key)) as viewer_ws,
    ):
        console, viewer = Socket(host_ws), Socket(viewer_ws)
        snapshot = await viewer.receive_until("snapshot")
        assert snapshot["broadcast"]["state"] == "live"
        await console.receive_until("snapshot")

        # Presence crosses processes too: the host sees the viewer who joined elsewhere.
        audience = await console.receive_until("audience")
        while audience["count"] < 1:
            audience = await console.receive_until("audience")
        assert "Far Away" in [a["name"] for a in audience["sample"]]

        await console.command("broadcast.pause", ref="p1")
        paused = await viewer.receive_until("broadcast.state")
        assert paused["state"] == "paused"
        assert paused["seq"] > snapshot["seq"]
        seqs = [f["seq"] for f in viewer.frames[1:] if "seq" in f]
        assert seqs == list(range(snapshot["seq"] + 1, paused["seq"] + 1))
        epoch, seen = snapshot["epoch"], paused["seq"]

    # The replay log is shared: a viewer reconnecting to the other process resumes.
    async with connect(first, live_broadcast.slug, host_cookie) as host_ws:
        console = Socket(host_ws)
        await console.receive_until("snapshot")
        await console.command("broadcast.resume", ref="r1")
    async with connect(
        first, live_broadcast.slug, guest_cookie(guest.guest_key), f"?epoch={epoch}&since={seen}"
    ) as viewer_ws:
        viewer = Socket(viewer_ws)
        resumed = await viewer.receive_until("broadcast.state")
        assert resumed["state"] == "live"
        assert viewer.frames[0]["type"] != "snapshot"
        assert viewer.frames[0]["seq"] == seen + 1


async def test_uvicorn_as_the_readme_runs_it_refuses_a_big_frame_before_reading_it(
    redis_url, live_broadcast
):
    """The server's own limit (`--ws-max-size`) closes the socket with 1009 (message too
    big) as the frame's header arrives, instead of buffering megabytes first; a frame
    just under it is still a command."""
    guest = await database_sync_to_async(GuestFactory)(broadcast=live_broadcast)
    with running_server("uvicorn-workers", REDIS_URL=redis_url) as base:
        async with connect(base, live_broadcast.slug, guest_cookie(guest.guest_key)) as ws:
            socket = Socket(ws)
            await socket.receive_until("snapshot")
            await ws.send(json.dumps({"type": "ping", "ref": "big", "pad": "x" * 65_000}))
            await socket.receive_until("ack", ref="big")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.send("x" * 15_000_000)  # refused while it is still being sent
                async with asyncio.timeout(5):
                    while True:  # events of the room may come before the close
                        await ws.recv()
            assert ws.close_code == 1009


async def test_uvicorn_as_the_readme_runs_it_closes_handshakes_that_never_finish(
    redis_url, live_broadcast
):
    """Connections that send half a request (or of a WebSocket handshake) are closed
    within the headers timeout (config/http.py); a page is still served meanwhile."""
    from config.http import HEADERS_TIMEOUT_SECONDS

    with running_server("uvicorn-workers", REDIS_URL=redis_url) as base:
        port = int(base.rsplit(":", 1)[1])
        half_open = []
        for _ in range(20):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /ws/broadcasts/spring-launch/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            half_open.append((reader, writer))
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(HEADERS_TIMEOUT_SECONDS + 3):
            for reader, _ in half_open:
                assert await reader.read() == b""  # closed by the server, no answer
        assert asyncio.get_running_loop().time() - started >= HEADERS_TIMEOUT_SECONDS - 1
        for _, writer in half_open:
            writer.close()
        guest = await database_sync_to_async(GuestFactory)(broadcast=live_broadcast)
        async with connect(base, live_broadcast.slug, guest_cookie(guest.guest_key)) as ws:
            await Socket(ws).receive_until("snapshot")  # a handshake that finishes is served
