"""A moderator watches a session from the admin's live dashboard and acts on it."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from participation.models import ViewerSample
from tests.e2e.helpers import (
    INSTRUMENTS,
    end_broadcast,
    expect_host_video,
    join_as_guest,
    open_console,
    sign_in,
)
from tests.factories import BroadcastFactory, UserFactory, in_group
from tests.servers import ARTIFACTS


def moderator():
    return in_group(
        UserFactory(username="mona", first_name="Mona", last_name="Moderator", is_staff=True),
        "Moderators",
        "broadcasts.moderate_broadcast",
        "broadcasts.view_broadcast",
        "broadcasts.change_broadcast",
    )


def test_the_dashboard_follows_the_session_and_the_moderator_hides_a_question(server, new_page):
    host = UserFactory(username="dana", first_name="Dana", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="watched", title="Watched")
    services.broadcast_start(broadcast=broadcast, by=host)
    moderator()
    board = new_page()
    sign_in(board, server, "mona", f"/admin/broadcasts/broadcast/{broadcast.pk}/dashboard/")
    expect(board.locator("#dashboard")).to_have_attribute("aria-busy", "false")
    expect(board.locator("[data-bind=state]")).to_have_text("Live")
    expect(board.locator("[data-bind=viewers-now]")).to_have_text("0")

    viewer = join_as_guest(new_page, server, "watched", "Vic Viewer")
    expect(board.locator("[data-bind=viewers-now]")).to_have_text("1")
    expect(board.locator("[data-bind=dash-audience]")).to_contain_text("Vic Viewer")

    viewer.get_by_label("Your question").fill("Will the slides be shared?")
    viewer.get_by_role("button", name="Ask question").click()
    question = board.locator("[data-bind=questions] li").filter(has_text="slides")
    expect(question).to_be_visible()
    expect(board.locator("[data-bind=questions-total]")).to_have_text("1")

    question.get_by_role("button", name="Hide: question from Vic Viewer").click()
    expect(question.locator(".q-badge")).to_have_text("Hidden")
    expect(viewer.locator("[data-bind=questions] li")).to_have_count(0)

    board.get_by_role("button", name="Pause").click()
    expect(viewer.locator("#paused-overlay")).to_be_visible()
    expect(board.locator("[data-bind=state]")).to_have_text("Paused")


def test_the_dashboard_shows_the_stage_with_its_video_and_approves_a_speaker(server, new_page):
    host = UserFactory(username="dora", first_name="Dora", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="onair", title="On air")
    services.broadcast_start(broadcast=broadcast, by=host)
    moderator()
    console = open_console(new_page, server, "dora", "onair")
    board = new_page(init_script=INSTRUMENTS)
    sign_in(board, server, "mona", f"/admin/broadcasts/broadcast/{broadcast.pk}/dashboard/")
    expect(board.locator("#dashboard")).to_have_attribute("aria-busy", "false")
    # Who is on air, with their video: the moderator sees the host's picture move.
    stage = board.get_by_role("region", name="Stage", exact=True)
    expect_host_video(board, "Dora Host")
    expect(board.get_by_text("The stage's video plays here")).to_be_hidden()
    # Sound is off until the moderator asks for it.
    video = stage.get_by_role("img", name="Dora Host").locator("video")
    assert video.evaluate("v => v.muted")
    board.get_by_role("button", name="Unmute").click()
    expect(board.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    assert not video.evaluate("v => v.muted")

    # Watching the stage does not make the moderator audience.
    viewer = join_as_guest(new_page, server, "onair", "Vic Viewer")
    expect(board.locator("[data-bind=viewers-now]")).to_have_text("1")
    expect(console.locator("[data-bind=viewers]").first).to_contain_text("1 watching")

    # The moderator approves a request to speak: the speaker's video joins the stage.
    viewer.get_by_role("button", name="Request to speak").click()
    board.get_by_role("button", name="Approve: Vic Viewer").click()
    expect(viewer.get_by_role("button", name="End call")).to_be_visible()
    expect_host_video(board, "Vic Viewer")
    expect(stage.get_by_role("img")).to_have_count(2)
    board.screenshot(path=ARTIFACTS / "dashboard-stage.png", full_page=True)

    viewer.get_by_role("button", name="End call").click()
    expect(stage.get_by_role("img")).to_have_count(1)
    console.get_by_role("button", name="Pause").click()
    expect(board.get_by_text("Paused: nothing is sent")).to_be_visible()
    end_broadcast(console)
    expect(board.get_by_text("The stage's video plays here")).to_be_visible()


def test_a_host_on_the_dashboard_is_sent_to_the_console_for_video(server, new_page):
    host = UserFactory(username="hugo", first_name="Hugo", last_name="Host", is_staff=True)
    broadcast = BroadcastFactory(host=host, slug="own", title="Own")
    services.broadcast_start(broadcast=broadcast, by=host)
    board = new_page()
    sign_in(board, server, "hugo", f"/admin/broadcasts/broadcast/{broadcast.pk}/dashboard/")
    expect(board.locator("#dashboard")).to_have_attribute("aria-busy", "false")
    expect(board.get_by_text("Your host console shows the stage's video.")).to_be_visible()
    expect(board.get_by_role("region", name="Stage", exact=True)).to_have_count(0)


def test_the_analytics_page_draws_viewers_over_time(server, new_page):
    host = UserFactory(username="ali", first_name="Ali", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="charted", title="Charted")
    services.broadcast_start(broadcast=broadcast, by=host)
    start = timezone.now() - timedelta(minutes=20)
    for step, viewers in enumerate([3, 8, 15, 21, 18, 25, 30, 27, 12, 4]):
        ViewerSample.objects.create(
            broadcast=broadcast, at=start + timedelta(minutes=2 * step), viewers=viewers
        )
    services.broadcast_end(broadcast=broadcast, by=host)
    moderator()
    page = new_page()
    sign_in(page, server, "mona", f"/admin/broadcasts/broadcast/{broadcast.pk}/analytics/")
    chart = page.get_by_role("img", name="Viewers over time")
    expect(chart).to_be_visible()
    expect(page.get_by_text("Peak 30 viewers")).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "analytics-page.png", full_page=True)
