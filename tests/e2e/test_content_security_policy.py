"""Every kind of page under the Content-Security-Policy, in Chromium: nothing refused (no
inline script, no blocked socket, style, image or video), and the live sockets connect."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from leads import capture
from tests.e2e.helpers import (
    INSTRUMENTS,
    expect_host_video,
    join_as_guest,
    open_console,
    sign_in,
    wait_for,
)
from tests.e2e.policy import PolicyWatch, expect_connected
from tests.e2e.shop import shop_site
from tests.factories import BroadcastFactory, GuestFactory, UserFactory
from tests.servers import ARTIFACTS, free_port

INLINE_SCRIPT = """() => {
  const script = document.createElement('script');
  script.textContent = 'window.__inlineRan = 1;';
  document.body.append(script);
  document.documentElement.dataset.cspControl = 'added';
}"""


def test_every_kind_of_page_runs_under_the_policy(
    start_media_server, backend, export_worker, new_page
):
    # On each media backend (on janus, video comes through the SFU).
    port = free_port()
    server = start_media_server(PRIMETIME_EMBED_ORIGINS=f"http://localhost:{port}")
    snippet = f'<script src="{server}/static/js/embed.js" data-broadcast="launch" async></script>'
    with shop_site(snippet, port=port) as shop:
        pages_under_the_policy(server, shop, new_page, backend)


def pages_under_the_policy(server: str, shop: str, new_page, backend: str) -> None:
    watch = PolicyWatch(new_page)
    host = UserFactory(username="wes", first_name="Wes", last_name="Host")
    broadcast = BroadcastFactory(
        host=host,
        slug="launch",
        title="Launch",
        description="The spring collection, live.",
        brand_accent="#0A7C66",  # a style attribute on every audience page
        cta_label="Shop the look",
        cta_url="https://example.com/look",
    )
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(minutes=5)
    )
    UserFactory(username="root", is_staff=True, is_superuser=True)

    # The landing page, before the start.
    landing = watch()
    landing.goto(f"{server}/b/launch/")
    expect(landing.get_by_role("heading", name="Launch")).to_be_visible()
    # The accent, a style attribute, applies.
    accent = "getComputedStyle(document.body).getPropertyValue('--accent').trim()"
    assert landing.evaluate(accent) == "#0a7c66"
    # The control: an inline script is refused, and the watch hears of it.
    landing.evaluate(INLINE_SCRIPT)
    expect(landing.locator("html")).to_have_attribute("data-csp-control", "added")
    wait_for(lambda: len(watch.violations) >= 1)
    assert landing.evaluate("window.__inlineRan") is None
    assert "script-src" in watch.violations[0]
    watch.violations.clear()

    # The host console goes live with the fake camera; a viewer watches the video.
    console = open_console(watch, server, "wes", "launch")
    expect_connected(console)
    console.get_by_role("button", name="Go live").click()
    expect(console.locator("#broadcast")).to_have_attribute("data-state", "live")
    viewer = join_as_guest(watch, server, "launch", "Vic Viewer")
    expect_connected(viewer)
    expect_host_video(viewer, "Wes Host")
    viewer.get_by_label("Your question").fill("Is there a discount?")
    viewer.get_by_role("button", name="Ask question").click()
    expect(console.get_by_text("Is there a discount?")).to_be_attached()  # its tab is shut
    viewer.screenshot(path=ARTIFACTS / f"csp-watch-{backend}.png")

    # The widget, in an iframe on the shop's website (another origin).
    shopper = watch(init_script=INSTRUMENTS)
    shopper.goto(shop)
    widget = shopper.frame_locator("iframe[data-primetime-widget]")
    expect(widget.locator("#broadcast")).to_have_attribute("data-connection", "connected")
    expect(widget.get_by_role("img", name="Wes Host")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )

    # Staff: the dashboard (its own socket), the analytics, the admin, exports, the API docs.
    guest = GuestFactory(broadcast=broadcast, display_name="Lee")
    capture.lead_capture(
        broadcast=broadcast,
        attendee=guest,
        data={"name": "Lee", "email": "lee@example.com", "consent": True},
    )
    staff = watch()
    sign_in(staff, server, "root", f"/admin/broadcasts/broadcast/{broadcast.pk}/dashboard/")
    expect_connected(staff, "#dashboard")
    expect(staff.locator("[data-bind=questions]")).to_contain_text("Is there a discount?")
    for path, heading in [
        (f"/admin/broadcasts/broadcast/{broadcast.pk}/analytics/", "Launch"),
        ("/admin/", "Site administration"),
        ("/admin/broadcasts/broadcast/", "Select broadcast to change"),
        (f"/admin/broadcasts/broadcast/{broadcast.pk}/change/", "Change broadcast"),
        ("/admin/leads/lead/", "Select lead to change"),
        ("/admin/participation/question/", "Select question to change"),
        ("/api/broadcasts/", "Broadcast List"),  # DRF's browsable API
    ]:
        staff.goto(f"{server}{path}")
        expect(staff.get_by_role("heading", name=heading).first).to_be_visible()
    staff.goto(f"{server}/leads/exports/")
    staff.get_by_label("Broadcast").select_option(label="Launch")
    staff.get_by_role("button", name="Export leads").click()
    newest = staff.locator("[data-bind=exports] tr").first
    expect(newest.locator("[data-cell=state]")).to_have_text("Done", timeout=30_000)
    staff.goto(f"{server}/api/docs/")
    expect(staff.get_by_role("heading", name="PrimeTime API")).to_be_visible()
    expect(staff.get_by_text("/api/broadcasts/").first).to_be_visible()
    staff.screenshot(path=ARTIFACTS / f"csp-api-docs-{backend}.png")

    watch.assert_clean()
