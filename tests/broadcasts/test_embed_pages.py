"""The embeddable widget's page (`/b/<slug>/embed/`), the call-to-action redirect
(`/b/<slug>/go/`), and the setting of the origins allowed to frame the widget."""

import json
import re

import pytest
from django.conf import settings
from django.test import override_settings

from broadcasts import services
from broadcasts.models import Audience, Broadcast
from participation.guests import guest_cookie_value, guest_key_from_token
from participation.models import Attendee, CtaClick
from participation.services import attendee_for_user
from tests.csp import frame_ancestors
from tests.factories import BroadcastFactory, GuestFactory
from tests.test_settings import run, settings_refusal

pytestmark = pytest.mark.django_db


def embed_url(broadcast) -> str:
    return f"/b/{broadcast.slug}/embed/"


def go_url(broadcast) -> str:
    return f"/b/{broadcast.slug}/go/"


def data_attribute(page: str, name: str) -> str:
    match = re.search(rf'data-{name}="([^"]*)"', page)
    assert match, f"data-{name} not in the page"
    return match.group(1)


# --- The widget's page ----------------------------------------------------------------


def test_the_widget_page_may_be_framed_by_itself_only_by_default(client, live_broadcast):
    response = client.get(embed_url(live_broadcast))
    assert response.status_code == 200
    assert frame_ancestors(response) == "'self'"
    assert "X-Frame-Options" not in response
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert data_attribute(page, "live-path") == f"/ws/broadcasts/{live_broadcast.slug}/"
    assert "Open live broadcast" in page


@override_settings(EMBED_ALLOWED_ORIGINS=["https://shop.example.com", "http://localhost:8001"])
def test_the_widget_page_may_be_framed_by_the_allowed_origins(client, live_broadcast):
    response = client.get(embed_url(live_broadcast))
    assert response.status_code == 200
    assert frame_ancestors(response) == "'self' https://shop.example.com http://localhost:8001"
    assert "X-Frame-Options" not in response


def test_other_pages_still_refuse_to_be_framed(client, live_broadcast):
    # The control for the test above: the exemption is the widget's alone.
    landing = client.get(f"/b/{live_broadcast.slug}/")
    assert landing["X-Frame-Options"] == "DENY"
    assert frame_ancestors(landing) == "'none'"


def test_a_new_visitor_gets_a_fresh_guest_token(client, live_broadcast):
    first = client.get(embed_url(live_broadcast)).content.decode()
    second = client.get(embed_url(live_broadcast)).content.decode()
    assert data_attribute(first, "known-guest") == ""
    assert data_attribute(first, "signed-in") == "false"
    tokens = [data_attribute(page, "new-guest") for page in (first, second)]
    keys = [guest_key_from_token(token) for token in tokens]
    assert None not in keys
    assert keys[0] != keys[1]
    # Opening the page creates nobody: the socket does, with the token.
    assert not Attendee.objects.filter(user__isnull=True).exists()


def test_a_guest_known_from_the_watch_page_keeps_their_key(client, live_broadcast):
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    client.cookies[settings.GUEST_COOKIE_NAME] = guest_cookie_value(ann.guest_key)
    page = client.get(embed_url(live_broadcast)).content.decode()
    assert guest_key_from_token(data_attribute(page, "known-guest")) == ann.guest_key


def test_a_signed_in_visitor_is_marked_so(client, live_broadcast, viewer_user):
    client.force_login(viewer_user)
    page = client.get(embed_url(live_broadcast)).content.decode()
    assert data_attribute(page, "signed-in") == "true"


def test_the_title_is_escaped(client, host):
    broadcast = services.broadcast_start(
        broadcast=BroadcastFactory(host=host, title="<script>alert(1)</script>"), by=host
    )
    page = client.get(embed_url(broadcast)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_widget_of_a_scheduled_broadcast_is_shown(client, scheduled_broadcast):
    response = client.get(embed_url(scheduled_broadcast))
    assert response.status_code == 200
    assert data_attribute(response.content.decode(), "state") == "scheduled"


def test_drafts_and_unknown_broadcasts_are_not_found(client, host, viewer_user):
    draft = BroadcastFactory(host=host)
    assert client.get(embed_url(draft)).status_code == 404
    assert client.get("/b/no-such-broadcast/embed/").status_code == 404
    client.force_login(viewer_user)
    assert client.get(embed_url(draft)).status_code == 404
    client.force_login(host)
    assert client.get(embed_url(draft)).status_code == 200


def test_a_signed_in_audience_asks_anonymous_visitors_to_sign_in(client, live_broadcast):
    Broadcast.objects.filter(pk=live_broadcast.pk).update(audience=Audience.SIGNED_IN)
    response = client.get(embed_url(live_broadcast))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in to watch this broadcast." in page
    assert "data-live-path" not in page
    assert "/ws/broadcasts/" not in page
    assert "data-new-guest" not in page
    # Still frameable only where allowed.
    assert frame_ancestors(response) == "'self'"


def test_a_signed_in_audience_admits_a_signed_in_visitor(client, live_broadcast, viewer_user):
    Broadcast.objects.filter(pk=live_broadcast.pk).update(audience=Audience.SIGNED_IN)
    client.force_login(viewer_user)
    page = client.get(embed_url(live_broadcast)).content.decode()
    assert data_attribute(page, "live-path") == f"/ws/broadcasts/{live_broadcast.slug}/"
    assert "Sign in to watch" not in page


# --- The call-to-action redirect ------------------------------------------------------


def test_the_beacon_counts_the_click(client, live_broadcast):
    response = client.post(go_url(live_broadcast))
    assert response.status_code == 204
    click = CtaClick.objects.get()
    assert (click.broadcast, click.attendee, click.source) == (live_broadcast, None, "landing")


def test_a_get_goes_to_the_offer_and_counts_nothing(client, live_broadcast):
    """A link preview, a prefetch or an old link: on to the offer, no click counted."""
    response = client.get(go_url(live_broadcast), HTTP_SEC_PURPOSE="prefetch")
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/offer"
    assert not CtaClick.objects.exists()


def test_go_credits_a_known_guest(client, live_broadcast):
    ann = GuestFactory(broadcast=live_broadcast)
    client.cookies[settings.GUEST_COOKIE_NAME] = guest_cookie_value(ann.guest_key)
    client.post(go_url(live_broadcast))
    assert CtaClick.objects.get().attendee == ann


def test_go_credits_a_signed_in_attendee_without_making_one(client, live_broadcast, viewer_user):
    client.force_login(viewer_user)
    client.post(go_url(live_broadcast))
    assert CtaClick.objects.get().attendee is None
    assert not Attendee.objects.filter(user=viewer_user).exists()
    attendee = attendee_for_user(broadcast=live_broadcast, user=viewer_user)
    client.post(go_url(live_broadcast))
    assert CtaClick.objects.last().attendee == attendee


def test_go_without_a_call_to_action_is_not_found(client, host):
    bare = services.broadcast_start(
        broadcast=BroadcastFactory(host=host, cta_label="", cta_url="", cta_headline=""), by=host
    )
    assert client.post(go_url(bare)).status_code == 404
    assert not CtaClick.objects.exists()


def test_go_of_a_draft_is_not_found(client, host):
    draft = BroadcastFactory(host=host)
    assert client.post(go_url(draft)).status_code == 404
    assert not CtaClick.objects.exists()


# --- PRIMETIME_EMBED_ORIGINS ----------------------------------------------------------


def test_embed_origins_are_read_from_the_environment():
    result = run(
        ["-c", "import json, config.settings as s; print(json.dumps(s.EMBED_ALLOWED_ORIGINS))"],
        PRIMETIME_EMBED_ORIGINS=" https://shop.example.com , http://localhost:8001,*",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["https://shop.example.com", "http://localhost:8001", "*"]


@pytest.mark.parametrize(
    "value",
    [
        "shop.example.com",
        "https://shop.example.com/",
        "https://shop.example.com/path",
        "ftp://shop.example.com",
        "https://shop.example.com; script-src *",
        "'self'",
    ],
)
def test_a_bad_embed_origin_refuses_to_start(value):
    refusal = settings_refusal(PRIMETIME_EMBED_ORIGINS=value)
    assert "PRIMETIME_EMBED_ORIGINS" in refusal
    assert "is not an origin like https://shop.example.com" in refusal
