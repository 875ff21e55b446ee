"""A page's peer connections with Janus, signalled over its live socket.

The page speaks the same `rtc.signal` it speaks on mesh. A viewer's `request` to a
stage member becomes a subscriber handle on that member's feed, and Janus's offer goes
back to the page as if the member had sent it; the page's answer and candidates go to
that handle. A stage member publishes by sending its `offer` to itself: a publisher
handle joins the room with the member's feed id (their attendee id) and token, and
Janus's answer comes back from "itself". Janus's own candidates, and a `bye` when a
handle is gone (hung up, kicked, Janus restarted), reach the page the same way, so
that it connects again as it does on mesh.

Who may do what was decided from the database before this runs (`SfuSignal`); this
module only talks to Janus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import Conflict, NotFound
from participation.realtime import events

from .client import ID_EXISTS, NO_SUCH_FEED, NO_SUCH_ROOM, UNAUTHORIZED, Handle, JanusError
from .rooms import allow, connections, create_room, publisher_token, room_pin, room_secret

logger = logging.getLogger(__name__)

RECONNECTING = "Video is reconnecting; the page tries again by itself."
NOT_SENDING = "This person is not sending video yet."
# How often a publishing page hears how many subscribers Janus has for its stream.
SUBSCRIBERS_REPORT_SECONDS = 2.0


@dataclass(frozen=True)
class SfuSignal:
    """A page's signal, checked against the database, for Janus."""

    kind: str
    pc: str
    sender: int
    # Whose feed the signal is about: the sender's own when publishing.
    feed: int
    room: int
    data: dict
    # When publishing: the tokens of everyone on stage now, to create the room with.
    stage_tokens: tuple[str, ...] = ()

    async def run_on_loop(self, page) -> None:
        """The command's second half, on the event loop with the page that sent it."""
        await page.media_peers().handle(self)


@dataclass
class Peer:
    handle: Handle
    feed: int
    publishing: bool
    layer: int | None = None  # a subscriber's simulcast layer, once it has started
    video_mid: str | None = None
    reporter: asyncio.Task | None = None  # a publisher's subscriber count
    # Janus trickles its candidates while it answers or offers, so they would reach the
    # page before the SDP they belong to (and be refused there): held until it is sent.
    described: bool = False
    early_candidates: list = field(default_factory=list)

    def send_description(self, push, frame: dict) -> None:
        push(frame)
        self.described = True
        for candidate in self.early_candidates:
            push(candidate)
        self.early_candidates.clear()


# Every page with handles in this process: told when the Janus session is lost.
_pages: weakref.WeakSet[PagePeers] = weakref.WeakSet()
_watched_sessions: weakref.WeakSet = weakref.WeakSet()


class PagePeers:
    def __init__(self, push: Callable[[dict], None], on_published: Callable[[], None]):
        self.push = push  # a private frame to this page
        self.on_published = on_published  # tell viewers to subscribe (media.ready)
        self.peers: dict[str, Peer] = {}
        self.closed = False
        conns = connections()
        self.session, self.admin = conns.session, conns.admin
        if self.session not in _watched_sessions:
            _watched_sessions.add(self.session)
            self.session.lost_listeners.append(_session_lost)
        _pages.add(self)

    async def handle(self, signal: SfuSignal) -> None:
        kind = signal.kind
        if kind == "offer":
            await self._publish(signal)
        elif kind == "request":
            await self._subscribe(signal)
        else:
            peer = self.peers.get(signal.pc)
            if peer is None or peer.feed != signal.feed:
                return  # a late signal of a connection that is gone: nothing to do
            if kind == "answer":
                await self._call(
                    peer.handle.message({"request": "start"}, jsep=_jsep("answer", signal))
                )
                if peer.layer is not None and peer.video_mid is not None:
                    await self._call(
                        peer.handle.message(
                            {
                                "request": "configure",
                                "streams": [{"mid": peer.video_mid, "substream": peer.layer}],
                            }
                        )
                    )
            elif kind == "candidate":
                await self._call(peer.handle.trickle(signal.data.get("candidate")))
            elif kind == "bye":
                await self.drop(signal.pc)

    async def _call(self, awaitable):
        try:
            return await awaitable
        except JanusError as error:
            logger.info("Janus refused a signal: %s", error)
            raise Conflict(RECONNECTING) from None

    async def _attach(self, pc: str, feed: int, publishing: bool) -> Peer:
        await self.drop(pc)
        handle = await self.session.attach(lambda message: self._event(pc, message))
        peer = self.peers[pc] = Peer(handle=handle, feed=feed, publishing=publishing)
        return peer

    async def _publish(self, signal: SfuSignal) -> None:
        # One publisher connection per page: a new offer replaces the previous one.
        for pc, peer in list(self.peers.items()):
            if peer.publishing:
                await self.drop(pc)
        try:
            peer = await self._attach(signal.pc, signal.sender, True)
            join = {
                "request": "join",
                "ptype": "publisher",
                "room": signal.room,
                "pin": room_pin(signal.room),
                "id": signal.sender,
                "token": publisher_token(signal.room, signal.sender),
                # Nothing personal: participants can be listed by anyone who reaches Janus.
                "display": str(signal.sender),
            }
            await self._join(join, signal)
            _, jsep = await peer.handle.message(
                {"request": "publish", "audio": True, "video": True}, jsep=_jsep("offer", signal)
            )
        except JanusError as error:
            await self.drop(signal.pc)
            logger.info("publishing %s in room %s failed: %s", signal.sender, signal.room, error)
            raise Conflict(RECONNECTING) from None
        if jsep is None:
            await self.drop(signal.pc)
            raise Conflict(RECONNECTING)
        answer = _signal_frame(signal.sender, signal.pc, {"kind": "answer", "sdp": jsep["sdp"]})
        peer.send_description(self.push, answer)
        self.on_published()
        peer.reporter = asyncio.get_running_loop().create_task(
            self._report_subscribers(signal.pc, peer)
        )

    async def _report_subscribers(self, pc: str, peer: Peer) -> None:
        """While this page publishes, tell it how many subscribers Janus has for its
        stream, whenever that changes: Janus counts them across every server process."""
        last = None
        while self.peers.get(pc) is peer and not self.closed:
            try:
                info = await self.admin.handle_info(self.session.session_id, peer.handle.id)
            except JanusError as error:
                logger.debug("no subscriber count for feed %s: %s", peer.feed, error)
            else:
                streams = (info.get("plugin_specific") or {}).get("streams") or []
                count = max((stream.get("subscribers", 0) for stream in streams), default=0)
                if count != last:
                    last = count
                    self.push(events.media_subscribers(count=count))
            await asyncio.sleep(SUBSCRIBERS_REPORT_SECONDS)

    async def _join(self, join: dict, signal: SfuSignal) -> None:
        """Join as publisher, mending what a Janus restart or a reload leaves behind."""
        peer = self.peers[signal.pc]
        for _ in range(3):
            try:
                await peer.handle.message(join)
                return
            except JanusError as error:
                if error.code == NO_SUCH_ROOM:
                    await create_room(self.admin, signal.room, list(signal.stage_tokens))
                elif error.code == UNAUTHORIZED:
                    # On stage by the database (checked before this ran), not yet in
                    # Janus's list: a co-host who came later, a speaker just approved.
                    await allow(self.admin, signal.room, [join["token"]])
                elif error.code == ID_EXISTS:
                    # This person's previous page (before a reload) still holds the feed.
                    await self.admin.videoroom(
                        {
                            "request": "kick",
                            "room": signal.room,
                            "secret": room_secret(signal.room),
                            "id": signal.sender,
                        }
                    )
                else:
                    raise
        await peer.handle.message(join)

    async def _subscribe(self, signal: SfuSignal) -> None:
        try:
            peer = await self._attach(signal.pc, signal.feed, False)
            data, jsep = await peer.handle.message(
                {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": signal.room,
                    "pin": room_pin(signal.room),
                    "streams": [{"feed": signal.feed}],
                    "use_msid": True,
                }
            )
        except JanusError as error:
            await self.drop(signal.pc)
            if error.code in (NO_SUCH_ROOM, NO_SUCH_FEED):
                raise NotFound(NOT_SENDING) from None
            logger.info("subscribing to %s failed: %s", signal.feed, error)
            raise Conflict(RECONNECTING) from None
        if jsep is None:
            await self.drop(signal.pc)
            raise NotFound(NOT_SENDING)
        peer.layer = signal.data.get("layer")
        peer.video_mid = next(
            (s.get("mid") for s in data.get("streams", []) if s.get("type") == "video"), None
        )
        offer = _signal_frame(signal.feed, signal.pc, {"kind": "offer", "sdp": jsep["sdp"]})
        peer.send_description(self.push, offer)

    def _event(self, pc: str, message: dict) -> None:
        peer = self.peers.get(pc)
        if peer is None or self.closed:
            return
        kind = message.get("janus")
        if kind == "trickle":
            candidate = message.get("candidate") or {}
            if candidate.get("completed"):
                candidate = None
            frame = _signal_frame(peer.feed, pc, {"kind": "candidate", "candidate": candidate})
            if peer.described:
                self.push(frame)
            else:
                peer.early_candidates.append(frame)
        elif kind in ("hangup", "detached"):
            # Janus closed this connection (the publisher was kicked or left, ICE failed):
            # the page connects again, or stops, as the stage says.
            asyncio.get_running_loop().create_task(self.drop(pc, tell_page=True))
        elif kind == "event":
            data = (message.get("plugindata") or {}).get("data") or {}
            if data.get("leaving") == "ok" or data.get("videoroom") == "destroyed":
                asyncio.get_running_loop().create_task(self.drop(pc, tell_page=True))

    async def drop(self, pc: str, *, tell_page: bool = False) -> None:
        peer = self.peers.pop(pc, None)
        if peer is None:
            return
        if peer.reporter is not None:
            peer.reporter.cancel()
        if tell_page:
            self.push(_signal_frame(peer.feed, pc, {"kind": "bye"}))
        await peer.handle.detach()

    def lost(self) -> None:
        """The Janus session is gone, and every handle with it."""
        for pc, peer in list(self.peers.items()):
            self.peers.pop(pc, None)
            if peer.reporter is not None:
                peer.reporter.cancel()
            if not self.closed:
                self.push(_signal_frame(peer.feed, pc, {"kind": "bye", "reason": "reconnecting"}))

    async def close(self) -> None:
        self.closed = True
        _pages.discard(self)
        for pc in list(self.peers):
            with contextlib.suppress(JanusError):
                await self.drop(pc)


def _session_lost() -> None:
    for page in list(_pages):
        page.lost()


def _jsep(kind: str, signal: SfuSignal) -> dict:
    return {"type": kind, "sdp": signal.data["sdp"]}


def _signal_frame(sender: int, pc: str, data: dict) -> dict:
    return events.rtc_signal(sender=sender, data={**data, "pc": pc})
