"""Plain reads of the participation state: attendees with what each did, and the queue
of raised hands."""

from django.db.models import Exists, OuterRef, Q, Subquery

from .models import (
    Attendee,
    Like,
    Question,
    QuestionState,
    QuestionVote,
    Rating,
    Role,
    SpeakRequest,
)
from .models import SpeakRequestState as R


def watching(**filters):
    """The audience with a page open: what "watching", the viewers now and the viewers
    chart count. The hosts' consoles and moderators watching are not audience; speakers
    are (they came to watch and went on stage)."""
    return audience(**filters).filter(connections__gt=0)


def audience(**filters):
    """Everyone who came to watch (open page or not): not the hosts, nor moderators."""
    return Attendee.objects.filter(**filters).exclude(role=Role.HOST).exclude(moderating=True)


def attendees_with_own_state(attendee_ids: list[int]) -> dict[int, Attendee]:
    """The attendees, fresh, by id, with what each did annotated in the same query:
    `liked`, `stars`, and whether they have an active request, pending questions or votes
    (so a snapshot asks for those only when there is something to read)."""
    return {a.pk: a for a in _with_own_state(Attendee.objects.filter(pk__in=attendee_ids))}


def _with_own_state(attendees):
    mine = OuterRef("pk")
    return attendees.annotate(
        liked=Exists(Like.objects.filter(attendee=mine)),
        stars=Subquery(Rating.objects.filter(attendee=mine).values("stars")[:1]),
        has_request=Exists(
            SpeakRequest.objects.filter(attendee=mine, state__in=[R.PENDING, R.APPROVED])
        ),
        has_pending_questions=Exists(
            Question.objects.filter(attendee=mine, state=QuestionState.PENDING)
        ),
        has_votes=Exists(QuestionVote.objects.filter(attendee=mine)),
    )


def pending_hands(broadcast_id: int):
    """Raised hands still waiting, first come first served (invitations are not hands)."""
    return SpeakRequest.objects.filter(
        broadcast_id=broadcast_id, state=R.PENDING, invited_by__isnull=True
    )


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


def active_request(*, attendee: Attendee) -> SpeakRequest | None:
    return SpeakRequest.objects.filter(attendee=attendee, state__in=[R.PENDING, R.APPROVED]).first()
