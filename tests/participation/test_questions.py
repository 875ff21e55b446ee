"""Questions from the audience: asking, moderation moves, pinning, upvotes, who sees what
(services and reads; the socket is in test_live_engagement.py)."""

import json
import types

import pytest
from django.contrib.auth.models import Group

from broadcasts import services as broadcasts
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from participation import questions
from participation.models import Question, QuestionVote
from participation.presenters import question_public
from participation.realtime.bus import bus
from participation.snapshots import live_snapshot, questions_for
from tests.factories import BroadcastFactory, GuestFactory, UserFactory

pytestmark = pytest.mark.django_db

# The moves the product allows, written out independently of moderation.QUESTION_MODERATION:
# (action, from state) -> to state. Every other pair is refused.
ALLOWED = {
    ("approve", "pending"): "visible",
    ("answer", "visible"): "answered",
    ("reopen", "answered"): "visible",
    ("hide", "pending"): "hidden",
    ("hide", "visible"): "hidden",
    ("hide", "answered"): "hidden",
    ("show", "hidden"): "visible",
}
ACTIONS = ("approve", "answer", "reopen", "hide", "show")
STATES = ("pending", "visible", "answered", "hidden")


@pytest.fixture
def premoderated(live_broadcast):
    live_broadcast.questions_premoderated = True
    live_broadcast.save(update_fields=["questions_premoderated"])
    return live_broadcast


def make_question(attendee, *, state="visible", text="What is new?", pinned=False) -> Question:
    return Question.objects.create(
        broadcast=attendee.broadcast, attendee=attendee, text=text, state=state, pinned=pinned
    )


def state_of(question) -> tuple[str, bool]:
    fresh = Question.objects.get(pk=question.pk)
    return fresh.state, fresh.pinned


@pytest.fixture
def announced(monkeypatch):
    """Record what `_announce` sends where, instead of sending it after commit."""
    sent: list[tuple[str, object, dict]] = []
    monkeypatch.setattr(
        questions, "publish_on_commit", lambda slug, p: sent.append(("public", slug, p))
    )
    monkeypatch.setattr(
        questions, "send_to_hosts_on_commit", lambda bid, p: sent.append(("hosts", bid, p))
    )
    monkeypatch.setattr(
        questions, "send_private_on_commit", lambda aid, p: sent.append(("private", aid, p))
    )
    return sent


# --- Asking ---------------------------------------------------------------------------


def test_a_question_is_trimmed_and_visible_at_once(ann):
    question = questions.question_ask(attendee=ann, text="   Will there be a replay?  \n")
    question.refresh_from_db()
    assert question.text == "Will there be a replay?"
    assert (question.state, question.pinned, question.votes) == ("visible", False, 0)
    assert question.attendee == ann


def test_line_breaks_and_tabs_are_kept_inside_a_question(ann):
    question = questions.question_ask(attendee=ann, text="First line\nsecond\tline")
    assert Question.objects.get(pk=question.pk).text == "First line\nsecond\tline"


@pytest.mark.parametrize("length", [1, 500])
def test_one_to_five_hundred_characters_are_accepted(ann, length):
    # Surrounding blanks do not count towards the limit.
    question = questions.question_ask(attendee=ann, text="  " + "q" * length + "  ")
    assert len(Question.objects.get(pk=question.pk).text) == length


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q" * 501, "500 characters"),
        ("", "Type your question"),
        ("   \n\t ", "Type your question"),
        (None, "Type your question"),
        ("Ring the bell\x07", "cannot be shown"),
        ("Null\x00byte", "cannot be shown"),
        ("Escape \x1b[31m red", "cannot be shown"),
        ("Delete\x7f", "cannot be shown"),
    ],
)
def test_bad_questions_are_refused_and_nothing_is_stored(ann, text, message):
    with pytest.raises(InvalidInput) as caught:
        questions.question_ask(attendee=ann, text=text)
    assert caught.value.code == "invalid"
    assert message in caught.value.message
    assert not Question.objects.exists()


def test_markup_is_stored_as_typed(ann):
    text = "<img src=x onerror=alert(1)> & <b>bold</b>"
    question = questions.question_ask(attendee=ann, text=text)
    assert Question.objects.get(pk=question.pk).text == text


def test_no_questions_after_the_end(live_broadcast, ann, host):
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    ann.refresh_from_db()
    with pytest.raises(Conflict):
        questions.question_ask(attendee=ann, text="Too late?")
    assert not Question.objects.exists()


def test_questions_may_be_asked_while_paused(live_broadcast, ann, host):
    broadcasts.broadcast_pause(broadcast=live_broadcast, by=host)
    ann.refresh_from_db()
    assert questions.question_ask(attendee=ann, text="Still there?").state == "visible"


def test_premoderated_questions_wait_but_a_hosts_do_not(premoderated, ann, host_attendee):
    ann.refresh_from_db()
    held = questions.question_ask(attendee=ann, text="May I?")
    own = questions.question_ask(attendee=host_attendee, text="Any questions?")
    assert state_of(held) == ("pending", False)
    assert state_of(own) == ("visible", False)


# --- Moderation moves -----------------------------------------------------------------


@pytest.mark.parametrize("pinned", [False, True])
@pytest.mark.parametrize("state", STATES)
def test_each_question_carries_the_moves_a_host_may_make_now(ann, state, pinned):
    """The host console and the dashboard draw their buttons from `moves` alone."""
    question = make_question(ann, state=state)
    question.pinned = pinned and state in ("visible", "answered")
    moves = question_public(question)["moves"]
    expected = [f"question.{a}" for a in ACTIONS if (a, state) in ALLOWED]
    if state in ("visible", "answered"):
        expected.append("question.unpin" if question.pinned else "question.pin")
    assert moves == expected


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("from_state", STATES)
def test_every_move_of_the_table(live_broadcast, ann, host, action, from_state):
    question = make_question(ann, state=from_state)
    to_state = ALLOWED.get((action, from_state))
    if to_state is None:
        with pytest.raises(Conflict) as caught:
            questions.question_moderate(
                broadcast=live_broadcast, question_id=question.pk, action=action, by=host
            )
        assert caught.value.code == "conflict"
        fresh = Question.objects.get(pk=question.pk)
        assert (fresh.state, fresh.moderated_by, fresh.moderated_at) == (from_state, None, None)
    else:
        moved = questions.question_moderate(
            broadcast=live_broadcast, question_id=question.pk, action=action, by=host
        )
        fresh = Question.objects.get(pk=question.pk)
        assert moved.state == fresh.state == to_state
        assert fresh.moderated_by == host
        assert fresh.moderated_at is not None


def test_strangers_cannot_moderate(live_broadcast, ann, viewer_user):
    question = make_question(ann, state="visible")
    for action in ACTIONS:
        with pytest.raises(Forbidden):
            questions.question_moderate(
                broadcast=live_broadcast, question_id=question.pk, action=action, by=viewer_user
            )
    with pytest.raises(Forbidden):
        questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=viewer_user)
    assert state_of(question) == ("visible", False)


def test_co_hosts_and_moderators_may_moderate(live_broadcast, ann):
    co_host = UserFactory(username="co-host")
    live_broadcast.co_hosts.add(co_host)
    moderator = UserFactory(username="mod")
    moderator.groups.add(Group.objects.get(name="Moderators"))
    question = make_question(ann, state="visible")
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="answer", by=co_host
    )
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="reopen", by=moderator
    )
    assert Question.objects.get(pk=question.pk).moderated_by == moderator


def test_a_question_of_another_broadcast_is_not_found(live_broadcast, host):
    other = GuestFactory(broadcast=BroadcastFactory(host=host))
    question = make_question(other)
    with pytest.raises(NotFound):
        questions.question_moderate(
            broadcast=live_broadcast, question_id=question.pk, action="hide", by=host
        )
    with pytest.raises(NotFound):
        questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=host)
    assert state_of(question) == ("visible", False)


# --- Pinning --------------------------------------------------------------------------


def test_one_pinned_question_at_a_time(live_broadcast, ann, ben, host):
    first, second = make_question(ann), make_question(ben, state="answered")
    questions.question_pin(broadcast=live_broadcast, question_id=first.pk, by=host)
    assert state_of(first) == ("visible", True)
    questions.question_pin(broadcast=live_broadcast, question_id=second.pk, by=host)
    assert state_of(first) == ("visible", False)
    assert state_of(second) == ("answered", True)
    assert Question.objects.filter(pinned=True).count() == 1
    # Pinning the pinned one again changes nothing; unpinning leaves none pinned.
    questions.question_pin(broadcast=live_broadcast, question_id=second.pk, by=host)
    assert state_of(second) == ("answered", True)
    questions.question_pin(broadcast=live_broadcast, question_id=second.pk, by=host, pinned=False)
    assert not Question.objects.filter(pinned=True).exists()


@pytest.mark.parametrize("state", ["pending", "hidden"])
def test_only_a_public_question_can_be_pinned(live_broadcast, ann, host, state):
    question = make_question(ann, state=state)
    with pytest.raises(Conflict) as caught:
        questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=host)
    assert "pinned" in caught.value.message
    assert state_of(question) == (state, False)


def test_hiding_a_pinned_question_unpins_it(live_broadcast, ann, host):
    question = make_question(ann)
    questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=host)
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="hide", by=host
    )
    assert state_of(question) == ("hidden", False)
    # Shown again, it stays unpinned until a host pins it.
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="show", by=host
    )
    assert state_of(question) == ("visible", False)


def test_answering_keeps_the_pin(live_broadcast, ann, host):
    question = make_question(ann)
    questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=host)
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="answer", by=host
    )
    assert state_of(question) == ("answered", True)


# --- Upvotes --------------------------------------------------------------------------


def test_an_upvote_counts_once_per_attendee(live_broadcast, ann, ben, host_attendee):
    question = make_question(ann)
    assert questions.question_upvote(attendee=ben, question_id=question.pk).votes == 1
    with pytest.raises(Conflict):
        questions.question_upvote(attendee=ben, question_id=question.pk)
    assert Question.objects.get(pk=question.pk).votes == 1
    assert questions.question_upvote(attendee=host_attendee, question_id=question.pk).votes == 2
    assert questions.question_upvote(attendee=ann, question_id=question.pk).votes == 3
    assert Question.objects.get(pk=question.pk).votes == 3
    assert QuestionVote.objects.filter(question=question).count() == 3


@pytest.mark.parametrize("state", ["pending", "hidden"])
def test_a_question_nobody_sees_cannot_be_upvoted(live_broadcast, ann, ben, state):
    question = make_question(ann, state=state)
    for voter in (ann, ben):
        with pytest.raises(NotFound):
            questions.question_upvote(attendee=voter, question_id=question.pk)
    assert Question.objects.get(pk=question.pk).votes == 0
    assert not QuestionVote.objects.exists()


def test_an_answered_question_can_still_be_upvoted(live_broadcast, ann, ben):
    question = make_question(ann, state="answered")
    assert questions.question_upvote(attendee=ben, question_id=question.pk).votes == 1


def test_upvoting_a_question_of_another_broadcast_is_not_found(ann, host):
    elsewhere = make_question(GuestFactory(broadcast=BroadcastFactory(host=host)))
    with pytest.raises(NotFound):
        questions.question_upvote(attendee=ann, question_id=elsewhere.pk)
    with pytest.raises(NotFound):
        questions.question_upvote(attendee=ann, question_id=999_999)


# --- Who sees what --------------------------------------------------------------------


@pytest.fixture
def every_kind(live_broadcast, ann, ben):
    """Ann's and Ben's questions in every state."""
    made = {}
    for who in (ann, ben):
        for state in STATES:
            made[(who.display_name, state)] = make_question(
                who, state=state, text=f"{who.display_name} {state}"
            )
    return made


def test_viewers_see_public_questions_and_their_own_pending_one(
    live_broadcast, ann, ben, every_kind
):
    seen = [q["text"] for q in questions_for(broadcast=live_broadcast, attendee=ann)]
    assert seen == ["Ann pending", "Ann visible", "Ann answered", "Ben visible", "Ben answered"]
    seen = [q["text"] for q in questions_for(broadcast=live_broadcast, attendee=ben)]
    assert seen == ["Ann visible", "Ann answered", "Ben pending", "Ben visible", "Ben answered"]


def test_hosts_see_every_question(live_broadcast, host_attendee, every_kind):
    seen = {q["id"] for q in questions_for(broadcast=live_broadcast, attendee=host_attendee)}
    assert seen == {q.pk for q in every_kind.values()}


def test_the_snapshot_carries_the_same_questions(live_broadcast, ann, every_kind):
    snapshot = live_snapshot(broadcast=live_broadcast, attendee=ann)
    assert "Ben hidden" not in [q["text"] for q in snapshot["questions"]]
    assert snapshot["questions"] == questions_for(broadcast=live_broadcast, attendee=ann)


def test_each_question_says_whether_i_voted(live_broadcast, ann, ben, every_kind):
    voted_for = every_kind[("Ann", "visible")]
    questions.question_upvote(attendee=ben, question_id=voted_for.pk)
    for_ben = {q["id"]: q for q in questions_for(broadcast=live_broadcast, attendee=ben)}
    assert for_ben[voted_for.pk]["voted"] is True
    assert for_ben[voted_for.pk]["votes"] == 1
    assert [q["voted"] for q in for_ben.values()].count(True) == 1
    for_ann = {q["id"]: q for q in questions_for(broadcast=live_broadcast, attendee=ann)}
    assert for_ann[voted_for.pk]["voted"] is False
    assert for_ann[voted_for.pk]["votes"] == 1


def test_a_question_carries_its_author(live_broadcast, ann):
    question = questions.question_ask(attendee=ann, text="Who am I?")
    (shown,) = questions_for(broadcast=live_broadcast, attendee=ann)
    assert shown["id"] == question.pk
    assert shown["author"]["id"] == ann.pk
    assert shown["author"]["name"] == "Ann"
    assert (shown["state"], shown["pinned"], shown["votes"]) == ("visible", False, 0)


# --- What is announced to whom --------------------------------------------------------


def test_a_public_question_is_published_to_everyone(live_broadcast, ann, announced):
    question = questions.question_ask(attendee=ann, text="Hello?")
    assert [(to, kind["type"]) for to, _, kind in announced] == [("public", "question.added")]
    assert announced[0][1] == live_broadcast.slug
    assert announced[0][2]["question"]["id"] == question.pk
    assert announced[0][2]["question"]["text"] == "Hello?"


def test_a_pending_question_goes_to_the_hosts_and_its_asker_only(premoderated, ann, announced):
    ann.refresh_from_db()
    question = questions.question_ask(attendee=ann, text="Held?")
    assert [(to, target, p["type"]) for to, target, p in announced] == [
        ("hosts", premoderated.pk, "question.added"),
        ("private", ann.pk, "question.added"),
    ]
    for _, _, payload in announced:
        assert payload["question"]["text"] == "Held?"
        assert payload["question"]["state"] == "pending"
    announced.clear()

    questions.question_moderate(
        broadcast=premoderated, question_id=question.pk, action="approve", by=None
    )
    assert [(to, p["type"], p["question"]["state"]) for to, _, p in announced] == [
        ("public", "question.added", "visible")
    ]


def test_hiding_a_pending_question_tells_its_asker_without_the_text(premoderated, ann, announced):
    ann.refresh_from_db()
    question = questions.question_ask(attendee=ann, text="Held?")
    announced.clear()
    questions.question_moderate(
        broadcast=premoderated, question_id=question.pk, action="hide", by=None
    )
    assert [(to, p["type"]) for to, _, p in announced] == [
        ("hosts", "question.updated"),
        ("private", "question.updated"),
    ]
    assert announced[0][2]["question"]["text"] == "Held?"
    assert announced[1][2]["question"] == {"id": question.pk, "state": "hidden", "pinned": False}


def test_hiding_a_public_question_withdraws_it_from_viewers(live_broadcast, ann, host, announced):
    question = make_question(ann, text="Rude words")
    questions.question_pin(broadcast=live_broadcast, question_id=question.pk, by=host)
    announced.clear()
    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="hide", by=host
    )
    by_target = {to: payload for to, _, payload in announced}
    assert set(by_target) == {"hosts", "public"}
    assert by_target["public"] == {
        "type": "question.updated",
        "question": {"id": question.pk, "state": "hidden", "pinned": False},
    }
    assert by_target["hosts"]["question"]["text"] == "Rude words"
    announced.clear()

    questions.question_moderate(
        broadcast=live_broadcast, question_id=question.pk, action="show", by=host
    )
    assert [(to, p["type"], p["question"]["text"]) for to, _, p in announced] == [
        ("public", "question.added", "Rude words")
    ]


def test_pinning_another_question_announces_both(live_broadcast, ann, ben, host, announced):
    first, second = make_question(ann), make_question(ben)
    questions.question_pin(broadcast=live_broadcast, question_id=first.pk, by=host)
    announced.clear()
    questions.question_pin(broadcast=live_broadcast, question_id=second.pk, by=host)
    assert [
        (to, p["type"], p["question"]["id"], p["question"]["pinned"]) for to, _, p in announced
    ] == [
        ("public", "question.updated", first.pk, False),
        ("public", "question.updated", second.pk, True),
    ]


def test_an_upvote_publishes_the_new_count(live_broadcast, ann, ben, announced):
    question = make_question(ann)
    questions.question_upvote(attendee=ben, question_id=question.pk)
    assert [(to, p["type"], p["question"]["votes"]) for to, _, p in announced] == [
        ("public", "question.updated", 1)
    ]


def test_the_question_is_published_after_the_commit_only(
    live_broadcast, ann, django_capture_on_commit_callbacks
):
    stream = bus()
    before = stream.position(live_broadcast.slug)
    with django_capture_on_commit_callbacks() as callbacks:
        question = questions.question_ask(attendee=ann, text="After commit?")
        assert stream.position(live_broadcast.slug).seq == before.seq
    assert stream.position(live_broadcast.slug).seq == before.seq
    for callback in callbacks:
        callback()
    after = stream.position(live_broadcast.slug, epoch=before.epoch, since=before.seq)
    assert after.seq == before.seq + 1
    (frame,) = [json.loads(f) for f in after.missed]
    assert frame["type"] == "question.added"
    assert frame["question"]["id"] == question.pk


# --- Rate limits ----------------------------------------------------------------------


@pytest.fixture
def small_limits(settings):
    # A window far longer than the test, so it cannot roll over in the middle.
    settings.ATTENDEE_RATE_LIMITS = {
        **settings.ATTENDEE_RATE_LIMITS,
        "question": (2, 1_000_000),
        "vote": (1, 1_000_000),
    }


def test_asking_too_often_is_rate_limited(live_broadcast, ann, ben, small_limits):
    questions.question_ask(attendee=ann, text="One")
    questions.question_ask(attendee=ann, text="Two")
    with pytest.raises(RateLimited) as caught:
        questions.question_ask(attendee=ann, text="Three")
    assert caught.value.code == "rate_limited"
    assert "Wait a minute" in caught.value.message
    assert Question.objects.filter(attendee=ann).count() == 2
    # The limit is per attendee.
    questions.question_ask(attendee=ben, text="Mine")


def test_upvoting_too_often_is_rate_limited(live_broadcast, ann, ben, small_limits):
    first, second = make_question(ann), make_question(ann)
    questions.question_upvote(attendee=ben, question_id=first.pk)
    with pytest.raises(RateLimited):
        questions.question_upvote(attendee=ben, question_id=second.pk)
    assert Question.objects.get(pk=second.pk).votes == 0
    # Voting draws on its own allowance, not on asking's.
    questions.question_ask(attendee=ben, text="Still allowed to ask")


def test_refused_questions_do_not_use_up_the_allowance(live_broadcast, ann, small_limits):
    for _ in range(3):
        with pytest.raises(InvalidInput):
            questions.question_ask(attendee=ann, text="   ")
    questions.question_ask(attendee=ann, text="One")
    questions.question_ask(attendee=ann, text="Two")


def test_the_allowance_comes_back_in_the_next_window(live_broadcast, ann, settings, monkeypatch):
    from participation.realtime import ratelimit

    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "question": (1, 60)}
    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: now[0]))
    questions.question_ask(attendee=ann, text="One")
    now[0] += 59
    with pytest.raises(RateLimited):
        questions.question_ask(attendee=ann, text="Two")
    now[0] += 1
    questions.question_ask(attendee=ann, text="Two")
    assert Question.objects.filter(attendee=ann).count() == 2


def test_the_question_limit_slides_across_the_minute(live_broadcast, ann, monkeypatch, settings):
    """Five a minute, in any 60 s: a burst that straddles a clock minute is counted whole."""
    from participation.realtime import ratelimit

    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "question": (5, 60)}
    clock = {"now": 60 * 1_000_000 + 50.0}  # 50 s into a minute
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: clock["now"]))
    for number in range(5):
        questions.question_ask(attendee=ann, text=f"Question {number}?")
    clock["now"] += 15  # 5 s into the next minute, 15 s after the burst
    with pytest.raises(RateLimited):
        questions.question_ask(attendee=ann, text="A sixth, within 20 s?")
    clock["now"] += 50  # over a minute after the burst
    questions.question_ask(attendee=ann, text="Later?")
    assert Question.objects.filter(attendee=ann).count() == 6
