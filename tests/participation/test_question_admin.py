"""Moderators in the admin: every question, moderated through the live services; the
broadcast's page shows reactions, the rating's distribution and the embed snippet."""

import html

import pytest

from participation import questions, reactions
from participation.models import Question
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db

QUESTIONS = "/admin/participation/question/"


@pytest.fixture
def asked(live_broadcast):
    live_broadcast.questions_premoderated = True
    live_broadcast.save(update_fields=["questions_premoderated"])
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    return questions.question_ask(attendee=ann, text="Will there be a <b>replay</b>?")


def test_moderators_see_every_question_escaped(client, moderator, asked):
    client.force_login(moderator)
    page = client.get(QUESTIONS).content.decode()
    assert "Will there be a &lt;b&gt;replay&lt;/b&gt;?" in page
    assert "<b>replay</b>" not in page
    assert "Waiting for approval" in page


@pytest.mark.parametrize(
    ("action", "state", "pinned"),
    [("approve_selected", "visible", False), ("hide_selected", "hidden", False)],
)
def test_moderation_actions_move_questions(client, moderator, asked, action, state, pinned):
    client.force_login(moderator)
    response = client.post(
        QUESTIONS, {"action": action, "_selected_action": [asked.pk]}, follow=True
    )
    assert response.status_code == 200
    asked.refresh_from_db()
    assert (asked.state, asked.pinned) == (state, pinned)
    assert asked.moderated_by == moderator


def test_every_move_of_the_moderation_table_is_an_action_and_reopen_brings_a_question_back(
    client, moderator, asked
):
    client.force_login(moderator)
    page = client.get(QUESTIONS).content.decode()
    for name in ("approve", "answer", "reopen", "hide", "show", "pin", "unpin"):
        assert f'value="{name}_selected"' in page
    for action in ("approve_selected", "answer_selected", "reopen_selected"):
        client.post(QUESTIONS, {"action": action, "_selected_action": [asked.pk]}, follow=True)
    asked.refresh_from_db()
    assert asked.state == "visible"


def test_a_refused_move_is_reported_and_changes_nothing(client, moderator, asked):
    client.force_login(moderator)
    response = client.post(
        QUESTIONS, {"action": "pin_selected", "_selected_action": [asked.pk]}, follow=True
    )
    assert "Only a question everyone can see can be pinned." in response.content.decode()
    asked.refresh_from_db()
    assert asked.pinned is False


def test_nobody_edits_what_someone_wrote(client, moderator, asked):
    client.force_login(moderator)
    client.post(f"{QUESTIONS}{asked.pk}/change/", {"text": "Something else"})
    assert Question.objects.get(pk=asked.pk).text == "Will there be a <b>replay</b>?"


def test_staff_without_the_permission_see_no_questions(client, asked):
    client.force_login(UserFactory(username="intern", is_staff=True))
    assert client.get(QUESTIONS).status_code == 403


def test_broadcast_page_shows_reactions_rating_and_embed_snippet(client, moderator, live_broadcast):
    for name, stars in (("Ann", 5), ("Ben", 5), ("Cy", 3)):
        guest = GuestFactory(broadcast=live_broadcast, display_name=name)
        reactions.rate(attendee=guest, stars=stars)
        reactions.like(attendee=guest)
    client.force_login(moderator)
    page = client.get(f"/admin/broadcasts/broadcast/{live_broadcast.pk}/change/").content.decode()
    assert "<strong>4.3</strong> average from 3 rating(s)" in page
    assert '<th scope="row">5 ★</th><td><span class="rating-bar" style="width:160px">' in page
    assert '<th scope="row">3 ★</th><td><span class="rating-bar" style="width:80px">' in page
    assert "3 likes" in page
    snippet = (
        '<script src="http://testserver/static/js/embed.js" '
        f'data-broadcast="{live_broadcast.slug}" async></script>'
    )
    assert html.escape(snippet, quote=False) in page or html.escape(snippet) in page
