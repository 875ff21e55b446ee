"""Live video through the Janus SFU, in real Chromium with the fake camera."""

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from broadcasts import services
from participation.models import Attendee
from tests.e2e.helpers import (
    expect_host_video,
    join_as_guest,
    open_console,
    receiving,
    wait_for,
)
from tests.factories import BroadcastFactory, UserFactory
from tests.janus import room_participants
from tests.servers import running_server

# The addresses of the remote candidates of this page's open peer connections.
REMOTE_CANDIDATES = """async () => {
  const addresses = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'remote-candidate') addresses.push(r.address);
    });
  }
  return addresses;
}"""

# Peer connections of this page that send video, by getStats().
SENDING_VIDEO_PEERS = """async () => {
  let count = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'outbound-rtp' && report.kind === 'video' && report.bytesSent > 0) {
        count += 1;
        break;
      }
    }
  }
  return count;
}"""


@pytest.fixture
def start(transactional_db):
    with contextlib.ExitStack() as stack:

        def start_server(janus, **env):
            return stack.enter_context(running_server("daphne", **(janus[0] | env)))

        yield start_server


def test_the_host_sends_one_stream_to_the_sfu_whatever_the_audience(janus, start, new_page):
    # The mesh cap is one viewer: on the SFU it does not apply.
    sfu_server = start(janus, PRIMETIME_MESH_MAX_VIEWERS="1")
    host = UserFactory(username="sana", first_name="Sana", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="sfu", title="SFU launch")
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(minutes=5)
    )
    console = open_console(new_page, sfu_server, "sana", "sfu")
    expect(console.get_by_text("your browser sends one stream")).to_be_visible()
    viewers = [join_as_guest(new_page, sfu_server, "sfu", f"Viewer {n}") for n in range(3)]

    console.get_by_role("button", name="Go live").click()
    for viewer in viewers:
        expect_host_video(viewer, "Sana Host")
    expect(console.get_by_text("Sending one stream to the media server")).to_be_visible()
    assert console.evaluate(SENDING_VIDEO_PEERS) == 1
    # Janus's own candidates reach the pages (held until the SDP they belong to), so a
    # page that can only send through a relay still knows where Janus is.
    assert janus[0]["JANUS_MEDIA_IP"] in console.evaluate(REMOTE_CANDIDATES)
    assert janus[0]["JANUS_MEDIA_IP"] in viewers[0].evaluate(REMOTE_CANDIDATES)
    # Janus's own count of who receives the stream, whichever server process they use.
    expect(console.get_by_text("It relays it to 3 subscribers.")).to_be_visible()
    viewers.pop().close()
    expect(console.get_by_text("It relays it to 2 subscribers.")).to_be_visible()
    # Pause, resume and end on the SFU: test_video.py's story, run on both backends.


def test_video_comes_back_by_itself_after_janus_restarts(sfu_server, janus, new_page):
    host = UserFactory(username="ravi", first_name="Ravi", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="restart", title="Restart")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, sfu_server, "ravi", "restart")
    viewer = join_as_guest(new_page, sfu_server, "restart", "Steady Viewer")
    expect_host_video(viewer, "Ravi Host")

    _, process = janus
    process.stop()
    process.start()
    # Nobody clicks: the server makes the room again, the console republishes, the
    # viewer subscribes again.
    expect(console.get_by_text("Sending one stream to the media server")).to_be_visible(
        timeout=30000
    )
    wait_for(lambda: receiving(viewer), timeout=30)
    # The live socket kept working meanwhile.
    viewer.get_by_role("button", name="Like").click()
    expect(viewer.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")


# A modified page: its own socket to the live path, sending a frame the page never would.
FORGED_SIGNAL = """async ([to, kind]) => {
  const socket = new WebSocket(location.origin.replace('http', 'ws') + '/ws/broadcasts/forged/');
  const frames = [];
  await new Promise((resolve) => { socket.onopen = resolve; });
  socket.onmessage = (event) => frames.push(JSON.parse(event.data));
  socket.send(JSON.stringify({
    type: 'rtc.signal', ref: 'forged', to,
    data: {kind, pc: 'forged1', sdp: 'v=0\\r\\n'},
  }));
  for (let i = 0; i < 50 && !frames.some((f) => f.ref === 'forged'); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  socket.close();
  return frames.find((f) => f.ref === 'forged');
}"""


def test_a_viewer_cannot_get_a_publisher(sfu_server, janus, new_page):
    host = UserFactory(username="fern", first_name="Fern", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="forged", title="Forged")
    services.broadcast_start(broadcast=broadcast, by=host)
    open_console(new_page, sfu_server, "fern", "forged")
    viewer = join_as_guest(new_page, sfu_server, "forged", "Mallory")
    expect_host_video(viewer, "Fern Host")
    mallory = Attendee.objects.get(broadcast=broadcast, display_name="Mallory")
    host_id = Attendee.objects.get(broadcast=broadcast, user=host).pk

    # Publishing as herself, or offering media to the host as if she were on stage.
    for to, kind in ((mallory.pk, "offer"), (host_id, "offer")):
        reply = viewer.evaluate(FORGED_SIGNAL, [to, kind])
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    assert mallory.pk not in room_participants(janus[0], broadcast.pk)


def test_a_phone_sized_viewer_gets_a_lower_simulcast_layer(sfu_server, new_page):
    host = UserFactory(username="lena", first_name="Lena", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="layers", title="Layers")
    services.broadcast_start(broadcast=broadcast, by=host)
    # Simulcast sends all three layers only from a picture large enough to scale down.
    open_console(new_page, sfu_server, "lena", "layers", full_camera=True)
    desk = join_as_guest(new_page, sfu_server, "layers", "Desk")
    phone = join_as_guest(
        new_page, sfu_server, "layers", "Phone", viewport={"width": 390, "height": 844}
    )
    videos = {}
    for name, page in (("desk", desk), ("phone", phone)):
        expect_host_video(page, "Lena Host")
        videos[name] = page.get_by_role("img", name="Lena Host").locator("video")
        wait_for(lambda video=videos[name]: video.evaluate("v => v.videoWidth") > 0)
    seen = []

    def phone_below_desk() -> bool:
        widths = {name: video.evaluate("v => v.videoWidth") for name, video in videos.items()}
        seen.append(widths)
        return widths["phone"] < widths["desk"]

    # The encoder ramps its layers up (slower on a loaded machine), and the SFU moves
    # each viewer to the layer their size wants once it has it.
    try:
        wait_for(phone_below_desk, timeout=20)
    except AssertionError:
        raise AssertionError(f"the phone never got a lower layer: {seen[-3:]}") from None
