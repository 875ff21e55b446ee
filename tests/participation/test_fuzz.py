"""The live socket under fuzzed frames, as a guest and as the host (issue 18, "Bad
input"): every frame is answered by the protocol, nothing refused changes anything, and
the server logs no error (the harness: tests/participation/fuzz_frames.py)."""

import pytest

from broadcasts import services as broadcasts
from participation.models import Role
from participation.realtime.commands import ATTENDEES
from tests.participation.fuzz_frames import HandlerCalls, fuzz, fuzz_world

pytestmark = pytest.mark.django_db(transaction=True)

# Batches of fuzz_frames.BATCH frames.
GUEST_BATCHES = 1800
HOST_BATCHES = 1400
ENDED_BATCHES = 200


@pytest.fixture
def world(live_broadcast, host, ann, ben, viewer_user, settings):
    return fuzz_world(
        broadcast=live_broadcast,
        host=host,
        guests=[ann, ben],
        viewer_user=viewer_user,
        settings=settings,
    )


@pytest.fixture
def calls(monkeypatch):
    return HandlerCalls(monkeypatch)


def test_a_guest_fuzzing_the_live_socket_is_answered_and_changes_nothing_it_may_not(
    world, calls, live_broadcast, ann
):
    fuzz(
        world,
        calls,
        audience=ATTENDEES,
        role=Role.VIEWER,
        batches=GUEST_BATCHES,
        slug=live_broadcast.slug,
        guest_key=ann.guest_key,
    )


def test_the_host_fuzzing_the_live_socket_is_answered_and_changes_nothing_it_may_not(
    world, calls, live_broadcast, host
):
    # While it runs (an ended broadcast refuses nearly everything), then once it has ended.
    fuzz(
        world,
        calls,
        audience=ATTENDEES,
        role=Role.HOST,
        batches=HOST_BATCHES,
        leave_out=frozenset({"broadcast.end"}),
        slug=live_broadcast.slug,
        user=host,
    )
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    fuzz(
        world,
        calls,
        audience=ATTENDEES,
        role=Role.HOST,
        batches=ENDED_BATCHES,
        slug=live_broadcast.slug,
        user=host,
    )
