"""The live socket: one consumer per open page (DESIGN section 4)."""

import asyncio
import contextlib
import logging
from collections import defaultdict
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import OperationalError
from redis.exceptions import RedisError

from core.errors import DomainError, Forbidden
from core.outage import database_outage

from . import admissions, services
from .context import CommandContext
from .guests import guest_key_from_cookies, guest_key_from_token
from .models import Attendee, Role
from .realtime.batching import Batcher, database_call
from .realtime.codes import (
    CLOSE_CODES,
    CLOSE_RESYNC,
    CLOSE_TRY_AGAIN_LATER,
    CONFLICT,
    FORBIDDEN,
    INVALID,
    MAX_FRAME_CHARS,
    MAX_OUTBOX_FRAMES,
    MAX_REF_CHARS,
    RATE_LIMITED,
)
from .realtime.commands import ATTENDEES, REGISTRIES, REGISTRY, Command
from .realtime.compat import DispatchOnTheLoop, start_eagerly
from .realtime.counters import counters
from .realtime.frames import BadFrame, decode, encode, resume_point
from .realtime.hub import hubs
from .realtime.names import ATTENDEE, HOSTS
from .realtime.ratelimit import connection_rate_limits
from .services import media_publisher_ready

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "That could not be done just now; try again in a moment."

# In a page's outbox after a private message whose socket closes once it is sent.
_THEN_CLOSE = object()


class LiveConsumer(DispatchOnTheLoop, AsyncWebsocketConsumer):
    # The commands this socket's senders may send (realtime/commands.py).
    commands: dict[str, Command] = REGISTRIES[ATTENDEES]
    attendee: Attendee | None = None
    # What this page gets private messages for: (ATTENDEE, id), (HOSTS, broadcast id).
    private_targets: tuple[tuple[str, int], ...] = ()
    closed_by_us = False
    peers = None  # its SFU peer connections (broadcasts/janus/peers.py), if any
    presence_lease = None  # the lease its page is counted under (presence.py)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The seq of the last public event sent; None until the snapshot is out, while
        # events (and private messages, seq None) wait in `pending`. Then they wait in
        # `outbox` for `writer` to send them.
        self.synced_seq: int | None = None
        # Lists, not deques: both are nearly always empty, and an empty deque costs 600
        # bytes more a connection, thousands of times over.
        self.pending: list[tuple[int | None, str, bool]] = []
        self.outbox: list = []
        self.writer: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        """Channels' own, less the channel layer: private messages reach a page through
        the hub, so it has no channel to subscribe when it joins and no second task
        waiting on one; and the page's messages are read one after the other, without
        a task for each (as Channels' loop would make)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        except OSError:
            # The page went away while a frame was being sent to it: the server raises
            # (uvicorn's ClientDisconnected) and says nothing more, so it leaves here.
            await self.disconnect(1006)

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.buckets = connection_rate_limits()
        cookies = self.scope.get("cookies") or {}
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        # The embedded widget names its guest with a token from its own storage.
        widget_token = (query.get("guest") or [None])[0]
        guest_key = guest_key_from_token(widget_token) or guest_key_from_cookies(cookies)
        request = admissions.Arrival(
            slug=self.slug,
            session_key=cookies.get(settings.SESSION_COOKIE_NAME),
            guest_key=guest_key,
            embedded=widget_token is not None,
            address=(self.scope.get("client") or (None,))[0],
        )
        if database_outage.refuse_now():
            await self._try_again_later("PostgreSQL is out of reach")
            return
        try:
            attendee = await admissions.identify.submit(request)
        except DomainError as error:
            await self.close(code=CLOSE_CODES.get(error.code, CLOSE_CODES[INVALID]))
            return
        except OperationalError as error:
            await self._try_again_later(error)
            return
        await self.accept()
        self.attendee = attendee
        self.hub = hubs.current()
        # Join first, read the stream's position second: any event numbered after
        # that position reaches this connection through the hub.
        await self.hub.join(self.slug, self)
        self.private_targets = ((ATTENDEE, attendee.pk),)
        if attendee.role == Role.HOST:
            # Moderation: questions waiting for approval, and hidden ones, in full.
            self.private_targets += ((HOSTS, attendee.broadcast_id),)
        for target in self.private_targets:
            self.hub.receive_private(target, self)
        epoch, since = resume_point(self.scope.get("query_string", b""))
        entry = admissions.Entry(slug=self.slug, attendee=attendee, epoch=epoch, since=since)
        try:
            first_frames, seq, self.presence_lease = await admissions.enter.submit(entry)
        except OperationalError as error:
            # Not counted in: it leaves the room without being counted out.
            self._leave_room()
            self.attendee = None
            await self._try_again_later(error, accepted=True)
            return
        for frame in first_frames:
            await self.send(text_data=frame)
        await self._flush_pending(seq)
        counters.mark("audience", attendee.broadcast_id)

    async def _try_again_later(self, error: OperationalError | str, *, accepted=False) -> None:
        """The database could not serve this page now (no pooled connection in time, or
        PostgreSQL is down): the page is told to reconnect a little later, as its
        socket does after any close but the final ones."""
        if isinstance(error, OperationalError):
            database_outage.failed()
        logger.warning("live connection to %s refused for now: %s", self.slug, error)
        if not accepted:
            await self.accept()  # so that the close code reaches the page
        await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def _flush_pending(self, seq: int) -> None:
        # Events that arrived while the snapshot was built: send those it does not hold.
        # No await between the last emptiness check and marking the connection synced.
        last = seq
        while self.pending:
            event_seq, frame, close = self.pending.pop(0)
            if event_seq is None:  # a private message
                await self.send(text_data=frame)
                if close:
                    await self.close(code=CLOSE_CODES[FORBIDDEN])
                    return
            elif event_seq > last:
                await self.send(text_data=frame)
                last = event_seq
        self.synced_seq = last

    async def close(self, code=None, reason=None) -> None:
        self.closed_by_us = True
        await super().close(code=code, reason=reason)

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        if self.closed_by_us:
            # Closing (to resync, say) while a command finished: the server refuses a
            # frame after the close, and what the page missed comes with its reconnect.
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    def push_event(self, seq: int, frame: str) -> None:
        """Called by the hub with a public event of this broadcast: queued, in order, for
        this connection's writer, so that one slow reader holds up nobody else."""
        if self.closed_by_us:  # closing; out of the room once its disconnect comes
            return
        if self.synced_seq is None:
            self.pending.append((seq, frame, False))
        elif seq > self.synced_seq:
            self.synced_seq = seq
            if len(self.outbox) >= MAX_OUTBOX_FRAMES:
                # Too far behind to catch up frame by frame: reconnect and replay.
                self.outbox.clear()
                asyncio.get_running_loop().create_task(self.resync())
                return
            self._post(frame)

    def push_private(self, frame: str, close: bool) -> None:
        """Called by the hub with a private message for this page (its attendee's, or
        the hosts'): after the public events before it; with `close`, the socket closes
        once it is sent (the attendee was removed)."""
        if self.closed_by_us:
            return
        if self.synced_seq is None:
            self.pending.append((None, frame, close))
            return
        self._post(frame)
        if close:
            self._post(_THEN_CLOSE)

    def _post(self, item) -> None:
        self.outbox.append(item)
        if self.writer is None:
            self.writer = start_eagerly(self._write_outbox())

    async def _write_outbox(self) -> None:
        try:
            while self.outbox and not self.closed_by_us:
                item = self.outbox.pop(0)
                if item is _THEN_CLOSE:
                    await self.close(code=CLOSE_CODES[FORBIDDEN])
                    return
                await self.send(text_data=item)
        except OSError:
            pass  # the page went away; its disconnect takes it out of the room
        finally:
            self.writer = None

    async def resync(self) -> None:
        await self.close(code=CLOSE_RESYNC)

    def _leave_room(self) -> None:
        self.hub.leave(self.slug, self)
        for target in self.private_targets:
            self.hub.stop_private(target, self)

    async def disconnect(self, code: int) -> None:
        if self.peers is not None:
            peers, self.peers = self.peers, None
            await peers.close()
        if self.attendee is None:
            return
        self._leave_room()
        closing = (self.attendee, self.presence_lease)
        self.attendee = None
        try:
            await admissions.leave.submit(closing)
        except (OperationalError, RedisError) as error:
            # PostgreSQL out of reach: counted out later, by the presence sweep.
            logger.warning("page of attendee %s closed uncounted for now: %s", closing[0].pk, error)
            services.pages_closed_later([closing])
            return
        counters.mark("audience", closing[0].broadcast_id)

    def joined(self) -> bool:
        """Whether this socket got in (and commands may run)."""
        return self.attendee is not None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined():
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error(None, INVALID, "Send JSON text frames of at most 64 KB.")
            return
        try:
            frame = decode(text_data)
        except BadFrame as error:
            await self._error(None, INVALID, str(error))
            return
        try:
            await self._command(frame)
        except OSError:
            raise  # the page went away (see __call__)
        except Exception:
            # Whatever a frame does, the socket stays and the page hears of it.
            logger.exception("live frame failed")
            await self._error(None, CONFLICT, "Something went wrong on our side; try again.")

    async def _command(self, frame: dict) -> None:
        ref = frame.get("ref")
        if ref is not None and not (isinstance(ref, str | int) and len(str(ref)) <= MAX_REF_CHARS):
            await self._error(None, INVALID, "`ref` must be a short string.")
            return
        kind = frame.get("type")
        command = self.commands.get(kind) if isinstance(kind, str) else None
        if command is None:
            await self._error(ref, INVALID, "Unknown command type.")
            return
        if not self.buckets[command.rate].take():
            await self._error(ref, RATE_LIMITED, "Too many commands; slow down.")
            return
        payload = {key: value for key, value in frame.items() if key not in ("type", "ref")}
        data, errors = command.validate(payload)
        if errors:
            await self._error(ref, INVALID, "Some fields are not right.", details=errors)
            return
        if (command.database or command.batched) and database_outage.refuse_now():
            await self._error(ref, CONFLICT, UNAVAILABLE_MESSAGE)
            return
        try:
            if command.batched:
                result = await batched.submit((self.attendee.pk, command, data))
            elif command.database:
                result = await database_call(self._run)(command, data)
            else:
                result = command.handler(None, data)
            if callable(getattr(result, "run_on_loop", None)):
                # Its second half, on this connection (an SFU's signalling with Janus).
                result = await result.run_on_loop(self)
        except DomainError as error:
            await self._error(ref, error.code, error.message, details=error.details)
            return
        except (OperationalError, RedisError) as error:
            # PostgreSQL or Redis out of reach for now: nothing was done (a command is one
            # transaction), and the page may send it again.
            logger.warning("live command %s could not run now: %s", command.name, error)
            if isinstance(error, OperationalError):
                database_outage.failed()
            await self._error(ref, CONFLICT, UNAVAILABLE_MESSAGE)
            return
        except Exception:
            logger.exception("live command %s failed", command.name)
            await self._error(ref, CONFLICT, "Something went wrong on our side; try again.")
            return
        await self.send(text_data=encode({"type": "ack", "ref": ref, **(result or {})}))

    def media_peers(self):
        """This page's peer connections with the SFU, made on its first signal."""
        if self.peers is None:
            from broadcasts.janus.peers import PagePeers

            self.peers = PagePeers(
                push=lambda frame: self.push_private(encode(frame), False),
                on_published=self._announce_media,
            )
        return self.peers

    def _announce_media(self) -> None:
        # Viewers subscribe to this page's feed now that Janus has it.
        attendee_pk = self.attendee.pk if self.attendee else None
        if attendee_pk is not None:
            asyncio.get_running_loop().create_task(database_call(_media_ready)(attendee_pk))

    def _run(self, command, data: dict) -> dict | None:
        # Fresh from the database: a role may have changed since the page opened.
        attendee = Attendee.objects.select_related("broadcast", "user").get(pk=self.attendee.pk)
        if not command.allows(attendee.role):
            raise Forbidden("You are not allowed to do that here.")
        return command.handler(
            CommandContext(broadcast=attendee.broadcast, attendee=attendee), data
        )

    async def _error(self, ref, code: str, message: str, details=None) -> None:
        frame = {"type": "error", "ref": ref, "code": code, "message": message}
        if details:
            frame["details"] = details
        await self.send(text_data=encode(frame))


def _media_ready(attendee_pk: int) -> None:
    attendee = Attendee.objects.select_related("broadcast").get(pk=attendee_pk)
    with contextlib.suppress(DomainError):  # ended meanwhile: nobody to tell
        media_publisher_ready(broadcast=attendee.broadcast, attendee=attendee)


def run_batch(items: list[tuple[int, Command, dict]]) -> list:
    """Batched commands of many connections: (attendee id, command, data) each."""
    # Fresh from the database: a role may have changed since the page opened.
    attendees = Attendee.objects.select_related("broadcast", "user").in_bulk(
        {attendee_id for attendee_id, _, _ in items}
    )
    outcomes: list = [None] * len(items)
    by_command: dict[str, list[int]] = defaultdict(list)
    for index, (attendee_id, command, _) in enumerate(items):
        attendee = attendees.get(attendee_id)
        if attendee is None or not command.allows(attendee.role):
            outcomes[index] = Forbidden("You are not allowed to do that here.")
        else:
            by_command[command.name].append(index)
    for name, indexes in by_command.items():
        contexts = [
            CommandContext(broadcast=a.broadcast, attendee=a)
            for a in (attendees[items[i][0]] for i in indexes)
        ]
        results = REGISTRY[name].handler(contexts, [items[i][2] for i in indexes])
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = result
    return outcomes


batched = Batcher(run_batch)
