"""Who may see leads: ops can; viewers, anonymous visitors and marketing staff without
the export permission cannot, on every page, download and API endpoint."""

import pytest
from rest_framework.authtoken.models import Token

from leads.capture import lead_capture
from leads.exports import export_request
from leads.models import ExportDownload
from tests.factories import UserFactory, in_group, ops_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def export(live_broadcast):
    lead_capture(
        broadcast=live_broadcast,
        attendee=None,
        data={"name": "Ann Lee", "email": "ann@example.com", "consent": "on"},
    )
    return export_request(by=None, broadcast=live_broadcast)


def outsiders():
    return {
        "anonymous": None,
        "viewer": UserFactory(username="vic"),
        "marketing": in_group(
            UserFactory(username="mara", is_staff=True),
            "Moderators",
            "broadcasts.moderate_broadcast",
            "broadcasts.view_broadcast",
        ),
    }


def endpoints(export):
    return [
        ("get", "/leads/exports/"),
        ("post", "/leads/exports/"),
        ("get", f"/leads/exports/{export.pk}/download/"),
        ("get", "/api/leads/"),
        ("get", "/api/exports/"),
        ("post", "/api/exports/"),
        ("get", f"/api/exports/{export.pk}/"),
        ("get", f"/api/exports/{export.pk}/download/"),
    ]


def test_outsiders_are_refused_everywhere(client, export):
    for who, user in outsiders().items():
        client.logout()
        if user is not None:
            client.force_login(user)
        for method, url in endpoints(export):
            response = getattr(client, method)(url)
            assert response.status_code in (302, 401, 403), (who, method, url)
            if response.status_code == 302:
                assert "/login/" in response["Location"], (who, url)
    assert not ExportDownload.objects.exists()


def test_ops_export_and_download_and_each_download_is_recorded(client, export, live_broadcast):
    ops = ops_user(username="olga")
    client.force_login(ops)
    page = client.get("/leads/exports/")
    assert page.status_code == 200
    assert f"#{export.pk}" in page.content.decode()
    download = client.get(f"/leads/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert f"leads-{live_broadcast.slug}-{export.pk}.csv" in download["Content-Disposition"]
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "ann@example.com" in body
    made = client.post("/leads/exports/", {"broadcast": live_broadcast.pk})
    assert made.status_code == 302
    assert list(ExportDownload.objects.values_list("user__username", "via")) == [("olga", "page")]


def test_the_api_with_a_token(client, export, live_broadcast):
    ops = ops_user(username="otto")
    token = Token.objects.create(user=ops)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    leads = client.get(f"/api/leads/?broadcast={live_broadcast.slug}", **auth).json()
    assert leads["count"] == 1
    assert leads["results"][0]["email"] == "ann@example.com"
    status = client.get(f"/api/exports/{export.pk}/", **auth).json()
    assert status["state"] == "done" and status["rows_written"] == 1
    created = client.post(
        "/api/exports/", {"broadcast": live_broadcast.slug}, content_type="application/json", **auth
    )
    assert created.status_code == 201
    bad = client.post(
        "/api/exports/",
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and "date_to" in bad.json()
    csv = client.get(f"/api/exports/{export.pk}/download/", **auth)
    assert csv.status_code == 200
    # Reading the stream to its end is what closes the file behind it.
    assert b"".join(csv.streaming_content).decode("utf-8-sig").startswith("broadcast,")
    assert ExportDownload.objects.get().via == "api"
    assert client.get("/api/schema/", **auth).status_code == 200


def test_the_broadcasts_api_is_for_staff(client, live_broadcast):
    client.force_login(UserFactory(username="vic"))
    assert client.get("/api/broadcasts/").status_code == 403
    client.force_login(UserFactory(username="staff", is_staff=True))
    detail = client.get(f"/api/broadcasts/{live_broadcast.slug}/").json()
    assert detail["state"] == "live"
    assert set(detail["counters"]) >= {"viewers_now", "likes", "leads", "rating_average"}
