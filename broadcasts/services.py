"""Everything that changes a broadcast. Views, the admin, the live socket and tasks
call these; none of them changes a broadcast's state any other way."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from core.locks import lock_row
from participation.realtime import events
from participation.realtime.publish import publish_on_commit

from . import signals
from .audit import audit_record
from .lifecycle import LIFECYCLE, live_actions
from .media import media_backend
from .models import Broadcast, BroadcastState, BroadcastTransition
from .selectors import AnyUser, broadcast_public_data, require_can_run

S = BroadcastState


def lock_broadcast(broadcast_id: int) -> Broadcast:
    """The broadcast's row, locked to the end of the transaction: every change to its
    lifecycle, hands, stage and pinned question takes it first, so two hosts acting at
    once are served one after the other."""
    broadcast = lock_row(Broadcast.objects, pk=broadcast_id)
    if broadcast is None:
        raise NotFound("There is no such broadcast.")
    return broadcast


def broadcast_create(
    *,
    title: str,
    slug: str,
    host: AnyUser,
    by: AnyUser | None = None,
    scheduled_start: datetime | None = None,
    **fields,
) -> Broadcast:
    """Create a broadcast; with a start time it is scheduled at once."""
    with transaction.atomic():
        broadcast = Broadcast(title=title, slug=slug, host=host, **fields)
        broadcast.full_clean()
        broadcast.save()
        if scheduled_start is not None:
            broadcast_schedule(broadcast=broadcast, scheduled_start=scheduled_start, by=by or host)
    return broadcast


def _transition(
    *, broadcast: Broadcast, action: str, by: AnyUser | None, changes: dict | None = None
) -> Broadcast:
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        from_state = LIFECYCLE.move(locked, action, **(changes or {}))
        to_state = locked.state
        now = timezone.now()
        if to_state == S.LIVE and locked.went_live_at is None:
            locked.went_live_at = now
        if to_state == S.ENDED:
            locked.ended_at = now
        locked.save(
            update_fields=["state", "went_live_at", "ended_at", "scheduled_start", "updated_at"]
        )
        if to_state == S.LIVE:
            signals.went_live.send(sender=Broadcast, broadcast=locked)
        if to_state == S.ENDED:
            signals.ending.send(sender=Broadcast, broadcast=locked)
            transaction.on_commit(
                lambda: signals.ended.send(sender=Broadcast, broadcast_id=locked.pk)
            )
            # An SFU room closes every peer connection of the broadcast.
            transaction.on_commit(lambda: media_backend().ended(broadcast_id=locked.pk))
        BroadcastTransition.objects.create(
            broadcast=locked,
            from_state=from_state,
            to_state=to_state,
            by=by if by is not None and by.is_authenticated else None,
        )
        audit_record(
            broadcast=locked,
            by=by,
            action=f"broadcast.{action}",
            subject=f"{from_state} → {to_state}",
        )
        publish_on_commit(
            locked.slug,
            events.broadcast_state(
                state=to_state, running=locked.is_running, actions=live_actions(to_state), at=now
            ),
        )
    for name in ("state", "went_live_at", "ended_at", "scheduled_start", "updated_at"):
        setattr(broadcast, name, getattr(locked, name))
    return broadcast


def broadcast_schedule(
    *, broadcast: Broadcast, by: AnyUser | None, scheduled_start: datetime | None = None
) -> Broadcast:
    """Announce a draft: it gets a start time and its landing page opens to the audience."""
    start = scheduled_start or broadcast.scheduled_start
    if start is None:
        raise InvalidInput("Set a start time before scheduling the broadcast.")
    return _transition(
        broadcast=broadcast, action="schedule", by=by, changes={"scheduled_start": start}
    )


def broadcast_start(*, broadcast: Broadcast, by: AnyUser | None) -> Broadcast:
    """Go live: viewers' pages switch to the live broadcast."""
    return _transition(broadcast=broadcast, action="start", by=by)


def broadcast_pause(*, broadcast: Broadcast, by: AnyUser | None) -> Broadcast:
    """Hold the broadcast: viewers see the paused screen; the stage stays as it is."""
    return _transition(broadcast=broadcast, action="pause", by=by)


def broadcast_resume(*, broadcast: Broadcast, by: AnyUser | None) -> Broadcast:
    return _transition(broadcast=broadcast, action="resume", by=by)


def broadcast_end(*, broadcast: Broadcast, by: AnyUser | None) -> Broadcast:
    """End for good: viewers see the end screen with the call-to-action; pending requests
    to speak expire and every speaker's call ends."""
    return _transition(broadcast=broadcast, action="end", by=by)


def broadcast_cta_push(*, broadcast: Broadcast, by: AnyUser | None) -> Broadcast:
    """Show the call-to-action to every viewer now, as a banner they cannot miss."""
    require_can_run(broadcast=broadcast, by=by)
    if not broadcast.has_cta:
        raise Conflict(
            "This broadcast has no call-to-action. Set its button label and URL in the admin."
        )
    if not broadcast.is_running:
        raise Conflict("Push the call-to-action while the broadcast is live.")
    now = timezone.now()
    with transaction.atomic():
        Broadcast.objects.filter(pk=broadcast.pk).update(cta_pushed_at=now)
        broadcast.cta_pushed_at = now
        audit_record(broadcast=broadcast, by=by, action="cta.push", subject=broadcast.cta_label)
        publish_on_commit(
            broadcast.slug,
            events.cta(cta=broadcast_public_data(broadcast=broadcast)["cta"], at=now),
        )
    return broadcast


# The lifecycle's live actions (lifecycle.LIVE_ACTIONS), by name.
ACTIONS = {
    "start": broadcast_start,
    "pause": broadcast_pause,
    "resume": broadcast_resume,
    "end": broadcast_end,
}
