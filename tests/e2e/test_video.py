"""Live video over the mesh backend, in real Chromium with the fake camera."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from tests.e2e.helpers import (
    ALL_TRACKS_ENDED,
    INSTRUMENTS,
    OPEN_PEERS,
    end_broadcast,
    expect_console_sending,
    expect_host_video,
    join_as_guest,
    open_console,
    receiving,
    sign_in,
    still,
    wait_for,
)
from tests.factories import BroadcastFactory, UserFactory


def test_viewers_receive_the_host_live_through_pause_resume_and_end(
    media_server, backend, new_page
):
    server = media_server
    host = UserFactory(username="vera", first_name="Vera", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="video", title="Video launch")
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(minutes=5)
    )

    console = open_console(new_page, server, "vera", "video")
    expect(
        console.get_by_text("up to 25 viewers" if backend == "mesh" else "sends one stream")
    ).to_be_visible()
    viewers = [join_as_guest(new_page, server, "video", f"Viewer {n}") for n in range(3)]

    console.get_by_role("button", name="Go live").click()
    expect(console.get_by_text("On air")).to_be_visible()
    for viewer in viewers:
        expect_host_video(viewer, "Vera Host")
        expect(viewer.get_by_role("img", name="Vera Host")).to_contain_text("Vera Host")
    expect_console_sending(console, backend, 3)

    late = join_as_guest(new_page, server, "video", "Late Viewer")
    expect_host_video(late, "Vera Host")
    viewers.append(late)

    console.get_by_role("button", name="Pause").click()
    for viewer in viewers:
        expect(viewer.locator("#paused-overlay")).to_be_visible()
    assert still(*viewers) == [], "video bytes kept flowing while paused"

    console.get_by_role("button", name="Resume").click()
    for viewer in viewers:
        expect(viewer.locator("#paused-overlay")).to_be_hidden()
        wait_for(lambda viewer=viewer: receiving(viewer))

    # A reload mid-session gets video back without the host doing anything.
    viewers[0].reload()
    expect_host_video(viewers[0], "Vera Host")

    end_broadcast(console)
    for page in [*viewers, console]:
        wait_for(lambda page=page: page.evaluate(OPEN_PEERS) == 0)
    # The host's camera and microphone are released.
    wait_for(lambda: console.evaluate(ALL_TRACKS_ENDED))


def test_a_reloaded_console_gets_its_viewers_back(media_server, backend, new_page):
    server = media_server
    host = UserFactory(username="rafa", first_name="Rafa", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="reload", title="Reload")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "rafa", "reload")
    viewer = join_as_guest(new_page, server, "reload", "Patient Viewer")
    expect_host_video(viewer, "Rafa Host")

    console.reload()
    expect(console.locator("[data-bind=stage] .stage-tile.mirrored")).to_have_attribute(
        "data-media", "playing"
    )
    expect_console_sending(console, backend, 1)
    wait_for(lambda: receiving(viewer))


def test_host_console_on_a_phone(media_server, new_page, playwright):
    server = media_server
    host = UserFactory(username="milo", first_name="Milo", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="mobile", title="From my phone")
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(minutes=5)
    )
    console = open_console(new_page, server, "milo", "mobile", device=playwright.devices["Pixel 7"])
    # Phones get no screen sharing, and one column.
    expect(console.get_by_role("button", name="Share screen")).to_be_hidden()
    expect(console.get_by_role("button", name="Switch camera")).to_be_visible()
    width = console.evaluate("() => document.documentElement.scrollWidth")
    assert width <= console.viewport_size["width"]

    viewer = join_as_guest(new_page, server, "mobile", "Desk Viewer")
    console.get_by_role("button", name="Go live").click()
    expect_host_video(viewer, "Milo Host")

    # Muting the microphone and stopping the camera are toggles with their state.
    microphone = console.get_by_role("button", name="Microphone")
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "false")
    # Viewers are told, on the tile: "Muted" in its corner.
    tile = viewer.get_by_role("img", name="Milo Host", exact=True)
    expect(tile.locator(".tile-muted")).to_be_visible()
    expect(tile).to_have_attribute("aria-description", "microphone off")
    camera = console.get_by_role("button", name="Camera", exact=True)
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "false")
    # Viewers see the host's picture, said to be "Camera off", instead of a frozen frame.
    expect(tile.locator(".tile-status")).to_have_text("Camera off")
    expect(tile).to_have_attribute("aria-description", "camera off, microphone off")
    expect(tile.locator(".tile-avatar")).to_be_visible()
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "true")
    expect(tile).not_to_contain_text("Camera off", timeout=10000)
    expect(tile).to_have_attribute("data-media", "playing", timeout=10000)
    microphone.click()
    expect(tile.locator(".tile-muted")).to_be_hidden()
    expect(tile).to_have_attribute("aria-description", "")


def test_video_that_stops_arriving_is_waited_for_not_called_camera_off(
    media_server, backend, new_page
):
    server = media_server
    host = UserFactory(username="stella", first_name="Stella", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="stall", title="Stall")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "stella", "stall")
    viewer = join_as_guest(new_page, server, "stall", "Patient Viewer")
    expect_host_video(viewer, "Stella Host")
    # The host's camera is on, but its video stops reaching the viewer (as when the
    # host's uplink stalls): the console's senders send nothing, without a word.
    console.evaluate(
        """() => Promise.all(window.__pcs.flatMap((pc) => pc.getSenders())
          .filter((sender) => sender.track?.kind === 'video')
          .map((sender) => sender.replaceTrack(null)))"""
    )
    tile = viewer.get_by_role("img", name="Stella Host", exact=True)
    expect(tile.locator(".tile-status")).to_have_text("Waiting for video…", timeout=10000)
    expect(tile.locator(".tile-avatar")).to_be_visible()
    expect(tile).not_to_contain_text("Camera off")


def test_desktop_console_shares_the_screen_and_picks_devices(server, new_page):
    host = UserFactory(username="dana", first_name="Dana", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="desk", title="Desk")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "dana", "desk")
    expect(console.get_by_label("Camera source")).to_be_enabled()
    expect(console.get_by_label("Microphone source")).to_be_enabled()
    share = console.get_by_role("button", name="Share screen")
    expect(share).to_be_visible()
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")


def test_camera_failures_are_explained(server, new_page):
    host = UserFactory(username="fay", first_name="Fay", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="fail", title="Failures")
    services.broadcast_start(broadcast=broadcast, by=host)

    blocked = new_page(
        init_script=INSTRUMENTS
        + "window.__refuse = {video: true, audio: true, name: 'NotAllowedError'};"
    )
    sign_in(blocked, server, "fay", "/b/fail/host/")
    alert = blocked.get_by_role("alert").filter(has_text="blocked")
    expect(alert).to_be_visible()
    # Once the person allows access, Try again gets the camera.
    blocked.evaluate("() => { window.__refuse = null; }")
    blocked.get_by_role("button", name="Try again").click()
    expect(blocked.locator("[data-bind=stage] .stage-tile.mirrored")).to_have_attribute(
        "data-media", "playing"
    )
    expect(alert).to_be_hidden()

    # An unplugged camera: the console says so and falls back to another one.
    blocked.evaluate(
        "() => window.__streams.at(-1).getVideoTracks()[0].dispatchEvent(new Event('ended'))"
    )
    expect(blocked.get_by_role("alert")).to_contain_text("Your camera stopped")

    no_camera = new_page(
        init_script=INSTRUMENTS
        + "window.__refuse = {video: true, audio: false, name: 'NotFoundError'};"
    )
    sign_in(no_camera, server, "fay", "/b/fail/host/")
    expect(no_camera.get_by_role("alert")).to_contain_text("No camera or microphone was found")
    expect(no_camera.get_by_role("alert")).to_contain_text("sound only")


def test_a_viewer_beyond_the_mesh_limit_is_told_so(transactional_db, new_page):
    from tests.servers import running_server

    host = UserFactory(username="lim", first_name="Lim", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="small", title="Small room")
    services.broadcast_start(broadcast=broadcast, by=host)
    with running_server("daphne", PRIMETIME_MESH_MAX_VIEWERS="1") as server:
        console = open_console(new_page, server, "lim", "small")
        expect(console.get_by_text("up to 1 viewer.")).to_be_visible()
        first = join_as_guest(new_page, server, "small", "First")
        expect_host_video(first, "Lim Host")
        second = join_as_guest(new_page, server, "small", "Second")
        tile = second.get_by_role("img", name="Lim Host")
        expect(tile).to_contain_text("limited to 1 viewer in")
        expect(tile).to_have_attribute("data-media", "failed")


# Chromium here lets WebRTC media play with sound at once; phones and most desktop
# browsers do not without a tap. This stands in for them: play() with sound is refused
# until the page has seen a click, as the autoplay policy does.
STRICT_AUTOPLAY = """
(() => {
  let clicked = false;
  addEventListener('click', () => { clicked = true; }, true);
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!this.muted && !clicked) {
      return Promise.reject(new DOMException('needs a gesture', 'NotAllowedError'));
    }
    return play.call(this);
  };
})();
"""


def test_sound_blocked_by_the_browser_offers_one_unmute_control(server, new_page):
    host = UserFactory(username="sol", first_name="Sol", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="sound", title="Sound")
    services.broadcast_start(broadcast=broadcast, by=host)
    open_console(new_page, server, "sol", "sound")

    viewer = new_page(init_script=INSTRUMENTS + STRICT_AUTOPLAY)
    viewer.goto(f"{server}/b/sound/watch/")
    viewer.get_by_label("Your name").fill("Quiet")
    viewer.get_by_label("Your name").press("Enter")
    expect_host_video(viewer, "Sol Host")  # the picture plays anyway, muted
    # The control bar's one sound control says what a press does: Unmute.
    unmute = viewer.get_by_role("button", name="Unmute", exact=True)
    expect(unmute).to_be_visible()
    assert viewer.get_by_role("button", name="Unmute").count() == 1
    video = viewer.get_by_role("img", name="Sol Host").locator("video")
    assert video.evaluate("v => v.muted") is True
    unmute.click()
    expect(viewer.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    assert video.evaluate("v => v.muted") is False
    assert video.evaluate("v => !v.paused") is True


def test_video_that_cannot_be_reached_is_retried_then_explained(start_media_server, new_page):
    host = UserFactory(username="gone", first_name="Gone", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="away", title="Away")
    services.broadcast_start(broadcast=broadcast, by=host)
    server = start_media_server(PRIMETIME_MEDIA_OFFER_TIMEOUT_MS="1000")
    # Live, the host's console open, but its browser never makes an offer: the host is
    # there (not "reconnecting"), their video cannot be reached.
    stuck = open_console(
        new_page,
        server,
        "gone",
        "away",
        extra_script="RTCPeerConnection.prototype.createOffer = () => new Promise(() => {});",
    )
    viewer = join_as_guest(new_page, server, "away", "Waiting Viewer")
    tile = viewer.get_by_role("img", name="Gone Host")
    expect(tile).to_contain_text("Reconnecting video")
    expect(tile).to_contain_text("We could not connect to the video", timeout=40_000)
    expect(tile).to_have_attribute("data-media", "failed")
    expect(tile).not_to_contain_text("The host is reconnecting")
    # When a working console opens, video comes without a click.
    open_console(new_page, server, "gone", "away")
    stuck.close()
    expect(tile).to_have_attribute("data-media", "playing", timeout=20_000)


def test_two_console_tabs_send_from_one_and_the_other_takes_over(server, new_page):
    host = UserFactory(username="twin", first_name="Twin", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="twin", title="Twin consoles")
    services.broadcast_start(broadcast=broadcast, by=host)
    first = open_console(new_page, server, "twin", "twin")
    second = first.context.new_page()  # the same host, signed in: a second tab
    second.goto(f"{server}/b/twin/host/")
    note = "This console is open in another tab"
    expect(second.get_by_text(note)).to_be_visible()
    viewer = join_as_guest(new_page, server, "twin", "Vi")
    expect_host_video(viewer, "Twin Host")

    first.close()
    expect(second.get_by_text(note)).to_have_count(0)
    expect(second.get_by_text("Sending video to 1 viewer.")).to_be_visible(timeout=20000)
    video = viewer.get_by_role("img", name="Twin Host").locator("video")

    def host_moves() -> bool:
        before = video.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames")
        viewer.wait_for_timeout(700)
        return video.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames") > before

    wait_for(host_moves, timeout=20)
