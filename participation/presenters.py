"""How attendees, speak requests and questions are shown to clients (the live protocol's
objects), and how the media backend sees an attendee."""

import bisect
import hashlib

from django.urls import reverse

from broadcasts.media import Participant, media_backend
from core.names import display_name

from .models import STAGE_ROLES, Attendee, Question, SpeakRequest
from .models import SpeakRequestState as R
from .moderation import question_moves
from .selectors import active_request, queue_position


def initials(name: str) -> str:
    words = [word for word in name.split() if word[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_url(attendee: Attendee) -> str:
    # A colour that stays the same for a person, picked from their attendee id.
    hue = int(hashlib.blake2s(str(attendee.pk).encode(), digest_size=2).hexdigest(), 16) % 360
    return reverse("avatar", kwargs={"letters": initials(attendee.display_name), "hue": hue})


def attendee_public(attendee: Attendee) -> dict:
    """An attendee as every other attendee sees them (the protocol's attendee object)."""
    return {
        "id": attendee.pk,
        "name": attendee.display_name,
        "role": attendee.role,
        "avatar": avatar_url(attendee),
    }


def attendee_private(attendee: Attendee) -> dict:
    """The snapshot's `me`: the attendee (from `attendees_with_own_state`) and their own
    private state (other apps add theirs: snapshots.register_own_state)."""
    return {
        **attendee_public(attendee),
        "guest": attendee.is_guest,
        "widget_closed": attendee.widget_closed,
        "request": request_private(active_request(attendee=attendee))
        if attendee.has_request
        else None,
        "liked": attendee.liked,
        "rating": attendee.stars,
    }


def request_private(request: SpeakRequest | None) -> dict | None:
    """A request as its requester sees it (the snapshot's `me.request`)."""
    if request is None:
        return None
    return {
        "id": request.pk,
        "state": request.state,
        "invited": request.is_invitation,
        "invited_by": display_name(request.invited_by) if request.is_invitation else None,
        "position": queue_position(request) if request.state == R.PENDING else None,
    }


def question_public(question: Question) -> dict:
    """A question as the protocol carries it (text as typed: pages show it as text)."""
    return {
        "id": question.pk,
        "text": question.text,
        "author": attendee_public(question.attendee),
        "state": question.state,
        "pinned": question.pinned,
        "votes": question.votes,
        "created_at": question.created_at,
        # What a host may do with it now (moderation.py); pages draw buttons from it.
        "moves": question_moves(question),
    }


def question_withdrawn(question: Question) -> dict:
    """What viewers learn of a question taken from them: only that it is gone."""
    return {"id": question.pk, "state": question.state, "pinned": False}


def media_participant(attendee: Attendee, *, with_rank: bool = True) -> Participant:
    """The attendee as the media backend sees them: on stage, or a viewer with a rank."""
    if attendee.role in STAGE_ROLES:
        return Participant(id=attendee.pk, on_stage=True)
    if not with_rank:
        return Participant(id=attendee.pk, on_stage=False)
    return media_participants([attendee])[attendee.pk]


def media_participants(attendees: list[Attendee]) -> dict[int, Participant]:
    """`media_participant` of attendees of one broadcast, ranked in one query."""
    participants = {a.pk: Participant(id=a.pk, on_stage=True) for a in attendees}
    viewers = [a for a in attendees if a.role not in STAGE_ROLES]
    if not viewers:
        return participants
    # Counted only as far as the backend tells ranks apart: bounded, whatever the crowd.
    limit = media_backend().rank_limit
    online = []
    if limit:
        online = list(
            Attendee.objects.filter(broadcast_id=viewers[0].broadcast_id, connections__gt=0)
            .exclude(role__in=STAGE_ROLES)
            .filter(joined_at__lte=max(a.joined_at for a in viewers))
            .order_by("joined_at", "pk")
            .values_list("joined_at", "pk")[:limit]
        )
    for viewer in viewers:
        # Among viewers online now, how many came before this one.
        rank = bisect.bisect_left(online, (viewer.joined_at, viewer.pk))
        participants[viewer.pk] = Participant(id=viewer.pk, on_stage=False, viewer_rank=rank)
    return participants
