"""The watch page is built around the video, on a laptop and on a phone: what a viewer
uses in the request-to-speak story is on screen without scrolling, long words wrap
inside their boxes, and the Paused screen is drawn above everything on the stage."""

import pytest
from playwright.sync_api import Page, expect

from broadcasts import services
from tests.e2e.helpers import join_as_guest, open_console
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
    expect(locator).to_be_visible()
    assert locator.evaluate(IN_VIEWPORT), f"{what} is not inside the viewport"


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
