"""Media backends: how WebRTC media flows for a broadcast (DESIGN section 5).

Django is the control plane. A backend says what a page needs to join the media of a
broadcast (ICE servers, whether it publishes, whom it receives from, whether there is
room for it) and which signalling it allows. Pages and the participation code only
talk to this interface, so an SFU backend plugs in beside `mesh`.
"""

import base64
import hashlib
import hmac
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings

from core.errors import Conflict, Forbidden

SIGNAL_KINDS = ("request", "offer", "answer", "candidate", "bye")


@dataclass(frozen=True)
class Participant:
    """What a backend needs to know of a person in a broadcast."""

    id: int
    on_stage: bool
    # Among viewers online now, how many came before this one (None for stage members),
    # counted up to the backend's `rank_limit`: ranks beyond it are all alike.
    viewer_rank: int | None = None


def turn_credentials(attendee_id: int, *, now: float | None = None) -> tuple[str, str]:
    """A username and password the TURN server accepts until they expire, without
    storing them: coturn's REST scheme (use-auth-secret), the HMAC-SHA1 of
    "<expiry>:<attendee>" with the secret both sides share."""
    expiry = int(time.time() if now is None else now) + settings.TURN_TTL_SECONDS
    username = f"{expiry}:{attendee_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(attendee_id: int) -> list[dict]:
    """The snapshot's ICE servers: STUN as configured, TURN with this person's own
    time-limited credentials (a page gets fresh ones with each snapshot)."""
    stun = [url for url in settings.ICE_SERVER_URLS if url.startswith(("stun:", "stuns:"))]
    turn = [url for url in settings.ICE_SERVER_URLS if url.startswith(("turn:", "turns:"))]
    servers: list[dict] = [{"urls": stun}] if stun else []
    if turn:
        username, credential = turn_credentials(attendee_id)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def rtc_configuration(attendee_id: int) -> dict:
    return {
        "ice_servers": ice_servers(attendee_id),
        "ice_transport_policy": settings.ICE_TRANSPORT_POLICY,
    }


class MediaBackend(ABC):
    name: str
    # The highest viewer rank the backend tells apart (see Participant.viewer_rank).
    rank_limit: int = 0

    @abstractmethod
    def session(self, *, participant: Participant) -> dict:
        """The snapshot's `media`: everything a page needs to send or receive."""

    @abstractmethod
    def check_signal(self, *, sender: Participant, recipient: Participant, kind: str) -> None:
        """Raise a domain error unless `sender` may send this signal to `recipient`."""

    @abstractmethod
    def deliver(self, *, broadcast_id: int, sender: int, recipient: int, data: dict, stage):
        """Carry a checked signal: relayed to the recipient's pages (mesh), or returned
        to run on the sender's connection (an SFU). `stage()` lists who is on stage."""

    def left_stage(self, *, broadcast_id: int, attendee_id: int) -> None:  # noqa: B027 (optional)
        """After commit, when someone is no longer on stage: stop what they send."""

    def ended(self, *, broadcast_id: int) -> None:  # noqa: B027 (optional)
        """After commit, when the broadcast ends: free its media resources."""


class MeshBackend(MediaBackend):
    """Every stage member sends straight to every viewer's browser; no media server.

    Each viewer costs the host one more encoded upload, so a mesh session serves at
    most MESH_MAX_VIEWERS viewers; the ones after that are told so.
    """

    name = "mesh"

    def __init__(self, max_viewers: int):
        self.max_viewers = max_viewers
        self.rank_limit = max_viewers

    def has_room(self, participant: Participant) -> bool:
        return participant.on_stage or (participant.viewer_rank or 0) < self.max_viewers

    def session(self, *, participant: Participant) -> dict:
        allowed = self.has_room(participant)
        return {
            "backend": self.name,
            **rtc_configuration(participant.id),
            "publish": participant.on_stage,
            "receive": "stage",
            "max_viewers": self.max_viewers,
            "offer_timeout_ms": settings.MEDIA_OFFER_TIMEOUT_MS,
            "allowed": allowed,
            "message": "" if allowed else self.full_message(),
        }

    def full_message(self) -> str:
        return (
            f"Live video is limited to {self.max_viewers} "
            f"viewer{'' if self.max_viewers == 1 else 's'} in this session and it is full "
            "right now. Stay on this page: video starts as soon as a place frees up."
        )

    def check_signal(self, *, sender: Participant, recipient: Participant, kind: str) -> None:
        if sender.id == recipient.id:
            raise Forbidden("A signal goes to another person.")
        # Media flows between the stage and everyone else, and among the stage.
        if not (sender.on_stage or recipient.on_stage):
            raise Forbidden("Signals go to or from someone on stage.")
        if kind == "request" and not self.has_room(sender):
            raise Conflict(self.full_message())

    def deliver(self, *, broadcast_id: int, sender: int, recipient: int, data: dict, stage):
        from participation.realtime.events import rtc_signal
        from participation.realtime.publish import send_private

        send_private(recipient, rtc_signal(sender=sender, data=data))


class JanusBackend(MediaBackend):
    """The Janus VideoRoom SFU: stage members publish once, viewers subscribe
    (broadcasts/janus/). Any number of viewers; Janus's capacity is the limit."""

    name = "janus"

    def session(self, *, participant: Participant) -> dict:
        return {
            "backend": self.name,
            **rtc_configuration(participant.id),
            "publish": participant.on_stage,
            "receive": "stage",
            "offer_timeout_ms": settings.MEDIA_OFFER_TIMEOUT_MS,
            "allowed": True,
            "message": "",
        }

    def check_signal(self, *, sender: Participant, recipient: Participant, kind: str) -> None:
        if sender.id == recipient.id:
            # Signalling with "yourself" is publishing your own feed to the SFU.
            if not sender.on_stage:
                raise Forbidden("Only people on stage send video.")
            if kind not in ("offer", "candidate", "bye"):
                raise Forbidden("A publisher sends its offer, candidates and bye.")
            return
        if not recipient.on_stage:
            raise Forbidden("Video comes from the people on stage.")
        if kind == "offer":
            raise Forbidden("Only the media server offers video to a viewer.")

    def deliver(self, *, broadcast_id: int, sender: int, recipient: int, data: dict, stage):
        from .janus.peers import SfuSignal
        from .janus.rooms import publisher_token, room_id

        room = room_id(broadcast_id)
        publishing = sender == recipient and data["kind"] == "offer"
        return SfuSignal(
            kind=data["kind"],
            pc=data["pc"],
            sender=sender,
            feed=recipient,
            room=room,
            data=data,
            stage_tokens=tuple(publisher_token(room, a) for a in stage()) if publishing else (),
        )

    def left_stage(self, *, broadcast_id: int, attendee_id: int) -> None:
        from .janus.rooms import revoke_now

        revoke_now(broadcast_id, attendee_id)

    def ended(self, *, broadcast_id: int) -> None:
        from .janus.rooms import destroy_now

        destroy_now(broadcast_id)


BACKENDS = {
    "mesh": lambda: MeshBackend(settings.MESH_MAX_VIEWERS),
    "janus": JanusBackend,
}


def media_backend() -> MediaBackend:
    # Settings refuse any MEDIA_BACKEND without an entry here.
    return BACKENDS[settings.MEDIA_BACKEND]()
