"""Likes, ratings, the folded widget and the call-to-action (services and reads)."""

import json

import pytest

from broadcasts import services as broadcasts
from broadcasts.models import Broadcast
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from participation import reactions
from participation.analytics import likes_count, rating_distribution, rating_summary
from participation.models import Attendee, CtaClick, Like, Rating
from participation.realtime.bus import bus
from participation.realtime.counters import counters
from participation.realtime.names import counter_section
from participation.services import counter_publish
from participation.snapshots import live_snapshot
from tests.factories import BroadcastFactory, GuestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_leftover_counter_marks():
    """Counters are process-wide: leave none behind for another test's flusher."""
    counters.drain()
    yield
    counters.drain()


def fresh(attendee: Attendee) -> Attendee:
    return Attendee.objects.select_related("broadcast").get(pk=attendee.pk)


def published_since(slug: str, position) -> list[dict]:
    """The public events of a broadcast published after `position`."""
    now = bus().position(slug, epoch=position.epoch, since=position.seq)
    return [json.loads(frame) for frame in now.missed]


# --- Likes ----------------------------------------------------------------------------


def test_a_like_counts_once(live_broadcast, ann, ben):
    assert reactions.like(attendee=ann) is True
    assert reactions.like(attendee=ann) is False
    assert likes_count(broadcast_id=live_broadcast.pk) == 1
    assert Like.objects.filter(attendee=ann).count() == 1
    assert reactions.like(attendee=ben) is True
    assert likes_count(broadcast_id=live_broadcast.pk) == 2


def test_hosts_may_like_too(live_broadcast, host_attendee):
    assert reactions.like(attendee=host_attendee) is True


def test_a_like_shows_in_my_snapshot(live_broadcast, ann, ben):
    reactions.like(attendee=ann)
    mine = live_snapshot(broadcast=live_broadcast, attendee=ann)
    theirs = live_snapshot(broadcast=live_broadcast, attendee=ben)
    assert (mine["likes"], mine["me"]["liked"]) == (1, True)
    assert (theirs["likes"], theirs["me"]["liked"]) == (1, False)


def test_likes_are_counted_per_broadcast(live_broadcast, ann, host):
    other = GuestFactory(
        broadcast=broadcasts.broadcast_start(broadcast=BroadcastFactory(), by=None)
    )
    reactions.like(attendee=ann)
    reactions.like(attendee=other)
    assert likes_count(broadcast_id=live_broadcast.pk) == 1


def test_likes_while_paused_but_not_before_or_after(live_broadcast, host, ann):
    broadcasts.broadcast_pause(broadcast=live_broadcast, by=host)
    assert reactions.like(attendee=fresh(ann)) is True
    broadcasts.broadcast_resume(broadcast=live_broadcast, by=host)
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    with pytest.raises(Conflict):
        reactions.like(attendee=GuestFactory(broadcast=live_broadcast))
    assert likes_count(broadcast_id=live_broadcast.pk) == 1


def test_no_likes_before_the_broadcast_starts(scheduled_broadcast):
    guest = GuestFactory(broadcast=scheduled_broadcast)
    with pytest.raises(Conflict) as caught:
        reactions.like(attendee=guest)
    assert "live" in caught.value.message
    assert not Like.objects.exists()


def test_a_like_marks_the_likes_counter_after_the_commit(
    live_broadcast, ann, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reactions.like(attendee=ann)
        assert counters.drain() == []
    assert counters.drain() == [("likes", live_broadcast.pk)]
    # A second like changes nothing, so nothing is to be published.
    with django_capture_on_commit_callbacks(execute=True):
        reactions.like(attendee=ann)
    assert counters.drain() == []


def test_liking_too_often_is_rate_limited(live_broadcast, ann, settings):
    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "like": (2, 1_000_000)}
    reactions.like(attendee=ann)
    reactions.like(attendee=ann)
    with pytest.raises(RateLimited) as caught:
        reactions.like(attendee=ann)
    assert caught.value.code == "rate_limited"


# --- Ratings --------------------------------------------------------------------------


@pytest.mark.parametrize("stars", [1, 2, 3, 4, 5])
def test_one_to_five_stars(live_broadcast, ann, stars):
    rating = reactions.rate(attendee=ann, stars=stars)
    assert Rating.objects.get(pk=rating.pk).stars == stars
    assert rating_summary(broadcast_id=live_broadcast.pk) == {"average": stars, "count": 1}


@pytest.mark.parametrize("stars", [0, 6, -1, 100, "4", 4.0, None, True])
def test_anything_else_is_refused(live_broadcast, ann, stars):
    with pytest.raises(InvalidInput) as caught:
        reactions.rate(attendee=ann, stars=stars)
    assert caught.value.message == "Choose from 1 to 5 stars."
    assert not Rating.objects.exists()


def test_changing_a_rating_replaces_it(live_broadcast, ann):
    first = reactions.rate(attendee=ann, stars=4)
    second = reactions.rate(attendee=ann, stars=2)
    assert second.pk == first.pk
    assert list(Rating.objects.values_list("attendee_id", "stars")) == [(ann.pk, 2)]
    assert rating_summary(broadcast_id=live_broadcast.pk) == {"average": 2, "count": 1}
    assert live_snapshot(broadcast=live_broadcast, attendee=ann)["me"]["rating"] == 2


def test_hosts_do_not_rate_their_own_broadcast(live_broadcast, host_attendee):
    with pytest.raises(Conflict):
        reactions.rate(attendee=host_attendee, stars=5)
    assert not Rating.objects.exists()


def test_ratings_while_the_broadcast_runs_only(scheduled_broadcast, host):
    early = GuestFactory(broadcast=scheduled_broadcast)
    with pytest.raises(Conflict):
        reactions.rate(attendee=early, stars=3)
    broadcasts.broadcast_start(broadcast=scheduled_broadcast, by=host)
    broadcasts.broadcast_pause(broadcast=scheduled_broadcast, by=host)
    reactions.rate(attendee=fresh(early), stars=3)
    broadcasts.broadcast_end(broadcast=scheduled_broadcast, by=host)
    with pytest.raises(Conflict):
        reactions.rate(attendee=fresh(early), stars=5)
    assert Rating.objects.get().stars == 3


def test_rating_summary_and_distribution(live_broadcast):
    assert rating_summary(broadcast_id=live_broadcast.pk) == {"average": None, "count": 0}
    assert rating_distribution(broadcast_id=live_broadcast.pk) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    for stars in (5, 5, 4, 1):
        reactions.rate(attendee=GuestFactory(broadcast=live_broadcast), stars=stars)
    # Another broadcast's ratings do not count.
    elsewhere = broadcasts.broadcast_start(broadcast=BroadcastFactory(), by=None)
    reactions.rate(attendee=GuestFactory(broadcast=elsewhere), stars=1)
    assert rating_summary(broadcast_id=live_broadcast.pk) == {"average": 3.8, "count": 4}
    assert rating_distribution(broadcast_id=live_broadcast.pk) == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}


def test_the_average_is_rounded_to_one_decimal(live_broadcast):
    for stars in (5, 5, 4):
        reactions.rate(attendee=GuestFactory(broadcast=live_broadcast), stars=stars)
    assert rating_summary(broadcast_id=live_broadcast.pk) == {"average": 4.7, "count": 3}
    snapshot = live_snapshot(
        broadcast=live_broadcast, attendee=GuestFactory(broadcast=live_broadcast)
    )
    assert snapshot["broadcast"]["rating"] == {"average": 4.7, "count": 3}
    assert snapshot["me"]["rating"] is None


def test_a_rating_marks_the_rating_counter(live_broadcast, ann, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reactions.rate(attendee=ann, stars=3)
    assert counters.drain() == [("rating", live_broadcast.pk)]


def test_rating_too_often_is_rate_limited(live_broadcast, ann, settings):
    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "rate": (1, 1_000_000)}
    reactions.rate(attendee=ann, stars=3)
    with pytest.raises(RateLimited):
        reactions.rate(attendee=ann, stars=4)
    assert Rating.objects.get().stars == 3


# --- The folded widget ----------------------------------------------------------------


def test_a_folded_widget_is_remembered(live_broadcast, ann, ben):
    reactions.widget_fold(attendee=ann, closed=True)
    assert ann.widget_closed is True
    assert fresh(ann).widget_closed is True
    assert fresh(ben).widget_closed is False
    assert live_snapshot(broadcast=live_broadcast, attendee=fresh(ann))["me"]["widget_closed"]
    reactions.widget_fold(attendee=ann, closed=False)
    assert fresh(ann).widget_closed is False


# --- The call-to-action ---------------------------------------------------------------


def test_a_click_is_recorded_with_its_page(live_broadcast, ann):
    click = reactions.cta_click_record(broadcast=live_broadcast, attendee=ann, source="embed")
    assert CtaClick.objects.get(pk=click.pk).source == "embed"
    assert CtaClick.objects.get(pk=click.pk).attendee == ann
    anonymous = reactions.cta_click_record(broadcast=live_broadcast, attendee=None, source="end")
    assert (anonymous.attendee, anonymous.source) == (None, "end")


def test_an_unknown_page_counts_as_the_watch_page(live_broadcast, ann):
    click = reactions.cta_click_record(broadcast=live_broadcast, attendee=ann, source="evil<b>")
    assert CtaClick.objects.get(pk=click.pk).source == "watch"


def test_an_attendee_of_another_broadcast_is_not_credited(live_broadcast, host):
    stranger = GuestFactory(broadcast=BroadcastFactory(host=host))
    click = reactions.cta_click_record(broadcast=live_broadcast, attendee=stranger, source="watch")
    assert CtaClick.objects.get(pk=click.pk).attendee is None
    assert CtaClick.objects.get(pk=click.pk).broadcast == live_broadcast


def test_no_click_without_a_call_to_action(host):
    bare = BroadcastFactory(host=host, cta_label="", cta_url="", cta_headline="")
    with pytest.raises(Conflict):
        reactions.cta_click_record(broadcast=bare, attendee=None, source="landing")
    assert not CtaClick.objects.exists()


def test_pushing_the_call_to_action_tells_every_viewer(
    live_broadcast, host, django_capture_on_commit_callbacks
):
    before = bus().position(live_broadcast.slug)
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts.broadcast_cta_push(broadcast=live_broadcast, by=host)
    stored = Broadcast.objects.get(pk=live_broadcast.pk).cta_pushed_at
    assert stored is not None
    (event,) = published_since(live_broadcast.slug, before)
    assert event["type"] == "cta"
    assert event["cta"] == {
        "headline": "Twenty percent off for viewers",
        "label": "Get the offer",
        "url": "https://example.com/offer",
    }
    assert event["at"].startswith(stored.isoformat()[:19])


def test_pushing_while_paused_is_allowed(live_broadcast, host):
    broadcasts.broadcast_pause(broadcast=live_broadcast, by=host)
    broadcasts.broadcast_cta_push(broadcast=live_broadcast, by=None)
    assert Broadcast.objects.get(pk=live_broadcast.pk).cta_pushed_at is not None


def test_no_push_without_a_call_to_action(host):
    bare = BroadcastFactory(host=host, cta_label="", cta_url="", cta_headline="")
    bare = broadcasts.broadcast_start(broadcast=bare, by=host)
    with pytest.raises(Conflict) as caught:
        broadcasts.broadcast_cta_push(broadcast=bare, by=host)
    assert "no call-to-action" in caught.value.message
    assert Broadcast.objects.get(pk=bare.pk).cta_pushed_at is None


def test_no_push_unless_live(scheduled_broadcast, host):
    with pytest.raises(Conflict):
        broadcasts.broadcast_cta_push(broadcast=scheduled_broadcast, by=host)
    broadcasts.broadcast_start(broadcast=scheduled_broadcast, by=host)
    broadcasts.broadcast_end(broadcast=scheduled_broadcast, by=host)
    with pytest.raises(Conflict):
        broadcasts.broadcast_cta_push(broadcast=scheduled_broadcast, by=host)
    assert Broadcast.objects.get(pk=scheduled_broadcast.pk).cta_pushed_at is None


def test_strangers_cannot_push(live_broadcast, viewer_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Forbidden):
        broadcasts.broadcast_cta_push(broadcast=live_broadcast, by=viewer_user)
    assert callbacks == []
    assert Broadcast.objects.get(pk=live_broadcast.pk).cta_pushed_at is None


# --- Publishing counters --------------------------------------------------------------


def test_counter_publish_sends_each_kind(live_broadcast, ann, ben):
    reactions.like(attendee=ann)
    reactions.rate(attendee=ann, stars=4)
    reactions.rate(attendee=ben, stars=3)
    Attendee.objects.filter(pk=ann.pk).update(connections=1)
    before = bus().position(live_broadcast.slug)
    for kind in ("likes", "rating", "audience"):
        counter_publish(kind=kind, broadcast_id=live_broadcast.pk)
    likes, rating, audience = published_since(live_broadcast.slug, before)
    assert likes["type"] == "likes" and likes["count"] == 1
    assert rating["type"] == "rating"
    assert (rating["average"], rating["count"]) == (3.5, 2)
    assert audience["type"] == "audience" and audience["count"] == 1
    assert [a["name"] for a in audience["sample"]] == ["Ann"]
    assert [likes["seq"], rating["seq"], audience["seq"]] == [
        before.seq + 1,
        before.seq + 2,
        before.seq + 3,
    ]


def test_counter_publish_refuses_unknown_kinds_and_broadcasts(live_broadcast):
    before = bus().position(live_broadcast.slug)
    with pytest.raises(ValueError):
        counter_publish(kind="hearts", broadcast_id=live_broadcast.pk)
    with pytest.raises(NotFound):
        counter_publish(kind="likes", broadcast_id=live_broadcast.pk + 1000)
    assert published_since(live_broadcast.slug, before) == []


def test_one_process_at_a_time_publishes_a_counter_and_not_too_often(live_broadcast, ann):
    # Two processes reading and publishing at once could publish an older count last.
    reactions.like(attendee=ann)
    before = bus().position(live_broadcast.slug)
    with bus().exclusive(counter_section("likes", live_broadcast.pk)) as ours:
        assert ours
        assert counter_publish(kind="likes", broadcast_id=live_broadcast.pk) is False
    assert published_since(live_broadcast.slug, before) == []

    assert counter_publish(kind="likes", broadcast_id=live_broadcast.pk) is True
    # Spaced: a second publication right after waits for the flusher's next round.
    assert counter_publish(kind="likes", broadcast_id=live_broadcast.pk) is False
    (likes,) = published_since(live_broadcast.slug, before)
    assert likes["count"] == 1
