"""The Content-Security-Policy header on every kind of page (django-csp, config/settings.py):
scripts from our own files only, the live socket allowed, nothing may frame a page but the
widget's embed sites. tests/e2e/test_content_security_policy.py opens them in Chromium."""

import pytest
from django.test import override_settings

from config.settings import _socket_sources
from leads.models import Lead
from participation.guests import guest_cookie_value
from tests.csp import policy
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db

# Pages and who opens them: None for anyone, "host", "guest", "viewer" (signed in),
# "staff" (a superuser).
PAGES = [
    (None, "/"),
    (None, "/accounts/login/"),
    (None, "/b/spring-launch/"),
    (None, "/b/spring-launch/watch/"),  # the guest name form
    ("guest", "/b/spring-launch/watch/"),
    ("host", "/b/spring-launch/host/"),
    ("staff", "/leads/exports/"),
    ("staff", "/admin/"),
    ("staff", "/admin/broadcasts/broadcast/"),
    ("staff", "/admin/broadcasts/broadcast/{pk}/change/"),
    ("staff", "/admin/broadcasts/broadcast/{pk}/dashboard/"),
    ("staff", "/admin/broadcasts/broadcast/{pk}/analytics/"),
    ("staff", "/admin/leads/lead/"),
    ("staff", "/admin/leads/lead/{lead}/change/"),
    ("staff", "/admin/participation/question/"),
    ("staff", "/api/docs/"),
    ("staff", "/api/broadcasts/"),  # DRF's browsable API
    (None, "/b/no-such-broadcast/"),  # 404
    ("viewer", "/b/spring-launch/host/"),  # a page that refuses (403)
]


def open_as(client, who, live_broadcast, host):
    if who == "host":
        client.force_login(host)
    elif who == "viewer":
        client.force_login(UserFactory(username="vic"))
    elif who == "staff":
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    elif who == "guest":
        guest = GuestFactory(broadcast=live_broadcast, display_name="Gus")
        client.cookies["primetime_guest"] = guest_cookie_value(guest.guest_key)


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_every_page_has_the_policy(client, live_broadcast, host, who, path):
    lead = Lead.objects.create(
        broadcast=live_broadcast, name="Lee", email="lee@example.com", consent_given=True
    )
    open_as(client, who, live_broadcast, host)
    response = client.get(path.format(pk=live_broadcast.pk, lead=lead.pk), HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 403, 404), response.status_code
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    # Scripts: our own files, no inline script, no eval.
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    # The live socket, and the branding images staff may give by address.
    assert directives["connect-src"][0] == "'self'"
    assert "ws://127.0.0.1:*" in directives["connect-src"]
    assert directives["img-src"] == ["'self'", "https:", "data:"]
    assert directives["media-src"] == ["'self'", "blob:", "mediastream:"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_widget_keeps_the_policy_with_its_embed_sites_as_frame_ancestors(
    client, live_broadcast
):
    with override_settings(EMBED_ALLOWED_ORIGINS=["https://shop.example.com"]):
        response = client.get("/b/spring-launch/embed/")
    directives = policy(response)
    assert directives["frame-ancestors"] == ["'self'", "https://shop.example.com"]
    assert directives["script-src"] == ["'self'"]
    assert "ws://127.0.0.1:*" in directives["connect-src"]


def test_uploaded_images_keep_their_own_sandbox_policy(client, live_broadcast):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.broadcasts.test_branding import png

    name = default_storage.save("brand/csp-test.png", ContentFile(png(4, 4)))
    try:
        response = client.get(f"/media/{name}")
        response.close()
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    finally:
        default_storage.delete(name)


def test_the_api_docs_run_no_inline_script(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page
    assert 'src="/api/docs/?script="' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


@pytest.mark.parametrize(
    ("hosts", "debug", "sources"),
    [
        (["live.example.com"], False, ["wss://live.example.com"]),
        (
            [".example.com"],
            False,
            ["wss://example.com", "wss://*.example.com"],
        ),
        (["*"], False, ["wss:"]),
        (["127.0.0.1", "[::1]"], True, ["wss://127.0.0.1", "ws://127.0.0.1:*"]),
    ],
)
def test_the_live_socket_is_allowed_on_every_host_served(hosts, debug, sources):
    assert _socket_sources(hosts, debug=debug) == sources
