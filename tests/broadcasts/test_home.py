"""The home page (what is live and coming up, for each person), the product's own 403
and 404 pages, and /favicon.ico."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcasts import services
from tests.factories import BroadcastFactory, GroupFactory, UserFactory, ops_user

pytestmark = pytest.mark.django_db


def _scheduled(host, hours=3, **fields):
    broadcast = BroadcastFactory(host=host, **fields)
    return services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=hours)
    )


@pytest.fixture
def programme(host):
    """One broadcast of each kind the home page must sort out."""
    partners = GroupFactory(name="Partners")
    live = services.broadcast_start(
        broadcast=_scheduled(host, slug="on-air", title="On air"), by=host
    )
    paused = services.broadcast_pause(
        broadcast=services.broadcast_start(
            broadcast=_scheduled(host, slug="held", title="Held"), by=host
        ),
        by=host,
    )
    later = _scheduled(host, hours=5, slug="later", title="Later show")
    sooner = _scheduled(host, hours=2, slug="sooner", title="Sooner show")
    members = _scheduled(host, slug="members", title="Members only", audience="signed_in")
    group = _scheduled(
        host, slug="partners", title="Partners only", audience="group", audience_group=partners
    )
    BroadcastFactory(host=host, slug="draft", title="Secret draft")
    ended = services.broadcast_end(
        broadcast=services.broadcast_start(
            broadcast=_scheduled(host, slug="done", title="Done show"), by=host
        ),
        by=host,
    )
    return {
        "live": live,
        "paused": paused,
        "later": later,
        "sooner": sooner,
        "members": members,
        "group": group,
        "ended": ended,
        "partners": partners,
    }


def _sections(html: str) -> tuple[str, str]:
    live_part, _, upcoming_part = html.partition('id="upcoming-heading"')
    return live_part, upcoming_part


def test_anonymous_visitors_see_public_shows_live_first_then_soonest(client, programme):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    live_part, upcoming_part = _sections(html)
    assert "On air" in live_part and "Held" in live_part and "Paused" in live_part
    assert 'href="/b/on-air/watch/"' in live_part
    assert upcoming_part.index("Sooner show") < upcoming_part.index("Later show")
    for hidden in ("Members only", "Partners only", "Secret draft", "Done show"):
        assert hidden not in html
    assert 'href="/accounts/login/?next=/"' in html


def test_signed_in_people_also_see_their_audiences_shows(client, programme, viewer_user):
    client.force_login(viewer_user)
    html = client.get("/").content.decode()
    assert "Members only" in html and "Partners only" not in html
    viewer_user.groups.add(programme["partners"])
    html = client.get("/").content.decode()
    assert "Members only" in html and "Partners only" in html
    assert "Secret draft" not in html and "Sign in" not in html


def test_moderators_see_every_show_but_drafts_and_ended_ones(client, programme, moderator):
    client.force_login(moderator)
    html = client.get("/").content.decode()
    assert "Members only" in html and "Partners only" in html
    assert "Secret draft" not in html and "Done show" not in html
    assert "Manage broadcasts" in html


def test_an_empty_programme_says_so(client, db):
    html = client.get("/").content.decode()
    assert "Nothing is live right now." in html
    assert "No broadcast is scheduled yet." in html


def test_titles_are_escaped_on_the_home_page(client, host):
    _scheduled(host, slug="xss", title="<img src=x onerror=alert(1)>")
    html = client.get("/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_an_unknown_page_is_the_products_404(client, db):
    response = client.get("/b/no-such-show/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert 'class="topbar"' in html and 'href="/"' in html


def test_the_exports_page_refuses_with_the_products_403_and_no_traceback(client, caplog):
    client.force_login(UserFactory(username="nosy", is_staff=True))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/leads/exports/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot open this page" in html
    assert "needs the export permission" in html
    assert 'class="topbar"' in html
    assert [record for record in caplog.records if record.exc_info] == []


def test_ops_still_open_the_exports_page(client, db):
    client.force_login(ops_user(username="ops"))
    assert client.get("/leads/exports/").status_code == 200


def test_the_favicon_answers(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
