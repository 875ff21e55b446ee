"""Load the media plane: one publisher to N subscribers, on the Janus SFU and on mesh.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/primetime_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 python bench/media_load.py
    ... python bench/media_load.py --subscribers 1,10,25,50,100 --mesh 5,10,25 --seconds 15

The servers are the README's production setup (`python manage.py janus` as its own
service, uvicorn with two workers, `DJANGO_DEBUG=0`, collected static files; the
clients arrive as a TLS proxy hands them over, `X-Forwarded-Proto: https`). Janus's
media address is 127.0.0.2 on a veth (root needed), as in the tests.

- The publisher is the host console in Chromium (the fake microphone; the camera is a
  640x480 canvas at 30 fps showing the time as two rows of 24 black or white blocks),
  going live as a host does: on janus it sends one stream in three simulcast layers.
- Subscribers are widget viewers (a guest token on the live socket, as the embedded
  widget arrives), run by PrimeTime's own page modules (`live.js`, `mesh.js`'s
  receiver: the code of every watch page) inside Chromium pages of another browser,
  `--per-page` viewers per page, each with its own live socket, guest and peer
  connection, rendering into its own <video>.
- With `--audience rtp`, all but `--probes` of them are subscribers that receive without
  decoding (bench/rtp_subscribers.py: the same guest token, live socket and
  `rtc.signal` exchange, a real ICE/DTLS/SRTP connection in aiortc, each frame counted
  once its packets are together, then dropped). A browser decodes every track it
  receives, so on a small machine a hundred Chromium viewers measure their own
  decoding; the probes stay browsers, one per page, and read the latency.

For each N it waits until every subscriber shows video, then measures for `--seconds`:
the Janus process's CPU (from /proc; the same with no subscriber is the baseline, so
CPU per subscriber is the increase over it divided by N, and subscribers per core is
its inverse) and memory; per subscriber, bytes received and frames decoded per second;
glass-to-glass latency (the clock read back from the decoded picture of the first
viewer of each page, compared with the clock when it was read); on mesh, the host
browser's CPU (its processes, all of them) and upload; the RTP subscribers' own CPU.
Everything binds to 127.0.0.1 and stops by itself; exits non-zero when a subscriber gets
no video or the host's stream stops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import (  # noqa: E402
    collect_static,
    free_port,
    machine,
    percentiles,
    production_environment,
    rss_kb,
    stop_on_sigterm,
)
from bench.rtp_subscribers import Subscribers  # noqa: E402
from tests.e2e.conftest import CHROMIUM  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS as TEST_CHROMIUM_ARGS  # noqa: E402
from tests.servers import stop  # noqa: E402

# The browser tests' Chromium, and nothing may throttle the subscribers' pages.
CHROMIUM_ARGS = [
    *TEST_CHROMIUM_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
HTTPS = {"X-Forwarded-Proto": "https"}
# The subscriber pages' viewport: mesh.js's wantedLayer() asks for the top layer on a
# desktop, the middle one (320x240, a quarter of the pixels to decode) on a phone.
SCREENS = {"desktop": {"width": 1280, "height": 720}, "phone": {"width": 390, "height": 844}}
BITS = 24

# The host's camera becomes a clock: every frame shows Date.now() (mod 2^24 ms) twice,
# as blocks 26 px wide, so a subscriber can read it back from the decoded picture.
CLOCK_CAMERA = """
(() => {
  const devices = navigator.mediaDevices;
  const capture = devices.getUserMedia.bind(devices);
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 480;
  const g = canvas.getContext('2d');
  const draw = () => {
    const now = Date.now() % (1 << %(bits)d);
    g.fillStyle = '#808080';
    g.fillRect(0, 0, 640, 480);
    // Below the clock, moving stripes: a picture that changes in every frame, as a
    // camera's does, so that the encoder has work to do.
    const shift = (Date.now() / 8) % 640;
    for (let x = -640; x < 640; x += 40) {
      g.fillStyle = `hsl(${(x + 640) % 360}, 70%, 50%)`;
      g.fillRect(x + shift, 300, 20, 180);
    }
    for (let row = 0; row < 2; row += 1) {
      for (let bit = 0; bit < %(bits)d; bit += 1) {
        g.fillStyle = (now >> bit) & 1 ? '#ffffff' : '#000000';
        g.fillRect(8 + bit * 26, 40 + row * 120, 26, 80);
      }
    }
  };
  setInterval(draw, 1000 / 30);
  draw();
  devices.getUserMedia = async (constraints) => {
    const stream = await capture(constraints);
    if (!constraints.video) return stream;
    for (const track of stream.getVideoTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    stream.addTrack(canvas.captureStream(30).getVideoTracks()[0]);
    return stream;
  };
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
""".replace("%(bits)d", str(BITS))

# A page of subscribers: `count` widget viewers with the product's own modules.
SUBSCRIBERS = """
async ({ livePath, tokens }) => {
  const { LiveSocket } = await import('/static/js/live.js');
  const { MeshReceiver, routeSignal } = await import('/static/js/mesh.js');
  window.__viewers = [];
  window.__latency = [];
  for (const token of tokens) {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.width = 160;
    document.body.append(video);
    const viewer = { video };
    viewer.pcs = () => [...(viewer.receiver?.peers.values() || [])].map((peer) => peer.pc);
    const socket = new LiveSocket(livePath, {
      params: { guest: token },
      onSnapshot(snapshot) {
        viewer.hostId = snapshot.stage[0].id;
        viewer.receiver = viewer.receiver || new MeshReceiver(socket, snapshot.media, {
          onStream: (id, stream) => { video.srcObject = stream; },
          onState: (id, state, message) => { viewer.state = [state, message]; },
        });
        viewer.receiver.connect(viewer.hostId);
      },
      onEvent(event) {
        if (event.type === 'rtc.signal') routeSignal(event, viewer.receiver, null);
        if (event.type === 'media.ready' && viewer.receiver) viewer.receiver.connect(viewer.hostId);
      },
    });
    socket.connect();
    window.__viewers.push(viewer);
  }
  // Read the clock back from the first viewer's picture, twice a second.
  const probe = document.createElement('canvas');
  probe.width = 640;
  probe.height = 480;
  const g = probe.getContext('2d', { willReadFrequently: true });
  const first = window.__viewers[0].video;
  const read = (row) => {
    let value = 0;
    for (let bit = 0; bit < %(bits)d; bit += 1) {
      const [r] = g.getImageData(8 + bit * 26 + 13, 40 + row * 120 + 40, 1, 1).data;
      if (r > 128) value |= 1 << bit;
    }
    return value;
  };
  setInterval(() => {
    if (!first.videoWidth || !window.__measuring) return;
    g.drawImage(first, 0, 0, 640, 480);
    const seen = read(0);
    if (seen !== read(1)) return; // a frame caught between two pictures
    const now = Date.now() % (1 << %(bits)d);
    const latency = (now - seen + (1 << %(bits)d)) % (1 << %(bits)d);
    if (latency < 60000) window.__latency.push(latency); // else not a picture of the clock
  }, 500);
}
""".replace("%(bits)d", str(BITS))

PLAYING = "() => window.__viewers.filter((v) => v.video.videoWidth > 0).length"
STATES = "() => window.__viewers.filter((v) => !v.video.videoWidth).map((v) => v.state || null)"

RECEIVED = """async () => {
  let bytes = 0, frames = 0;
  for (const viewer of window.__viewers) {
    for (const pc of viewer.pcs()) {
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp') bytes += r.bytesReceived;
        if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
      });
    }
  }
  return { bytes, frames };
}"""

SENT = """async () => {
  let bytes = 0, streams = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState !== 'connected') continue;
    let video = false;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp') bytes += r.bytesSent;
      if (r.type === 'outbound-rtp' && r.kind === 'video' && r.bytesSent > 0) video = true;
    });
    if (video) streams += 1;
  }
  return { bytes, streams };
}"""


@dataclass
class Row:
    backend: str
    subscribers: int
    playing: int = 0
    janus_cpu_percent: float | None = None
    janus_rss_mb: float | None = None
    cpu_ms_per_subscriber_second: float | None = None
    subscribers_per_core: float | None = None
    kbit_per_subscriber: float | None = None
    frames_per_subscriber_second: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    host_cpu_percent: float | None = None
    host_upload_kbit: float | None = None
    host_video_streams: int | None = None
    rtp_subscribers: int = 0
    rtp_subscribers_cpu_percent: float | None = None


# --- Processes --------------------------------------------------------------------


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
            parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def browser_processes() -> set[int]:
    """The Chromium browser processes this benchmark started (its renderers and helpers
    have a --type)."""
    pids = set()
    for entry in descendants(os.getpid()):
        if entry:
            with contextlib.suppress(OSError):
                # Zygotes rewrite their command line into one string: search it whole.
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
                if b"chromium" in command.split(b"\0")[0] and b"--type=" not in command:
                    pids.add(entry)
    return pids


class Janus:
    """`python manage.py janus`, as the README's production setup runs it."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.log_path = logs / f"media-janus-{env['JANUS_URL'].rsplit(':', 1)[1]}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "janus"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        from django.test import override_settings

        from broadcasts.janus.process import janus_answers

        deadline = time.monotonic() + 30
        with override_settings(JANUS_URL=env["JANUS_URL"], JANUS_ADMIN_URL=env["JANUS_ADMIN_URL"]):
            while not janus_answers():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Janus did not start; see {self.log_path}")
                time.sleep(0.3)

    def stop(self) -> None:
        stop(self.process)


# --- The run ----------------------------------------------------------------------


def rtp_received(rtp: Subscribers | None) -> dict:
    tallies = rtp.tallies() if rtp else []
    return {"bytes": sum(t.bytes for t in tallies), "frames": sum(t.frames for t in tallies)}


def measure(seconds: float, janus_pid: int | None, host_pids: list[int], pages, console, rtp):
    for page in pages:
        page.evaluate("() => { window.__latency = []; window.__measuring = true; }")
    received = [page.evaluate(RECEIVED) for page in pages] + [rtp_received(rtp)]
    sent = console.evaluate(SENT)
    janus_before = cpu_ticks([janus_pid]) if janus_pid else 0
    host_before = cpu_ticks(host_pids)
    rtp_before = cpu_ticks(rtp.pids) if rtp else 0
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    janus_after = cpu_ticks([janus_pid]) if janus_pid else 0
    host_after = cpu_ticks(host_pids)
    rtp_after = cpu_ticks(rtp.pids) if rtp else 0
    received_after = [page.evaluate(RECEIVED) for page in pages] + [rtp_received(rtp)]
    sent_after = console.evaluate(SENT)
    latency = []
    for page in pages:
        latency += page.evaluate("() => { window.__measuring = false; return window.__latency; }")
    hz = os.sysconf("SC_CLK_TCK")
    pairs = list(zip(received_after, received, strict=True))
    sent_bytes = sent_after["bytes"] - sent["bytes"]
    return {
        "elapsed": elapsed,
        "janus_cpu": (janus_after - janus_before) / hz / elapsed,
        "host_cpu": (host_after - host_before) / hz / elapsed,
        "rtp_cpu": (rtp_after - rtp_before) / hz / elapsed,
        "bytes": sum(a["bytes"] - b["bytes"] for a, b in pairs),
        "frames": sum(a["frames"] - b["frames"] for a, b in pairs),
        # Fewer bytes than before: the host's connection was replaced meanwhile.
        "sent_bytes": sent_bytes if sent_bytes >= 0 else None,
        "streams": sent_after["streams"],
        "latency": latency,
    }


def run_backend(backend, counts, args, env, target, logs, playwright) -> list[Row]:
    from bench.pages_load import ProductionServer

    server_env = dict(env) | {"MEDIA_BACKEND": backend}
    janus = None
    if backend == "janus":
        api = free_port()
        first_rtp = 30000 + (api % 20) * 1000
        server_env |= {
            "JANUS_URL": f"ws://127.0.0.1:{api}",
            "JANUS_ADMIN_URL": f"ws://127.0.0.1:{free_port()}",
            "JANUS_RTP_PORTS": f"{first_rtp}-{first_rtp + 999}",
            "JANUS_MEDIA_IP": args.media_ip,
            "JANUS_CONFIG_DIR": str(logs / f"janus-{api}"),
        }
        janus = Janus(server_env, logs)
    else:
        server_env["PRIMETIME_MESH_MAX_VIEWERS"] = "100"  # the cap is not what is measured
    server = ProductionServer(server_env, logs, workers=2)
    base = f"http://127.0.0.1:{server.port}"
    rows = []
    before = browser_processes()
    host_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    (host_root,) = browser_processes() - before
    viewers_browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        context = host_browser.new_context(extra_http_headers=HTTPS)
        context.add_cookies([{"name": "sessionid", "value": target["host_session"], "url": base}])
        context.add_init_script(CLOCK_CAMERA)
        console = context.new_page()
        console.goto(f"{base}/b/{target['slug']}/host/")
        console.locator("[data-bind=stage] .stage-tile.mirrored[data-media=playing]").wait_for()
        console.get_by_role("button", name="Go live").click()
        console.get_by_role("button", name="Pause").wait_for()
        time.sleep(args.settle + 1)
        janus_pid = janus.process.pid if janus else None  # manage.py janus execs Janus
        idle = None
        live_path = f"/ws/broadcasts/{target['slug']}/"
        for count in [0, *counts]:
            pages = []
            tokens = [token() for _ in range(count)]
            in_browsers, per_page = count, args.per_page
            if args.audience == "rtp":
                in_browsers, per_page = min(count, args.probes), 1
            for start in range(0, in_browsers, per_page):
                page = viewers_browser.new_context(
                    extra_http_headers=HTTPS, viewport=SCREENS[args.screens]
                ).new_page()
                page.goto(f"{base}/healthz")
                share = tokens[start : min(start + per_page, in_browsers)]
                page.evaluate(SUBSCRIBERS, {"livePath": live_path, "tokens": share})
                pages.append(page)
            rtp = None
            if count > in_browsers:
                ws = f"ws://127.0.0.1:{server.port}{live_path}?guest="
                urls = [ws + quote(t) for t in tokens[in_browsers:]]
                rtp = Subscribers(urls, base, args.rtp_layer, args.rtp_processes)
            deadline = time.monotonic() + 30 + count
            playing = 0
            while time.monotonic() < deadline:
                playing = sum(page.evaluate(PLAYING) for page in pages)
                playing += rtp.playing() if rtp else 0
                if playing == count:
                    break
                time.sleep(0.5)
            if playing < count:
                states = [page.evaluate(STATES) for page in pages]
                if rtp:
                    states += [t.error or t.attempts for t in rtp.tallies() if not t.frames]
                print(f"# {backend}, {count}: without video: {states}", flush=True)
            time.sleep(args.settle)  # let the encoder's bitrate settle
            try:
                figures = measure(
                    args.seconds, janus_pid, descendants(host_root), pages, console, rtp
                )
            finally:
                if rtp:
                    rtp.close()
            label = backend if args.screens == "desktop" else f"{backend}, phone screens"
            row = Row(backend=label, subscribers=count, playing=playing)
            if rtp:
                row.rtp_subscribers = count - in_browsers
                row.rtp_subscribers_cpu_percent = round(100 * figures["rtp_cpu"], 1)
            row.janus_cpu_percent = round(100 * figures["janus_cpu"], 1) if janus else None
            row.janus_rss_mb = round(rss_kb(janus_pid) / 1024, 1) if janus else None
            row.host_cpu_percent = round(100 * figures["host_cpu"], 1)
            if figures["sent_bytes"] is not None:
                row.host_upload_kbit = round(figures["sent_bytes"] * 8 / 1000 / figures["elapsed"])
            row.host_video_streams = figures["streams"]
            if count:
                per = figures["elapsed"] * count
                row.kbit_per_subscriber = round(figures["bytes"] * 8 / 1000 / per)
                row.frames_per_subscriber_second = round(figures["frames"] / per, 1)
                spread = percentiles(figures["latency"])
                row.latency_p50_ms = spread.get("p50") and round(spread["p50"])
                row.latency_p95_ms = spread.get("p95") and round(spread["p95"])
                extra = figures["janus_cpu"] - (idle or 0)
                # Only while the host's stream flows (a starved machine can drop it).
                if janus and idle is not None and figures["streams"] and extra > 0:
                    row.cpu_ms_per_subscriber_second = round(1000 * extra / count, 2)
                    row.subscribers_per_core = math.floor(count / extra)
            else:
                idle = figures["janus_cpu"]
            rows.append(row)
            print(json.dumps(asdict(row)), flush=True)
            for page in pages:
                page.context.close()
            time.sleep(args.settle)  # the subscribers gone from Janus and the host
        console.get_by_role("button", name="End broadcast").click()
    finally:
        viewers_browser.close()
        host_browser.close()
        server.stop()
        if janus:
            janus.stop()
    return rows


def token() -> str:
    from participation.guests import guest_cookie_value

    return guest_cookie_value(uuid.uuid4())


def prepare(tag: str, backend: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from broadcasts import services

    host = get_user_model().objects.create_user(
        username=f"media-{backend}-{tag}", first_name="Bench", last_name="Host"
    )
    broadcast = services.broadcast_create(
        title=f"Media {backend} {tag}", slug=f"media-{backend}-{tag}", host=host
    )
    client = Client()
    client.force_login(host)
    return {"slug": broadcast.slug, "host_session": client.cookies["sessionid"].value}


def table(rows: list[Row]) -> str:
    def cell(value):
        return "-" if value is None else str(value)

    lines = [
        "| backend | subscribers | with video | Janus CPU % | Janus RSS MB | Janus CPU ms "
        "per subscriber-second | subscribers per core | kbit/s per subscriber | frames/s "
        "per subscriber | glass-to-glass p50 / p95 ms | host browser CPU % | host upload "
        "kbit/s | host video streams | of them RTP | RTP subscribers' CPU % |",
        "|---" * 15 + "|",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                cell(v)
                for v in (
                    r.backend,
                    r.subscribers,
                    r.playing,
                    r.janus_cpu_percent,
                    r.janus_rss_mb,
                    r.cpu_ms_per_subscriber_second,
                    r.subscribers_per_core,
                    r.kbit_per_subscriber,
                    r.frames_per_subscriber_second,
                    f"{cell(r.latency_p50_ms)} / {cell(r.latency_p95_ms)}",
                    r.host_cpu_percent,
                    r.host_upload_kbit,
                    r.host_video_streams,
                    r.rtp_subscribers,
                    r.rtp_subscribers_cpu_percent,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1,10,25,50,100", help="on janus")
    parser.add_argument("--mesh", default="5,10,25", help="viewers on mesh; empty: none")
    parser.add_argument("--seconds", type=float, default=15, help="measured per count")
    parser.add_argument(
        "--settle",
        type=float,
        default=2,
        help="seconds waited before each measure (the encoder's bitrate) and after it",
    )
    parser.add_argument("--per-page", type=int, default=10, help="viewers per Chromium page")
    parser.add_argument(
        "--screens",
        choices=sorted(SCREENS),
        default="desktop",
        help="the subscribers' screens: on janus, phones take the middle simulcast layer",
    )
    parser.add_argument(
        "--audience",
        choices=["chromium", "rtp"],
        default="chromium",
        help="rtp: all subscribers but --probes receive without decoding",
    )
    parser.add_argument("--probes", type=int, default=2, help="Chromium viewers, with rtp")
    parser.add_argument(
        "--rtp-layer", type=int, choices=[0, 1, 2], default=2, help="the layer RTP ones ask for"
    )
    parser.add_argument("--rtp-processes", type=int, default=2, help="processes running them")
    parser.add_argument("--media-ip", default="127.0.0.2", help="JANUS_MEDIA_IP")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--logs", default=str(ROOT / "var" / "bench-logs"))
    args = parser.parse_args(argv)
    stop_on_sigterm()
    counts = {
        "janus": [int(n) for n in args.subscribers.split(",") if n],
        "mesh": [int(n) for n in args.mesh.split(",") if n],
    }
    if not os.environ.get("REDIS_URL"):
        parser.error("set REDIS_URL (and DATABASE_URL): two server processes share state there")
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)

    env = production_environment()
    collect_static(env)
    from playwright.sync_api import sync_playwright

    from tests.janus import media_interface

    print(f"# media on {machine()}; subscribers: {args.per_page} per Chromium page", flush=True)
    rows: list[Row] = []
    tag = uuid.uuid4().hex[:6]
    # Before Playwright: its sync API keeps an event loop in this thread.
    targets = {backend: prepare(tag, backend) for backend in counts if counts[backend]}
    with media_interface(), sync_playwright() as playwright:
        for backend, target in targets.items():
            rows += run_backend(backend, counts[backend], args, env, target, logs, playwright)
    print()
    print(table(rows))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine(), "rows": [asdict(r) for r in rows]}, indent=2)
        )
    short = [
        r for r in rows if r.playing < r.subscribers or (r.subscribers and not r.host_video_streams)
    ]
    for r in short:
        print(
            f"FAILED {r.backend}: {r.playing} of {r.subscribers} subscribers got video, "
            f"the host sent {r.host_video_streams} video streams"
        )
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
