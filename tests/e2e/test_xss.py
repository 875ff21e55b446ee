"""Hostile text in every string people type (guest names, questions, lead fields, staff's
titles, descriptions, call-to-action, host names) on every page that shows it, in
Chromium: no probe runs, no element is injected (so escaping holds, not only the
Content-Security-Policy), the text shows literally, and the CSV keeps formulas as text."""

import csv
from pathlib import Path

from playwright.sync_api import Page, expect

from broadcasts import services
from leads import capture
from participation import questions, stage
from tests.e2e.helpers import INSTRUMENTS, join_as_guest, open_console, sign_in
from tests.e2e.policy import PolicyWatch, expect_connected
from tests.factories import BroadcastFactory, GuestFactory, UserFactory

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'

TITLE = f"@SUM(1+1) {SCRIPT} Launch"
DESCRIPTION = f"Spring {IMG} and {SVG}"
CTA_HEADLINE = f"Offer {SVG}"
CTA_LABEL = f"Buy {IMG}"
CTA_URL = 'https://example.com/look?x="><svg onload=window.__xss=1>'
VIEWER_NAME = IMG
HAND_NAME = SVG
QUESTION = f"Is it free? {SCRIPT} {IMG}"
HAND_QUESTION = f"And shipping? {SVG}"
LEAD_NAME = f'=HYPERLINK("https://evil.example","x") {IMG}'
LEAD_COMPANY = f"+cmd|' /C calc'!A0 {SCRIPT}"
# A quoted local part may hold markup and still be a valid address.
LEAD_EMAIL = '"<svg/onload=window.__xss=1>"@example.com'
FORMULA_EMAIL = "=1+2@example.com"
VIEWER_EMAIL = '"<img/src=x/onerror=window.__xss=1>"@example.org'

# What a probe would leave behind had it got into the page as markup.
INJECTED = """() => {
  const found = [];
  if (window.__xss !== undefined) found.push('window.__xss is set');
  if (document.querySelector('img[src="x"]')) found.push('img[src=x]');
  for (const el of document.querySelectorAll('[onload], [onerror]')) found.push(el.outerHTML);
  for (const s of document.scripts) if (s.textContent.includes('__xss')) found.push(s.outerHTML);
  return found;
}"""


def expect_inert(page: Page, *texts: str) -> None:
    """Nothing injected or run on the page, and each text shown as text."""
    for text in texts:
        expect(page.get_by_text(text).first).to_be_attached()
    assert page.evaluate(INJECTED) == [], page.url


def test_hostile_text_is_shown_as_text_everywhere(server, export_worker, new_page):
    watch = PolicyWatch(new_page)
    dialogs = []
    host = UserFactory(username="wes", first_name=IMG, last_name=SVG)
    host_name = f"{IMG} {SVG}"
    broadcast = BroadcastFactory(
        host=host,
        slug="launch",
        title=TITLE,
        description=DESCRIPTION,
        cta_headline=CTA_HEADLINE,
        cta_label=CTA_LABEL,
        cta_url=CTA_URL,
        lead_ask_company=True,
    )
    services.broadcast_start(broadcast=broadcast, by=host)
    UserFactory(username="root", is_staff=True, is_superuser=True)
    # Someone with a hostile name raises a hand and asks; leads with hostile fields.
    hand = GuestFactory(broadcast=broadcast, display_name=HAND_NAME)
    stage.hand_raise(attendee=hand)
    questions.question_ask(attendee=hand, text=HAND_QUESTION)
    for attendee, data in [
        (hand, {"name": LEAD_NAME, "email": LEAD_EMAIL, "company": LEAD_COMPANY}),
        (None, {"name": f"@SUM(1+1) {SVG}", "email": FORMULA_EMAIL}),
    ]:
        capture.lead_capture(broadcast=broadcast, attendee=attendee, data=data | {"consent": True})

    def opened(**options) -> Page:
        page = watch(**options)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        return page

    # The audience's pages.
    home = opened()
    home.goto(f"{server}/")
    expect_inert(home, TITLE)
    home.goto(f"{server}/b/launch/")
    expect_inert(home, TITLE, DESCRIPTION, CTA_HEADLINE, CTA_LABEL, f"Hosted by {host_name}")
    # The address is an attribute, whole: the quote in it closed nothing.
    assert home.get_by_role("link", name=CTA_LABEL).get_attribute("href") == CTA_URL

    viewer = join_as_guest(opened, server, "launch", VIEWER_NAME)
    expect_connected(viewer)
    viewer.get_by_label("Your question").fill(QUESTION)
    viewer.get_by_role("button", name="Ask question").click()
    expect_inert(viewer, TITLE, QUESTION, HAND_QUESTION, HAND_NAME, f"{VIEWER_NAME} (you)")

    console = open_console(opened, server, "wes", "launch")
    expect_connected(console)
    expect_inert(console, TITLE, QUESTION, HAND_QUESTION, VIEWER_NAME, HAND_NAME)

    # The host asks for details; the viewer sends hers, markup and all.
    console.get_by_role("tab", name="Engagement").click()
    console.get_by_role("button", name="Ask viewers for their details").click()
    card = viewer.locator("#lead-card")
    expect(card.get_by_label("Your name")).to_have_value(VIEWER_NAME)
    card.get_by_label("Email").fill(VIEWER_EMAIL)
    card.get_by_label("Company").fill(LEAD_COMPANY)
    card.get_by_label("I agree to be contacted").check()
    card.get_by_role("button", name="Send my details").click()
    expect(card.locator("[data-bind=lead-thanks]")).to_have_text(
        f"Thank you, {VIEWER_NAME}! We will be in touch at {VIEWER_EMAIL}."
    )
    expect_inert(viewer)

    widget = opened(init_script=INSTRUMENTS)
    widget.goto(f"{server}/b/launch/embed/")
    expect_connected(widget)
    expect_inert(widget, TITLE, QUESTION, HAND_QUESTION)

    # Staff's pages.
    staff = opened()
    sign_in(staff, server, "root", f"/admin/broadcasts/broadcast/{broadcast.pk}/dashboard/")
    expect_connected(staff, "#dashboard")
    expect_inert(staff, TITLE, QUESTION, HAND_QUESTION, HAND_NAME, VIEWER_NAME)
    lead = broadcast.leads.get(email=LEAD_EMAIL)
    for path, texts in [
        (f"/admin/broadcasts/broadcast/{broadcast.pk}/analytics/", [TITLE]),
        ("/admin/broadcasts/broadcast/", [TITLE]),
        (f"/admin/broadcasts/broadcast/{broadcast.pk}/change/", [TITLE]),
        ("/admin/participation/attendee/", [HAND_NAME, VIEWER_NAME]),
        ("/admin/participation/question/", [QUESTION, HAND_QUESTION]),
        ("/admin/participation/speakrequest/", [HAND_NAME]),
        ("/admin/leads/lead/", [LEAD_NAME, LEAD_EMAIL, LEAD_COMPANY, VIEWER_EMAIL]),
        (f"/admin/leads/lead/{lead.pk}/change/", [LEAD_EMAIL]),
    ]:
        staff.goto(f"{server}{path}")
        expect_inert(staff, *texts)
    # The change form keeps the values as they were typed.
    staff.goto(f"{server}/admin/broadcasts/broadcast/{broadcast.pk}/change/")
    expect(staff.get_by_label("Title:")).to_have_value(TITLE)
    expect(staff.get_by_label("Description:")).to_have_value(DESCRIPTION)
    expect(staff.get_by_label("Call-to-action URL:")).to_have_value(CTA_URL)
    # A javascript: address is refused wherever a URL is asked for.
    for label in ("Call-to-action URL:", "Logo URL:", "Cover image URL:"):
        staff.get_by_label(label).fill("javascript:window.__xss=1")
    staff.get_by_role("button", name="Save", exact=True).click()
    for field in ("cta_url", "brand_logo_url", "brand_cover_url"):
        expect(staff.locator(f".field-{field} .errorlist")).to_contain_text("Enter a valid URL")
    expect_inert(staff)

    # The exports page (the broadcast's title is the export's scope), and the CSV.
    staff.goto(f"{server}/leads/exports/")
    staff.get_by_label("Broadcast").select_option(label=TITLE)
    staff.get_by_role("button", name="Export leads").click()
    newest = staff.locator("[data-bind=exports] tr").first
    expect(newest.locator("[data-cell=state]")).to_have_text("Done", timeout=30_000)
    expect_inert(staff, TITLE)
    with staff.expect_download() as download:
        newest.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = {row["email"]: row for row in csv.DictReader(text.splitlines())}
    # Formulas stay text (a leading '); markup is just characters in a CSV.
    assert rows[LEAD_EMAIL]["name"] == "'" + LEAD_NAME
    assert rows[LEAD_EMAIL]["company"] == "'" + LEAD_COMPANY
    assert rows["'" + FORMULA_EMAIL]["name"] == f"'@SUM(1+1) {SVG}"
    assert (rows[VIEWER_EMAIL]["name"], rows[VIEWER_EMAIL]["company"]) == (
        VIEWER_NAME,
        "'" + LEAD_COMPANY,
    )
    assert {row["broadcast"] for row in rows.values()} == {"'" + TITLE}

    assert dialogs == []
    watch.assert_clean()
