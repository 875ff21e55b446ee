"""Requests to speak and the stage: the heart of a session (DESIGN section 3).

A viewer raises a hand (a pending request), the host approves or declines it; an
approved request holds one of the broadcast's stage places until the speaker leaves
or is removed. The host may also invite a viewer, who must accept. Every move is a
row in the transition table below, recorded with who made it, and published after
commit.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from broadcasts.audit import audit_record
from broadcasts.media import media_backend
from broadcasts.models import Broadcast
from broadcasts.selectors import AnyUser, require_can_run
from broadcasts.services import lock_broadcast
from core.errors import Conflict, NotFound
from core.machines import StateMachine

from .models import (
    Attendee,
    Role,
    SpeakRequest,
    SpeakRequestTransition,
)
from .models import SpeakRequestState as R
from .presenters import attendee_public, request_private
from .realtime import events
from .realtime.publish import publish_on_commit, send_private_on_commit
from .selectors import pending_hands
from .snapshots import stage_attendees

REQUESTS = StateMachine(
    moves={
        "approve": {R.PENDING: R.APPROVED},
        "decline": {R.PENDING: R.DECLINED},
        "cancel": {R.PENDING: R.CANCELLED},
        "expire": {R.PENDING: R.EXPIRED},
        "end": {R.APPROVED: R.ENDED},
        "remove": {R.APPROVED: R.REMOVED},
    },
    refusal="This request is {state} already.",
)


def request_move(
    request: SpeakRequest, action: str, *, by: AnyUser | None, **changes
) -> SpeakRequest:
    """Move a request through the table (REQUESTS), saved, recorded in its history with
    who moved it, and in the audit log when staff decided about someone else. The
    callers hold the broadcast's lock and publish what changed."""
    from_state = REQUESTS.move(request, action, **changes)
    request.save()
    if by is not None and by.is_authenticated and by.pk != request.attendee.user_id:
        # A host's or moderator's decision about someone else goes to the audit log.
        audit_record(
            broadcast=request.broadcast_id,
            by=by,
            action=f"request.{action}",
            subject=request.attendee.display_name,
        )
    SpeakRequestTransition.objects.create(
        request=request,
        from_state=from_state,
        to_state=request.state,
        by=by if by is not None and by.is_authenticated else None,
    )
    return request


def _require_running(broadcast: Broadcast) -> None:
    if not broadcast.is_running:
        raise Conflict("The broadcast is not live.")


def _pending_of(broadcast: Broadcast, attendee_id: int, *, invitation: bool) -> SpeakRequest:
    request = (
        SpeakRequest.objects.select_for_update()
        .select_related("attendee")
        .filter(
            broadcast=broadcast,
            attendee_id=attendee_id,
            state=R.PENDING,
            invited_by__isnull=not invitation,
        )
        .first()
    )
    if request is None:
        what = "invitation" if invitation else "request to speak"
        raise NotFound(f"There is no pending {what} from that person.")
    return request


def _on_stage(broadcast: Broadcast, attendee_id: int) -> SpeakRequest:
    request = (
        SpeakRequest.objects.select_for_update()
        .select_related("attendee")
        .filter(broadcast=broadcast, attendee_id=attendee_id, state=R.APPROVED)
        .first()
    )
    if request is None:
        raise NotFound("That person is not on stage.")
    return request


def _set_role(attendee: Attendee, role: str) -> None:
    # Someone coming on (or off) stage starts with their camera and microphone on, as
    # their page does, until it says otherwise (media.state).
    Attendee.objects.filter(pk=attendee.pk).update(role=role, camera_on=True, microphone_on=True)
    attendee.role = role
    attendee.camera_on = attendee.microphone_on = True


def _publish_queue(broadcast: Broadcast) -> None:
    """Tell every waiting requester their place in the queue."""
    for position, request in enumerate(pending_hands(broadcast.pk), start=1):
        send_private_on_commit(
            request.attendee_id,
            events.hand_pending(
                request={
                    "id": request.pk,
                    "state": request.state,
                    "invited": False,
                    "invited_by": None,
                    "position": position,
                }
            ),
        )


def publish_stage(broadcast: Broadcast) -> None:
    """Tell everyone who is on stage now (after commit)."""
    publish_on_commit(
        broadcast.slug, events.stage_changed(stage=stage_attendees(broadcast=broadcast))
    )


def _lowered(broadcast: Broadcast, request: SpeakRequest) -> None:
    if not request.is_invitation:
        publish_on_commit(
            broadcast.slug, events.hand_lowered(attendee=attendee_public(request.attendee))
        )


def _take_seat(broadcast: Broadcast) -> int:
    taken = set(
        SpeakRequest.objects.filter(broadcast=broadcast, state=R.APPROVED).values_list(
            "seat", flat=True
        )
    )
    free = [seat for seat in range(broadcast.stage_size) if seat not in taken]
    if not free:
        raise Conflict(
            f"The stage is full ({broadcast.stage_size} speakers beside the host). "
            "Take someone off stage first."
        )
    return free[0]


def _approve(broadcast: Broadcast, request: SpeakRequest, *, by: AnyUser | None) -> SpeakRequest:
    now = timezone.now()
    try:
        # The unique seat constraint is the last word if two approvals race past the lock.
        with transaction.atomic():
            request_move(
                request,
                "approve",
                by=by,
                seat=_take_seat(broadcast),
                decided_at=now,
                on_stage_at=now,
            )
    except IntegrityError:
        raise Conflict("Someone else just took that place on stage; try again.") from None
    _set_role(request.attendee, Role.SPEAKER)
    _lowered(broadcast, request)
    publish_stage(broadcast)
    send_private_on_commit(
        request.attendee_id, events.hand_approved(request=request_private(request))
    )
    return request


def hand_raise(*, attendee: Attendee) -> SpeakRequest:
    """A viewer asks to speak: their hand goes up for everyone, and the host sees it."""
    if attendee.role != Role.VIEWER:
        raise Conflict("You are on stage already.")
    with transaction.atomic():
        broadcast = lock_broadcast(attendee.broadcast_id)
        _require_running(broadcast)
        asked = SpeakRequest.objects.filter(
            attendee=attendee, state=R.PENDING, invited_by__isnull=True
        ).first()
        if asked is not None:
            # A double click, or a second tab: the same request, and no error.
            asked.attendee = attendee
            return asked
        try:
            with transaction.atomic():
                request = SpeakRequest.objects.create(broadcast=broadcast, attendee=attendee)
        except IntegrityError:
            # An invitation to the stage is waiting for their answer.
            raise Conflict("You are invited on stage: accept or decline first.") from None
        SpeakRequestTransition.objects.create(
            request=request, from_state="", to_state=R.PENDING, by=attendee.user
        )
        request.attendee = attendee
        publish_on_commit(broadcast.slug, events.hand_raised(attendee=attendee_public(attendee)))
        _publish_queue(broadcast)
    return request


def hand_cancel(*, attendee: Attendee) -> SpeakRequest:
    """The requester withdraws: the hand goes down everywhere."""
    with transaction.atomic():
        broadcast = lock_broadcast(attendee.broadcast_id)
        request = _pending_of(broadcast, attendee.pk, invitation=False)
        request_move(request, "cancel", by=attendee.user, decided_at=timezone.now())
        _lowered(broadcast, request)
        _publish_queue(broadcast)
    return request


def hand_approve(*, broadcast: Broadcast, attendee_id: int, by: AnyUser | None) -> SpeakRequest:
    """The host brings a requester on stage, if there is a place."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        _require_running(locked)
        request = _pending_of(locked, attendee_id, invitation=False)
        _approve(locked, request, by=by)
        _publish_queue(locked)
    return request


def hand_decline(*, broadcast: Broadcast, attendee_id: int, by: AnyUser | None) -> SpeakRequest:
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        request = _pending_of(locked, attendee_id, invitation=False)
        _decline(locked, request, by=by)
        _publish_queue(locked)
    return request


def _decline(broadcast: Broadcast, request: SpeakRequest, *, by: AnyUser | None) -> None:
    request_move(request, "decline", by=by, decided_at=timezone.now())
    _lowered(broadcast, request)
    send_private_on_commit(
        request.attendee_id, events.hand_declined(request=request_private(request))
    )


def hands_lower_all(*, broadcast: Broadcast, by: AnyUser | None) -> int:
    """Decline every raised hand at once."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        pending = list(pending_hands(locked.pk).select_for_update().select_related("attendee"))
        for request in pending:
            _decline(locked, request, by=by)
    return len(pending)


def stage_leave(*, attendee: Attendee) -> SpeakRequest:
    """A speaker ends their call: back to the audience."""
    with transaction.atomic():
        broadcast = lock_broadcast(attendee.broadcast_id)
        request = _on_stage(broadcast, attendee.pk)
        _off_stage(broadcast, request, "end", by=attendee.user)
    return request


def stage_remove(*, broadcast: Broadcast, attendee_id: int, by: AnyUser | None) -> SpeakRequest:
    """The host takes a speaker off stage."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        request = _on_stage(locked, attendee_id)
        _off_stage(locked, request, "remove", by=by)
    return request


def _off_stage(broadcast: Broadcast, request: SpeakRequest, action: str, *, by) -> None:
    request_move(request, action, by=by, seat=None, off_stage_at=timezone.now())
    _set_role(request.attendee, Role.VIEWER)
    publish_stage(broadcast)
    # On an SFU: their right to publish goes, and their participant is kicked, so that
    # a modified page cannot keep sending.
    broadcast_id, attendee_id = broadcast.pk, request.attendee_id
    transaction.on_commit(
        lambda: media_backend().left_stage(broadcast_id=broadcast_id, attendee_id=attendee_id)
    )


def stage_invite(*, broadcast: Broadcast, attendee_id: int, by: AnyUser | None) -> SpeakRequest:
    """The host invites a viewer on stage; nothing starts until the viewer accepts."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        _require_running(locked)
        attendee = Attendee.objects.filter(pk=attendee_id, broadcast=locked).first()
        if attendee is None:
            raise NotFound("There is no such person in this broadcast.")
        if attendee.role != Role.VIEWER:
            raise Conflict(f"{attendee.display_name} is on stage already.")
        if not attendee.is_online:
            raise Conflict(f"{attendee.display_name} is not watching right now.")
        try:
            with transaction.atomic():
                request = SpeakRequest.objects.create(
                    broadcast=locked, attendee=attendee, invited_by=by
                )
        except IntegrityError:
            raise Conflict(
                f"{attendee.display_name} has asked to speak already: approve their request."
            ) from None
        SpeakRequestTransition.objects.create(
            request=request, from_state="", to_state=R.PENDING, by=by
        )
        send_private_on_commit(attendee.pk, events.stage_invited(request=request_private(request)))
    return request


def invitation_accept(*, attendee: Attendee) -> SpeakRequest:
    with transaction.atomic():
        broadcast = lock_broadcast(attendee.broadcast_id)
        _require_running(broadcast)
        request = _pending_of(broadcast, attendee.pk, invitation=True)
        _approve(broadcast, request, by=attendee.user)
    return request


def invitation_decline(*, attendee: Attendee) -> SpeakRequest:
    """The viewer says no to the host's invitation; the host is told, nothing else."""
    with transaction.atomic():
        broadcast = lock_broadcast(attendee.broadcast_id)
        request = _pending_of(broadcast, attendee.pk, invitation=True)
        request_move(request, "decline", by=attendee.user, decided_at=timezone.now())
        inviter = Attendee.objects.filter(
            broadcast=broadcast, user_id=request.invited_by_id
        ).first()
        if inviter is not None:
            send_private_on_commit(
                inviter.pk, events.invitation_declined(attendee=attendee_public(attendee))
            )
    return request


def attendee_remove(*, broadcast: Broadcast, attendee_id: int, by: AnyUser | None) -> Attendee:
    """Take someone out of the broadcast: their request ends, they leave the stage, their
    pages are disconnected, and they cannot come back to this broadcast."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        locked = lock_broadcast(broadcast.pk)
        attendee = (
            Attendee.objects.select_for_update().filter(pk=attendee_id, broadcast=locked).first()
        )
        if attendee is None:
            raise NotFound("There is no such person in this broadcast.")
        if attendee.role == Role.HOST:
            raise Conflict("Hosts cannot be removed; take them off the broadcast's hosts instead.")
        if attendee.removed_at is not None:
            raise Conflict(f"{attendee.display_name} was removed already.")
        request = (
            SpeakRequest.objects.select_for_update()
            .select_related("attendee")
            .filter(attendee=attendee, state__in=[R.PENDING, R.APPROVED])
            .first()
        )
        if request is not None and request.state == R.PENDING:
            _decline(locked, request, by=by)
        elif request is not None:
            _off_stage(locked, request, "remove", by=by)
        attendee.removed_at = timezone.now()
        attendee.removed_by = by if by is not None and by.is_authenticated else None
        attendee.save(update_fields=["removed_at", "removed_by"])
        audit_record(
            broadcast=locked, by=by, action="attendee.remove", subject=attendee.display_name
        )
        send_private_on_commit(
            attendee.pk,
            events.removed(message="You were removed from this broadcast."),
            then_close=True,
        )
    return attendee


def stage_clear_for_end(*, broadcast: Broadcast) -> None:
    """Ending a broadcast expires every pending request and ends every speaker's call.

    Runs inside the broadcast's end transition (which holds the broadcast's lock).
    """
    now = timezone.now()
    requests = SpeakRequest.objects.select_for_update().select_related("attendee")
    for request in requests.filter(broadcast=broadcast, state=R.PENDING):
        request_move(request, "expire", by=None, decided_at=now)
        _lowered(broadcast, request)
    speakers = list(requests.filter(broadcast=broadcast, state=R.APPROVED))
    for request in speakers:
        request_move(request, "end", by=None, seat=None, off_stage_at=now)
        _set_role(request.attendee, Role.VIEWER)
    if speakers:
        publish_stage(broadcast)


def speak_requests_sweep_absent(*, grace_seconds: float) -> int:
    """Expire the requests of people who left, and take dropped speakers off stage.

    Someone is gone when none of their pages has been connected for `grace_seconds`
    (a reload or a network blip is shorter). Run periodically by every server process.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    absent = SpeakRequest.objects.filter(
        state__in=[R.PENDING, R.APPROVED],
        attendee__connections=0,
        attendee__last_seen_at__lt=cutoff,
    ).values_list("pk", "broadcast_id")
    done = 0
    for request_id, broadcast_id in list(absent):
        with transaction.atomic():
            broadcast = lock_broadcast(broadcast_id)
            request = (
                SpeakRequest.objects.select_for_update()
                .select_related("attendee")
                .filter(pk=request_id, attendee__connections=0)
                .first()
            )
            if request is None or request.state not in (R.PENDING, R.APPROVED):
                continue
            if request.state == R.PENDING:
                request_move(request, "expire", by=None, decided_at=timezone.now())
                _lowered(broadcast, request)
                _publish_queue(broadcast)
            else:
                _off_stage(broadcast, request, "end", by=None)
            done += 1
    return done
