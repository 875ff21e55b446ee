"""Janus for tests: a veth carrying 127.0.0.2 (Janus skips loopback interfaces when it
gathers ICE candidates), and Janus on free loopback ports with our configuration."""

import contextlib
import subprocess

from django.test import override_settings

from broadcasts.janus.process import JanusProcess
from tests.servers import ARTIFACTS, free_port

MEDIA_IP = "127.0.0.2"
VETH = "ptj0"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@contextlib.contextmanager
def media_interface():
    """127.0.0.2 on a veth of its own, removed afterwards (if we made it)."""
    if MEDIA_IP in _ip("-4", "addr", "show", "dev", VETH, check=False).stdout:
        yield MEDIA_IP
        return
    _ip("link", "add", VETH, "type", "veth", "peer", "name", "ptj1")
    try:
        _ip("addr", "add", f"{MEDIA_IP}/32", "dev", VETH)
        _ip("link", "set", VETH, "up")
        _ip("link", "set", "ptj1", "up")
        yield MEDIA_IP
    finally:
        _ip("link", "del", VETH, check=False)


class TestJanus:
    """Janus started (and restarted) with the test's settings. The settings are applied
    only while it starts: pytest-django's `settings` fixture restores Django's settings
    after each test, so a longer-lived override would be lost."""

    def __init__(self, overrides: dict, log_path):
        self.overrides = overrides
        self.process = JanusProcess(log_path=log_path)

    def start(self):
        with override_settings(**self.overrides):
            self.process.start()
        return self

    def stop(self):
        self.process.stop()


@contextlib.contextmanager
def running_janus():
    """Janus with our configuration; yields (the environment a server needs to use it,
    the running Janus)."""
    api, admin = free_port(), free_port()
    first_rtp = 20000 + (api % 40) * 500
    env = {
        "MEDIA_BACKEND": "janus",
        "JANUS_URL": f"ws://127.0.0.1:{api}",
        "JANUS_ADMIN_URL": f"ws://127.0.0.1:{admin}",
        "JANUS_RTP_PORTS": f"{first_rtp}-{first_rtp + 499}",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    with media_interface() as media_ip:
        overrides = {
            "JANUS_URL": env["JANUS_URL"],
            "JANUS_ADMIN_URL": env["JANUS_ADMIN_URL"],
            "JANUS_RTP_PORTS": env["JANUS_RTP_PORTS"],
            "JANUS_MEDIA_IP": media_ip,
            "JANUS_CONFIG_DIR": ARTIFACTS / f"janus-{api}",
        }
        janus = TestJanus(overrides, ARTIFACTS / f"janus-{api}.log").start()
        try:
            yield env | {"JANUS_MEDIA_IP": media_ip}, janus
        finally:
            janus.stop()


def _run(env: dict, coroutine_function, *args):
    """Run `coroutine_function(admin, session, *args)` against the test Janus (`env`, as
    `running_janus` gives it) from sync test code (in a thread: Playwright keeps an
    event loop in the test's own)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from broadcasts.janus.client import JanusAdmin, JanusSession
    from broadcasts.janus.config import janus_secret

    async def run():
        admin = JanusAdmin(env["JANUS_ADMIN_URL"], janus_secret())
        session = JanusSession(env["JANUS_URL"], janus_secret())
        try:
            return await coroutine_function(admin, session, *args)
        finally:
            await session.close()
            await admin.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def room_participants(env: dict, broadcast_id: int) -> list[int]:
    """The feed ids in a broadcast's Janus room (none when there is no room)."""
    from broadcasts.janus.client import JanusError
    from broadcasts.janus.rooms import room_id

    async def participants(admin, session):
        try:
            room = room_id(broadcast_id)
            reply = await admin.videoroom({"request": "listparticipants", "room": room})
        except JanusError:
            return []
        return [p["id"] for p in reply["participants"]]

    return _run(env, participants)


def publish_refusal(env: dict, broadcast_id: int, attendee_id: int) -> int | None:
    """Join the broadcast's room as `attendee_id`'s publisher, with their token, as a
    modified page would if it talked to Janus: the error code, or None if let in."""
    from broadcasts.janus.client import JanusError
    from broadcasts.janus.rooms import publisher_token, room_id, room_pin

    async def join(admin, session):
        room = room_id(broadcast_id)
        handle = await session.attach()
        try:
            await handle.message(
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": room,
                    "pin": room_pin(room),
                    "id": attendee_id,
                    "token": publisher_token(room, attendee_id),
                }
            )
        except JanusError as error:
            return error.code
        return None

    return _run(env, join)
