"""Requests to speak and the stage: the state machine and its rules (services)."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone

from broadcasts import services as broadcasts
from core.errors import Conflict, Forbidden, NotFound
from participation import stage
from participation.models import Attendee, Role, SpeakRequest, SpeakRequestTransition
from participation.selectors import queue_position
from participation.snapshots import live_snapshot
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewers(live_broadcast):
    return [
        GuestFactory(broadcast=live_broadcast, display_name=name, connections=1)
        for name in ("Ann", "Ben", "Cid", "Dee")
    ]


def states(*requests):
    return [SpeakRequest.objects.get(pk=r.pk).state for r in requests]


def test_a_raised_hand_waits_in_order_and_can_be_cancelled(live_broadcast, viewers):
    ann, ben, cid, _ = viewers
    requests = [stage.hand_raise(attendee=a) for a in (ann, ben, cid)]
    assert [queue_position(r) for r in requests] == [1, 2, 3]
    snapshot = live_snapshot(broadcast=live_broadcast, attendee=cid)
    assert [a["name"] for a in snapshot["hands"]] == ["Ann", "Ben", "Cid"]
    assert snapshot["me"]["request"] == {
        "id": requests[2].pk,
        "state": "pending",
        "invited": False,
        "invited_by": None,
        "position": 3,
    }

    stage.hand_cancel(attendee=ben)
    assert states(*requests) == ["pending", "cancelled", "pending"]
    assert queue_position(SpeakRequest.objects.get(pk=requests[2].pk)) == 2
    # Asking again puts you at the back of the queue.
    again = stage.hand_raise(attendee=ben)
    assert queue_position(again) == 3


def test_asking_twice_is_one_request(live_broadcast, viewers, django_capture_on_commit_callbacks):
    first = stage.hand_raise(attendee=viewers[0])
    with django_capture_on_commit_callbacks(execute=False) as published:
        again = stage.hand_raise(attendee=viewers[0])
    assert again.pk == first.pk
    assert published == []
    assert SpeakRequest.objects.filter(attendee=viewers[0]).count() == 1


def test_a_viewer_invited_on_stage_answers_the_invitation_rather_than_asks(
    live_broadcast, host, viewers
):
    stage.stage_invite(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=host)
    with pytest.raises(Conflict, match="accept or decline"):
        stage.hand_raise(attendee=viewers[0])
    assert SpeakRequest.objects.filter(attendee=viewers[0]).count() == 1


def test_the_database_refuses_two_active_requests_of_one_attendee(live_broadcast, viewers):
    from django.db import IntegrityError, transaction

    SpeakRequest.objects.create(broadcast=live_broadcast, attendee=viewers[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        SpeakRequest.objects.create(broadcast=live_broadcast, attendee=viewers[0])


def test_approval_puts_the_viewer_on_stage_and_end_call_takes_them_off(
    live_broadcast, viewers, host
):
    ann = viewers[0]
    request = stage.hand_raise(attendee=ann)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    request.refresh_from_db()
    ann.refresh_from_db()
    assert (request.state, request.seat, ann.role) == ("approved", 0, Role.SPEAKER)
    assert request.on_stage_at is not None
    snapshot = live_snapshot(broadcast=live_broadcast, attendee=viewers[1])
    assert "Ann" in [a["name"] for a in snapshot["stage"]]
    assert snapshot["hands"] == []

    stage.stage_leave(attendee=ann)
    request.refresh_from_db()
    ann.refresh_from_db()
    assert (request.state, request.seat, ann.role) == ("ended", None, Role.VIEWER)
    moves = [(t.from_state, t.to_state, t.by) for t in request.transitions.all()]
    assert moves == [
        ("", "pending", None),
        ("pending", "approved", host),
        ("approved", "ended", None),
    ]


def test_decline_lower_all_and_remove(live_broadcast, viewers, host):
    ann, ben, *_ = viewers
    for attendee in viewers:
        stage.hand_raise(attendee=attendee)
    stage.hand_decline(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ben.pk, by=host)
    assert stage.hands_lower_all(broadcast=live_broadcast, by=host) == 2
    assert list(
        SpeakRequest.objects.order_by("attendee__display_name").values_list("state", flat=True)
    ) == [
        "declined",
        "approved",
        "declined",
        "declined",
    ]
    stage.stage_remove(broadcast=live_broadcast, attendee_id=ben.pk, by=host)
    assert states(SpeakRequest.objects.get(attendee=ben)) == ["removed"]
    assert Attendee.objects.get(pk=ben.pk).role == Role.VIEWER


def test_the_stage_holds_the_host_plus_its_size(live_broadcast, viewers, host):
    live_broadcast.stage_size = 2
    live_broadcast.save()
    for attendee in viewers[:3]:
        stage.hand_raise(attendee=attendee)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=host)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[1].pk, by=host)
    with pytest.raises(Conflict, match="stage is full"):
        stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[2].pk, by=host)
    assert states(SpeakRequest.objects.get(attendee=viewers[2])) == ["pending"]
    # A place frees up: the seat is given again.
    stage.stage_leave(attendee=Attendee.objects.get(pk=viewers[0].pk))
    approved = stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[2].pk, by=host)
    assert approved.seat == 0


@pytest.mark.parametrize(
    ("action", "allowed_from"),
    [
        ("approve", {"pending"}),
        ("decline", {"pending"}),
        ("cancel", {"pending"}),
        ("expire", {"pending"}),
        ("end", {"approved"}),
        ("remove", {"approved"}),
    ],
)
@pytest.mark.parametrize(
    "state", ["pending", "approved", "declined", "cancelled", "expired", "ended", "removed"]
)
def test_every_move_of_the_request_state_machine(
    live_broadcast, viewers, action, allowed_from, state
):
    request = SpeakRequest.objects.create(
        broadcast=live_broadcast,
        attendee=viewers[0],
        state=state,
        seat=0 if state == "approved" else None,
    )
    expected = {
        "approve": "approved",
        "decline": "declined",
        "cancel": "cancelled",
        "expire": "expired",
        "end": "ended",
        "remove": "removed",
    }[action]
    changes = {"seat": 0} if action == "approve" else {}
    if state in allowed_from:
        stage.request_move(request, action, by=None, **changes)
        assert SpeakRequest.objects.get(pk=request.pk).state == expected
        assert SpeakRequestTransition.objects.get(request=request).to_state == expected
    else:
        with pytest.raises(Conflict):
            stage.request_move(request, action, by=None, **changes)
        assert SpeakRequest.objects.get(pk=request.pk).state == state
        assert not SpeakRequestTransition.objects.filter(request=request).exists()


def test_only_hosts_decide(live_broadcast, viewers, viewer_user):
    stage.hand_raise(attendee=viewers[0])
    for move in (stage.hand_approve, stage.hand_decline, stage.stage_invite):
        with pytest.raises(Forbidden):
            move(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=viewer_user)
    with pytest.raises(Forbidden):
        stage.hands_lower_all(broadcast=live_broadcast, by=viewer_user)


def test_requests_need_a_running_broadcast(scheduled_broadcast):
    guest = GuestFactory(broadcast=scheduled_broadcast)
    with pytest.raises(Conflict, match="not live"):
        stage.hand_raise(attendee=guest)


def test_missing_requests_are_not_found(live_broadcast, viewers, host):
    with pytest.raises(NotFound):
        stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=host)
    with pytest.raises(NotFound):
        stage.stage_remove(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=host)
    with pytest.raises(NotFound):
        stage.hand_cancel(attendee=viewers[0])


def test_an_invitation_waits_for_the_viewer_to_accept(live_broadcast, viewers, host):
    ann, ben, *_ = viewers
    invitation = stage.stage_invite(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    assert invitation.is_invitation and invitation.state == "pending"
    assert Attendee.objects.get(pk=ann.pk).role == Role.VIEWER  # nothing starts yet
    snapshot = live_snapshot(broadcast=live_broadcast, attendee=ann)
    assert snapshot["hands"] == []  # an invitation is not a raised hand
    assert snapshot["me"]["request"]["invited"] is True
    # A host cannot approve an invitation in the viewer's place.
    with pytest.raises(NotFound):
        stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    stage.invitation_accept(attendee=ann)
    assert Attendee.objects.get(pk=ann.pk).role == Role.SPEAKER

    stage.stage_invite(broadcast=live_broadcast, attendee_id=ben.pk, by=host)
    stage.invitation_decline(attendee=ben)
    assert SpeakRequest.objects.get(attendee=ben).state == "declined"
    assert Attendee.objects.get(pk=ben.pk).role == Role.VIEWER


def test_invitations_go_to_present_viewers_without_a_request(live_broadcast, viewers, host):
    ann, ben, *_ = viewers
    stage.hand_raise(attendee=ann)
    with pytest.raises(Conflict, match="approve their request"):
        stage.stage_invite(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    Attendee.objects.filter(pk=ben.pk).update(connections=0)
    with pytest.raises(Conflict, match="not watching"):
        stage.stage_invite(broadcast=live_broadcast, attendee_id=ben.pk, by=host)


def test_ending_the_broadcast_expires_requests_and_ends_calls(live_broadcast, viewers, host):
    ann, ben, *_ = viewers
    waiting = stage.hand_raise(attendee=ann)
    stage.hand_raise(attendee=ben)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ben.pk, by=host)
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    assert states(waiting, SpeakRequest.objects.get(attendee=ben)) == ["expired", "ended"]
    assert Attendee.objects.get(pk=ben.pk).role == Role.VIEWER


def test_pausing_keeps_the_stage(live_broadcast, viewers, host):
    stage.hand_raise(attendee=viewers[0])
    stage.hand_approve(broadcast=live_broadcast, attendee_id=viewers[0].pk, by=host)
    broadcasts.broadcast_pause(broadcast=live_broadcast, by=host)
    assert Attendee.objects.get(pk=viewers[0].pk).role == Role.SPEAKER


def test_people_who_left_lose_their_request_or_their_place(live_broadcast, viewers, host):
    ann, ben, cid, _ = viewers
    gone = stage.hand_raise(attendee=ann)
    blip = stage.hand_raise(attendee=cid)
    stage.hand_raise(attendee=ben)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ben.pk, by=host)
    long_ago = timezone.now() - timedelta(seconds=60)
    Attendee.objects.filter(pk__in=[ann.pk, ben.pk]).update(connections=0, last_seen_at=long_ago)
    # Cid's page reloads: gone for a moment only.
    Attendee.objects.filter(pk=cid.pk).update(connections=0, last_seen_at=timezone.now())
    assert stage.speak_requests_sweep_absent(grace_seconds=20) == 2
    assert states(gone, blip, SpeakRequest.objects.get(attendee=ben)) == [
        "expired",
        "pending",
        "ended",
    ]
    assert Attendee.objects.get(pk=ben.pk).role == Role.VIEWER
    assert stage.speak_requests_sweep_absent(grace_seconds=20) == 0


@pytest.mark.django_db(transaction=True)
def test_two_hosts_approving_for_the_last_place_one_wins(live_broadcast, host):
    live_broadcast.stage_size = 1
    live_broadcast.save()
    co_host = UserFactory()
    live_broadcast.co_hosts.add(co_host)
    first, second = (GuestFactory(broadcast=live_broadcast, connections=1) for _ in range(2))
    stage.hand_raise(attendee=first)
    stage.hand_raise(attendee=second)

    barrier = threading.Barrier(2)
    outcomes = {}

    def approve(attendee, by):
        barrier.wait()
        try:
            stage.hand_approve(broadcast=live_broadcast, attendee_id=attendee.pk, by=by)
            outcomes[attendee.pk] = "approved"
        except Conflict as error:
            outcomes[attendee.pk] = error.code
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=approve, args=(first, host)),
        threading.Thread(target=approve, args=(second, co_host)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["approved", "conflict"]
    assert SpeakRequest.objects.filter(broadcast=live_broadcast, state="approved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_seat_constraint_holds_without_the_lock(live_broadcast):
    """With the lock out of the way, the database itself refuses a second speaker."""
    from django.db import IntegrityError, transaction

    ann, ben = (GuestFactory(broadcast=live_broadcast) for _ in range(2))
    SpeakRequest.objects.create(broadcast=live_broadcast, attendee=ann, state="approved", seat=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        SpeakRequest.objects.create(
            broadcast=live_broadcast, attendee=ben, state="approved", seat=0
        )


def test_the_host_is_on_stage_as_soon_as_the_broadcast_goes_live(scheduled_broadcast, host):
    guest = GuestFactory(broadcast=scheduled_broadcast)
    assert live_snapshot(broadcast=scheduled_broadcast, attendee=guest)["stage"] == []
    broadcasts.broadcast_start(broadcast=scheduled_broadcast, by=None)
    stage_now = live_snapshot(broadcast=scheduled_broadcast, attendee=guest)["stage"]
    assert [(a["name"], a["role"]) for a in stage_now] == [("Hana Host", "host")]
