"""The broadcast lifecycle in real browsers: a host drives it, a guest viewer sees it."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from tests.e2e.helpers import end_broadcast, sign_in
from tests.factories import BroadcastFactory, UserFactory


def test_host_goes_live_pauses_resumes_and_ends_while_a_guest_watches(server, new_page):
    host = UserFactory(username="hana", first_name="Hana", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="launch", title="Spring launch")
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(minutes=30)
    )

    console = new_page()
    sign_in(console, server, "hana", "/b/launch/host/")
    go_live = console.get_by_role("button", name="Go live")
    expect(go_live).to_be_visible()
    expect(console.get_by_role("button", name="Pause")).to_be_hidden()

    viewer = new_page(viewport={"width": 390, "height": 844})
    viewer.goto(f"{server}/b/launch/watch/")
    viewer.get_by_label("Your name").fill("Gina Guest")
    viewer.get_by_role("button", name="Join").click()
    expect(viewer.get_by_text("Starting soon", exact=True).first).to_be_visible()
    # Their own picture comes first in the audience strip.
    expect(viewer.locator(".audience-strip .attendee").first).to_contain_text("Gina Guest (you)")
    expect(console.locator(".audience-strip")).to_contain_text("Gina Guest")
    # The audience is Gina: the host's own console is not a viewer.
    for page in (viewer, console):
        expect(page.locator("[data-bind=viewers]")).to_have_text("1 watching")

    go_live.click()
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Live")
    expect(viewer.locator("#waiting-overlay")).to_be_hidden()
    expect(viewer.get_by_role("img", name="Hana Host")).to_be_visible()

    console.get_by_role("button", name="Pause").click()
    paused = viewer.locator("#paused-overlay")
    expect(paused).to_be_visible()
    expect(paused).to_contain_text("Paused")

    # A reload mid-session comes back to the same state.
    viewer.reload()
    expect(viewer.locator("#paused-overlay")).to_be_visible()
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Paused")

    console.get_by_role("button", name="Resume").click()
    expect(viewer.locator("#paused-overlay")).to_be_hidden()
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Live")

    viewer.reload()
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Live")
    expect(viewer.locator("#paused-overlay")).to_be_hidden()

    # Ending is final, so the console asks first; keeping on changes nothing.
    console.get_by_role("button", name="End broadcast").click()
    dialog = console.get_by_role("dialog", name="End the broadcast for everyone?")
    expect(dialog).to_contain_text("This is final")
    expect(dialog.get_by_role("button", name="Keep broadcasting")).to_be_focused()
    dialog.get_by_role("button", name="Keep broadcasting").click()
    expect(dialog).to_be_hidden()
    expect(viewer.locator("[data-bind=state-badge]")).to_have_text("Live")
    end_broadcast(console)
    end_screen = viewer.get_by_role("region", name="This broadcast has ended")
    expect(end_screen).to_be_visible()
    expect(end_screen.get_by_role("link", name="Get the offer")).to_have_attribute(
        "href", "https://example.com/offer"
    )
    expect(console.locator("[data-bind=state-badge]")).to_have_text("Ended")
    for name in ("Go live", "Pause", "Resume", "End broadcast"):
        expect(console.get_by_role("button", name=name)).to_be_hidden()

    broadcast.refresh_from_db()
    assert broadcast.state == "ended"
    assert [t.to_state for t in broadcast.transitions.all()] == [
        "scheduled",
        "live",
        "paused",
        "live",
        "ended",
    ]
    assert {t.by for t in broadcast.transitions.all()} == {host}


def test_landing_page_invites_to_join_when_live(server, new_page):
    host = UserFactory(username="lena")
    broadcast = BroadcastFactory(host=host, slug="live-now", title="Live now")
    services.broadcast_start(broadcast=broadcast, by=host)
    page = new_page()
    page.goto(f"{server}/b/live-now/")
    page.get_by_role("link", name="Join live").click()
    expect(page).to_have_url(re.compile(r"/b/live-now/watch/$"))
    expect(page.get_by_label("Your name")).to_be_focused()


def test_viewer_reconnects_after_losing_the_socket(server, new_page):
    host = UserFactory(username="rita", first_name="Rita", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="flaky", title="Flaky network")
    services.broadcast_start(broadcast=broadcast, by=host)

    console = new_page()
    sign_in(console, server, "rita", "/b/flaky/host/")
    viewer = new_page()
    sockets = []

    def through_proxy(ws):
        sockets.append(ws)
        ws.connect_to_server()

    # Every socket of the viewer's page passes through Playwright, so the test can cut it.
    viewer.route_web_socket(re.compile(r"/ws/broadcasts/"), through_proxy)
    viewer.goto(f"{server}/b/flaky/watch/")
    viewer.get_by_label("Your name").fill("Otto")
    viewer.get_by_role("button", name="Join").click()
    # The page has drawn its first snapshot.
    expect(viewer.locator("#broadcast")).to_have_attribute("aria-busy", "false")
    assert len(sockets) == 1
    assert "since=" not in sockets[0].url

    sockets[0].close(code=1011, reason="network blip")
    console.get_by_role("button", name="Pause").click()
    expect(viewer.locator("#paused-overlay")).to_be_visible()
    expect(viewer.locator("[data-bind=connection]")).to_have_text("")
    # The client came back by itself, asking for what it missed.
    assert len(sockets) == 2
    assert "epoch=" in sockets[1].url and "since=" in sockets[1].url
