"""The host disappears: viewers are told within seconds (not a frozen "Camera off"),
the broadcast pauses by itself after PRIMETIME_HOST_AWAY_PAUSE_SECONDS, and the host,
back at the console, resumes."""

import pytest
from playwright.sync_api import expect

from broadcasts import services
from tests.e2e.helpers import expect_host_video, join_as_guest, open_console
from tests.factories import BroadcastFactory, UserFactory
from tests.servers import running_server


@pytest.fixture
def quick_pause_server(transactional_db):
    with running_server("daphne", PRIMETIME_HOST_AWAY_PAUSE_SECONDS="4") as base:
        yield base


def test_viewers_are_told_the_host_is_away_and_it_pauses_by_itself(quick_pause_server, new_page):
    server = quick_pause_server
    host = UserFactory(username="awa", first_name="Awa", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="away", title="Away")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "awa", "away")
    viewer = join_as_guest(new_page, server, "away", "Vic")
    expect_host_video(viewer, "Awa Host")

    # The host's tab closes: within seconds viewers are told, and never "Camera off".
    console.context.close()
    tile = viewer.get_by_role("img", name="Awa Host")
    expect(tile).to_contain_text("The host is reconnecting…", timeout=5000)
    expect(tile).not_to_contain_text("Camera off")
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Live")

    # Still gone after the setting's 4 s: the broadcast pauses by itself.
    expect(viewer.locator("#paused-overlay")).to_be_visible(timeout=15000)
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Paused")

    # Back at the console, the host resumes; video comes back without viewers doing a thing.
    console = open_console(new_page, server, "awa", "away")
    expect(tile).not_to_contain_text("The host is reconnecting…")
    console.get_by_role("button", name="Resume").click()
    expect(viewer.locator("#paused-overlay")).to_be_hidden()
    expect_host_video(viewer, "Awa Host")
