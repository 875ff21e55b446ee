"""Leads end to end: a viewer leaves their details on the end screen; ops download them."""

import contextlib
import csv
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from participation.models import Attendee
from tests.e2e.helpers import end_broadcast, join_as_guest, open_console, sign_in, wait_for
from tests.factories import BroadcastFactory, UserFactory, in_group, ops_user
from tests.servers import running_server, running_worker

FAST_EXPORT = {"PRIMETIME_POST_SESSION_EXPORT_DELAY": "0"}


@pytest.fixture
def server_and_worker(transactional_db):
    """A server; with Redis (the services profile), a Celery worker beside it, as in
    production. Embedded, tasks run in the server itself."""
    with running_server("daphne", **FAST_EXPORT) as base:
        worker = running_worker(**FAST_EXPORT) if settings.REDIS_URL else contextlib.nullcontext()
        with worker:
            yield base


def test_a_viewer_leaves_details_and_ops_download_them(server_and_worker, new_page):
    server = server_and_worker
    host = UserFactory(username="lea", first_name="Lea", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="leads", title="Leads", lead_ask_phone=True)
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "lea", "leads")
    vera = join_as_guest(new_page, server, "leads", "Vera Viewer")

    # The host asks; the form opens on the viewer's page. She answers later.
    console.get_by_role("tab", name="Engagement").click()
    console.get_by_role("button", name="Ask viewers for their details").click()
    card = vera.locator("#lead-card")
    expect(card).to_be_visible()
    card.get_by_role("button", name="Not now").click()
    expect(card).to_be_hidden()

    # The end screen offers it again (after a visit long enough to count in whole seconds).
    visit = Attendee.objects.get(broadcast=broadcast, display_name="Vera Viewer")
    wait_for(lambda: Attendee.objects.get(pk=visit.pk).watch_seconds(timezone.now()) >= 2)
    end_broadcast(console)
    expect(vera.get_by_role("heading", name="This broadcast has ended")).to_be_visible()
    expect(card).to_be_visible()
    expect(card.get_by_label("Your name")).to_have_value("Vera Viewer")
    card.get_by_label("Email").fill("vera@example")
    card.get_by_role("textbox", name="Phone").fill("+44 20 7946 0958")
    card.get_by_label("I agree to be contacted").check()
    card.get_by_role("button", name="Send my details").click()
    expect(card.locator("#lead-email-error")).to_have_text("Enter a valid email address.")
    expect(card.get_by_label("Email")).to_have_attribute("aria-invalid", "")
    card.get_by_label("Email").fill("Vera@Example.com")
    card.get_by_role("button", name="Send my details").click()
    expect(card.locator("[data-bind=lead-thanks]")).to_have_text(
        "Thank you, Vera Viewer! We will be in touch at vera@example.com."
    )

    # Ops: the post-session export, done, with her row in it.
    ops_user(username="olga", first_name="Olga", last_name="Ops")
    page = new_page()
    sign_in(page, server, "olga", "/leads/exports/")
    expect(page.get_by_role("heading", name="Lead exports")).to_be_visible()
    newest = page.locator("[data-bind=exports] tr").first
    expect(newest).to_contain_text("after the broadcast")
    expect(newest.locator("[data-cell=state]")).to_have_text("Done", timeout=30_000)
    expect(newest.locator("[data-cell=rows]")).to_have_text("1")
    with page.expect_download() as download:
        newest.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["name"], r["email"], r["phone"], r["consent"]) for r in rows] == [
        ("Vera Viewer", "vera@example.com", "+442079460958", "yes")
    ]
    assert int(rows[0]["watch_seconds"]) >= 1


def test_viewers_and_staff_without_the_permission_cannot_open_exports(server, new_page):
    in_group(
        UserFactory(username="mara", first_name="Mara", is_staff=True),
        "Moderators",
        "broadcasts.moderate_broadcast",
    )
    page = new_page()
    sign_in(page, server, "mara", "/leads/exports/")
    # The product's own 403 page, saying why.
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    expect(page.get_by_text("needs the export permission")).to_be_visible()
