"""What a live page starts from: the snapshot's sections, one snapshot per attendee, a
process-wide share of the part every viewer has in common."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Q

from broadcasts.media import media_backend
from broadcasts.models import Broadcast
from broadcasts.selectors import broadcast_public_data

from .analytics import audience_summary, likes_count, rating_summary
from .models import (
    PUBLIC_QUESTION_STATES,
    QUESTION_MAX_CHARS,
    Attendee,
    Question,
    QuestionState,
    QuestionVote,
    Role,
)
from .presenters import attendee_private, attendee_public, media_participants, question_public
from .selectors import attendees_with_own_state, pending_hands

# The snapshot's sections. An event that replaces one (`stage.changed`) carries the same shape.


def stage_attendees(*, broadcast: Broadcast) -> list[dict]:
    """Who is on stage: the host, co-hosts while their console is open, and speakers."""
    on_stage = Attendee.objects.filter(broadcast=broadcast).filter(
        Q(role=Role.SPEAKER)
        | Q(role=Role.HOST, user_id=broadcast.host_id)
        | Q(role=Role.HOST, connections__gt=0)
    )
    # The main host first, then co-hosts, then speakers in the order they came on.
    ordered = sorted(
        on_stage,
        key=lambda a: (a.user_id != broadcast.host_id, a.role != Role.HOST, a.joined_at, a.pk),
    )
    # Away: seen before, no page open now (a host who never opened a console is not).
    away = {a.pk: a.connections == 0 and a.last_seen_at is not None for a in ordered}
    return [
        {
            **attendee_public(a),
            "away": away[a.pk],
            "camera": a.camera_on,
            "microphone": a.microphone_on,
        }
        for a in ordered
    ]


def raised_hands(*, broadcast: Broadcast) -> list[dict]:
    """Everyone waiting for approval, in the order they asked (the snapshot's `hands`)."""
    requests = pending_hands(broadcast.pk).select_related("attendee")
    return [attendee_public(request.attendee) for request in requests]


QUESTIONS_IN_SNAPSHOT = 200


def _newest_questions(questions) -> list[dict]:
    newest = questions.select_related("attendee").order_by("-pinned", "-created_at", "-id")
    return [question_public(q) for q in newest[:QUESTIONS_IN_SNAPSHOT]]


def public_questions(*, broadcast: Broadcast) -> list[dict]:
    """The newest questions every viewer sees (and the pinned one), without `voted`."""
    return _newest_questions(
        Question.objects.filter(broadcast=broadcast, state__in=PUBLIC_QUESTION_STATES)
    )


def questions_for(
    *, broadcast: Broadcast, attendee: Attendee | None, public: list[dict] | None = None
) -> list[dict]:
    """The questions this attendee may see, the newest 200 and the pinned one, oldest first.

    Hosts (and moderators on the dashboard: no attendee) see every question; others see
    public ones and their own pending ones. Each carries `voted`: whether this attendee
    has upvoted it. `public` is `public_questions` when the caller has it already; an
    attendee from `attendees_with_own_state` saves the queries they have no use for.
    """
    if attendee is None or attendee.role == Role.HOST:
        shown = _newest_questions(Question.objects.filter(broadcast=broadcast))
    else:
        shown = list(public if public is not None else public_questions(broadcast=broadcast))
        if getattr(attendee, "has_pending_questions", True):
            own = Question.objects.filter(
                broadcast=broadcast, attendee=attendee, state=QuestionState.PENDING
            )
            shown += _newest_questions(own)
            shown.sort(key=lambda q: (q["pinned"], q["created_at"], q["id"]), reverse=True)
            del shown[QUESTIONS_IN_SNAPSHOT:]
    voted = set()
    if attendee is not None and getattr(attendee, "has_votes", True) and shown:
        voted = set(
            QuestionVote.objects.filter(
                attendee=attendee, question_id__in=[q["id"] for q in shown]
            ).values_list("question_id", flat=True)
        )
    shown.sort(key=lambda q: (q["created_at"], q["id"]))
    return [{**q, "voted": q["id"] in voted} for q in shown]


def snapshot_broadcast(*, broadcast: Broadcast) -> dict:
    """The snapshot's `broadcast`: what every viewer may know of it, the presenter's
    rating and the input limits pages check before sending (the snapshot's keys are a
    contract, so these ride inside `broadcast`)."""
    return {
        **broadcast_public_data(broadcast=broadcast),
        "rating": rating_summary(broadcast_id=broadcast.pk),
        "limits": {"question_chars": QUESTION_MAX_CHARS},
    }


def snapshot_shared(*, broadcast: Broadcast) -> dict:
    """The parts of a snapshot that are the same for every viewer at one point of the
    broadcast's event stream (questions: the public ones, without `voted`)."""
    return {
        "broadcast": snapshot_broadcast(broadcast=broadcast),
        "stage": stage_attendees(broadcast=broadcast),
        "hands": raised_hands(broadcast=broadcast),
        "audience": audience_summary(
            broadcast=broadcast, sample_size=settings.LIVE_AUDIENCE_SAMPLE_SIZE
        ),
        "likes": likes_count(broadcast_id=broadcast.pk),
        "questions": public_questions(broadcast=broadcast),
    }


# What the apps built on this one add to each person's `me`, registered in their
# AppConfig.ready(): name -> reader of {attendee id: value} for a batch of attendees
# (those missing get None). The leads app adds `lead`, the person's own details.
OWN_STATE_READERS: dict[str, Callable[[list[int]], dict[int, Any]]] = {}


def register_own_state(name: str, reader: Callable[[list[int]], dict[int, Any]]) -> None:
    OWN_STATE_READERS[name] = reader


def _own_state(attendee_ids: list[int]) -> dict[str, dict[int, Any]]:
    return {name: read(attendee_ids) for name, read in OWN_STATE_READERS.items()}


def live_snapshot(*, broadcast: Broadcast, attendee: Attendee, shared: dict | None = None) -> dict:
    """Everything a page needs to draw a broadcast, for one attendee (without epoch/seq).

    `shared` is `snapshot_shared` of this broadcast when the caller has it already."""
    shared = shared if shared is not None else snapshot_shared(broadcast=broadcast)
    (snapshot,) = live_snapshots(broadcast=broadcast, attendee_ids=[attendee.pk], shared=shared)
    return snapshot


def live_snapshots(*, broadcast: Broadcast, attendee_ids: list[int], shared: dict) -> list[dict]:
    """`live_snapshot` of attendees of one broadcast (an id may come twice), in order:
    their own state read in a few queries for them all."""
    attendees = attendees_with_own_state(attendee_ids)
    added = _own_state(list(attendees))
    participants = media_participants(list(attendees.values()))
    backend = media_backend()
    snapshots = []
    for attendee_id in attendee_ids:
        attendee = attendees[attendee_id]
        snapshots.append(
            {
                "type": "snapshot",
                **shared,
                "me": {
                    **attendee_private(attendee),
                    **{name: values.get(attendee_id) for name, values in added.items()},
                },
                "questions": questions_for(
                    broadcast=broadcast, attendee=attendee, public=shared["questions"]
                ),
                "media": backend.session(participant=participants[attendee_id]),
            }
        )
    return snapshots


class SharedSnapshots:
    """This process's latest `snapshot_shared` of each broadcast, by stream position.

    When thousands join at once, they share one read of the broadcast instead of
    each making a dozen queries. An entry serves only callers at the same (epoch, seq)
    and for `max_age` seconds: anything that changes a shared part publishes an event
    (a new seq) that the joiner receives after its snapshot; counters are published
    within a second of a change, and `max_age` bounds the rest (an edit in the admin).
    """

    def __init__(self, max_age: float):
        self.max_age = max_age
        self._entries: dict[int, tuple[tuple[str, int], float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, *, broadcast_id: int, epoch: str, seq: int, build) -> dict:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(broadcast_id)
        if entry is not None and entry[0] == (epoch, seq) and now - entry[1] < self.max_age:
            return entry[2]
        shared = build()
        with self._lock:
            for key, (_, at, _) in list(self._entries.items()):
                if now - at >= self.max_age:
                    del self._entries[key]
            self._entries[broadcast_id] = ((epoch, seq), now, shared)
        return shared

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


shared_snapshots = SharedSnapshots(max_age=1.0)


def snapshots_for_connections(entries: list[tuple[Attendee, str, int]]) -> list[dict]:
    """The snapshots new live connections start from: for each (attendee, epoch, seq),
    the attendee's snapshot at that position of their broadcast's stream, in order."""
    groups: dict[tuple[int, str, int], list[int]] = {}
    for index, (attendee, epoch, seq) in enumerate(entries):
        groups.setdefault((attendee.broadcast_id, epoch, seq), []).append(index)
    snapshots: list[dict] = [{}] * len(entries)
    for (broadcast_id, epoch, seq), indexes in groups.items():
        shared = shared_snapshots.get(
            broadcast_id=broadcast_id, epoch=epoch, seq=seq, build=_shared_builder(broadcast_id)
        )
        # Past the shared part, the snapshots need only the broadcast's id.
        personal = live_snapshots(
            broadcast=Broadcast(pk=broadcast_id),
            attendee_ids=[entries[i][0].pk for i in indexes],
            shared=shared,
        )
        for index, snapshot in zip(indexes, personal, strict=True):
            snapshots[index] = snapshot | {"epoch": epoch, "seq": seq}
    return snapshots


def _shared_builder(broadcast_id: int):
    def build() -> dict:
        broadcast = Broadcast.objects.select_related("host").get(pk=broadcast_id)
        return snapshot_shared(broadcast=broadcast)

    return build
