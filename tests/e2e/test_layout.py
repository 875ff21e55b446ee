"""The watch page is built around the video, on a laptop and on a phone: what a viewer
uses in the request-to-speak story is on screen without scrolling, long words wrap
inside their boxes, and the Paused screen is drawn above everything on the stage."""

import time

import pytest
from playwright.sync_api import Page, expect

from broadcasts import services
from tests.e2e.helpers import end_broadcast, join_as_guest, open_console, sign_in, wait_for
from tests.factories import BroadcastFactory, UserFactory
from tests.servers import ARTIFACTS

SIZES = {"laptop": {"width": 1366, "height": 860}, "phone": {"width": 390, "height": 844}}
LONG_NAME = "Bartholomew" * 5 + "Longname"[:5]  # 60 characters, no space to break at
LONG_QUESTION = "W" * 500

IN_VIEWPORT = """
(element) => {
  const box = element.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
    && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
}
"""
# Neither the page nor the open tab (which scrolls on its own) scrolls sideways.
NO_SIDEWAYS_SCROLL = """
() => document.documentElement.scrollWidth <= window.innerWidth
  && [...document.querySelectorAll('.tab-panel:not([hidden])')]
    .every((panel) => panel.scrollWidth <= panel.clientWidth)
"""
# What is drawn at the stage's centre: the element there, inside the Paused overlay or not.
PAUSED_ON_TOP = """
() => {
  const stage = document.querySelector('.stage').getBoundingClientRect();
  const top = document.elementFromPoint(stage.left + stage.width / 2, stage.top + stage.height / 2);
  return Boolean(top && top.closest('#paused-overlay'));
}
"""


def expect_on_screen(page: Page, locator, what: str) -> None:
    """Visible and inside the viewport (given a moment: a page lays out as events come)."""
    expect(locator).to_be_visible()
    deadline = time.monotonic() + 3
    while not locator.evaluate(IN_VIEWPORT):
        assert time.monotonic() < deadline, f"{what} is not inside the viewport"
        page.wait_for_timeout(200)


@pytest.mark.parametrize("size", SIZES)
def test_the_watch_page_keeps_the_story_on_one_screen(server, new_page, size):
    viewport = SIZES[size]
    host = UserFactory(username="lay", first_name="Lay", last_name="Out")
    broadcast = BroadcastFactory(host=host, slug="layout", title="Layout")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "lay", "layout")

    viewer = join_as_guest(new_page, server, "layout", LONG_NAME, viewport=viewport)
    expect(viewer.get_by_role("img", name="Lay Out")).to_have_attribute("data-media", "playing")
    raise_hand = viewer.get_by_role("button", name="Request to speak")
    expect_on_screen(viewer, raise_hand, "Request to speak")
    for name in ("Mute", "Like", "Rate 5 stars", "Leave"):
        expect_on_screen(
            viewer,
            viewer.get_by_role("button", name=name, exact=True).or_(
                viewer.get_by_role("link", name=name, exact=True)
            ),
            name,
        )
    strip = viewer.get_by_role("region", name="Audience")
    expect_on_screen(viewer, strip, "the audience strip")
    # Own picture first in the strip.
    expect(strip.locator(".attendee").first).to_contain_text(f"{LONG_NAME} (you)")

    # A long question wraps inside its box.
    viewer.get_by_label("Your question").fill(LONG_QUESTION)
    viewer.get_by_role("button", name="Ask question").click()
    expect(viewer.locator(".question .q-text")).to_have_text(LONG_QUESTION)
    assert viewer.evaluate(NO_SIDEWAYS_SCROLL), "the page scrolls sideways"

    raise_hand.click()
    waiting = viewer.locator("[data-speak=waiting]")
    expect(waiting).to_contain_text("Waiting for approval")
    expect_on_screen(viewer, waiting, "the waiting box")
    expect_on_screen(viewer, waiting.get_by_role("button", name="Cancel"), "Cancel")
    viewer.screenshot(path=ARTIFACTS / f"layout-watch-waiting-{size}.png")

    # The People tab lists the viewer; the tab keeps the page's width.
    viewer.get_by_role("tab", name="People").click()
    expect(viewer.get_by_role("tabpanel", name="People")).to_contain_text(LONG_NAME)
    assert viewer.evaluate(NO_SIDEWAYS_SCROLL), "the People tab scrolls sideways"

    console.get_by_role("button", name="Pause").click()
    expect(viewer.locator("#paused-overlay")).to_be_visible()
    assert viewer.evaluate(PAUSED_ON_TOP), "something is drawn over the Paused screen"
    viewer.screenshot(path=ARTIFACTS / f"layout-watch-paused-{size}.png")


def test_a_new_question_shows_as_unread_on_its_tab_until_it_is_opened(server, new_page):
    host = UserFactory(username="tab", first_name="Tab", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="tabs", title="Tabs")
    services.broadcast_start(broadcast=broadcast, by=host)
    asker = join_as_guest(new_page, server, "tabs", "Asker")
    reader = join_as_guest(new_page, server, "tabs", "Reader")
    reader.get_by_role("tab", name="People").click()

    asker.get_by_label("Your question").fill("Is there a replay?")
    asker.get_by_role("button", name="Ask question").click()
    questions_tab = reader.get_by_role("tab", name="Questions")
    expect(questions_tab).to_have_accessible_name("Questions (1 new)")
    # Arrow keys move between tabs; opening Questions marks it read.
    reader.get_by_role("tab", name="People").press("ArrowLeft")
    expect(questions_tab).to_have_attribute("aria-selected", "true")
    expect(questions_tab).to_be_focused()
    expect(questions_tab).to_have_accessible_name("Questions")
    expect(reader.get_by_role("tabpanel", name="Questions")).to_contain_text("Is there a replay?")


# Counts the host's chimes: every oscillator the page starts.
COUNT_CHIMES = """
(() => {
  window.__chimes = 0;
  const Native = window.AudioContext;
  if (!Native) return;
  window.AudioContext = class extends Native {
    createOscillator() { window.__chimes += 1; return super.createOscillator(); }
  };
})();
"""


@pytest.mark.parametrize("size", SIZES)
def test_the_studio_alerts_the_host_and_keeps_its_controls_on_screen(server, new_page, size):
    viewport = SIZES[size]
    host = UserFactory(username="stu", first_name="Stu", last_name="Dio")
    broadcast = BroadcastFactory(host=host, slug="studio", title="Studio")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = new_page(viewport=viewport, init_script=COUNT_CHIMES)
    sign_in(console, server, "stu", "/b/studio/host/")
    expect(console.locator("[data-bind=stage] .stage-tile.mirrored")).to_have_attribute(
        "data-media", "playing"
    )
    for name in ("Microphone", "Pause", "End broadcast"):
        expect_on_screen(console, console.get_by_role("button", name=name, exact=True), name)
    assert console.evaluate(NO_SIDEWAYS_SCROLL), "the console scrolls sideways"
    # The host clicks once in the page (the browser allows sound after that).
    console.get_by_role("tab", name="Requests").click()

    viewer = join_as_guest(new_page, server, "studio", LONG_NAME)
    viewer.get_by_role("button", name="Request to speak").click()
    requests_tab = console.get_by_role("tab", name="Requests")
    expect(requests_tab).to_have_accessible_name("Requests (1 request waiting)")
    expect(console).to_have_title("(1) Host · Studio · PrimeTime")
    wait_for(lambda: console.evaluate("window.__chimes") == 1)
    approve = console.get_by_role("button", name="Approve")
    expect_on_screen(console, approve, "Approve")
    assert console.evaluate(NO_SIDEWAYS_SCROLL), "a long name makes the console scroll sideways"
    console.screenshot(path=ARTIFACTS / f"layout-studio-request-{size}.png")

    # With sound alerts off, a question raises the badge and the title, silently.
    sound = console.get_by_role("button", name="Sound alerts")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "false")
    viewer.get_by_label("Your question").fill("Can you show the back?")
    viewer.get_by_role("button", name="Ask question").click()
    expect(console.get_by_role("tab", name="Questions")).to_have_accessible_name(
        "Questions (1 new)"
    )
    expect(console).to_have_title("(2) Host · Studio · PrimeTime")
    console.wait_for_timeout(500)  # a chime would have come with the badge
    assert console.evaluate("window.__chimes") == 1

    approve.click()
    expect(viewer.get_by_role("button", name="End call")).to_be_visible()
    expect(console).to_have_title("(1) Host · Studio · PrimeTime")
    console.get_by_role("tab", name="Questions").click()
    expect(console).to_have_title("Host · Studio · PrimeTime")


def box(locator) -> dict:
    return locator.evaluate("(e) => e.getBoundingClientRect().toJSON()")


def swipe(page: Page, locator, dy: int) -> None:
    handle = box(locator)
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + dy, steps=5)
    page.mouse.up()


def test_the_phone_studio_is_the_preview_with_its_panels_in_a_sheet(server, new_page):
    viewport = SIZES["phone"]
    host = UserFactory(username="pho", first_name="Pho", last_name="Ne")
    broadcast = BroadcastFactory(host=host, slug="sheet", title="Sheet")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "pho", "sheet", viewport=viewport)
    stage = console.get_by_role("region", name="Stage", exact=True)
    open_height = box(stage)["height"]
    # With the panels open, the toolbar is right under the preview, on screen.
    microphone = console.get_by_role("button", name="Microphone")
    expect_on_screen(console, microphone, "Microphone")
    assert box(microphone)["top"] >= box(stage)["bottom"] - 1

    # Folded by its handle, the sheet keeps only its tabs and the preview fills the screen.
    handle = console.get_by_role("button", name="Hide panels")
    expect(handle).to_have_attribute("aria-expanded", "true")
    handle.click()
    expect(console.get_by_role("button", name="Show panels")).to_have_attribute(
        "aria-expanded", "false"
    )
    expect(console.get_by_role("tabpanel")).to_have_count(0)
    expect(console.get_by_role("tab", name="Requests")).to_be_visible()
    wait_for(lambda: box(stage)["height"] > open_height + 150)
    assert box(stage)["height"] > 0.7 * viewport["height"]
    # ... and the toolbar floats over its lower edge.
    bar, picture = box(microphone), box(stage)
    assert picture["top"] < bar["top"] and bar["bottom"] <= picture["bottom"]
    expect_on_screen(console, microphone, "Microphone")
    assert console.evaluate(NO_SIDEWAYS_SCROLL)
    assert console.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    console.screenshot(path=ARTIFACTS / "layout-studio-folded-phone.png")

    # Folded, the open tab's news counts on it, as on a closed tab.
    console.get_by_role("button", name="Show panels").click()
    console.get_by_role("tab", name="Questions").click()
    swipe(console, console.get_by_role("button", name="Hide panels"), 80)
    expect(console.get_by_role("button", name="Show panels")).to_be_visible()
    viewer = join_as_guest(new_page, server, "sheet", "Quinn")
    viewer.get_by_label("Your question").fill("Is it waterproof?")
    viewer.get_by_role("button", name="Ask question").click()
    questions = console.get_by_role("tab", name="Questions")
    expect(questions).to_have_accessible_name("Questions (1 new)")
    # A swipe up opens it again, and what was new is seen.
    swipe(console, console.get_by_role("button", name="Show panels"), -80)
    expect(console.get_by_role("tabpanel", name="Questions")).to_contain_text("waterproof")
    expect(questions).to_have_accessible_name("Questions")
    # Pressing a tab of a folded sheet opens it on that tab.
    console.get_by_role("button", name="Hide panels").click()
    console.get_by_role("tab", name="Engagement").click()
    expect(console.get_by_role("tabpanel", name="Engagement")).to_be_visible()
    expect(console.get_by_role("button", name="Hide panels")).to_be_visible()


def test_after_the_show_the_console_sums_it_up(server, new_page):
    host = UserFactory(username="sum", first_name="Sum", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="summary", title="Summary")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "sum", "summary")
    viewer = join_as_guest(new_page, server, "summary", "Ada")
    viewer.get_by_role("button", name="Like").click()
    viewer.get_by_role("button", name="Rate 4 stars").click()
    viewer.get_by_label("Your question").fill("Will there be a replay?")
    viewer.get_by_role("button", name="Ask question").click()
    expect(console.get_by_role("tab", name="Questions")).to_have_accessible_name(
        "Questions (1 new)"
    )
    end_broadcast(console)
    figures = console.get_by_role("region", name="The broadcast has ended: how it went")
    expect(figures).to_be_visible()
    expect(figures).to_contain_text("1 like")
    expect(figures).to_contain_text("4.0 ★ from 1 rating")
    expect(figures).to_contain_text("1 question")
    expect(figures).to_contain_text("0 leads")
    # The host is not staff: the admin's analytics are not offered.
    expect(figures.locator("[data-bind=analytics]")).to_be_hidden()
    console.screenshot(path=ARTIFACTS / "layout-studio-summary.png")
