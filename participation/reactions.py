"""What a viewer does besides speaking and asking: like, rate, fold the widget, and
click the call-to-action."""

from django.db import IntegrityError, transaction

from broadcasts.errors import Conflict, InvalidInput
from broadcasts.models import Broadcast, BroadcastState

from .fanout import counter_changed_on_commit
from .models import Attendee, CtaClick, Like, Rating, Role
from .ratelimit import attendee_rate_limit

RUNNING = (BroadcastState.LIVE, BroadcastState.PAUSED)
CTA_SOURCES = ("landing", "watch", "embed", "end")


def like(*, attendee: Attendee) -> bool:
    """Like the broadcast, once and for good. Returns False if this attendee had already
    (a second page, a double click): liking twice changes nothing and is not an error."""
    if attendee.broadcast.state not in RUNNING:
        raise Conflict("You can like the broadcast while it is live.")
    attendee_rate_limit(attendee_id=attendee.pk, action="like")
    try:
        with transaction.atomic():
            Like.objects.create(broadcast_id=attendee.broadcast_id, attendee=attendee)
            counter_changed_on_commit("likes", attendee.broadcast_id)
    except IntegrityError:
        return False
    return True


def rate(*, attendee: Attendee, stars: int) -> Rating:
    """Give the presenter 1 to 5 stars; a later rating replaces the earlier one while the
    broadcast runs."""
    # bool is an int in Python: `True` must not count as one star.
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise InvalidInput("Choose from 1 to 5 stars.")
    if attendee.role == Role.HOST:
        raise Conflict("Hosts do not rate their own broadcast.")
    if attendee.broadcast.state not in RUNNING:
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
