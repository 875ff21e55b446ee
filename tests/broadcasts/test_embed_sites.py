"""The websites that may show the widget, set per site in the admin (Embed sites), with
PRIMETIME_EMBED_ORIGINS as an addition; a change takes effect at the next widget load."""

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from broadcasts.models import EmbedSite
from tests.csp import frame_ancestors as framed_by
from tests.factories import BroadcastFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_SITE = "/admin/broadcasts/embedsite/add/"


def frame_ancestors(client, broadcast) -> str:
    return framed_by(client.get(f"/b/{broadcast.slug}/embed/"))


def allowed(client, broadcast, origin: str | None):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.get(f"/b/{broadcast.slug}/embed/allowed/", **headers)


def test_a_site_added_in_the_admin_may_frame_the_widget_at_once(client, live_broadcast):
    assert frame_ancestors(client, live_broadcast) == "'self'"
    site = EmbedSite.objects.create(origin="https://shop.example.com", name="ACME")
    assert frame_ancestors(client, live_broadcast) == "'self' https://shop.example.com"
    site.delete()
    assert frame_ancestors(client, live_broadcast) == "'self'"


@override_settings(EMBED_ALLOWED_ORIGINS=["http://localhost:8001"])
def test_the_environments_origins_add_to_the_admins(client, live_broadcast):
    EmbedSite.objects.create(origin="https://shop.example.com")
    assert frame_ancestors(client, live_broadcast) == (
        "'self' https://shop.example.com http://localhost:8001"
    )


def test_the_loader_learns_whether_its_website_may_show_the_widget(client, live_broadcast):
    EmbedSite.objects.create(origin="https://shop.example.com")
    yes = allowed(client, live_broadcast, "https://shop.example.com")
    assert yes.status_code == 200
    assert yes.json() == {"allowed": True, "origin": "https://shop.example.com"}
    assert yes["Access-Control-Allow-Origin"] == "*"
    assert (
        allowed(client, live_broadcast, "https://elsewhere.example.com").json()["allowed"] is False
    )
    # PrimeTime's own pages send no Origin on a GET: always allowed.
    assert allowed(client, live_broadcast, None).json()["allowed"] is True


@override_settings(EMBED_ALLOWED_ORIGINS=["*"])
def test_a_star_in_the_environment_lets_any_website_show_it(client, live_broadcast):
    assert allowed(client, live_broadcast, "https://anyone.example.com").json()["allowed"] is True


def test_the_loader_is_told_when_there_is_no_such_broadcast(client, host):
    draft = BroadcastFactory(host=host, slug="secret-draft")
    for slug in ("nothing-here", draft.slug):
        response = client.get(f"/b/{slug}/embed/allowed/", HTTP_ORIGIN="https://shop.example.com")
        assert response.status_code == 404
        assert response["Access-Control-Allow-Origin"] == "*"


def test_moderators_manage_embed_sites(db):
    granted = set(
        Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True)
    )
    assert {"add_embedsite", "change_embedsite", "delete_embedsite", "view_embedsite"} <= granted


def test_the_admin_keeps_the_origin_browsers_send(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(ADD_SITE, {"origin": "  https://Shop.Example.com/ ", "name": "ACME"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(EmbedSite.objects.values_list("origin", flat=True)) == ["https://shop.example.com"]


@pytest.mark.parametrize(
    "origin", ["shop.example.com", "https://shop.example.com/widgets", "ftp://shop.example.com"]
)
def test_the_admin_refuses_what_is_not_an_origin(client, origin):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(ADD_SITE, {"origin": origin, "name": ""})
    assert response.status_code == 200
    assert "is not a website origin" in response.content.decode()
    assert not EmbedSite.objects.exists()


def test_the_snippet_box_says_when_no_website_may_show_the_widget(client, live_broadcast):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = f"/admin/broadcasts/broadcast/{live_broadcast.pk}/change/"
    assert "No website may show it yet" in client.get(page).content.decode()
    EmbedSite.objects.create(origin="https://shop.example.com")
    html = client.get(page).content.decode()
    assert "No website may show it yet" not in html
    assert "Websites that may show it: <code>https://shop.example.com</code>" in html
