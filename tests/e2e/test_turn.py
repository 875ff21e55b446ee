"""Media through a TURN relay (Debian's coturn on loopback), with the per-person,
time-limited credentials each snapshot carries."""

import base64
import hashlib
import hmac
import time

import pytest

from broadcasts import services
from broadcasts.media import turn_credentials
from tests.e2e.helpers import expect_host_video, join_as_guest, open_console
from tests.factories import BroadcastFactory, UserFactory
from tests.turn import running_turn

SECRET = "coturn-static-auth-secret"

# The local candidate type of each open peer connection's selected candidate pair.
SELECTED_CANDIDATE_TYPES = """async () => {
  const types = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState !== 'connected') continue;
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type !== 'transport' || !report.selectedCandidatePairId) continue;
      const pair = stats.get(report.selectedCandidatePairId);
      types.push(stats.get(pair.localCandidateId).candidateType);
    }
  }
  return types;
}"""

# Gather candidates through one TURN server only: the types gathered and the errors.
GATHER_THROUGH = """async (server) => {
  const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
  const types = [];
  const errors = [];
  pc.onicecandidate = (event) => { if (event.candidate) types.push(event.candidate.type); };
  pc.onicecandidateerror = (event) => errors.push(event.errorCode);
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 10000);
  });
  pc.close();
  return { types, errors };
}"""


@pytest.fixture(scope="module")
def turn_url():
    with running_turn(SECRET) as url:
        yield url


def test_video_flows_through_turn_alone(start_media_server, backend, turn_url, new_page):
    server = start_media_server(
        PRIMETIME_ICE_URLS=turn_url,
        PRIMETIME_TURN_SECRET=SECRET,
        PRIMETIME_ICE_TRANSPORT_POLICY="relay",
    )
    host = UserFactory(username="tara", first_name="Tara", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="relayed", title="Relayed")
    services.broadcast_start(broadcast=broadcast, by=host)
    console = open_console(new_page, server, "tara", "relayed")
    viewer = join_as_guest(new_page, server, "relayed", "Far Viewer")

    expect_host_video(viewer, "Tara Host")
    # Both ends reach each other (or Janus) only through the relay.
    assert set(viewer.evaluate(SELECTED_CANDIDATE_TYPES)) == {"relay"}
    assert set(console.evaluate(SELECTED_CANDIDATE_TYPES)) == {"relay"}


def test_turn_refuses_expired_and_forged_credentials(turn_url, new_page, settings):
    settings.TURN_SECRET = SECRET
    settings.TURN_TTL_SECONDS = 3600
    page = new_page()
    page.set_content("<title>TURN probe</title>")

    def gather(username, credential):
        server = {"urls": [turn_url], "username": username, "credential": credential}
        return page.evaluate(GATHER_THROUGH, server)

    fresh = turn_credentials(7)
    assert gather(*fresh)["types"] == ["relay"]

    expired = turn_credentials(7, now=time.time() - 2 * 3600)
    other_secret = hmac.new(b"not-the-secret", fresh[0].encode(), hashlib.sha1).digest()
    forged = (fresh[0], base64.b64encode(other_secret).decode())
    for refused in (expired, forged):
        result = gather(*refused)
        assert result["types"] == [], refused
        assert 401 in result["errors"], result
