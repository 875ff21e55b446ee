"""A small live-protocol client for consumer tests, over Channels' WebsocketCommunicator."""

import json
import uuid
from contextlib import asynccontextmanager
from urllib.parse import quote

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from participation.guests import guest_cookie_value

ORIGIN = b"http://localhost"


def widget_query(key: uuid.UUID) -> str:
    """The query string of the embedded widget's socket for the guest with `key`."""
    return f"guest={quote(guest_cookie_value(key))}"


class LiveClient:
    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.snapshot: dict | None = None
        self.seq: int | None = None
        self.frames: list[dict] = []
        # Frames a command passed over while waiting for its reply, in order: an event
        # may come before the reply to the command that caused it.
        self._unread: list[dict] = []
        self._ref = 0
        # The commands this client sent, by ref: what its replies answer.
        self.sent: dict[str, dict] = {}

    async def receive(self, timeout: float = 5) -> dict:
        if self._unread:
            return self._unread.pop(0)
        return await self._receive_new(timeout)

    async def _receive_new(self, timeout: float) -> dict:
        frame = json.loads(await self.communicator.receive_from(timeout=timeout))
        if "seq" in frame and frame["type"] != "snapshot":
            # Public events arrive in order, without gaps.
            if self.seq is not None:
                assert frame["seq"] == self.seq + 1, (frame, self.seq)
            self.seq = frame["seq"]
        self.frames.append(frame)
        return frame

    async def receive_until(self, type_: str, timeout: float = 5, **match) -> dict:
        while True:
            frame = await self.receive(timeout=timeout)
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def command(self, type_: str, **fields) -> dict:
        """Send a command and return its reply (ack or error), skipping events on the way."""
        self._ref += 1
        ref = f"r{self._ref}"
        self.sent[ref] = {"type": type_, **fields}
        await self.communicator.send_to(text_data=json.dumps({"type": type_, "ref": ref, **fields}))
        while True:
            frame = await self._receive_new(timeout=5)
            if frame["type"] in ("ack", "error") and frame.get("ref") == ref:
                return frame
            self._unread.append(frame)

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def drain(self, quiet: float = 0.3) -> None:
        """Read every frame until the socket has been quiet for `quiet` seconds."""
        self._unread.clear()
        while not await self.communicator.receive_nothing(timeout=quiet):
            await self.receive()

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        if self._unread:
            return False
        return await self.communicator.receive_nothing(timeout=timeout)


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def guest_cookie(key: uuid.UUID) -> str:
    return f"{settings.GUEST_COOKIE_NAME}={guest_cookie_value(key)}"


async def open_communicator(
    slug: str,
    *,
    user=None,
    guest_key=None,
    query="",
    origin=ORIGIN,
    path_suffix="",
    address="127.0.0.1",
):
    cookies = []
    if user is not None:
        cookies.append(await session_cookie(user))
    if guest_key is not None:
        cookies.append(guest_cookie(guest_key))
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode()))
    path = f"/ws/broadcasts/{slug}/{path_suffix}" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["client"] = (address, 50000)
    return communicator


@asynccontextmanager
async def live_client(slug: str, *, expect_snapshot: bool = True, **kwargs):
    """Connect, read the snapshot (unless replay is expected), and always close cleanly."""
    communicator = await open_communicator(slug, **kwargs)
    connected, code = await communicator.connect(timeout=5)
    assert connected, f"connection refused with close code {code}"
    client = LiveClient(communicator)
    try:
        if expect_snapshot:
            client.snapshot = await client.receive()
            assert client.snapshot["type"] == "snapshot", client.snapshot
            client.seq = client.snapshot["seq"]
        yield client
    finally:
        await communicator.disconnect()


async def refused(slug: str, **kwargs) -> int | None:
    """Try to connect; return the close code if the server refused, None if it accepted."""
    communicator = await open_communicator(slug, **kwargs)
    connected, code = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
        return None
    return code
