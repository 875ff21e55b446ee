"""An asyncio client of Janus's WebSocket API and Admin API (the parts we use).

One `JanusSession` per server process: a WebSocket to Janus, one Janus session on it
kept alive, handles attached per peer connection. When the socket drops (Janus
restarted, the network), every handle is gone with the session: the session tells
its listeners (`on_lost`), reconnects with backoff and creates a new session, and the
pages' peer connections are set up again on it.

Requests are matched to replies by transaction. Janus answers a plugin message either
at once (`success`, for synchronous requests such as `create`) or with an `ack`
followed by an `event` with the same transaction (`join`, `configure`, `start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable

import websockets

logger = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
REQUEST_TIMEOUT = 10.0
# Janus ends a session it has heard nothing of for session_timeout (60 s) seconds.
KEEPALIVE_SECONDS = 25.0
RECONNECT_BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class JanusError(Exception):
    """Janus or its VideoRoom plugin refused a request."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusUnavailable(JanusError):
    """Janus could not be reached, or did not answer in time."""

    def __init__(self, reason: str):
        super().__init__(0, reason)


# VideoRoom's error codes that we act on.
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
ID_EXISTS = 436
UNAUTHORIZED = 433
ROOM_EXISTS = 427


def _plugin_data(reply: dict) -> dict:
    data = (reply.get("plugindata") or {}).get("data") or {}
    if "error_code" in data:
        raise JanusError(data["error_code"], data.get("error", "VideoRoom error"))
    return data


class Connection:
    """One WebSocket to Janus: requests matched to replies by transaction."""

    def __init__(self, url: str, protocol: str, secret_field: str, secret: str):
        self.url, self.protocol = url, protocol
        self.secret_field, self.secret = secret_field, secret
        self.socket = None
        self.pending: dict[str, tuple[asyncio.Future, bool]] = {}
        self.reader: asyncio.Task | None = None
        self.on_unsolicited: Callable[[dict], None] = lambda message: None
        self.on_close: Callable[[], None] = lambda: None
        self.ids = itertools.count(1)

    async def open(self, timeout: float = REQUEST_TIMEOUT) -> None:
        try:
            self.socket = await asyncio.wait_for(
                websockets.connect(
                    self.url, subprotocols=[self.protocol], max_size=2**22, ping_interval=None
                ),
                timeout,
            )
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            raise JanusUnavailable(f"cannot reach Janus at {self.url}: {error}") from None
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def is_open(self) -> bool:
        return self.socket is not None and self.reader is not None and not self.reader.done()

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                waiting = self.pending.get(message.get("transaction") or "")
                if waiting is None:
                    self.on_unsolicited(message)
                    continue
                future, ack_answers = waiting
                if message.get("janus") == "ack" and not ack_answers:
                    continue  # the event with the same transaction follows
                self.pending.pop(message["transaction"], None)
                if not future.done():
                    future.set_result(message)
        except (OSError, websockets.WebSocketException, ValueError) as error:
            logger.warning("connection to Janus at %s lost: %s", self.url, error)
        finally:
            for future, _ in self.pending.values():
                if not future.done():
                    future.set_exception(JanusUnavailable("the connection to Janus was lost"))
            self.pending.clear()
            self.on_close()

    async def request(
        self, payload: dict, *, ack_answers: bool = False, timeout: float = REQUEST_TIMEOUT
    ) -> dict:
        if not self.is_open:
            raise JanusUnavailable("not connected to Janus")
        transaction = f"{next(self.ids)}-{secrets.token_hex(4)}"
        future = asyncio.get_running_loop().create_future()
        self.pending[transaction] = (future, ack_answers)
        message = {**payload, "transaction": transaction, self.secret_field: self.secret}
        try:
            await self.socket.send(json.dumps(message))
            reply = await asyncio.wait_for(future, timeout)
        except (OSError, websockets.WebSocketException) as error:
            raise JanusUnavailable(f"cannot send to Janus: {error}") from None
        except TimeoutError:
            raise JanusUnavailable(f"Janus did not answer {payload.get('janus')} in time") from None
        finally:
            self.pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusError(error.get("code", 0), error.get("reason", "Janus error"))
        return reply

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


class Handle:
    """A handle on the VideoRoom plugin: one publisher or one subscriber peer connection."""

    def __init__(self, session: JanusSession, handle_id: int, on_event):
        self.session, self.id, self.on_event = session, handle_id, on_event
        self.detached = False

    async def message(self, body: dict, jsep: dict | None = None, *, timeout=REQUEST_TIMEOUT):
        """A plugin request; (the plugin's data, the JSEP Janus sent with it, or None)."""
        payload = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        reply = await self.session.request(self, payload, timeout=timeout)
        return _plugin_data(reply), reply.get("jsep")

    async def trickle(self, candidate: dict | None) -> None:
        payload = {"janus": "trickle", "candidate": candidate or {"completed": True}}
        await self.session.request(self, payload, ack_answers=True)

    async def detach(self) -> None:
        if self.detached:
            return
        self.detached = True
        self.session.handles.pop(self.id, None)
        with contextlib.suppress(JanusError):
            await self.session.request(self, {"janus": "detach"}, timeout=3)


class JanusSession:
    """This process's Janus session, kept alive and re-created after a loss."""

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url, secret
        self.connection: Connection | None = None
        self.session_id: int | None = None
        self.handles: dict[int, Handle] = {}
        self.lost_listeners: list[Callable[[], Awaitable[None] | None]] = []
        self.keeper: asyncio.Task | None = None
        self.connecting: asyncio.Task | None = None
        self.closed = False
        self.lost = asyncio.Event()
        # Bumped on each new Janus session: whoever holds a handle of an older one knows
        # it is gone.
        self.generation = 0

    async def start(self, timeout: float = REQUEST_TIMEOUT) -> None:
        """Connect (once; others wait for the same attempt)."""
        if self.session_id is not None and self.connection and self.connection.is_open:
            return
        if self.connecting is None or self.connecting.done():
            self.connecting = asyncio.get_running_loop().create_task(self._connect())
        await asyncio.wait_for(asyncio.shield(self.connecting), timeout)
        self.connecting.result()

    async def _connect(self) -> None:
        connection = Connection(self.url, "janus-protocol", "apisecret", self.secret)
        await connection.open()
        connection.on_unsolicited = self._unsolicited
        reply = await connection.request({"janus": "create"})
        self.connection, self.session_id = connection, reply["data"]["id"]
        self.generation += 1
        self.lost.clear()
        connection.on_close = self._lost
        if self.keeper is None or self.keeper.done():
            self.keeper = asyncio.get_running_loop().create_task(self._keep_alive())

    def _lost(self) -> None:
        if self.session_id is None:
            return
        logger.warning("Janus session %s lost; reconnecting", self.session_id)
        self.session_id = None
        self.lost.set()
        handles, self.handles = self.handles, {}
        for handle in handles.values():
            handle.detached = True
        for listener in list(self.lost_listeners):
            outcome = listener()
            if asyncio.iscoroutine(outcome):
                asyncio.get_running_loop().create_task(outcome)

    async def _keep_alive(self) -> None:
        attempt = 0
        while not self.closed:
            if self.session_id is None:
                try:
                    await self._reconnect()
                    attempt = 0
                    logger.info("Janus session %s (re)created", self.session_id)
                except JanusError as error:
                    delay = RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)]
                    attempt += 1
                    logger.debug("Janus not back yet (%s); again in %.1f s", error, delay)
                    await asyncio.sleep(delay)
                continue
            try:
                # Woken at once when the connection drops; else a keepalive when due.
                await asyncio.wait_for(self.lost.wait(), KEEPALIVE_SECONDS)
                continue
            except TimeoutError:
                pass
            try:
                await self.connection.request(
                    {"janus": "keepalive", "session_id": self.session_id}, ack_answers=True
                )
            except JanusError as error:
                logger.warning("Janus keepalive failed: %s", error)
                await self.connection.close()

    async def _reconnect(self) -> None:
        if self.connecting is None or self.connecting.done():
            self.connecting = asyncio.get_running_loop().create_task(self._connect())
        await self.connecting

    def _unsolicited(self, message: dict) -> None:
        if message.get("janus") == "timeout":
            # Janus gave up on our session (we were silent too long): start again.
            asyncio.get_running_loop().create_task(self.connection.close())
            return
        handle = self.handles.get(message.get("sender"))
        if handle is not None:
            if message.get("janus") == "detached":
                handle.detached = True
                self.handles.pop(handle.id, None)
            handle.on_event(message)

    async def attach(self, on_event: Callable[[dict], None] = lambda message: None) -> Handle:
        await self.start()
        reply = await self.connection.request(
            {"janus": "attach", "session_id": self.session_id, "plugin": VIDEOROOM}
        )
        handle = Handle(self, reply["data"]["id"], on_event)
        self.handles[handle.id] = handle
        return handle

    async def request(self, handle: Handle, payload: dict, **options) -> dict:
        if handle.detached and payload.get("janus") != "detach":
            raise JanusUnavailable("this handle's Janus session is gone")
        if self.session_id is None or self.connection is None:
            raise JanusUnavailable("not connected to Janus")
        payload = {**payload, "session_id": self.session_id, "handle_id": handle.id}
        return await self.connection.request(payload, **options)

    async def close(self) -> None:
        self.closed = True
        if self.keeper is not None:
            self.keeper.cancel()
        if self.connection is not None:
            self.connection.on_close = lambda: None
            if self.session_id is not None:
                with contextlib.suppress(JanusError):
                    await self.connection.request(
                        {"janus": "destroy", "session_id": self.session_id}, timeout=3
                    )
            await self.connection.close()
        self.session_id = None


class JanusAdmin:
    """Janus's Admin API: rooms and their publishers, without a session of our own."""

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url, secret
        self.connection: Connection | None = None
        self.lock: asyncio.Lock | None = None

    async def _connection(self) -> Connection:
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            if self.connection is None or not self.connection.is_open:
                connection = Connection(
                    self.url, "janus-admin-protocol", "admin_secret", self.secret
                )
                await connection.open()
                self.connection = connection
        return self.connection

    async def request(self, payload: dict, **options) -> dict:
        connection = await self._connection()
        return await connection.request(payload, **options)

    async def videoroom(self, request: dict) -> dict:
        """A synchronous VideoRoom request (create, destroy, allowed, kick, ...)."""
        reply = await self.request(
            {"janus": "message_plugin", "plugin": VIDEOROOM, "request": request}
        )
        data = reply.get("response") or {}
        if "error_code" in data:
            raise JanusError(data["error_code"], data.get("error", "VideoRoom error"))
        return data

    async def info(self) -> dict:
        return await self.request({"janus": "info"})

    async def handle_info(self, session_id: int, handle_id: int) -> dict:
        """What Janus knows of one handle; `plugin_specific` is the VideoRoom's part."""
        reply = await self.request(
            {"janus": "handle_info", "session_id": session_id, "handle_id": handle_id}
        )
        return reply.get("info") or {}

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
