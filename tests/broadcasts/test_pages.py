"""The server-rendered pages: landing, calendar invitation, watch, host console, avatars."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import timezone

from broadcasts import services
from participation.guests import guest_key_from_cookies
from participation.models import Attendee
from tests.factories import BroadcastFactory, GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def _scheduled(host, **fields):
    broadcast = BroadcastFactory(host=host, **fields)
    return services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=3)
    )


def _unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def _ics_value(ics: str, name: str) -> str:
    for line in _unfold(ics):
        if line.startswith(name + ":"):
            return line[len(name) + 1 :]
    raise AssertionError(f"{name} not in the invitation")


# --- Landing page -----------------------------------------------------------------


def test_landing_of_a_scheduled_broadcast(client, scheduled_broadcast):
    response = client.get("/b/spring-launch/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring launch" in html
    match = re.search(r'<time[^>]*\sdatetime="([^"]+)"', html)
    assert match, "the start time is given as a machine-readable <time>"
    assert datetime.fromisoformat(match.group(1)) == scheduled_broadcast.scheduled_start
    assert re.search(r'<a[^>]*href="/b/spring-launch/calendar\.ics"[^>]*>Add to calendar</a>', html)
    # "Join live" waits, hidden, for the page to learn that the broadcast started.
    assert re.search(r'<div class="join-now" id="join-now"[^>]*\shidden>', html)
    assert 'data-countdown="' in html


def test_landing_of_a_live_broadcast(client, live_broadcast):
    response = client.get("/b/spring-launch/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<a[^>]*href="/b/spring-launch/watch/"[^>]*>Join live</a>', html)
    assert "Add to calendar" not in html


def test_landing_of_a_paused_broadcast_still_offers_to_join(client, live_broadcast, host):
    services.broadcast_pause(broadcast=live_broadcast, by=host)
    html = client.get("/b/spring-launch/").content.decode()
    assert "Join live" in html
    assert "Paused" in html


def test_landing_of_an_ended_broadcast(client, live_broadcast, host):
    services.broadcast_end(broadcast=live_broadcast, by=host)
    response = client.get("/b/spring-launch/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This broadcast has ended" in html
    assert "Join live" not in html
    assert "Add to calendar" not in html


def test_landing_shows_the_call_to_action(client, scheduled_broadcast):
    html = client.get("/b/spring-launch/").content.decode()
    assert "Twenty percent off for viewers" in html
    # Straight to the offer; a beacon to PrimeTime counts the click.
    assert re.search(
        r'<a[^>]*href="https://example.com/offer"[^>]*'
        r'data-cta-beacon="/b/spring-launch/go/"[^>]*>Get the offer</a>',
        html,
    )


def test_landing_of_a_draft_is_hidden_from_anonymous(client, host):
    BroadcastFactory(host=host, slug="secret-plan")
    assert client.get("/b/secret-plan/").status_code == 404


def test_landing_of_a_draft_is_hidden_from_other_users(client, host, viewer_user):
    BroadcastFactory(host=host, slug="secret-plan")
    client.force_login(viewer_user)
    assert client.get("/b/secret-plan/").status_code == 404


def test_landing_of_a_draft_is_shown_to_its_host(client, host):
    BroadcastFactory(host=host, slug="secret-plan", title="Secret plan")
    client.force_login(host)
    response = client.get("/b/secret-plan/")
    assert response.status_code == 200
    assert "Secret plan" in response.content.decode()
    assert "Not scheduled yet" in response.content.decode()


def test_landing_of_an_unknown_broadcast_is_404(client, db):
    assert client.get("/b/no-such-thing/").status_code == 404


def test_landing_escapes_the_title(client, host):
    _scheduled(host, slug="xss", title="<script>alert(1)</script>")
    html = client.get("/b/xss/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Calendar invitation ----------------------------------------------------------


def test_calendar_invitation(client, host):
    start = datetime(2031, 3, 14, 15, 9, 26, tzinfo=UTC)
    broadcast = BroadcastFactory(
        host=host,
        slug="pi-day",
        title="Pi day; sale, now \\ forever",
        description="Ünïcödé " * 30 + "\nSecond line, with; punctuation",
        duration_minutes=90,
    )
    services.broadcast_schedule(broadcast=broadcast, by=host, scheduled_start=start)

    response = client.get("/b/pi-day/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "pi-day.ics" in response["Content-Disposition"]
    raw = response.content
    ics = raw.decode("utf-8")

    # CRLF line endings only, and every physical line within 75 octets.
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    assert "\r" not in ics.replace("\r\n", "")
    physical = raw.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical), "the long description is folded"

    lines = _unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "BEGIN:VEVENT" in lines
    assert lines[-2] == "END:VCALENDAR"
    assert _ics_value(ics, "DTSTART") == "20310314T150926Z"
    assert _ics_value(ics, "DTEND") == "20310314T163926Z"
    assert _ics_value(ics, "SUMMARY") == "Pi day\\; sale\\, now \\\\ forever"
    description = _ics_value(ics, "DESCRIPTION")
    assert "Ünïcödé" in description
    assert "\\nSecond line\\, with\\; punctuation" in description
    assert "http://testserver/b/pi-day/" in description
    assert _ics_value(ics, "URL") == "http://testserver/b/pi-day/"


def test_calendar_start_is_in_utc_whatever_the_input_zone(client, host):
    from zoneinfo import ZoneInfo

    start = datetime(2030, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    broadcast = BroadcastFactory(host=host, slug="summer")
    services.broadcast_schedule(broadcast=broadcast, by=host, scheduled_start=start)
    ics = client.get("/b/summer/calendar.ics").content.decode()
    assert _ics_value(ics, "DTSTART") == "20300701T073000Z"


def test_calendar_of_the_scheduled_fixture_matches_its_start(client, scheduled_broadcast):
    ics = client.get("/b/spring-launch/calendar.ics").content.decode()
    expected = scheduled_broadcast.scheduled_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert _ics_value(ics, "DTSTART") == expected
    assert _ics_value(ics, "SUMMARY") == "Spring launch"


def test_calendar_of_a_draft_is_hidden(client, host):
    BroadcastFactory(host=host, slug="draft-cal", scheduled_start=timezone.now())
    assert client.get("/b/draft-cal/calendar.ics").status_code == 404


# --- Watch page: guests -------------------------------------------------------------


def test_watch_asks_an_anonymous_guest_for_a_name(client, scheduled_broadcast):
    response = client.get("/b/spring-launch/watch/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="display_name"' in html
    assert "Your name" in html
    assert 'id="paused-overlay"' not in html
    assert Attendee.objects.count() == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_watch_refuses_a_bad_name(client, scheduled_broadcast, name):
    response = client.post("/b/spring-launch/watch/", {"display_name": name})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert re.search(r'<p class="error" id="id_display_name_error" role="alert">[^<]+</p>', html)
    assert settings.GUEST_COOKIE_NAME not in response.cookies
    assert Attendee.objects.count() == 0


def test_behind_tls_the_guest_cookie_is_secure(client, scheduled_broadcast, settings):
    settings.SESSION_COOKIE_SECURE = True  # what production sets (config/settings.py)
    response = client.post("/b/spring-launch/watch/", {"display_name": "Ada"})
    cookie = response.cookies[settings.GUEST_COOKIE_NAME]
    assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")


def test_watch_accepts_a_name_of_sixty_characters(client, scheduled_broadcast):
    response = client.post("/b/spring-launch/watch/", {"display_name": "y" * 60})
    assert response.status_code == 302
    assert Attendee.objects.get().display_name == "y" * 60


def test_watch_with_a_valid_name_joins_and_shows_the_player(client, scheduled_broadcast):
    response = client.post("/b/spring-launch/watch/", {"display_name": "  Ada   Lovelace "})
    assert response.status_code == 302
    assert response["Location"] == "/b/spring-launch/watch/"

    cookie = response.cookies[settings.GUEST_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # development: plain http
    key = guest_key_from_cookies({settings.GUEST_COOKIE_NAME: cookie.value})
    assert key is not None
    attendee = Attendee.objects.get()
    assert attendee.guest_key == key
    assert attendee.user is None
    assert attendee.broadcast == scheduled_broadcast
    assert attendee.display_name == "Ada Lovelace"
    assert attendee.role == "viewer"

    page = client.get("/b/spring-launch/watch/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="paused-overlay"' in html
    assert 'id="end-screen"' in html
    assert 'data-live-path="/ws/broadcasts/spring-launch/"' in html
    assert "Watching as Ada Lovelace" in html
    assert 'name="display_name"' not in html
    assert Attendee.objects.count() == 1


def test_a_tampered_guest_cookie_is_ignored(client, scheduled_broadcast):
    client.post("/b/spring-launch/watch/", {"display_name": "Ada"})
    value = client.cookies[settings.GUEST_COOKIE_NAME].value
    client.cookies[settings.GUEST_COOKIE_NAME] = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    html = client.get("/b/spring-launch/watch/").content.decode()
    assert 'name="display_name"' in html
    assert 'id="paused-overlay"' not in html


def test_a_second_name_renames_the_same_attendee(client, scheduled_broadcast):
    client.post("/b/spring-launch/watch/", {"display_name": "Ada"})
    first = Attendee.objects.get()
    cookie = client.cookies[settings.GUEST_COOKIE_NAME].value

    rename_form = client.get("/b/spring-launch/watch/?rename")
    assert 'value="Ada"' in rename_form.content.decode()

    response = client.post("/b/spring-launch/watch/", {"display_name": "Grace"})
    assert response.status_code == 302
    attendee = Attendee.objects.get()
    assert attendee.pk == first.pk
    assert attendee.display_name == "Grace"
    assert guest_key_from_cookies(
        {settings.GUEST_COOKIE_NAME: client.cookies[settings.GUEST_COOKIE_NAME].value}
    ) == guest_key_from_cookies({settings.GUEST_COOKIE_NAME: cookie})
    assert "Watching as Grace" in client.get("/b/spring-launch/watch/").content.decode()


def test_a_guest_name_with_markup_is_escaped(client, scheduled_broadcast):
    client.post("/b/spring-launch/watch/", {"display_name": "<b>x</b>"})
    assert Attendee.objects.get().display_name == "<b>x</b>"
    html = client.get("/b/spring-launch/watch/").content.decode()
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_two_guests_are_two_attendees(client, scheduled_broadcast):
    from django.test import Client

    client.post("/b/spring-launch/watch/", {"display_name": "Ada"})
    Client().post("/b/spring-launch/watch/", {"display_name": "Grace"})
    assert sorted(Attendee.objects.values_list("display_name", flat=True)) == ["Ada", "Grace"]


def test_watch_of_a_draft_is_404_for_guests(client, host):
    BroadcastFactory(host=host, slug="draft-watch")
    assert client.get("/b/draft-watch/watch/").status_code == 404
    assert client.post("/b/draft-watch/watch/", {"display_name": "Ada"}).status_code == 404
    assert Attendee.objects.count() == 0


def test_a_signed_in_user_watches_under_their_own_name(client, live_broadcast, viewer_user):
    client.force_login(viewer_user)
    response = client.get("/b/spring-launch/watch/")
    assert response.status_code == 200
    assert 'id="paused-overlay"' in response.content.decode()
    attendee = Attendee.objects.exclude(role="host").get()
    assert attendee.user == viewer_user
    assert attendee.display_name == "Vic Viewer"
    assert attendee.role == "viewer"


# --- Watch page: audiences ----------------------------------------------------------


def test_signed_in_audience_sends_anonymous_to_login(client, host):
    _scheduled(host, slug="members", audience="signed_in")
    response = client.get("/b/members/watch/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=" + quote("/b/members/watch/")
    assert Attendee.objects.count() == 0


def test_signed_in_audience_refuses_a_guest_post(client, host):
    _scheduled(host, slug="members", audience="signed_in")
    response = client.post("/b/members/watch/", {"display_name": "Ada"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Attendee.objects.count() == 0


def test_signed_in_audience_admits_a_signed_in_user(client, host, viewer_user):
    _scheduled(host, slug="members", audience="signed_in")
    client.force_login(viewer_user)
    response = client.get("/b/members/watch/")
    assert response.status_code == 200
    assert 'id="end-screen"' in response.content.decode()


def test_signed_in_audience_landing_warns_about_sign_in(client, host):
    _scheduled(host, slug="members", audience="signed_in")
    html = client.get("/b/members/").content.decode()
    assert "asked to sign in" in html


def test_group_audience_refuses_a_non_member(client, host, viewer_user):
    group = GroupFactory(name="Partners")
    _scheduled(host, slug="partners", audience="group", audience_group=group)
    client.force_login(viewer_user)
    response = client.get("/b/partners/watch/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot watch this broadcast" in html
    assert "members of a group you are not in" in html
    assert Attendee.objects.count() == 0


def test_group_audience_sends_anonymous_to_login(client, host):
    group = GroupFactory(name="Partners")
    _scheduled(host, slug="partners", audience="group", audience_group=group)
    response = client.get("/b/partners/watch/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_group_audience_admits_a_member(client, host, viewer_user):
    group = GroupFactory(name="Partners")
    viewer_user.groups.add(group)
    _scheduled(host, slug="partners", audience="group", audience_group=group)
    client.force_login(viewer_user)
    response = client.get("/b/partners/watch/")
    assert response.status_code == 200
    assert 'id="paused-overlay"' in response.content.decode()


# --- Host console -----------------------------------------------------------------

CONSOLE_BUTTONS = ["Go live", "Pause", "Resume", "End broadcast"]


def test_host_console_sends_anonymous_to_login(client, scheduled_broadcast):
    response = client.get("/b/spring-launch/host/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=" + quote("/b/spring-launch/host/")


def test_host_console_refuses_a_viewer(client, scheduled_broadcast, viewer_user):
    client.force_login(viewer_user)
    assert client.get("/b/spring-launch/host/").status_code == 403
    assert Attendee.objects.count() == 0


def test_host_console_of_an_unknown_broadcast_is_404(client, host):
    client.force_login(host)
    assert client.get("/b/nothing-here/host/").status_code == 404


def _assert_console(html: str):
    assert 'data-page="host"' in html
    for label in CONSOLE_BUTTONS:
        assert re.search(rf"<button[^>]*>{re.escape(label)}</button>", html), label


def test_host_console_for_the_host(client, scheduled_broadcast, host):
    client.force_login(host)
    response = client.get("/b/spring-launch/host/")
    assert response.status_code == 200
    _assert_console(response.content.decode())
    attendee = Attendee.objects.get()
    assert (attendee.user, attendee.role) == (host, "host")


def test_host_console_for_a_co_host(client, scheduled_broadcast):
    co_host = UserFactory(username="co-host")
    scheduled_broadcast.co_hosts.add(co_host)
    client.force_login(co_host)
    response = client.get("/b/spring-launch/host/")
    assert response.status_code == 200
    _assert_console(response.content.decode())
    assert Attendee.objects.get(user=co_host).role == "host"


def test_host_console_of_a_draft_for_its_host(client, host):
    BroadcastFactory(host=host, slug="draft-console")
    client.force_login(host)
    assert client.get("/b/draft-console/host/").status_code == 200


# --- Avatars ------------------------------------------------------------------------


def test_avatar_is_an_svg_with_the_letters(client, db):
    response = client.get("/avatar/AB/120.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert ">AB</text>" in svg
    assert "hsl(120," in svg


def test_avatar_hue_wraps_around(client, db):
    assert "hsl(20," in client.get("/avatar/AB/380.svg").content.decode()


def test_avatar_escapes_its_letters(client, db):
    response = client.get("/avatar/" + quote("<&") + "/10.svg")
    assert response.status_code == 200
    svg = response.content.decode()
    assert "&lt;&amp;</text>" in svg
    assert "<&" not in svg


# --- Pages read a broadcast at most once a second per process --------------------


def test_a_page_reads_the_broadcast_once_a_second(client, live_broadcast, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from broadcasts import selectors

    client.get(f"/b/{live_broadcast.slug}/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/b/{live_broadcast.slug}/").status_code == 200
    assert not [q for q in queries if "broadcasts_broadcast" in q["sql"]]
    # A second later it is read again.
    later = selectors.time.monotonic() + selectors.PAGE_READ_SECONDS + 0.1
    monkeypatch.setattr(selectors.time, "monotonic", lambda: later)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/b/{live_broadcast.slug}/")
    assert [q for q in queries if "broadcasts_broadcast" in q["sql"]]


def test_a_change_made_in_this_process_shows_at_once(client, live_broadcast, host):
    assert "Join live" in client.get(f"/b/{live_broadcast.slug}/").content.decode()
    services.broadcast_end(broadcast=live_broadcast, by=host)
    page = client.get(f"/b/{live_broadcast.slug}/").content.decode()
    assert "Join live" not in page
    live_broadcast.refresh_from_db()
    live_broadcast.title = "Renamed for the replay"
    live_broadcast.save()
    assert "Renamed for the replay" in client.get(f"/b/{live_broadcast.slug}/").content.decode()


def test_each_page_gets_its_own_copy_of_the_broadcast(live_broadcast):
    from broadcasts.selectors import page_broadcasts

    first = page_broadcasts.get(live_broadcast.slug)
    first.title = "changed by one page"
    assert page_broadcasts.get(live_broadcast.slug).title == live_broadcast.title


def test_who_may_join_is_always_read_afresh(live_broadcast):
    """The live socket's decision does not take the pages' second-old read."""
    from django.contrib.auth.models import AnonymousUser

    from broadcasts.models import Audience
    from broadcasts.selectors import broadcast_for_audience, page_broadcasts
    from core.errors import Forbidden

    page_broadcasts.get(live_broadcast.slug)
    # Changed behind this process's back (another server process, say).
    type(live_broadcast).objects.filter(pk=live_broadcast.pk).update(audience=Audience.SIGNED_IN)
    with pytest.raises(Forbidden):
        broadcast_for_audience(slug=live_broadcast.slug, user=AnonymousUser())
    # ...while a page may show the second-old read, which the socket then refuses.
    assert broadcast_for_audience(slug=live_broadcast.slug, user=AnonymousUser(), for_page=True)


def test_a_newcomer_on_the_watch_page_is_one_insert(client, live_broadcast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    form = client.get(f"/b/{live_broadcast.slug}/watch/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/b/{live_broadcast.slug}/watch/",
            {"display_name": "Nora", "csrfmiddlewaretoken": token.group(1)},
        )
    assert response.status_code == 302
    writes = [q["sql"] for q in queries if not q["sql"].startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO"), writes
    key = guest_key_from_cookies({k: v.value for k, v in response.cookies.items()})
    assert Attendee.objects.get(guest_key=key).display_name == "Nora"
