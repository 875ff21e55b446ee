"""The widget on another website: a page of another origin includes the snippet."""

import time

from playwright.sync_api import expect

from broadcasts import services
from tests.e2e.helpers import INSTRUMENTS, open_console, wait_for
from tests.e2e.shop import shop_site
from tests.factories import BroadcastFactory, UserFactory
from tests.servers import free_port

# What the page had before the snippet ran, to tell whether it added globals.
REMEMBER_GLOBALS = "window.__globalsBefore = Object.keys(window);"
# (Numbered keys are the page's frames: window[0] is the widget's iframe itself.)
NEW_GLOBALS = (
    "() => Object.keys(window).filter("
    "k => !window.__globalsBefore.includes(k) && !k.startsWith('__') && !/^[0-9]+$/.test(k))"
)
SOCKET_FROM_THIS_PAGE = """
url => new Promise((resolve) => {
  const ws = new WebSocket(url);
  ws.onopen = () => { ws.close(); resolve('open'); };
  ws.onclose = () => resolve('refused');
})
"""


def test_the_widget_on_another_website_plays_folds_and_stays_folded(shop_and_server, new_page):
    shop, server = shop_and_server
    host = UserFactory(username="wes", first_name="Wes", last_name="Host")
    broadcast = BroadcastFactory(
        host=host,
        slug="launch",
        title="Launch",
        cta_label="Shop the look",
        cta_url="https://example.com/look",
    )
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "wes", "launch")

    page = new_page(init_script=REMEMBER_GLOBALS + INSTRUMENTS)
    page.goto(shop)
    frame_element = page.locator("iframe[data-primetime-widget]")
    widget = page.frame_locator("iframe[data-primetime-widget]")

    # A first-time visitor: the widget opens by itself and plays the live video.
    close = widget.get_by_role("button", name="Close")
    expect(close).to_be_visible()
    expect(frame_element).to_have_attribute("data-open", "true")
    expect(widget.get_by_role("img", name="Wes Host")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )
    assert (
        widget.get_by_role("img", name="Wes Host").locator("video").evaluate("v => v.videoWidth")
        > 0
    )

    # Nothing leaked into the page: its styles, its globals.
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == (
        "rgb(0, 128, 0)"
    )
    assert page.evaluate("document.styleSheets.length") == 1
    assert page.evaluate(NEW_GLOBALS) == []
    # The page itself cannot open PrimeTime's live socket.
    socket_url = server.replace("http://", "ws://") + "/ws/broadcasts/launch/"
    assert page.evaluate(SOCKET_FROM_THIS_PAGE, socket_url) == "refused"

    # Close folds it into the floating button.
    close.click()
    open_button = widget.get_by_role("button", name="Open live broadcast")
    expect(open_button).to_be_visible()
    expect(frame_element).to_have_attribute("data-open", "false")
    expect(widget.locator("#fold-status")).to_have_text("Live now")
    # A compact pill: the frame covers no more of the website than the pill needs.
    wait_for(lambda: frame_element.bounding_box()["width"] < 260)
    box = frame_element.bounding_box()
    assert box["height"] < 110, box
    pill = widget.get_by_role("button", name="Open live broadcast").bounding_box()
    assert pill["width"] <= box["width"] and pill["height"] <= box["height"]

    # A reload keeps it folded: it never unfolds by itself again.
    page.reload()
    widget = page.frame_locator("iframe[data-primetime-widget]")
    expect(widget.locator("#broadcast")).to_have_attribute("aria-busy", "false")
    # A negative check: the first snapshot decides the shape, and a second after it, it
    # has still not unfolded (an expect() alone would pass before anything could happen).
    page.wait_for_timeout(1000)
    expect(widget.get_by_role("button", name="Open live broadcast")).to_be_visible()
    expect(widget.get_by_role("button", name="Close")).to_be_hidden()
    expect(page.locator("iframe[data-primetime-widget]")).to_have_attribute("data-open", "false")

    # Folded, it still says when something is for this viewer.
    badge = widget.locator("#fold-badge")
    expect(badge).to_be_hidden()
    console.get_by_role("tab", name="Engagement").click()
    console.get_by_role("button", name="Show call-to-action to everyone").click()
    expect(badge).to_be_visible()
    expect(widget.get_by_role("button", name="Close")).to_be_hidden()

    # Only a click opens it.
    widget.get_by_role("button", name="Open live broadcast").click()
    expect(badge).to_be_hidden()
    expect(widget.get_by_role("link", name="Shop the look").first).to_be_visible()
    expect(widget.get_by_role("button", name="Close")).to_be_visible()
    expect(widget.get_by_role("img", name="Wes Host")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )

    # The viewer acts from the widget like on the watch page.
    widget.get_by_role("button", name="Like").click()
    expect(widget.locator("[data-bind=likes]")).to_have_text("1 like")

    # The lead form works in the widget too, on this other origin (over the socket).
    console.get_by_role("button", name="Ask viewers for their details").click()
    card = widget.locator("#lead-card")
    expect(card).to_be_visible()
    card.get_by_label("Your name").fill("Wanda Widget")
    card.get_by_label("Email").fill("wanda@example.com")
    card.get_by_label("I agree to be contacted").check()
    card.get_by_role("button", name="Send my details").click()
    expect(card.locator("[data-bind=lead-thanks]")).to_have_text(
        "Thank you, Wanda Widget! We will be in touch at wanda@example.com."
    )


def test_the_widget_fills_a_phone_screen(shop_and_server, new_page):
    shop, server = shop_and_server
    host = UserFactory(username="pia", first_name="Pia", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="launch", title="Launch")
    services.broadcast_start(broadcast=broadcast, by=host)
    open_console(new_page, server, "pia", "launch")

    phone = new_page(viewport={"width": 390, "height": 780}, init_script=INSTRUMENTS)
    phone.goto(shop)
    widget = phone.frame_locator("iframe[data-primetime-widget]")
    expect(widget.get_by_role("button", name="Close")).to_be_visible()
    box = phone.locator("iframe[data-primetime-widget]").bounding_box()
    assert box["width"] == 390 and box["height"] == 780
    expect(widget.get_by_role("img", name="Pia Host")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )
    widget.get_by_role("button", name="Close").click()
    expect(widget.get_by_role("button", name="Open live broadcast")).to_be_visible()
    box = phone.locator("iframe[data-primetime-widget]").bounding_box()
    assert box["width"] < 390 and box["height"] < 200


def said(page, messages: list[str], text: str, timeout: float = 15) -> None:
    """Wait until the page's console says `text` (Playwright delivers console messages
    while it waits on the page, not during a plain sleep)."""
    deadline = time.monotonic() + timeout
    while not any(text in message for message in messages):
        assert time.monotonic() < deadline, f"the console never said {text!r}: {messages}"
        page.wait_for_timeout(100)


def test_a_website_not_yet_allowed_is_told_why_and_then_let_in(server, new_page):
    """Embed sites are set in the admin with immediate effect; until then the loader
    says in the console why there is no widget."""
    from broadcasts.models import EmbedSite

    host = UserFactory(username="ola", first_name="Ola", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="launch", title="Launch")
    snippet = f'<script src="{server}/static/js/embed.js" data-broadcast="launch" async></script>'
    with shop_site(snippet, port=free_port()) as shop:
        page = new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text))
        page.goto(shop)
        # A draft is no broadcast at all to the public.
        said(page, errors, 'there is no broadcast "launch"')

        services.broadcast_start(broadcast=broadcast, by=host)
        # Pages read a broadcast at most a second old (PAGE_READ_SECONDS).
        page.wait_for_timeout(1100)
        page.reload()
        said(page, errors, f"Add {shop} under Embed sites")
        expect(page.locator("iframe[data-primetime-widget]")).to_have_count(0)

        EmbedSite.objects.create(origin=shop, name="ACME")
        page.reload()
        widget = page.frame_locator("iframe[data-primetime-widget]")
        expect(widget.get_by_role("button", name="Close")).to_be_visible()
