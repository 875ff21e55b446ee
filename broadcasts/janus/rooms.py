"""One VideoRoom room per broadcast: its id, secrets and access, and this process's
connections to Janus.

A room's id, secret, pin and each stage member's publisher token are derived from our
secret (HMAC), so every server process knows them without storing or sharing anything,
and nobody else can guess them. Rooms live in Janus's memory: the first publisher to
find its room missing (Janus restarted) creates it again. A room is always created with
an `allowed` list: a room without one lets anyone who has its pin publish.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from django.conf import settings

from .client import ROOM_EXISTS, JanusAdmin, JanusError, JanusSession
from .config import derived, janus_secret

logger = logging.getLogger(__name__)

# Publishers a room admits at once: a stage is small (host, co-hosts, a few speakers).
ROOM_PUBLISHERS = 12


def room_id(broadcast_id: int) -> int:
    # 52 bits: an exact integer in the browser's JSON too.
    return int(derived(f"room:{broadcast_id}")[:13], 16) or 1


def room_secret(room: int) -> str:
    return derived(f"room-secret:{room}")


def room_pin(room: int) -> str:
    return derived(f"room-pin:{room}")


def publisher_token(room: int, attendee_id: int) -> str:
    return derived(f"publisher:{room}:{attendee_id}")


class Connections:
    """This event loop's Janus session (pages' handles) and Admin API connection."""

    def __init__(self):
        secret = janus_secret()
        self.session = JanusSession(settings.JANUS_URL, secret)
        self.admin = JanusAdmin(settings.JANUS_ADMIN_URL, secret)


_connections: dict[asyncio.AbstractEventLoop, Connections] = {}


def connections() -> Connections:
    loop = asyncio.get_running_loop()
    found = _connections.get(loop)
    if found is None:
        for other in [known for known in _connections if known.is_closed()]:
            del _connections[other]
        found = _connections[loop] = Connections()
    return found


async def create_room(admin: JanusAdmin, room: int, allowed: list[str]) -> None:
    request = {
        "request": "create",
        "room": room,
        "admin_key": janus_secret(),
        "description": f"PrimeTime {room}",
        "secret": room_secret(room),
        "pin": room_pin(room),
        "is_private": True,
        "allowed": allowed,
        "publishers": ROOM_PUBLISHERS,
        "videocodec": "vp8",
        "audiocodec": "opus",
        # A late joiner waits at most this long for a keyframe.
        "fir_freq": 10,
        "bitrate": 2_500_000,
        "notify_joining": False,
        "permanent": False,
    }
    try:
        await admin.videoroom(request)
        logger.info("Janus room %s created", room)
    except JanusError as error:
        if error.code != ROOM_EXISTS:  # another process was first: fine
            raise


async def allow(admin: JanusAdmin, room: int, tokens: list[str]) -> None:
    await admin.videoroom(
        {
            "request": "allowed",
            "room": room,
            "secret": room_secret(room),
            "action": "add",
            "allowed": tokens,
        }
    )


async def revoke(admin: JanusAdmin, room: int, attendee_id: int) -> None:
    """Take a publisher's right away and their participant out: a modified page cannot
    keep sending, nor join again."""
    secret = room_secret(room)
    token = publisher_token(room, attendee_id)
    await admin.videoroom(
        {
            "request": "allowed",
            "room": room,
            "secret": secret,
            "action": "remove",
            "allowed": [token],
        }
    )
    try:
        await admin.videoroom(
            {"request": "kick", "room": room, "secret": secret, "id": attendee_id}
        )
    except JanusError as error:
        logger.debug("nothing to kick for %s in room %s: %s", attendee_id, room, error)


async def destroy(admin: JanusAdmin, room: int) -> None:
    await admin.videoroom({"request": "destroy", "room": room, "secret": room_secret(room)})


def _from_sync_code(operation, *args) -> None:
    """Run a room operation from a service (a worker thread, a Celery task, the admin)
    on a connection of its own; Janus being away is logged, not raised: the domain
    change stands, and a room is re-created with the right access when next needed."""

    async def run():
        admin = JanusAdmin(settings.JANUS_ADMIN_URL, janus_secret())
        try:
            await asyncio.wait_for(operation(admin, *args), 5)
        finally:
            await admin.close()

    try:
        async_to_sync(run)()
    except (JanusError, TimeoutError) as error:
        logger.warning("Janus %s%s did not happen: %s", operation.__name__, args, error)


def revoke_now(broadcast_id: int, attendee_id: int) -> None:
    _from_sync_code(revoke, room_id(broadcast_id), attendee_id)


def destroy_now(broadcast_id: int) -> None:
    _from_sync_code(destroy, room_id(broadcast_id))
