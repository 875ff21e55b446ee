"""Video subscribers that receive without decoding, for audiences a browser cannot hold.

One Chromium page decodes every video track it receives, seen or not, so on one small
machine a hundred browser viewers measure the viewers' decoding rather than the SFU.
These subscribers arrive as the embedded widget does (a guest token on the live socket,
through the same server and the same `rtc.signal` exchange as mesh.js's receiver), and
hold a WebRTC connection of their own (aiortc: ICE with consent checks, the DTLS
handshake, SRTCP), but take the media no further than its RTP headers: every SRTP
packet the SFU sends them is counted (a video frame at each packet with the marker bit,
its bytes after the header) and dropped, neither decrypted nor decoded. The SFU's work
for them is a browser viewer's (one encryption and one send per packet per
subscriber); what they leave out is the receiver's side: decrypting, reassembling,
decoding, and the receiver reports and loss feedback that would come of it. In Python,
the whole receiving path costs about 2.5% of a core per subscriber, which on a small
machine would starve the SFU being measured.

They run in child processes (`Subscribers`), so their CPU is theirs and the benchmark
can report it apart from the SFU's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass

from bench.common import ChildProcesses

# How long to wait before asking again when the publisher is not there yet.
RETRY_SECONDS = 1.0


@dataclass
class Tally:
    """What one subscriber got: whole video frames and their bytes, and the peer
    connection attempts it took."""

    frames: int = 0
    bytes: int = 0
    attempts: int = 0
    error: str | None = None


class CountingSession:
    """Stands in for a DTLS transport's inbound SRTP session: SRTCP is decrypted and
    handled as usual, SRTP packets are counted from their header (in the clear in SRTP)
    and dropped. Per payload type: packets with the marker bit (a video frame's last
    packet) and bytes after the RTP header."""

    def __init__(self, session):
        self.session = session
        self.by_type: dict[int, list[int]] = {}

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return self.session.unprotect_rtcp(data)

    def unprotect(self, data: bytes) -> bytes:
        import pylibsrtp

        header = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= header + 4:  # header extensions
            header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
        counts = self.by_type.setdefault(data[1] & 0x7F, [0, 0])
        counts[0] += data[1] >> 7
        counts[1] += max(len(data) - header, 0)
        # aiortc drops a packet that does not decrypt, and goes on with the next.
        raise pylibsrtp.Error("counted, not decrypted")


def _count_instead_of_decrypting() -> None:
    """Every DTLS transport of this process gets a CountingSession for what it receives."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    def set_session(transport, session):
        transport.__dict__["counting_session"] = session and CountingSession(session)

    RTCDtlsTransport._rx_srtp = property(
        lambda transport: transport.__dict__.get("counting_session"), set_session
    )


class Subscriber:
    """One widget viewer: its live socket, and a peer connection to the first person on
    stage (the host), asked for `layer` as mesh.js's wantedLayer() would."""

    def __init__(self, url: str, origin: str, layer: int):
        self.url = url
        self.origin = origin
        self.layer = layer
        self.ws = None
        self.pc = None
        self.pc_id = ""
        self.host_id = None
        self.ice_servers: list[dict] = []
        self.video_types: set[int] = set()  # the offer's video payload types
        self.earlier = Tally()  # what replaced connections received
        self.error: str | None = None
        self._ref = 0

    def tally(self) -> Tally:
        frames = bytes_ = 0
        if self.pc is not None and self.pc.getTransceivers():
            # One transport for audio and video: the offer bundles them.
            session = self.pc.getTransceivers()[0].receiver.transport._rx_srtp
            for payload_type, (ends, size) in (session.by_type if session else {}).items():
                if payload_type in self.video_types:
                    frames, bytes_ = frames + ends, bytes_ + size
        return Tally(
            frames=self.earlier.frames + frames,
            bytes=self.earlier.bytes + bytes_,
            attempts=self.earlier.attempts,
            error=self.error,
        )

    async def run(self) -> None:
        import websockets

        try:
            self.ws = await websockets.connect(
                self.url,
                origin=self.origin,
                additional_headers={"X-Forwarded-Proto": "https"},
                open_timeout=60,
                ping_interval=None,
                max_size=2**20,
            )
            async for message in self.ws:
                await self._receive(json.loads(message))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"[:200]

    async def _receive(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "snapshot":
            self.ice_servers = frame["media"]["ice_servers"]
            self.host_id = frame["stage"][0]["id"]
            await self._connect()
        elif kind == "media.ready" and frame["attendee"]["id"] == self.host_id:
            await self._connect()
        elif kind == "rtc.signal" and frame["data"].get("pc") == self.pc_id:
            await self._signal(frame["data"])
        elif kind == "error" and frame.get("ref", "").startswith("request-"):
            # Not live yet, or the publisher not ready: ask again, as the page does.
            asyncio.get_running_loop().call_later(
                RETRY_SECONDS, lambda: asyncio.ensure_future(self._connect())
            )

    async def _send(self, type_: str, ref: str, **fields) -> None:
        await self.ws.send(json.dumps({"type": type_, "ref": ref, **fields}))

    async def _connect(self) -> None:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        await self._close_peer()
        servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in self.ice_servers
        ]
        # An explicit list, even empty: aiortc's default is a public STUN server.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc_id = uuid.uuid4().hex[:12]
        self.earlier.attempts += 1

        self._ref += 1
        data = {"kind": "request", "pc": self.pc_id, "layer": self.layer}
        await self._send("rtc.signal", f"request-{self._ref}", to=self.host_id, data=data)

    async def _signal(self, data: dict) -> None:
        from aiortc import RTCSessionDescription
        from aiortc.sdp import candidate_from_sdp

        if data["kind"] == "offer":
            self.video_types = {
                int(pt)
                for line in data["sdp"].splitlines()
                if line.startswith("m=video ")
                for pt in line.split()[3:]
            }
            await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
            # aiortc gathers before it answers: its candidates are in the answer's SDP.
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            answer = {"kind": "answer", "pc": self.pc_id, "sdp": self.pc.localDescription.sdp}
            await self._send("rtc.signal", "answer", to=self.host_id, data=answer)
            done = {"kind": "candidate", "pc": self.pc_id, "candidate": None}
            await self._send("rtc.signal", "gathered", to=self.host_id, data=done)
        elif data["kind"] == "candidate" and data.get("candidate"):
            line = data["candidate"]
            candidate = candidate_from_sdp(line["candidate"].split(":", 1)[1])
            candidate.sdpMid = line.get("sdpMid")
            candidate.sdpMLineIndex = line.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)
        elif data["kind"] == "bye":
            await self._connect()

    async def _close_peer(self) -> None:
        if self.pc is None:
            return
        now = self.tally()
        self.earlier.frames, self.earlier.bytes = now.frames, now.bytes
        pc, self.pc = self.pc, None
        await pc.close()

    async def close(self) -> None:
        await self._close_peer()
        if self.ws is not None:
            await self.ws.close()


async def _process_main(pipe, urls: list[str], origin: str, layer: int) -> None:
    _count_instead_of_decrypting()
    loop = asyncio.get_running_loop()
    subscribers = [Subscriber(url, origin, layer) for url in urls]
    tasks = [asyncio.create_task(s.run()) for s in subscribers]
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "tally":
            pipe.send([s.tally() for s in subscribers])
        elif command == "close":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True), 20
                )
            for task in tasks:
                task.cancel()
            pipe.send(None)
            return


def _process(pipe, urls: list[str], origin: str, layer: int) -> None:
    asyncio.run(_process_main(pipe, urls, origin, layer))


class Subscribers:
    """`len(urls)` subscribers spread over `processes` child processes."""

    def __init__(self, urls: list[str], origin: str, layer: int, processes: int):
        shares = [urls[index::processes] for index in range(processes)]
        self.children = ChildProcesses(_process, [(s, origin, layer) for s in shares if s])

    @property
    def pids(self) -> list[int]:
        return self.children.pids

    def _ask(self, command: str, timeout: float = 60) -> list:
        return self.children.ask_all(command, timeout=timeout, what=command)

    def tallies(self) -> list[Tally]:
        return [tally for share in self._ask("tally") for tally in share]

    def playing(self) -> int:
        return sum(1 for tally in self.tallies() if tally.frames)

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, OSError, EOFError):
            self._ask("close", timeout=30)
        self.children.join()


def wait_playing(subscribers: Subscribers, count: int, within: float) -> int:
    deadline = time.monotonic() + within
    playing = 0
    while time.monotonic() < deadline:
        playing = subscribers.playing()
        if playing == count:
            break
        time.sleep(0.5)
    return playing
