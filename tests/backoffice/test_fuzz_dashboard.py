"""The moderators' dashboard socket under fuzzed frames (issue 18, "Bad input"): every
frame answered by the protocol, nothing refused changes anything, no error in the log
(the harness: tests/participation/fuzz_frames.py)."""

import pytest

from broadcasts import services as broadcasts
from participation.realtime.commands import MODERATORS
from tests.participation.fuzz_frames import HandlerCalls, fuzz, fuzz_world

pytestmark = pytest.mark.django_db(transaction=True)

# Batches of fuzz_frames.BATCH frames.
RUNNING_BATCHES = 700
ENDED_BATCHES = 100


def test_a_moderator_fuzzing_the_dashboard_is_answered_and_changes_nothing_refused(
    live_broadcast, host, ann, ben, viewer_user, moderator, settings, monkeypatch
):
    world = fuzz_world(
        broadcast=live_broadcast,
        host=host,
        guests=[ann, ben],
        viewer_user=viewer_user,
        settings=settings,
    )
    calls = HandlerCalls(monkeypatch)
    dashboard = {"slug": live_broadcast.slug, "user": moderator, "path_suffix": "dashboard/"}
    # While it runs (an ended broadcast refuses nearly everything), then once it has ended.
    fuzz(
        world,
        calls,
        audience=MODERATORS,
        role=None,
        batches=RUNNING_BATCHES,
        leave_out=frozenset({"broadcast.end"}),
        **dashboard,
    )
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    fuzz(world, calls, audience=MODERATORS, role=None, batches=ENDED_BATCHES, **dashboard)
