"""What a viewer does besides speaking and asking: like, rate, fold the widget, and
click the call-to-action."""

from django.db import transaction

from broadcasts.models import Broadcast
from core.errors import Conflict, DomainError, InvalidInput, RateLimited

from .limits import ATTENDEE_LIMIT_MESSAGES, attendee_rate_limit, attendees_past_rate_limit
from .models import Attendee, CtaClick, Like, Rating, Role
from .realtime.counters import counter_changed_on_commit

CTA_SOURCES = ("landing", "watch", "embed", "end")


def like(*, attendee: Attendee) -> bool:
    """Like the broadcast, once and for good. Returns False if this attendee had already
    (a second page, a double click): liking twice changes nothing and is not an error."""
    (outcome,) = likes(attendees=[attendee])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def likes(*, attendees: list[Attendee]) -> list[bool | DomainError]:
    """`like` for many attendees at once (a like storm), each answered with whether it
    was their first like or the error that refuses it: one round trip for the rate
    limits, one transaction for the likes."""
    outcomes: list[bool | DomainError] = [False] * len(attendees)
    live = [i for i, a in enumerate(attendees) if a.broadcast.is_running]
    for index in set(range(len(attendees))) - set(live):
        outcomes[index] = Conflict("You can like the broadcast while it is live.")
    limited = attendees_past_rate_limit(attendee_ids=[attendees[i].pk for i in live], action="like")
    allowed = [i for i, past in zip(live, limited, strict=True) if not past]
    for index in set(live) - set(allowed):
        outcomes[index] = RateLimited(ATTENDEE_LIMIT_MESSAGES["like"])
    if not allowed:
        return outcomes
    ids = {attendees[i].pk for i in allowed}
    already = set(Like.objects.filter(attendee_id__in=ids).values_list("attendee_id", flat=True))
    first = {attendees[i].pk: attendees[i] for i in allowed if attendees[i].pk not in already}
    if first:
        with transaction.atomic():
            # Another process's like of the same person in between is not an error either.
            # By id: an instance would point back at its attendee (one-to-one), a cycle per
            # like left for the garbage collector to pause on.
            Like.objects.bulk_create(
                [Like(broadcast_id=a.broadcast_id, attendee_id=a.pk) for a in first.values()],
                ignore_conflicts=True,
            )
            for broadcast_id in {a.broadcast_id for a in first.values()}:
                counter_changed_on_commit("likes", broadcast_id)
    for index in allowed:
        pk = attendees[index].pk
        outcomes[index] = pk not in already
        already.add(pk)  # two pages of one person in one batch: the first one liked
    return outcomes


def rate(*, attendee: Attendee, stars: int) -> Rating:
    """Give the presenter 1 to 5 stars; a later rating replaces the earlier one while the
    broadcast runs."""
    # bool is an int in Python: `True` must not count as one star.
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise InvalidInput("Choose from 1 to 5 stars.")
    if attendee.role == Role.HOST:
        raise Conflict("Hosts do not rate their own broadcast.")
    if not attendee.broadcast.is_running:
        raise Conflict("You can rate the presenter while the broadcast is live.")
    attendee_rate_limit(attendee_id=attendee.pk, action="rate")
    with transaction.atomic():
        rating, created = Rating.objects.get_or_create(
            attendee=attendee, defaults={"broadcast_id": attendee.broadcast_id, "stars": stars}
        )
        if not created and rating.stars != stars:
            rating.stars = stars
            rating.save(update_fields=["stars", "updated_at"])
        counter_changed_on_commit("rating", attendee.broadcast_id)
    return rating


def widget_fold(*, attendee: Attendee, closed: bool) -> None:
    """Remember that this attendee folded (or opened) the widget: a folded widget never
    opens by itself again, on any page load."""
    Attendee.objects.filter(pk=attendee.pk).update(widget_closed=closed)
    attendee.widget_closed = closed


def cta_click_record(*, broadcast: Broadcast, attendee: Attendee | None, source: str) -> CtaClick:
    """Count a click on the call-to-action, for the lead export and the analytics."""
    if not broadcast.has_cta:
        raise Conflict("This broadcast has no call-to-action.")
    if source not in CTA_SOURCES:
        source = "watch"
    if attendee is not None and attendee.broadcast_id != broadcast.pk:
        attendee = None
    return CtaClick.objects.create(broadcast=broadcast, attendee=attendee, source=source)
