"""What the browser tests share: signing in, joining, and instruments for media."""

import time

from playwright.sync_api import Page, expect

from tests.factories import TEST_PASSWORD as PASSWORD


def sign_in(page: Page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{next_path}")


# Test-side instruments, injected before the page's own scripts: every peer connection
# and every captured stream is recorded so the test can read their stats. The fake camera
# is captured small (320x180 at 15 frames/s, whatever the page asks): a story of a host
# and four viewers then encodes and decodes a small part of what 1280x720 at 30 costs,
# which a 2-core machine running several tests at once cannot keep up with. Tests of the
# picture's size (simulcast layers) capture it as the page asks: `FULL_CAMERA`.
FULL_CAMERA = "window.__fullCamera = true;"
INSTRUMENTS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const capture = devices.getUserMedia.bind(devices);
  window.__streams = [];
  devices.getUserMedia = async (constraints) => {
    if (window.__refuse && (constraints.video ? window.__refuse.video : window.__refuse.audio)) {
      throw new DOMException('refused by the test', window.__refuse.name);
    }
    if (constraints.video && !window.__fullCamera) {
      const asked = constraints.video === true ? {} : constraints.video;
      const small = { width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } };
      constraints = { ...constraints, video: { ...asked, ...small } };
    }
    const stream = await capture(constraints);
    window.__streams.push(stream);
    return stream;
  };
})();
"""

INBOUND_VIDEO_BYTES = """
async () => {
  let bytes = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') bytes += r.bytesReceived;
    });
  }
  return bytes;
}
"""

OPEN_PEERS = "() => window.__pcs.filter((pc) => pc.connectionState !== 'closed').length"
ALL_TRACKS_ENDED = (
    "() => window.__streams.every((s) => s.getTracks().every((t) => t.readyState === 'ended'))"
)


def inbound_bytes(page: Page) -> int:
    return page.evaluate(INBOUND_VIDEO_BYTES)


def receiving(page: Page, window: float = 1.2) -> bool:
    """Whether video bytes arrive: more than now, within `window` seconds (answered as
    soon as they do)."""
    first = inbound_bytes(page)
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if inbound_bytes(page) > first:
            return True
    return False


def still(*pages: Page) -> list[Page]:
    """The pages that still receive video bytes (none, when all are still). A negative
    check, so it must let time pass: packets already on their way may still land (1 s to
    settle), then 2 s without a byte: dozens of frames of a live camera. All the pages
    are watched over the same 3 s, not one after the other."""
    pages[0].wait_for_timeout(1000)
    first = [inbound_bytes(page) for page in pages]
    pages[0].wait_for_timeout(2000)
    return [
        page for page, before in zip(pages, first, strict=True) if inbound_bytes(page) != before
    ]


def wait_for(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def join_as_guest(new_page, server: str, slug: str, name: str, **page_options) -> Page:
    page = new_page(init_script=INSTRUMENTS, **page_options)
    page.goto(f"{server}/b/{slug}/watch/")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#broadcast")).to_have_attribute("aria-busy", "false")
    return page


def host_video(page: Page, host_name: str):
    tile = page.get_by_role("img", name=host_name)
    return tile, tile.locator("video")


def expect_host_video(page: Page, host_name: str) -> None:
    tile, video = host_video(page, host_name)
    expect(tile).to_have_attribute("data-media", "playing", timeout=20000)
    assert video.evaluate("v => v.videoWidth") > 0
    wait_for(lambda: receiving(page))


def open_console(
    new_page,
    server: str,
    username: str,
    slug: str,
    *,
    full_camera=False,
    extra_script="",
    **page_options,
) -> Page:
    console = new_page(
        init_script=(FULL_CAMERA if full_camera else "") + INSTRUMENTS + extra_script,
        **page_options,
    )
    sign_in(console, server, username, f"/b/{slug}/host/")
    # The preview runs before going live.
    expect(console.locator("[data-bind=stage] .stage-tile.mirrored")).to_have_attribute(
        "data-media", "playing"
    )
    return console


def expect_console_sending(console: Page, backend: str, viewers: int) -> None:
    """The console says what it sends: a stream per viewer on mesh, one on the SFU."""
    if backend == "mesh":
        word = "viewer" if viewers == 1 else "viewers"
        expect(console.get_by_text(f"Sending video to {viewers} {word}.")).to_be_visible()
    else:
        expect(console.get_by_text("Sending one stream to the media server")).to_be_visible()


def end_broadcast(console: Page) -> None:
    """End broadcast asks first (it is final); the host confirms."""
    console.get_by_role("button", name="End broadcast").click()
    console.get_by_role("dialog").get_by_role("button", name="Yes, end the broadcast").click()
