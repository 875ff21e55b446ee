"""The event catalogue: every frame the server sends that is not a reply to a command
(DESIGN section 4's events, and the few the product adds), one constructor each.

Publishers build their frames here and nowhere else, so that a frame's shape is
written once, next to its siblings, and the protocol's tests can hold the catalogue
to DESIGN's list (tests/participation/test_event_catalogue.py). The keys come out in
the order they always had: the frames are a contract, down to the byte.

Constructors take what the domain has already presented (an attendee as
`presenters.attendee_public` shows it, a question as `question_public` does): this
layer knows no models. Datetimes stay datetimes; `frames.encode` writes them.

Replies are not here: `ack`, `error` (participation/consumers.py) and the first frame,
`snapshot` (participation/snapshots.py, backoffice/dashboard.py).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypedDict

# The protocol's objects, as the domain presents them.


class Attendee(TypedDict):
    """A person as every other attendee sees them."""

    id: int
    name: str
    role: str
    avatar: str


class SpeakRequest(TypedDict):
    """A request to speak (or an invitation on stage) as its requester sees it."""

    id: int
    state: str
    invited: bool
    invited_by: str | None
    position: int | None


class Question(TypedDict, total=False):
    """A question as pages may know it: whole (every key), or, for a viewer it was taken
    from, withdrawn (`id`, `state`, `pinned` only)."""

    id: int
    text: str
    author: Attendee
    state: str
    pinned: bool
    votes: int
    created_at: datetime
    moves: list[str]


class Cta(TypedDict):
    headline: str
    label: str
    url: str


# Public events: numbered, logged for replay and sent to every page of the broadcast
# (`publish_on_commit`, or `bus().publish` where the caller is past the commit).


class BroadcastState(TypedDict):
    type: Literal["broadcast.state"]
    state: str
    running: bool
    actions: list[str]
    at: datetime


def broadcast_state(
    *, state: str, running: bool, actions: list[str], at: datetime
) -> BroadcastState:
    """The broadcast moved in its lifecycle; `running` and `actions` are the server's
    rules for the new state, `at` when it moved."""
    return {
        "type": "broadcast.state",
        "state": state,
        "running": running,
        "actions": actions,
        "at": at,
    }


class OnStage(Attendee):
    """Someone on stage: `away` while none of their pages is open after one was (a host
    who closed the console or lost the network), so viewers are told instead of seeing
    a frozen picture; `camera` and `microphone` as their page last said (media.state),
    so "Camera off" is said only of a camera switched off."""

    away: bool
    camera: bool
    microphone: bool


class StageChanged(TypedDict):
    type: Literal["stage.changed"]
    stage: list[OnStage]


def stage_changed(*, stage: list[OnStage]) -> StageChanged:
    """Who is on stage now, whole (the snapshot's `stage`)."""
    return {"type": "stage.changed", "stage": stage}


class HandRaised(TypedDict):
    type: Literal["hand.raised"]
    attendee: Attendee


def hand_raised(*, attendee: Attendee) -> HandRaised:
    return {"type": "hand.raised", "attendee": attendee}


class HandLowered(TypedDict):
    type: Literal["hand.lowered"]
    attendee: Attendee


def hand_lowered(*, attendee: Attendee) -> HandLowered:
    """A raised hand went down: cancelled, approved, declined or expired."""
    return {"type": "hand.lowered", "attendee": attendee}


class QuestionAdded(TypedDict):
    type: Literal["question.added"]
    question: Question


def question_added(*, question: Question) -> QuestionAdded:
    """A question the receiving pages did not have. Public, or private to the hosts
    (a held or hidden one) and to its asker (their own held one)."""
    return {"type": "question.added", "question": question}


class QuestionUpdated(TypedDict):
    type: Literal["question.updated"]
    question: Question


def question_updated(*, question: Question) -> QuestionUpdated:
    """A question the receiving pages had changed (or, withdrawn, left them)."""
    return {"type": "question.updated", "question": question}


class Likes(TypedDict):
    type: Literal["likes"]
    count: int


def likes(*, count: int) -> Likes:
    """The broadcast's likes so far (a coalesced counter)."""
    return {"type": "likes", "count": count}


class Audience(TypedDict):
    type: Literal["audience"]
    count: int
    sample: list[Attendee]


def audience(*, count: int, sample: list[Attendee]) -> Audience:
    """How many watch now and a few of them (a coalesced counter)."""
    return {"type": "audience", "count": count, "sample": sample}


class Rating(TypedDict):
    type: Literal["rating"]
    average: float | None
    count: int


def rating(*, average: float | None, count: int) -> Rating:
    """The presenter's average stars and how many rated (a coalesced counter)."""
    return {"type": "rating", "average": average, "count": count}


class LeadPrompt(TypedDict):
    type: Literal["lead.prompt"]
    at: datetime


def lead_prompt(*, at: datetime) -> LeadPrompt:
    """A host asks every viewer for their details: pages open the lead form."""
    return {"type": "lead.prompt", "at": at}


class CtaPushed(TypedDict):
    type: Literal["cta"]
    cta: Cta | None
    at: datetime


def cta(*, cta: Cta | None, at: datetime) -> CtaPushed:
    """A host showed the call-to-action to everyone, as a banner."""
    return {"type": "cta", "cta": cta, "at": at}


class MediaReady(TypedDict):
    type: Literal["media.ready"]
    attendee: Attendee


def media_ready(*, attendee: Attendee) -> MediaReady:
    """A stage member's page is ready to send: viewers connect (again) to it."""
    return {"type": "media.ready", "attendee": attendee}


# Private events: to one attendee's pages (`send_private`), or to a broadcast's hosts
# and its moderators' dashboards (`send_to_hosts`). Not numbered.


class HandPending(TypedDict):
    type: Literal["hand.pending"]
    request: SpeakRequest


def hand_pending(*, request: SpeakRequest) -> HandPending:
    """To a requester: their request waits, at `request.position` in the queue."""
    return {"type": "hand.pending", "request": request}


class HandApproved(TypedDict):
    type: Literal["hand.approved"]
    request: SpeakRequest


def hand_approved(*, request: SpeakRequest) -> HandApproved:
    """To a requester (or an invited viewer who accepted): they are on stage."""
    return {"type": "hand.approved", "request": request}


class HandDeclined(TypedDict):
    type: Literal["hand.declined"]
    request: SpeakRequest


def hand_declined(*, request: SpeakRequest) -> HandDeclined:
    """To a requester: the host said no (or removed them while they waited)."""
    return {"type": "hand.declined", "request": request}


class StageInvited(TypedDict):
    type: Literal["stage.invited"]
    request: SpeakRequest


def stage_invited(*, request: SpeakRequest) -> StageInvited:
    """To a viewer: the host invites them on stage (their pending invitation)."""
    return {"type": "stage.invited", "request": request}


class InvitationDeclined(TypedDict):
    type: Literal["invitation.declined"]
    attendee: Attendee


def invitation_declined(*, attendee: Attendee) -> InvitationDeclined:
    """To the host who invited them: the viewer said no."""
    return {"type": "invitation.declined", "attendee": attendee}


class Removed(TypedDict):
    type: Literal["removed"]
    message: str


def removed(*, message: str) -> Removed:
    """To a person taken out of the broadcast; their sockets close after it."""
    return {"type": "removed", "message": message}


# `from` is a keyword in Python: the functional form of TypedDict.
RtcSignal = TypedDict("RtcSignal", {"type": Literal["rtc.signal"], "from": int, "data": dict})


def rtc_signal(*, sender: int, data: dict[str, Any]) -> RtcSignal:
    """WebRTC signalling for one peer: from another page (mesh), or from the media server
    on behalf of the feed `sender` (an SFU)."""
    return {"type": "rtc.signal", "from": sender, "data": data}


class MediaSubscribers(TypedDict):
    type: Literal["media.subscribers"]
    count: int


def media_subscribers(*, count: int) -> MediaSubscribers:
    """To a publishing page on an SFU: how many subscribers the media server has for it."""
    return {"type": "media.subscribers", "count": count}


class Leads(TypedDict):
    type: Literal["leads"]
    count: int


def leads(*, count: int) -> Leads:
    """To the hosts and the dashboards: the leads captured so far."""
    return {"type": "leads", "count": count}


# Every event of the live socket, by type.
LIVE_EVENTS: dict[str, Callable[..., dict]] = {
    "broadcast.state": broadcast_state,
    "stage.changed": stage_changed,
    "hand.raised": hand_raised,
    "hand.lowered": hand_lowered,
    "question.added": question_added,
    "question.updated": question_updated,
    "likes": likes,
    "audience": audience,
    "rating": rating,
    "lead.prompt": lead_prompt,
    "cta": cta,
    "media.ready": media_ready,
    "hand.pending": hand_pending,
    "hand.approved": hand_approved,
    "hand.declined": hand_declined,
    "stage.invited": stage_invited,
    "invitation.declined": invitation_declined,
    "removed": removed,
    "rtc.signal": rtc_signal,
    "media.subscribers": media_subscribers,
    "leads": leads,
}


# The exports page's socket (`/ws/exports/`): a protocol of its own, one event.


class ExportChanged(TypedDict):
    type: Literal["export"]
    export: dict[str, Any]


def export(*, export: dict[str, Any]) -> ExportChanged:
    """How a lead export stands now (as `leads.exports.export_public` shows it)."""
    return {"type": "export", "export": export}


EXPORTS_EVENTS: dict[str, Callable[..., dict]] = {"export": export}
