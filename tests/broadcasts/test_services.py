"""The broadcast lifecycle: the state machine, its records, who may move it, and its events."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from broadcasts import services
from broadcasts.models import Broadcast, BroadcastState, BroadcastTransition
from core.errors import Conflict, Forbidden, InvalidInput
from participation.realtime import publish
from tests.factories import BroadcastFactory, GroupFactory, UserFactory

STATES = ["draft", "scheduled", "live", "paused", "ended"]
ACTIONS = ["schedule", "start", "pause", "resume", "end"]

# Written out by hand (not read from services.LIFECYCLE): the product's lifecycle.
ALLOWED = {
    ("draft", "schedule"): "scheduled",
    ("draft", "start"): "live",
    ("scheduled", "start"): "live",
    ("live", "pause"): "paused",
    ("paused", "resume"): "live",
    ("live", "end"): "ended",
    ("paused", "end"): "ended",
}

# How to reach each state from a fresh draft, as the product does it.
PATHS = {
    "draft": [],
    "scheduled": ["schedule"],
    "live": ["start"],
    "paused": ["start", "pause"],
    "ended": ["start", "end"],
}


def _act(action: str, broadcast: Broadcast, by) -> Broadcast:
    if action == "schedule":
        return services.broadcast_schedule(
            broadcast=broadcast, by=by, scheduled_start=timezone.now() + timedelta(hours=2)
        )
    function = {
        "start": services.broadcast_start,
        "pause": services.broadcast_pause,
        "resume": services.broadcast_resume,
        "end": services.broadcast_end,
    }[action]
    return function(broadcast=broadcast, by=by)


def _broadcast_in(state: str, host) -> Broadcast:
    broadcast = BroadcastFactory(host=host)
    for action in PATHS[state]:
        _act(action, broadcast, host)
    broadcast.refresh_from_db()
    assert broadcast.state == state
    return broadcast


class FakeBus:
    def __init__(self):
        self.published: list[tuple[str, dict]] = []

    def publish(self, slug: str, payload: dict) -> int:
        self.published.append((slug, payload))
        return len(self.published)


@pytest.fixture
def fake_bus(monkeypatch):
    fake = FakeBus()
    monkeypatch.setattr(publish, "bus", lambda: fake)
    return fake


def test_every_state_and_action_pair_is_covered():
    pairs = {(state, action) for state in STATES for action in ACTIONS}
    assert set(ALLOWED) <= pairs
    assert {s.value for s in BroadcastState} == set(STATES)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_state_machine(state, action, host):
    broadcast = _broadcast_in(state, host)
    transitions_before = BroadcastTransition.objects.filter(broadcast=broadcast).count()
    expected = ALLOWED.get((state, action))

    if expected is None:
        with pytest.raises(Conflict) as caught:
            _act(action, broadcast, host)
        assert caught.value.code == "conflict"
        assert caught.value.message
        assert broadcast.state == state  # the caller's object is untouched too
        broadcast.refresh_from_db()
        assert broadcast.state == state
        assert BroadcastTransition.objects.filter(broadcast=broadcast).count() == transitions_before
        return

    before = timezone.now()
    returned = _act(action, broadcast, host)
    after = timezone.now()
    assert returned.state == expected
    broadcast.refresh_from_db()
    assert broadcast.state == expected
    transitions = list(BroadcastTransition.objects.filter(broadcast=broadcast))
    assert len(transitions) == transitions_before + 1
    last = transitions[-1]
    assert (last.from_state, last.to_state, last.by) == (state, expected, host)
    assert before <= last.at <= after


def test_conflict_on_a_stale_object_reads_the_current_state(host):
    broadcast = _broadcast_in("live", host)
    stale = Broadcast.objects.get(pk=broadcast.pk)
    services.broadcast_end(broadcast=broadcast, by=host)
    assert stale.state == "live"
    with pytest.raises(Conflict):
        services.broadcast_pause(broadcast=stale, by=host)
    stale.refresh_from_db()
    assert stale.state == "ended"


def test_went_live_at_is_set_once_and_kept_through_pause_and_resume(host):
    broadcast = _broadcast_in("scheduled", host)
    assert broadcast.went_live_at is None
    before = timezone.now()
    services.broadcast_start(broadcast=broadcast, by=host)
    broadcast.refresh_from_db()
    first = broadcast.went_live_at
    assert first is not None
    assert before <= first <= timezone.now()
    assert broadcast.ended_at is None

    services.broadcast_pause(broadcast=broadcast, by=host)
    services.broadcast_resume(broadcast=broadcast, by=host)
    broadcast.refresh_from_db()
    assert broadcast.state == "live"
    assert broadcast.went_live_at == first
    assert broadcast.ended_at is None


def test_ended_at_is_set_on_end(host):
    broadcast = _broadcast_in("paused", host)
    before = timezone.now()
    returned = services.broadcast_end(broadcast=broadcast, by=host)
    broadcast.refresh_from_db()
    assert broadcast.ended_at is not None
    assert before <= broadcast.ended_at <= timezone.now()
    assert returned.ended_at == broadcast.ended_at
    assert broadcast.went_live_at is not None
    assert broadcast.went_live_at <= broadcast.ended_at


def test_full_history_is_recorded_in_order(host):
    broadcast = BroadcastFactory(host=host)
    for action in ["schedule", "start", "pause", "resume", "end"]:
        _act(action, broadcast, host)
    history = list(broadcast.transitions.values_list("from_state", "to_state", "by"))
    assert history == [
        ("draft", "scheduled", host.pk),
        ("scheduled", "live", host.pk),
        ("live", "paused", host.pk),
        ("paused", "live", host.pk),
        ("live", "ended", host.pk),
    ]


def test_scheduling_without_a_start_time_is_invalid(host):
    broadcast = BroadcastFactory(host=host)
    assert broadcast.scheduled_start is None
    with pytest.raises(InvalidInput) as caught:
        services.broadcast_schedule(broadcast=broadcast, by=host)
    assert caught.value.code == "invalid"
    broadcast.refresh_from_db()
    assert broadcast.state == "draft"
    assert not broadcast.transitions.exists()


def test_scheduling_uses_the_start_time_already_set(host):
    start = timezone.now() + timedelta(days=1)
    broadcast = BroadcastFactory(host=host, scheduled_start=start)
    services.broadcast_schedule(broadcast=broadcast, by=host)
    broadcast.refresh_from_db()
    assert broadcast.state == "scheduled"
    assert broadcast.scheduled_start == start


def test_scheduling_stores_the_given_start_time(host):
    start = timezone.now() + timedelta(days=3)
    broadcast = BroadcastFactory(host=host)
    services.broadcast_schedule(broadcast=broadcast, by=host, scheduled_start=start)
    broadcast.refresh_from_db()
    assert broadcast.scheduled_start == start


@pytest.mark.parametrize("action", ACTIONS)
def test_a_stranger_is_forbidden(action, host, viewer_user):
    # From a state where the action would otherwise be allowed.
    state = next(s for (s, a) in ALLOWED if a == action)
    broadcast = _broadcast_in(state, host)
    count = broadcast.transitions.count()
    with pytest.raises(Forbidden) as caught:
        _act(action, broadcast, viewer_user)
    assert caught.value.code == "forbidden"
    broadcast.refresh_from_db()
    assert broadcast.state == state
    assert broadcast.transitions.count() == count


def test_an_anonymous_user_is_forbidden(host):
    broadcast = _broadcast_in("scheduled", host)
    with pytest.raises(Forbidden):
        services.broadcast_start(broadcast=broadcast, by=AnonymousUser())
    broadcast.refresh_from_db()
    assert broadcast.state == "scheduled"


def test_a_member_of_another_group_is_forbidden(host):
    outsider = UserFactory(is_staff=True)
    outsider.groups.add(GroupFactory(name="Marketing"))
    broadcast = _broadcast_in("scheduled", host)
    with pytest.raises(Forbidden):
        services.broadcast_start(broadcast=broadcast, by=outsider)


def test_the_host_of_another_broadcast_is_forbidden(host):
    other_host = UserFactory()
    BroadcastFactory(host=other_host)
    broadcast = _broadcast_in("scheduled", host)
    with pytest.raises(Forbidden):
        services.broadcast_start(broadcast=broadcast, by=other_host)


def test_a_co_host_may_run_the_broadcast(host):
    co_host = UserFactory()
    broadcast = _broadcast_in("scheduled", host)
    broadcast.co_hosts.add(co_host)
    services.broadcast_start(broadcast=broadcast, by=co_host)
    services.broadcast_pause(broadcast=broadcast, by=co_host)
    services.broadcast_resume(broadcast=broadcast, by=co_host)
    services.broadcast_end(broadcast=broadcast, by=co_host)
    broadcast.refresh_from_db()
    assert broadcast.state == "ended"
    assert set(broadcast.transitions.values_list("by", flat=True)) == {host.pk, co_host.pk}
    assert broadcast.transitions.filter(by=co_host).count() == 4


def test_a_moderator_may_run_any_broadcast(host):
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    broadcast = BroadcastFactory(host=host)
    _act("schedule", broadcast, moderator)
    services.broadcast_start(broadcast=broadcast, by=moderator)
    services.broadcast_end(broadcast=broadcast, by=moderator)
    broadcast.refresh_from_db()
    assert broadcast.state == "ended"
    assert list(broadcast.transitions.values_list("by", flat=True)) == [moderator.pk] * 3


def test_the_moderate_permission_alone_is_enough(host):
    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="broadcasts", codename="moderate_broadcast")
    )
    broadcast = _broadcast_in("scheduled", host)
    services.broadcast_start(broadcast=broadcast, by=user)
    broadcast.refresh_from_db()
    assert broadcast.state == "live"


def test_the_system_may_act_without_a_user(host):
    broadcast = _broadcast_in("live", host)
    services.broadcast_end(broadcast=broadcast, by=None)
    last = broadcast.transitions.last()
    assert (last.from_state, last.to_state, last.by) == ("live", "ended", None)


def test_create_with_a_start_time_is_scheduled_with_one_transition(host):
    start = timezone.now() + timedelta(hours=5)
    broadcast = services.broadcast_create(
        title="Autumn launch", slug="autumn-launch", host=host, scheduled_start=start
    )
    broadcast.refresh_from_db()
    assert broadcast.state == "scheduled"
    assert broadcast.scheduled_start == start
    transitions = list(broadcast.transitions.all())
    assert len(transitions) == 1
    assert (transitions[0].from_state, transitions[0].to_state, transitions[0].by) == (
        "draft",
        "scheduled",
        host,
    )


def test_create_records_who_created_it(host):
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    broadcast = services.broadcast_create(
        title="Webinar",
        slug="webinar",
        host=host,
        by=moderator,
        scheduled_start=timezone.now() + timedelta(hours=1),
    )
    assert broadcast.transitions.get().by == moderator


def test_create_without_a_start_time_is_a_draft(host):
    broadcast = services.broadcast_create(title="Later", slug="later", host=host)
    broadcast.refresh_from_db()
    assert broadcast.state == "draft"
    assert not broadcast.transitions.exists()


def test_create_validates_the_broadcast(host):
    with pytest.raises(ValidationError) as caught:
        services.broadcast_create(
            title="Members only",
            slug="members-only",
            host=host,
            audience="group",
            scheduled_start=timezone.now() + timedelta(hours=1),
        )
    assert "audience_group" in caught.value.message_dict
    assert not Broadcast.objects.filter(slug="members-only").exists()


def test_state_event_is_published_only_after_commit(
    host, fake_bus, django_capture_on_commit_callbacks
):
    broadcast = _broadcast_in("scheduled", host)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.broadcast_start(broadcast=broadcast, by=host)
        assert fake_bus.published == []  # not before the commit
    # Going live also puts the host on stage (a stage.changed of its own).
    assert len(callbacks) == 2
    assert [p["type"] for _, p in fake_bus.published] == ["stage.changed", "broadcast.state"]
    slug, payload = fake_bus.published[1]
    assert slug == broadcast.slug
    assert payload["state"] == "live"


def test_each_transition_publishes_its_new_state(
    host, fake_bus, django_capture_on_commit_callbacks
):
    broadcast = BroadcastFactory(host=host)
    with django_capture_on_commit_callbacks(execute=True):
        for action in ["schedule", "start", "pause", "resume", "end"]:
            _act(action, broadcast, host)
    states = [p["state"] for _, p in fake_bus.published if p["type"] == "broadcast.state"]
    assert states == ["scheduled", "live", "paused", "live", "ended"]
    others = {p["type"] for _, p in fake_bus.published if p["type"] != "broadcast.state"}
    assert others == {"stage.changed"}  # the host coming on stage when it goes live


def test_each_state_event_carries_the_rules_pages_follow(
    host, fake_bus, django_capture_on_commit_callbacks
):
    """Pages draw their buttons from `actions` and their live controls from `running`."""
    broadcast = BroadcastFactory(host=host)
    with django_capture_on_commit_callbacks(execute=True):
        for action in ["schedule", "start", "pause", "resume", "end"]:
            _act(action, broadcast, host)
    rules = [
        (p["state"], p["running"], p["actions"])
        for _, p in fake_bus.published
        if p["type"] == "broadcast.state"
    ]
    assert rules == [
        ("scheduled", False, ["broadcast.start"]),
        ("live", True, ["broadcast.pause", "broadcast.end"]),
        ("paused", True, ["broadcast.resume", "broadcast.end"]),
        ("live", True, ["broadcast.pause", "broadcast.end"]),
        ("ended", False, []),
    ]


@pytest.mark.parametrize("state", STATES)
def test_the_broadcast_s_public_data_carries_the_same_rules(host, state):
    from broadcasts.selectors import broadcast_public_data

    broadcast = _broadcast_in(state, host)
    data = broadcast_public_data(broadcast=broadcast)
    assert data["running"] is (state in ("live", "paused"))
    live = {a for (s, a) in ALLOWED if s == state and a != "schedule"}
    assert set(data["actions"]) == {f"broadcast.{a}" for a in live}


def test_nothing_is_published_when_the_transaction_rolls_back(
    host, fake_bus, django_capture_on_commit_callbacks
):
    broadcast = _broadcast_in("scheduled", host)

    class Boom(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        services.broadcast_start(broadcast=broadcast, by=host)
        raise Boom
    assert callbacks == []
    assert fake_bus.published == []
    broadcast.refresh_from_db()
    assert broadcast.state == "scheduled"
    assert broadcast.transitions.count() == 1


def test_nothing_is_published_for_a_refused_move(
    host, fake_bus, django_capture_on_commit_callbacks
):
    broadcast = _broadcast_in("scheduled", host)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Conflict):
            services.broadcast_pause(broadcast=broadcast, by=host)
        with pytest.raises(Forbidden):
            services.broadcast_start(broadcast=broadcast, by=UserFactory())
    assert callbacks == []
    assert fake_bus.published == []
