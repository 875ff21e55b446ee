"""Viewer actions in real browsers: questions, likes, stars, mute, the call-to-action."""

import re

from playwright.sync_api import expect

from broadcasts import services
from participation.models import CtaClick
from tests.e2e.helpers import expect_host_video, host_video, join_as_guest, open_console, wait_for
from tests.factories import BroadcastFactory, UserFactory

MARKUP = "Does it ship to <b>Norway</b>? <img src=x onerror=alert(1)>"


def question_item(page, text):
    return page.locator("[data-bind=questions] li").filter(has_text=text)


def test_questions_likes_stars_and_mute_on_the_watch_page(server, new_page):
    host = UserFactory(username="rita", first_name="Rita", last_name="Host")
    broadcast = BroadcastFactory(
        host=host,
        slug="actions",
        title="Actions",
        cta_headline="Viewers save 20%",
        cta_label="Get the offer",
        cta_url="https://example.com/offer",
    )
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "rita", "actions")
    console.get_by_role("tab", name="Questions").click()
    ann = join_as_guest(new_page, server, "actions", "Ann")
    ben = join_as_guest(new_page, server, "actions", "Ben")

    # Ask: counted as you type, shown escaped everywhere, live for the host.
    box = ann.get_by_label("Your question")
    box.fill(MARKUP)
    expect(ann.locator("[data-bind=question-counter]")).to_have_text(f"{len(MARKUP)} / 500")
    ann.get_by_role("button", name="Ask question").click()
    expect(box).to_have_value("")
    for page in (console, ben, ann):
        item = question_item(page, "Does it ship to")
        expect(item.locator(".q-text")).to_have_text(MARKUP)
        assert item.locator(".q-text b, .q-text img").count() == 0

    # Ben upvotes it, once.
    vote = question_item(ben, "Does it ship to").get_by_role("button", name=re.compile("Upvote"))
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote).to_be_disabled()
    expect(question_item(console, "Does it ship to").locator(".vote")).to_have_text("▲ 1")

    # The host answers it; the asker sees that.
    question_item(console, "Does it ship to").get_by_role(
        "button", name=re.compile("^Mark answered")
    ).click()
    expect(question_item(ann, "Does it ship to").locator(".q-badge.answered")).to_have_text(
        "Answered"
    )

    # Like: highlighted for Ann, counted for Ben, and still hers after a reload.
    like = ann.get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(ben.locator("[data-bind=likes]")).to_have_text("1 like")
    expect(console.locator("[data-bind=likes]")).to_have_text("1 like")
    ann.reload()
    expect(ann.locator("#broadcast")).to_have_attribute("aria-busy", "false")
    expect(ann.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    expect(ann.locator("[data-bind=likes]")).to_have_text("1 like")

    # Stars: 4, then 5; the host's average follows.
    summary = console.locator("[data-bind=rating-summary]")
    expect(summary).to_have_text("No ratings yet")
    ann.get_by_role("button", name="Rate 4 stars").click()
    expect(summary).to_have_text("4.0 ★ from 1 rating")
    ann.get_by_role("button", name="Rate 5 stars").click()
    expect(summary).to_have_text("5.0 ★ from 1 rating")
    expect(ann.get_by_role("button", name="Rate 5 stars")).to_have_attribute("aria-pressed", "true")
    expect(ann.get_by_role("button", name="Rate 4 stars")).to_have_attribute(
        "aria-pressed", "false"
    )

    # Mute silences this page only; Unmute brings the sound back.
    expect_host_video(ann, "Rita Host")
    _, video = host_video(ann, "Rita Host")
    _, bens_video = host_video(ben, "Rita Host")
    ann.get_by_role("button", name="Mute", exact=True).click()
    expect(ann.get_by_role("button", name="Unmute", exact=True)).to_be_visible()
    assert video.evaluate("v => v.muted") is True
    assert bens_video.evaluate("v => v.muted") is False
    ann.get_by_role("button", name="Unmute", exact=True).click()
    expect(ann.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    assert video.evaluate("v => v.muted") is False

    # The host pushes the call-to-action; a click on it is counted for Ben.
    console.get_by_role("tab", name="Engagement").click()
    console.get_by_role("button", name="Show call-to-action to everyone").click()
    banner = ben.locator("[data-bind=cta-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Viewers save 20%")
    with ben.context.expect_page() as offer:
        banner.get_by_role("link", name="Get the offer").click()
    offer.value.close()
    wait_for(lambda: CtaClick.objects.filter(attendee__display_name="Ben").exists())

    # While paused, a hold screen; questions, likes and stars still work.
    console.get_by_role("button", name="Pause").click()
    expect(ben.locator("#paused-overlay")).to_be_visible()
    ben.get_by_role("button", name="Like").click()
    expect(ann.locator("[data-bind=likes]")).to_have_text("2 likes")
    ben.get_by_label("Your question").fill("Is the offer still on?")
    ben.get_by_role("button", name="Ask question").click()
    # The console's Questions tab counts it as new until the host opens it.
    questions_tab = console.get_by_role("tab", name="Questions")
    expect(questions_tab).to_have_accessible_name("Questions (1 new)")
    questions_tab.click()
    expect(question_item(console, "Is the offer still on?")).to_be_visible()


def test_moderated_questions_wait_and_the_host_invites_an_asker_on_stage(server, new_page):
    host = UserFactory(username="mo", first_name="Mo", last_name="Host")
    broadcast = BroadcastFactory(
        host=host, slug="moderated", title="Moderated", questions_premoderated=True
    )
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "mo", "moderated")
    console.get_by_role("tab", name="Questions").click()
    cleo = join_as_guest(new_page, server, "moderated", "Cleo")
    dan = join_as_guest(new_page, server, "moderated", "Dan")

    cleo.get_by_label("Your question").fill("Can I show you my setup?")
    cleo.get_by_role("button", name="Ask question").click()
    mine = question_item(cleo, "Can I show you my setup?")
    expect(mine.locator(".q-badge")).to_have_text("Waiting for approval")
    pending = question_item(console, "Can I show you my setup?")
    expect(pending).to_be_visible()
    # Dan does not see a question that waits for approval. A negative check: the console
    # already shows it, so a public event would have reached Dan well within a second.
    dan.wait_for_timeout(1000)
    expect(question_item(dan, "Can I show you my setup?")).to_have_count(0)

    pending.get_by_role("button", name=re.compile("^Approve")).click()
    expect(question_item(dan, "Can I show you my setup?")).to_be_visible()

    # A question the host hides leaves every viewer's list.
    dan.get_by_label("Your question").fill("Buy cheap watches at spam.example")
    dan.get_by_role("button", name="Ask question").click()
    spam = question_item(console, "Buy cheap watches")
    spam.get_by_role("button", name=re.compile("^Approve")).click()
    expect(question_item(cleo, "Buy cheap watches")).to_be_visible()
    spam.get_by_role("button", name=re.compile("^Hide")).click()
    expect(question_item(cleo, "Buy cheap watches")).to_have_count(0)
    expect(spam.locator(".q-badge")).to_have_text("Hidden")

    # From her question, the host invites Cleo on stage; she accepts.
    question_item(console, "Can I show you my setup?").get_by_role(
        "button", name="Invite Cleo on stage"
    ).click()
    cleo.get_by_role("button", name="Join the stage").click()
    expect(cleo.get_by_role("button", name="End call")).to_be_visible()
    expect(dan.get_by_role("img", name="Cleo")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )


def test_the_landing_page_counts_down_then_says_join_live(server, new_page):
    from datetime import timedelta

    from django.utils import timezone

    host = UserFactory(username="lena", first_name="Lena", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="soon", title="Soon")
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=2)
    )
    page = new_page()
    # First run: the home page lists it, coming up, and leads to its landing page.
    page.goto(f"{server}/")
    expect(page.get_by_text("Nothing is live right now.")).to_be_visible()
    page.get_by_role("region", name="Coming up").get_by_role("link", name="Soon").click()
    expect(page).to_have_url(f"{server}/b/soon/")
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^Starts in 1 h 5\d min"))
    join = page.get_by_role("link", name="Join live")
    expect(join).to_be_hidden()

    services.broadcast_start(broadcast=broadcast, by=host)
    # The page looks every 8 to 10 seconds.
    expect(join).to_be_visible(timeout=25_000)
    join.click()
    expect(page.get_by_label("Your name")).to_be_visible()
    # Now live, the home page offers to join it.
    page.goto(f"{server}/")
    page.get_by_role("link", name="Join live: Soon").click()
    expect(page.get_by_label("Your name")).to_be_visible()


def test_the_landing_pages_call_to_action_counts_a_click_not_a_visit(server, new_page):
    host = UserFactory(username="lana", first_name="Lana", last_name="Host")
    broadcast = BroadcastFactory(
        host=host,
        slug="offer",
        title="Offer",
        cta_label="Get the offer",
        cta_url="https://example.com/offer",
    )
    services.broadcast_start(broadcast=broadcast, by=host)
    page = new_page()
    # The offer's website, offline here: the browser is answered for it.
    page.context.route(
        "https://example.com/**",
        lambda route: route.fulfill(body="<title>The offer</title>", content_type="text/html"),
    )
    page.goto(f"{server}/b/offer/")
    offer = page.get_by_role("link", name="Get the offer")
    expect(offer).to_have_attribute("href", "https://example.com/offer")
    # A prefetch or a preview of the address counts nothing.
    assert page.request.get(f"{server}/b/offer/go/", max_redirects=0).status == 302
    assert not CtaClick.objects.exists()

    with page.context.expect_page() as opened:
        offer.click()
    expect(opened.value).to_have_title("The offer")
    wait_for(lambda: CtaClick.objects.filter(broadcast=broadcast, source="landing").count() == 1)
