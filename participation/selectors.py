"""Reads of the participation state: attendees as others see them, and snapshots."""

import hashlib

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from broadcasts.media import Participant, media_backend
from broadcasts.models import Broadcast
from broadcasts.selectors import broadcast_public_data

from .models import Attendee, Role, SpeakRequest
from .models import SpeakRequestState as R

STAGE_ROLES = (Role.HOST, Role.SPEAKER)


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
    """The snapshot's `me`: the attendee and their own private state."""
    return {
        **attendee_public(attendee),
        "guest": attendee.is_guest,
        "widget_closed": attendee.widget_closed,
        "request": request_private(active_request(attendee=attendee)),
        "liked": False,
        "rating": None,
    }


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
    return [attendee_public(a) for a in ordered]


def request_private(request: SpeakRequest | None) -> dict | None:
    """A request as its requester sees it (the snapshot's `me.request`)."""
    if request is None:
        return None
    return {
        "id": request.pk,
        "state": request.state,
        "invited": request.is_invitation,
        "invited_by": _name(request.invited_by) if request.is_invitation else None,
        "position": queue_position(request) if request.state == R.PENDING else None,
    }


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def queue_position(request: SpeakRequest) -> int | None:
    """First come, first served: 1 for the oldest raised hand still waiting."""
    if request.is_invitation:
        return None
    return (
        pending_hands(request.broadcast_id)
        .filter(
            Q(created_at__lt=request.created_at)
            | Q(created_at=request.created_at, pk__lt=request.pk)
        )
        .count()
        + 1
    )


def pending_hands(broadcast_id: int):
    """Raised hands still waiting, first come first served (invitations are not hands)."""
    return SpeakRequest.objects.filter(
        broadcast_id=broadcast_id, state=R.PENDING, invited_by__isnull=True
    )


def raised_hands(*, broadcast: Broadcast) -> list[dict]:
    """Everyone waiting for approval, in the order they asked (the snapshot's `hands`)."""
    requests = pending_hands(broadcast.pk).select_related("attendee")
    return [attendee_public(request.attendee) for request in requests]


def active_request(*, attendee: Attendee) -> SpeakRequest | None:
    return SpeakRequest.objects.filter(attendee=attendee, state__in=[R.PENDING, R.APPROVED]).first()


def audience_summary(*, broadcast: Broadcast, sample_size: int) -> dict:
    """How many are watching now, and a sample of them (never the whole crowd)."""
    online = Attendee.objects.filter(broadcast=broadcast, connections__gt=0)
    count = online.count()
    sample = [attendee_public(a) for a in online.order_by("joined_at", "id")[:sample_size]]
    return {"count": count, "sample": sample}


def media_participant(attendee: Attendee, *, with_rank: bool = True) -> Participant:
    """The attendee as the media backend sees them: on stage, or a viewer with a rank."""
    if attendee.role in STAGE_ROLES:
        return Participant(id=attendee.pk, on_stage=True)
    if not with_rank:
        return Participant(id=attendee.pk, on_stage=False)
    earlier = (
        Attendee.objects.filter(broadcast_id=attendee.broadcast_id, connections__gt=0)
        .exclude(role__in=STAGE_ROLES)
        .filter(
            Q(joined_at__lt=attendee.joined_at)
            | Q(joined_at=attendee.joined_at, pk__lt=attendee.pk)
        )
        .count()
    )
    return Participant(id=attendee.pk, on_stage=False, viewer_rank=earlier)


def media_config(*, attendee: Attendee) -> dict:
    return media_backend().session(participant=media_participant(attendee))


def live_snapshot(*, broadcast: Broadcast, attendee: Attendee) -> dict:
    """Everything a page needs to draw a broadcast, for one attendee (without epoch/seq)."""
    return {
        "type": "snapshot",
        "broadcast": broadcast_public_data(broadcast=broadcast),
        "me": attendee_private(attendee),
        "stage": stage_attendees(broadcast=broadcast),
        "hands": raised_hands(broadcast=broadcast),
        "audience": audience_summary(
            broadcast=broadcast, sample_size=settings.LIVE_AUDIENCE_SAMPLE_SIZE
        ),
        "likes": 0,
        "questions": [],
        "media": media_config(attendee=attendee),
    }
