"""An accessibility audit with axe-core (vendored for tests only) of every page and state
of the story: no serious or critical violation anywhere."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts import services
from tests.e2e.helpers import end_broadcast, join_as_guest, open_console, sign_in
from tests.factories import BroadcastFactory, UserFactory, ops_user

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = """
async (context) => {
  const result = await axe.run(context || document, { resultTypes: ['violations'] });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const where = v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ');
      return `${v.id} (${v.impact}): ${v.help} at ${where}`;
    });
}
"""


def audit(page: Page, where: str) -> None:
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated by the test, not added as a <script>: the pages' Content-Security-
        # Policy refuses inline scripts, and axe is no part of the page.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(SERIOUS)
    assert violations == [], f"{where}:\n" + "\n".join(violations)


@pytest.fixture
def show(transactional_db):
    host = UserFactory(username="axel", first_name="Axel", last_name="Host")
    broadcast = BroadcastFactory(
        host=host,
        slug="audit",
        title="Audit",
        description="A show for everyone.",
        cta_headline="Viewers save 20%",
        cta_label="Get the offer",
        cta_url="https://example.com/offer",
    )
    return services.broadcast_start(broadcast=broadcast, by=host)


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 860}, {"width": 390, "height": 844}]
)
def test_the_viewers_pages_in_every_state(server, new_page, show, viewport):
    console = open_console(new_page, server, "axel", "audit")
    visitor = new_page(viewport=viewport)
    visitor.goto(f"{server}/")
    audit(visitor, "home page")
    visitor.goto(f"{server}/b/audit/")
    audit(visitor, "landing page")
    visitor.goto(f"{server}/b/audit/watch/")
    audit(visitor, "the guest name form")

    viewer = join_as_guest(new_page, server, "audit", "Vera", viewport=viewport)
    expect(viewer.get_by_role("img", name="Axel Host")).to_have_attribute("data-media", "playing")
    viewer.get_by_label("Your question").fill("Where can I buy it?")
    viewer.get_by_role("button", name="Ask question").click()
    expect(viewer.locator(".question")).to_have_count(1)
    audit(viewer, "watch page, live, with a question")
    viewer.get_by_role("button", name="Request to speak").click()
    expect(viewer.get_by_text("Waiting for approval").first).to_be_visible()
    audit(viewer, "watch page, waiting for approval")
    for tab in ("People", "Offer"):
        viewer.get_by_role("tab", name=tab).click()
        audit(viewer, f"watch page, {tab} tab")
    console.get_by_role("button", name="Approve").click()
    expect(viewer.get_by_role("button", name="End call")).to_be_visible()
    audit(viewer, "watch page, on stage")
    viewer.get_by_role("button", name="End call").click()
    console.get_by_role("button", name="Pause").click()
    expect(viewer.locator("#paused-overlay")).to_be_visible()
    audit(viewer, "watch page, paused")
    console.get_by_role("button", name="Resume").click()
    end_broadcast(console)
    expect(viewer.get_by_role("heading", name="This broadcast has ended")).to_be_visible()
    audit(viewer, "watch page, ended")


def test_the_host_console_in_every_state(server, new_page, show):
    console = open_console(new_page, server, "axel", "audit")
    audit(console, "host console, live")
    viewer = join_as_guest(new_page, server, "audit", "Vera")
    viewer.get_by_role("button", name="Request to speak").click()
    viewer.get_by_label("Your question").fill("Is there a replay?")
    viewer.get_by_role("button", name="Ask question").click()
    expect(console.get_by_role("button", name="Approve")).to_be_visible()
    audit(console, "host console, a request to speak")
    console.get_by_role("tab", name="Questions").click()
    expect(console.get_by_text("Is there a replay?")).to_be_visible()  # with its buttons
    audit(console, "host console, Questions tab")
    for tab in ("Audience", "Engagement"):
        console.get_by_role("tab", name=tab).click()
        audit(console, f"host console, {tab} tab")
    console.get_by_role("button", name="End broadcast").click()
    expect(console.get_by_role("dialog")).to_be_visible()
    audit(console, "host console, the end confirmation")
    console.get_by_role("dialog").get_by_role("button", name="Yes, end the broadcast").click()
    expect(
        console.get_by_role("region", name="The broadcast has ended: how it went")
    ).to_be_visible()
    audit(console, "host console, the summary")


def test_the_widget_the_dashboard_exports_and_error_pages(server, new_page, show, moderator):
    widget = new_page(viewport={"width": 400, "height": 720})
    widget.goto(f"{server}/b/audit/embed/")
    expect(widget.get_by_role("button", name="Close")).to_be_visible()
    audit(widget, "widget, open")
    widget.get_by_role("button", name="Close").click()
    expect(widget.get_by_role("button", name="Open live broadcast")).to_be_visible()
    audit(widget, "widget, folded")

    staff = new_page()
    sign_in(staff, server, "mod", f"/admin/broadcasts/broadcast/{show.pk}/dashboard/")
    expect(staff.locator("#dashboard")).to_have_attribute("aria-busy", "false")
    audit(staff, "live dashboard")

    ops_user(username="opal")
    ops = new_page()
    sign_in(ops, server, "opal", "/leads/exports/")
    audit(ops, "lead exports")

    stranger = new_page()
    stranger.goto(f"{server}/b/no-such-show/")
    audit(stranger, "404 page")
    stranger.goto(f"{server}/accounts/login/")
    audit(stranger, "sign-in page")
