"""Load the live path: N guest viewers of one broadcast over real WebSockets on loopback.

    python bench/live_load.py                      # smoke: 200 viewers, correctness
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/primetime_bench \\
    REDIS_URL=redis://127.0.0.1:6379/7 python bench/live_load.py --full

For each server setup (daphne or uvicorn; with Redis, two processes and each channel
layer), it starts the servers on loopback, connects a host and N viewers speaking the
live protocol of DESIGN section 4, and runs the scenarios in order:

- join storm: the N viewers join within `--join-seconds`; time to the snapshot; as
  widget guests (a token on the socket), or with `--join page` as people arrive at the
  watch page (the name form, its post, the page, then the socket with the guest cookie);
- steady audience: they stay `--hold` seconds, pinging like the page does; dropped
  connections and the servers' memory per connection (RSS after minus RSS before);
- host events: the host pauses and resumes (`--events` of them), one every `--event-gap`
  seconds, or `--burst` of them sent at once; the fan-out latency from the host's
  command to each viewer's receipt;
- like storm: every viewer likes within `--like-seconds`; likes counted in the database,
  and the most `likes` frames one viewer got within a second.

Throughout, each viewer checks that public events arrive in `seq` order with no gap.
The same clients then run the join and host-event scenarios against a bare broadcast
server on the `websockets` library (bench/bare_server.py): the Python floor, in the
same run. Exits non-zero when a correctness check fails; times are reported, not
judged. Everything binds to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.common import (  # noqa: E402
    LOOPBACK_CROWD,
    ChildProcesses,
    Tab,
    Tally,
    collect_static,
    free_port,
    join_as_guest,
    machine,
    percentiles,
    rss_kb,
    stop_on_sigterm,
)

PING_SECONDS = 20  # as static/js/live.js
SETTLE_SECONDS = 3  # for the last events and coalesced counters to land
LIKE_ANSWER_SECONDS = 120


# --- The viewers: client processes ------------------------------------------------


@dataclass
class Viewer:
    url: str
    origin: str
    connect_at: float = 0.0  # offset within the join storm
    # Through the watch page first (name form, post, page), then the socket with the
    # guest cookie; else straight to the socket with a widget token in `url`.
    watch_slug: str | None = None
    busy_retried: int = 0  # 503s on the way in, waited out as the page does
    snapshot_seconds: float | None = None
    failed: str | None = None
    dropped: str | None = None
    last_seq: int | None = None
    gaps: int = 0
    out_of_order: int = 0
    # seq -> receipt time, for the timed events (the host's)
    timed: dict[int, float] = field(default_factory=dict)
    like_frames: list[float] = field(default_factory=list)
    last_likes: int | None = None
    like_acked: bool = False
    like_error: str | None = None


class ViewerClient:
    def __init__(self, viewer: Viewer, timed_types: set[str]):
        self.viewer = viewer
        self.timed_types = timed_types
        self.ws = None
        self.closing = False
        self.ready = asyncio.Event()
        self.like_ref: str | None = None
        self.like_answered = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def run(self, http=None) -> None:
        import websockets

        viewer = self.viewer
        started = time.monotonic()  # snapshot time counts from arrival, page included
        try:
            headers = await self._watch_page(http) if viewer.watch_slug else None
            self.ws = await websockets.connect(
                viewer.url,
                origin=viewer.origin,
                additional_headers=headers,
                open_timeout=60,
                max_size=2**20,
                ping_interval=None,
            )
        except Exception as error:
            viewer.failed = f"{type(error).__name__}: {error}"[:200]
            self.ready.set()
            return
        pinger = asyncio.create_task(self._ping())
        try:
            async for message in self.ws:
                self._receive(message, started)
        except Exception as error:
            if not self.closing:
                viewer.dropped = f"{type(error).__name__}: {error}"[:200]
        else:
            if not self.closing:
                viewer.dropped = f"closed {self.ws.close_code}"
        finally:
            pinger.cancel()
            self.ready.set()

    async def _watch_page(self, http) -> dict[str, str]:
        host = self.viewer.origin.split("://", 1)[1]
        tab = Tab(http, self.viewer.origin, host, Tally(), https=False, patient=True)
        joined = await join_as_guest(tab, self.viewer.watch_slug)
        self.viewer.busy_retried = tab.tally.busy_retried
        if not joined:
            raise RuntimeError(f"watch page: {dict(tab.tally.errors)}")
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in tab.cookies.items())}

    def _receive(self, message: str, started: float) -> None:
        now = time.monotonic()
        frame = json.loads(message)
        viewer = self.viewer
        kind = frame.get("type")
        if kind == "snapshot":
            viewer.snapshot_seconds = now - started
            viewer.last_seq = frame["seq"]
            viewer.last_likes = frame.get("likes")
            self.ready.set()
            return
        seq = frame.get("seq")
        if seq is not None:
            if viewer.last_seq is not None:
                if seq <= viewer.last_seq:
                    viewer.out_of_order += 1
                elif seq != viewer.last_seq + 1:
                    viewer.gaps += 1
            viewer.last_seq = seq
            if kind in self.timed_types:
                viewer.timed[seq] = now
            if kind == "likes":
                viewer.like_frames.append(now)
                viewer.last_likes = frame["count"]
        elif self.like_ref is None:
            return  # before the like, a reply (to a ping: no ref) is not its answer
        elif kind == "ack" and frame.get("ref") == self.like_ref:
            viewer.like_acked = True
            self.like_answered.set()
        elif kind == "error" and frame.get("ref") == self.like_ref:
            viewer.like_error = frame.get("code")
            self.like_answered.set()

    async def _ping(self) -> None:
        await asyncio.sleep(random.uniform(0, PING_SECONDS))
        while True:
            await self.ws.send('{"type":"ping"}')
            await asyncio.sleep(PING_SECONDS)

    async def like(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.ws is None or self.viewer.failed or self.viewer.dropped:
            return
        self.like_ref = uuid.uuid4().hex[:12]
        await self.ws.send(json.dumps({"type": "like", "ref": self.like_ref}))
        # The storm is over when every like is answered; the counts settle after that.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.like_answered.wait(), timeout=LIKE_ANSWER_SECONDS)

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.wait([self.task], timeout=10)


async def _client_process_main(pipe, viewers: list[Viewer], timed_types: set[str]) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    clients = [ViewerClient(viewer, timed_types) for viewer in viewers]
    # Pages are loaded over kept-alive connections, as browsers do; cookies per viewer.
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=120),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    while True:
        command, argument = await loop.run_in_executor(None, pipe.recv)
        if command == "join":
            begun = time.monotonic()

            async def join(client: ViewerClient) -> None:
                await asyncio.sleep(client.viewer.connect_at)
                client.task = asyncio.create_task(client.run(http))
                await client.ready.wait()

            await asyncio.wait_for(
                asyncio.gather(*(join(client) for client in clients)), timeout=argument
            )
            joined = time.monotonic() - begun
            # The clients are the instrument: thousands of sockets' objects are here to
            # stay, and a collection walking them would delay receipts, whatever server.
            gc.collect()
            gc.freeze()
            pipe.send(joined)
        elif command == "like":
            await asyncio.gather(*(client.like(random.uniform(0, argument)) for client in clients))
            pipe.send(None)
        elif command == "report":
            pipe.send([client.viewer for client in clients])
        elif command == "close":
            await asyncio.gather(*(client.close() for client in clients))
            await http.close()
            pipe.send([client.viewer for client in clients])
            return


def _client_process(pipe, viewers: list[Viewer], timed_types: set[str]) -> None:
    asyncio.run(_client_process_main(pipe, viewers, timed_types))


class Audience:
    """N viewers spread over a few client processes (one core cannot drive thousands)."""

    def __init__(self, viewers: list[Viewer], processes: int, timed_types: set[str]):
        shares = [viewers[index::processes] for index in range(processes)]
        self.children = ChildProcesses(
            _client_process, [(share, timed_types) for share in shares if share]
        )

    def _ask(self, command: str, argument=None, timeout: float = 120) -> list:
        return self.children.ask_all((command, argument), timeout=timeout, what=command)

    def join(self, within: float) -> float:
        return max(self._ask("join", within + 120, timeout=within + 180))

    def like(self, within: float) -> float:
        """Every viewer likes within `within` seconds; returns when all are answered."""
        begun = time.monotonic()
        self._ask("like", within, timeout=within + LIKE_ANSWER_SECONDS + 60)
        return time.monotonic() - begun

    def report(self) -> list[Viewer]:
        return [viewer for share in self._ask("report") for viewer in share]

    def close(self) -> list[Viewer]:
        viewers = [viewer for share in self._ask("close") for viewer in share]
        self.children.join()
        return viewers


# --- The host ---------------------------------------------------------------------


class Host:
    """The host's console socket: sends commands, notes when each event was caused."""

    def __init__(self, url: str, origin: str, cookie: str | None):
        self.url, self.origin, self.cookie = url, origin, cookie
        self.sent_at: dict[int, float] = {}  # seq of the host's event -> when it was asked
        self._asked: collections.deque[float] = collections.deque()  # not yet answered
        self._answered: asyncio.Event | None = None
        self.likes = None
        self.likes_before = None

    async def __aenter__(self) -> Host:
        import websockets

        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(
            self.url, origin=self.origin, additional_headers=headers, max_size=2**22
        )
        snapshot = json.loads(await self.ws.recv())
        assert snapshot["type"] == "snapshot", snapshot
        self.likes = self.likes_before = snapshot.get("likes")
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self.reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        async for message in self.ws:
            frame = json.loads(message)
            if frame.get("type") == "broadcast.state" and self._asked:
                # The socket answers a page's commands in order: the oldest one asked
                # for is the one this event is the outcome of.
                self.sent_at[frame["seq"]] = self._asked.popleft()
                if not self._asked and self._answered is not None:
                    self._answered.set()
            elif frame.get("type") == "likes":
                self.likes = frame["count"]
            elif frame.get("type") == "error":
                print("host error:", frame, file=sys.stderr)

    async def send_group(self, commands: list[str]) -> None:
        """Send `commands` at once; return when each one's event has come back."""
        self._answered = asyncio.Event()
        for command in commands:
            self._asked.append(time.monotonic())
            await self.ws.send(json.dumps({"type": command, "ref": command}))
        await asyncio.wait_for(self._answered.wait(), timeout=60)

    async def events(self, count: int, gap: float = 1.0, burst: int = 1) -> None:
        """Pause and resume `count` times (an even count leaves the broadcast live), in
        groups of `burst` sent at once, a group every `gap` seconds."""
        start = time.monotonic()
        commands = ["broadcast.pause" if i % 2 == 0 else "broadcast.resume" for i in range(count)]
        for slot, first in enumerate(range(0, count, burst)):
            await self.send_group(commands[first : first + burst])
            await asyncio.sleep(max(0.0, start + (slot + 1) * gap - time.monotonic()))


# --- Servers ----------------------------------------------------------------------


def server_command(kind: str, port: int) -> list[str]:
    if kind == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                "config.asgi:application"]  # fmt: skip
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "config.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio",
                "--http", "config.http:HeadersTimeoutProtocol",
                "--ws-per-message-deflate", "false", "--ws-max-size", "65536", "--lifespan", "off",
                "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if kind == "bare":
        return [sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)]
    raise ValueError(kind)


class Servers:
    def __init__(self, kind: str, processes: int, env: dict[str, str], logs: Path):
        self.kind = kind
        self.ports = [free_port() for _ in range(processes)]
        self.procs = []
        logs.mkdir(parents=True, exist_ok=True)
        for port in self.ports:
            log = open(logs / f"{kind}-{port}.log", "wb")  # noqa: SIM115 - closed with the process
            self.procs.append(
                subprocess.Popen(
                    server_command(kind, port),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 60
        for port, proc in zip(self.ports, self.procs, strict=True):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{kind} on {port} exited; see {logs}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{kind} on {port} did not come up") from None
                    time.sleep(0.2)

    def rss_kb(self) -> int:
        return sum(rss_kb(proc.pid) for proc in self.procs)

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# --- The broadcast under load -----------------------------------------------------


def prepare_broadcast(tag: str) -> tuple[int, str, str]:
    """A live broadcast and its host's session cookie, in the database the servers use."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from broadcasts import services

    host = get_user_model().objects.create_user(username=f"bench-host-{tag}")
    broadcast = services.broadcast_create(title=f"Load {tag}", slug=f"load-{tag}", host=host)
    services.broadcast_start(broadcast=broadcast, by=host)
    client = Client()
    client.force_login(host)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return broadcast.pk, broadcast.slug, cookie


def guest_tokens(count: int) -> list[str]:
    from participation.guests import guest_cookie_value

    return [guest_cookie_value(uuid.uuid4()) for _ in range(count)]


def likes_in_database(broadcast_id: int) -> int:
    from participation.models import Like

    return Like.objects.filter(broadcast_id=broadcast_id).count()


def max_frames_per_second(times: list[float]) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class Result:
    setup: str
    viewers: int
    connected: int = 0
    failed: int = 0
    dropped: int = 0
    join_seconds: float = 0.0
    snapshot: dict = field(default_factory=dict)
    rss_per_viewer_kb: float | None = None
    hold_seconds: float = 0.0
    events: int = 0
    fanout_ms: dict = field(default_factory=dict)
    # Per host event, in order: when its last viewer got it. One slow event (a pause in a
    # server) and a slow minute look alike in the percentiles and differ here.
    event_last_ms: list = field(default_factory=list)
    missed_events: int = 0
    gaps: int = 0
    out_of_order: int = 0
    like_storm_seconds: float | None = None  # until the last like was answered
    like_count_settled_seconds: float | None = None  # then until the host saw the total
    likes_sent: int | None = None
    likes_acked: int | None = None
    likes_in_db: int | None = None
    likes_seen_last: int | None = None
    like_frames_per_second_max: int | None = None
    # Watch-page joins: 503 answers ("busy for a moment") waited out and asked again.
    busy_retried: int = 0
    errors: list[str] = field(default_factory=list)

    def check(self) -> list[str]:
        problems = []
        if self.failed or self.dropped:
            problems.append(f"{self.failed} failed and {self.dropped} dropped connections")
        if self.missed_events or self.gaps or self.out_of_order:
            problems.append(
                f"events: {self.missed_events} missed, {self.gaps} gaps,"
                f" {self.out_of_order} out of order"
            )
        if self.likes_sent is not None:
            if not (self.likes_sent == self.likes_acked == self.likes_in_db):
                problems.append(
                    f"likes: {self.likes_sent} sent, {self.likes_acked} acked,"
                    f" {self.likes_in_db} in the database"
                )
            if self.likes_seen_last != self.likes_in_db:
                problems.append(f"viewers' last like count {self.likes_seen_last}")
            if self.like_frames_per_second_max > 5:
                problems.append(f"{self.like_frames_per_second_max} like frames in a second")
        return problems + self.errors


def run_setup(args, *, kind: str, processes: int, layer: str | None, env: dict) -> Result:
    bare = kind == "bare"
    label = "bare websockets" if bare else f"{kind} x{processes}" + (f", {layer}" if layer else "")
    result = Result(setup=label, viewers=args.viewers)
    if bare:
        broadcast_id, slug, cookie = 0, "bare", None
        tokens = [""] * args.viewers
    else:
        tag = uuid.uuid4().hex[:8]
        broadcast_id, slug, cookie = prepare_broadcast(tag)
        tokens = guest_tokens(args.viewers)
    server_env = dict(env)
    if layer:
        server_env["PRIMETIME_CHANNEL_LAYER"] = layer
    servers = Servers(kind, processes, server_env, Path(args.logs))
    try:
        final, host = asyncio.run(_drive(args, result, servers, slug, cookie, tokens, bare))
    except Exception as error:
        # A setup that breaks down is a result too: say how, and go on to the next one.
        result.errors.append(f"the run stopped: {type(error).__name__}: {error}"[:300])
        result.snapshot = {k: round(v, 1) if v is not None else None
                           for k, v in result.snapshot.items()}  # fmt: skip
        return result
    finally:
        servers.stop()
    _tally(result, final, host, broadcast_id, bare)
    return result


async def _drive(args, result, servers, slug, cookie, tokens, bare) -> tuple[list, Host]:
    def url(port: int, token: str = "") -> str:
        path = "/" if bare else f"/ws/broadcasts/{slug}/"
        return f"ws://127.0.0.1:{port}{path}" + (f"?guest={token}" if token else "")

    origin = f"http://127.0.0.1:{servers.ports[0]}"
    through_page = args.join == "page" and not bare
    viewers = []
    for index, token in enumerate(tokens):
        port = servers.ports[index % len(servers.ports)]
        viewers.append(
            Viewer(
                url=url(port, "" if through_page else token),
                origin=f"http://127.0.0.1:{port}",
                connect_at=args.join_seconds * index / max(1, len(tokens)),
                watch_slug=slug if through_page else None,
            )
        )
    host_url = f"ws://127.0.0.1:{servers.ports[0]}" + (
        "/host" if bare else f"/ws/broadcasts/{slug}/"
    )
    async with Host(host_url, origin, cookie) as host:
        await asyncio.sleep(1)
        rss_before = servers.rss_kb()
        audience = Audience(viewers, args.client_processes, {"broadcast.state"})
        loop = asyncio.get_running_loop()
        try:
            result.join_seconds = await loop.run_in_executor(None, audience.join, args.join_seconds)
            joined = await loop.run_in_executor(None, audience.report)
            result.snapshot = {
                name: (value * 1000 if value is not None else None)
                for name, value in percentiles(
                    [v.snapshot_seconds for v in joined if v.snapshot_seconds is not None]
                ).items()
            }
            result.hold_seconds = args.hold
            await asyncio.sleep(args.hold)
            rss_after = servers.rss_kb()
            connected = sum(1 for v in joined if v.snapshot_seconds is not None)
            if connected:
                result.rss_per_viewer_kb = round((rss_after - rss_before) / connected, 1)
            result.events = args.events
            await host.events(args.events, gap=args.event_gap, burst=args.burst)
            await asyncio.sleep(SETTLE_SECONDS)
            if not bare:
                result.like_storm_seconds = round(
                    await loop.run_in_executor(None, audience.like, args.like_seconds), 1
                )
                # Then the coalesced count reaches everyone: the host sees it first.
                begun, total = time.monotonic(), connected + (host.likes_before or 0)
                while host.likes != total and time.monotonic() - begun < LIKE_ANSWER_SECONDS:
                    await asyncio.sleep(0.1)
                result.like_count_settled_seconds = round(time.monotonic() - begun, 1)
                await asyncio.sleep(SETTLE_SECONDS)
        finally:
            final = await loop.run_in_executor(None, audience.close)
    if not servers.alive():
        result.errors.append("a server process died")
    return final, host


def _tally(result: Result, viewers: list[Viewer], host: Host, broadcast_id: int, bare: bool):
    result.connected = sum(1 for v in viewers if v.snapshot_seconds is not None)
    result.failed = sum(1 for v in viewers if v.failed)
    result.dropped = sum(1 for v in viewers if v.dropped)
    result.busy_retried = sum(v.busy_retried for v in viewers)
    for reason in {v.failed or v.dropped for v in viewers if v.failed or v.dropped}:
        result.errors.append(f"connection: {reason}")
        if len(result.errors) > 5:
            break
    latencies = []
    last_by_seq = dict.fromkeys(host.sent_at, 0.0)
    for viewer in viewers:
        if viewer.snapshot_seconds is None:
            continue
        result.gaps += viewer.gaps
        result.out_of_order += viewer.out_of_order
        for seq, sent in host.sent_at.items():
            received = viewer.timed.get(seq)
            if received is None:
                result.missed_events += 1
            else:
                latency = (received - sent) * 1000
                latencies.append(latency)
                last_by_seq[seq] = max(last_by_seq[seq], latency)
    result.event_last_ms = [round(last_by_seq[seq], 1) for seq in sorted(last_by_seq)]
    result.fanout_ms = {name: round(v, 1) if v is not None else None
                        for name, v in percentiles(latencies).items()}  # fmt: skip
    result.snapshot = {name: round(v, 1) if v is not None else None
                       for name, v in result.snapshot.items()}  # fmt: skip
    if not bare:
        live = [v for v in viewers if v.snapshot_seconds is not None]
        result.likes_sent = len(live)
        result.likes_acked = sum(1 for v in live if v.like_acked)
        result.likes_in_db = likes_in_database(broadcast_id)
        result.likes_seen_last = min((v.last_likes or 0) for v in live) if live else 0
        short = collections.Counter(
            v.last_likes for v in live if v.last_likes != result.likes_in_db
        ).most_common(5)
        if short:
            result.errors.append(f"last like counts short of the total, (count, viewers): {short}")
        result.like_frames_per_second_max = max(
            (max_frames_per_second(v.like_frames) for v in live), default=0
        )
        errors = {v.like_error for v in live if v.like_error}
        if errors:
            result.errors.append(f"like errors: {sorted(errors)}")


# --- Output -----------------------------------------------------------------------


def table(results: list[Result], baseline: Result | None) -> str:
    floor = baseline.fanout_ms.get("p99") if baseline else None
    rows = [
        "| setup | viewers | connected | dropped | join s | snapshot p50/p99 ms"
        " | KB/viewer | fan-out p50/p95/p99/max ms | p99 vs bare | likes db/sent"
        " | like storm + count settled s | like frames/s max |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in ([baseline] if baseline else []) + results:
        f, s = r.fanout_ms, r.snapshot
        ratio = (
            f"{f['p99'] / floor:.2f}x" if floor and f.get("p99") is not None and r is not baseline
            else "1.00x" if r is baseline else "-"
        )  # fmt: skip
        if r.likes_sent is None:
            likes = "- | - | -"
        else:
            likes = (
                f"{r.likes_in_db}/{r.likes_sent} | {r.like_storm_seconds}"
                f"+{r.like_count_settled_seconds} | {r.like_frames_per_second_max}"
            )
        rows.append(
            f"| {r.setup} | {r.viewers} | {r.connected} | {r.dropped + r.failed}"
            f" | {r.join_seconds:.1f} | {s.get('p50')}/{s.get('p99')} | {r.rss_per_viewer_kb}"
            f" | {f.get('p50')}/{f.get('p95')}/{f.get('p99')}/{f.get('max')} | {ratio}"
            f" | {likes} |"
        )
    return "\n".join(rows)


def slowest_events(results: list[Result], count: int = 3) -> str:
    """Per setup, the median host event and the slowest ones, by their last viewer."""
    lines = []
    for r in results:
        if not r.event_last_ms:
            continue
        ordered = sorted(range(len(r.event_last_ms)), key=r.event_last_ms.__getitem__)
        worst = ", ".join(
            f"#{index + 1} {r.event_last_ms[index]}" for index in reversed(ordered[-count:])
        )
        median = round(statistics.median(r.event_last_ms), 1)
        lines.append(f"- {r.setup}: last viewer per event, median {median} ms; slowest {worst}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="5000 viewers, a 10-minute hold, every server and layer")  # fmt: skip
    parser.add_argument("--viewers", type=int)
    parser.add_argument("--hold", type=float, help="seconds the steady audience stays")
    parser.add_argument("--join-seconds", type=float, default=10)
    parser.add_argument("--like-seconds", type=float, default=5)
    parser.add_argument("--events", type=int, help="host events (pause, resume, ...)")
    parser.add_argument("--event-gap", type=float, default=1.0,
                        help="seconds between the host's events (or groups of them)")  # fmt: skip
    parser.add_argument("--burst", type=int, default=1,
                        help="host events sent at once, in each group")  # fmt: skip
    parser.add_argument("--join", choices=("widget", "page"), default="widget",
                        help="as widget guests (a token on the socket), or through the watch"
                        " page (name form, then the socket with its cookie)")  # fmt: skip
    parser.add_argument("--servers", help="comma-separated: daphne,uvicorn")
    parser.add_argument("--layers", help="comma-separated: pubsub,core (with REDIS_URL)")
    parser.add_argument("--processes", type=int, help="server processes (2 with Redis)")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--logs", default=str(ROOT / "var" / "bench-logs"))
    args = parser.parse_args(argv)
    stop_on_sigterm()

    redis_url = os.environ.get("REDIS_URL", "")
    args.viewers = args.viewers or (5000 if args.full else 200)
    args.hold = args.hold if args.hold is not None else (600 if args.full else 5)
    args.events = args.events if args.events is not None else (60 if args.full else 6)
    args.events += args.events % 2  # pause and resume in pairs: the broadcast ends live
    kinds = (args.servers or ("daphne,uvicorn" if args.full else "uvicorn")).split(",")
    layers = (args.layers or ("pubsub,core" if args.full else "pubsub")).split(",")
    layers = layers if redis_url else [None]
    processes = args.processes or (2 if redis_url else 1)
    if processes > 1 and not redis_url:
        parser.error("several server processes share state through Redis: set REDIS_URL")

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        from bench.common import ensure_database

        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "0",  # no query log in the servers
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        **LOOPBACK_CROWD,
    }
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{settings.DATABASES['default']['NAME']}"
    if args.join == "page":
        collect_static(env)  # the watch page links to them

    scenario = (
        f"joining through the {'watch page' if args.join == 'page' else 'widget'},"
        f" {args.events} host events in groups of {args.burst} every {args.event_gap} s"
    )
    print(f"# {args.viewers} viewers on {machine()}; {scenario}", flush=True)
    baseline = None
    if not args.no_baseline:
        baseline = run_setup(args, kind="bare", processes=1, layer=None, env=env)
        print(f"bare websockets: fan-out p99 {baseline.fanout_ms.get('p99')} ms", flush=True)
    results = []
    for kind in kinds:
        for layer in layers:
            result = run_setup(args, kind=kind, processes=processes, layer=layer, env=env)
            print(f"{result.setup}: fan-out p99 {result.fanout_ms.get('p99')} ms", flush=True)
            results.append(result)
    print()
    print(table(results, baseline))
    print()
    print(slowest_events(([baseline] if baseline else []) + results))
    for r in results:
        if r.busy_retried:
            print(f"- {r.setup}: {r.busy_retried} page answers were 503 (busy), waited out")
    problems = {r.setup: r.check() for r in ([baseline] if baseline else []) + results if r.check()}
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "scenario": scenario,
                    "baseline": asdict(baseline) if baseline else None,
                    "results": [asdict(r) for r in results],
                    "problems": problems,
                },
                indent=2,
            )
        )
    for setup, found in problems.items():
        print(f"FAILED {setup}: " + "; ".join(found))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
