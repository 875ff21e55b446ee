"""The whole story of a request to speak, with three people in real browsers."""

from playwright.sync_api import expect

from broadcasts import services
from broadcasts.janus.client import UNAUTHORIZED
from participation.models import Attendee
from tests.e2e.helpers import (
    ALL_TRACKS_ENDED,
    expect_host_video,
    join_as_guest,
    open_console,
    wait_for,
)
from tests.factories import BroadcastFactory, UserFactory
from tests.janus import publish_refusal, room_participants

# Each open peer connection's inbound video bytes, by connection.
INBOUND_PER_PEER = """
async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    let bytes = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') bytes += r.bytesReceived;
    });
    out.push(bytes);
  }
  return out;
}
"""


def videos_receiving(page) -> int:
    """How many peer connections of the page are receiving video right now."""
    first = page.evaluate(INBOUND_PER_PEER)
    page.wait_for_timeout(1500)
    second = page.evaluate(INBOUND_PER_PEER)
    return sum(1 for a, b in zip(first, second, strict=False) if b > a)


def test_a_viewer_requests_to_speak_goes_on_stage_and_ends_the_call(media_server, new_page):
    server = media_server
    host = UserFactory(username="hera", first_name="Hera", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="stage", title="On stage")
    services.broadcast_start(broadcast=broadcast, by=host)

    console = open_console(new_page, server, "hera", "stage")
    ann = join_as_guest(new_page, server, "stage", "Ann Asker")
    ben = join_as_guest(new_page, server, "stage", "Ben Watcher")
    expect_host_video(ben, "Hera Host")

    ann.get_by_role("button", name="Request to speak").click()
    waiting = ann.locator("[data-speak=waiting]")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("Waiting for approval")
    expect(waiting).to_contain_text("You are #1")
    # Everyone sees the raised hand on her picture.
    ann_on_ben = ben.locator(".audience-strip .attendee").filter(has_text="Ann Asker")
    expect(ann_on_ben).to_contain_text("Waiting for approval")
    requests = console.get_by_role("region", name="Requests to speak")
    expect(requests.get_by_role("listitem").filter(has_text="Ann Asker")).to_be_visible()

    waiting.get_by_role("button", name="Cancel").click()
    expect(waiting).to_be_hidden()
    expect(ann_on_ben).not_to_contain_text("Waiting for approval")
    expect(requests.get_by_role("listitem")).to_have_count(0)

    # A double click asks once, and says nothing is wrong.
    ann.get_by_role("button", name="Request to speak").dblclick()
    expect(waiting).to_be_visible()
    expect(requests.get_by_role("listitem")).to_have_count(1)
    expect(ann.locator("[data-bind=speak-error]")).to_have_text("")
    request_row = requests.get_by_role("listitem").filter(has_text="Ann Asker")
    request_row.get_by_role("button", name="Approve").click()

    # Ann is on stage: her camera starts and everyone receives her beside the host.
    expect(ann.get_by_role("button", name="End call")).to_be_visible()
    expect(waiting).to_be_hidden()
    for page in (ben, console):
        speaker_tile = page.get_by_role("img", name="Ann Asker")
        expect(speaker_tile).to_have_attribute("data-media", "playing", timeout=20000)
    expect(ben.locator("[data-bind=stage] .stage-tile")).to_have_count(2)
    wait_for(lambda: videos_receiving(ben) == 2, timeout=20)
    # The speaker sees and hears the host.
    expect_host_video(ann, "Hera Host")
    on_stage = console.get_by_role("region", name="On stage")
    expect(on_stage.get_by_role("button", name="Remove from stage")).to_be_visible()

    ann.get_by_role("button", name="End call").click()
    expect(ann.get_by_role("button", name="Request to speak")).to_be_visible()
    expect(ann.get_by_text("Your call has ended")).to_be_visible()
    expect(ben.locator("[data-bind=stage] .stage-tile")).to_have_count(1)
    expect(ben.get_by_role("img", name="Ann Asker")).to_have_count(0)
    wait_for(lambda: videos_receiving(ben) == 1, timeout=20)
    # Her camera is released.
    wait_for(lambda: ann.evaluate(ALL_TRACKS_ENDED))


def test_the_host_invites_a_viewer_who_accepts_then_removes_them(
    media_server, backend, new_page, request
):
    server = media_server
    host = UserFactory(username="ivan", first_name="Ivan", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="invite", title="Invitations")
    services.broadcast_start(broadcast=broadcast, by=host)

    console = open_console(new_page, server, "ivan", "invite")
    guest = join_as_guest(new_page, server, "invite", "Gus Guest")
    console.get_by_role("button", name="Invite Gus Guest on stage").click()
    expect(console.get_by_text("Invitation sent to Gus Guest")).to_be_visible()

    dialog = guest.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Ivan Host invites you on stage")
    # Nothing starts before the viewer accepts.
    assert guest.evaluate("() => (window.__streams || []).length") == 0
    dialog.get_by_role("button", name="Join the stage").click()
    expect(guest.get_by_role("button", name="End call")).to_be_visible()
    expect(console.get_by_role("img", name="Gus Guest")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )

    gus = Attendee.objects.get(broadcast=broadcast, display_name="Gus Guest")
    if backend == "janus":
        janus_env = request.getfixturevalue("janus")[0]
        wait_for(lambda: gus.pk in room_participants(janus_env, broadcast.pk))

    console.get_by_role("region", name="On stage").get_by_role(
        "button", name="Remove from stage"
    ).click()
    expect(guest.get_by_role("button", name="Request to speak")).to_be_visible()
    expect(console.get_by_role("img", name="Gus Guest")).to_have_count(0)
    if backend == "janus":
        # Kicked at Janus, and refused if a modified page tried to publish again.
        wait_for(lambda: gus.pk not in room_participants(janus_env, broadcast.pk))
        assert publish_refusal(janus_env, broadcast.pk, gus.pk) == UNAUTHORIZED


def test_a_full_stage_is_explained_to_the_host(server, new_page):
    host = UserFactory(username="fitz", first_name="Fitz", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="full", title="Full", stage_size=1)
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "fitz", "full")
    first = join_as_guest(new_page, server, "full", "First One")
    second = join_as_guest(new_page, server, "full", "Second One")
    first.get_by_role("button", name="Request to speak").click()
    second.get_by_role("button", name="Request to speak").click()
    requests = console.get_by_role("region", name="Requests to speak")
    expect(requests.get_by_role("listitem")).to_have_count(2)
    requests.get_by_role("listitem").filter(has_text="First One").get_by_role(
        "button", name="Approve"
    ).click()
    expect(requests.get_by_role("listitem")).to_have_count(1)
    requests.get_by_role("button", name="Approve").click()
    expect(console.get_by_role("alert").filter(has_text="stage is full")).to_be_visible()
    # Declining tells the viewer.
    requests.get_by_role("button", name="Decline").click()
    expect(second.get_by_text("The host declined your request to speak.")).to_be_visible()
    expect(second.get_by_role("button", name="Request to speak")).to_be_visible()


def test_two_tabs_of_one_viewer_on_stage_publish_from_one(server, new_page):
    """Both tabs work; only one sends the camera, the other says so and takes over when
    the first closes; neither sees the host as "Camera off"."""
    host = UserFactory(username="tabs", first_name="Tab", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="two-tabs", title="Two tabs")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "tabs", "two-tabs")
    first = join_as_guest(new_page, server, "two-tabs", "Tia")
    second = first.context.new_page()  # the same person: the same guest cookie
    second.goto(f"{server}/b/two-tabs/watch/")
    expect(second.locator("#broadcast")).to_have_attribute("aria-busy", "false")
    uma = join_as_guest(new_page, server, "two-tabs", "Uma")

    first.get_by_role("button", name="Request to speak").click()
    console.get_by_role("button", name="Approve").click()
    for tab in (first, second):
        expect(tab.get_by_role("button", name="End call")).to_be_visible()
    note = "You are on stage in another tab"
    wait_for(lambda: [tab.get_by_text(note).count() for tab in (first, second)] in ([0, 1], [1, 0]))
    sender, waiting = (first, second) if second.get_by_text(note).count() else (second, first)
    expect(sender.locator(".stage-tile.mirrored")).to_have_attribute("data-media", "playing")
    assert waiting.locator(".stage-tile.mirrored").count() == 0  # no camera of its own
    expect(uma.get_by_role("img", name="Tia")).to_have_attribute(
        "data-media", "playing", timeout=20000
    )
    for tab in (sender, waiting):
        expect(tab.get_by_role("img", name="Tab Host")).to_have_attribute("data-media", "playing")
        expect(tab.get_by_role("img", name="Tab Host")).not_to_contain_text("Camera off")

    # The sending tab closes: the other takes over, and Uma sees Tia again.
    sender.close()
    expect(waiting.get_by_text(note)).to_have_count(0)
    expect(waiting.locator(".stage-tile.mirrored")).to_have_attribute("data-media", "playing")
    # Tia's picture moves again on Uma's page (frames decoded, not a frozen one).
    tia = uma.get_by_role("img", name="Tia").locator("video")

    def tia_moves() -> bool:
        before = tia.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames")
        uma.wait_for_timeout(700)
        return tia.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames") > before

    wait_for(tia_moves, timeout=20)
