"""The host console's post-show summary: the session in figures, for its hosts and
moderators only, with a link to the admin's analytics for staff who may open it."""

import pytest

from broadcasts import services as lifecycle
from leads.capture import lead_capture
from participation import questions, reactions, services
from tests.factories import in_group

pytestmark = pytest.mark.django_db


def summary_url(broadcast) -> str:
    return f"/b/{broadcast.slug}/summary/"


def test_the_host_gets_the_sessions_figures_after_the_end(client, live_broadcast, host, ann, ben):
    reactions.like(attendee=ann)
    reactions.rate(attendee=ann, stars=5)
    reactions.rate(attendee=ben, stars=4)
    questions.question_ask(attendee=ben, text="Is there a replay?")
    lead_capture(
        broadcast=live_broadcast,
        attendee=ann,
        data={"name": "Ann", "email": "ann@example.com", "consent": "on"},
    )
    lifecycle.broadcast_end(broadcast=live_broadcast, by=host)

    client.force_login(host)
    response = client.get(summary_url(live_broadcast))
    assert response.status_code == 200
    figures = response.json()
    assert figures["likes"] == 1
    assert (figures["rating_average"], figures["rating_count"]) == (4.5, 2)
    assert figures["questions_asked"] == 1
    assert figures["leads"] == 1
    assert {"peak_viewers", "unique_viewers", "average_watch_seconds"} <= figures.keys()
    # The host is not staff: the admin's analytics page is not theirs to open.
    assert figures["analytics_url"] is None


def test_a_short_session_ending_between_samples_still_has_its_peak(
    client, live_broadcast, host, ann
):
    services.attendee_connected(attendee=ann)
    lifecycle.broadcast_end(broadcast=live_broadcast, by=host)
    client.force_login(host)
    figures = client.get(summary_url(live_broadcast)).json()
    assert figures["peak_viewers"] == 1


def test_moderators_who_may_view_broadcasts_get_the_analytics_link(
    client, live_broadcast, moderator
):
    in_group(moderator, "Moderators", "broadcasts.view_broadcast")
    client.force_login(moderator)
    figures = client.get(summary_url(live_broadcast)).json()
    assert figures["analytics_url"] == f"/admin/broadcasts/broadcast/{live_broadcast.pk}/analytics/"


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_nobody_else_reads_a_broadcasts_figures(client, live_broadcast, viewer_user, who):
    if who == "viewer":
        client.force_login(viewer_user)
    response = client.get(summary_url(live_broadcast))
    assert response.status_code == 403
    assert "hosts and moderators" in response.json()["detail"]


def test_an_unknown_broadcast_is_not_found(client, host):
    client.force_login(host)
    assert client.get("/b/nothing-here/summary/").status_code == 404
