"""The command registry of every live socket.

Each app's `live.py` registers the commands it handles, with the audience that may send
them (attendees on the live socket, moderators on the admin's dashboard socket), the
role an attendee needs, and the serializer that validates the frame's fields. Both
sockets dispatch through the same guarded path (`LiveConsumer.receive`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import serializers

from broadcasts.models import Broadcast

from .models import Attendee, Role

# Who sends a command: an attendee (on the live socket), or a moderator on the dashboard
# socket, who is a staff user and not in the audience.
ATTENDEES = "attendees"
MODERATORS = "moderators"


@dataclass(frozen=True)
class CommandContext:
    broadcast: Broadcast
    attendee: Attendee | None = None  # for attendees' commands
    moderator: AbstractBaseUser | None = None  # for moderators' commands

    @property
    def by(self) -> AbstractBaseUser:
        """The user a moderation move is recorded against: the moderator, or the host."""
        return self.moderator if self.moderator is not None else self.attendee.user


Handler = Callable[..., dict | None]


class NoFields(serializers.Serializer):
    """For commands that carry nothing but their type and ref."""


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    roles: frozenset[str] | None  # None: anyone in the broadcast
    fields: type[serializers.Serializer]
    rate: str  # which of the connection's rate limits it draws on: "command" or "signal"
    # False for commands answered from the connection alone (the heartbeat): no worker
    # thread, no query, however many thousands of pages send them.
    database: bool = True
    # True for commands a crowd sends at once (a like storm): the handler takes lists,
    # `handler(contexts, datas)`, and answers each with a result or a DomainError, so
    # that the commands of many connections share their queries and one commit.
    batched: bool = False

    def allows(self, attendee: Attendee) -> bool:
        return self.roles is None or attendee.role in self.roles

    def validate(self, payload: dict) -> tuple[dict, None] | tuple[None, dict]:
        """The frame's fields: `(validated data, None)`, or `(None, errors by field)`."""
        fields = self.fields(data=payload)
        if fields.is_valid():
            outcome = (fields.validated_data, None)
        else:
            outcome = (None, dict(fields.errors))
        _unbind(fields)
        return outcome


def _unbind(field: serializers.Field) -> None:
    # A serializer and its bound fields point at each other (`fields`, `parent`), so every
    # frame it validated would wait for the cyclic garbage collector. Thousands of pages
    # pinging made that a collection of ~25,000 objects every half minute, a pause each
    # viewer felt as fan-out latency (docs/benchmarks.md). Unlinked, a frame's objects go
    # as soon as the frame is answered.
    children = list(field.__dict__.pop("fields", {}).values())
    if isinstance(field.__dict__.get("child"), serializers.Field):
        children.append(field.__dict__["child"])
    for child in children:
        _unbind(child)
        child.parent = None


REGISTRIES: dict[str, dict[str, Command]] = {ATTENDEES: {}, MODERATORS: {}}
REGISTRY = REGISTRIES[ATTENDEES]


def live_command(
    name: str,
    *,
    roles: set[str] | None = None,
    fields: type[serializers.Serializer] = NoFields,
    rate: str = "command",
    database: bool = True,
    batched: bool = False,
    audience: str = ATTENDEES,
) -> Callable[[Handler], Handler]:
    """Register `handler(context, data)` for the command `name` sent by `audience`.

    The handler runs in a worker thread with validated `data`; it calls a service
    and may return extra fields for the `ack`. Domain errors become `error` frames.
    With `database=False` it runs on the event loop with no context (`None`); with
    `batched=True`, for many connections at once (see `Command.batched`).
    """

    registry = REGISTRIES[audience]
    if audience == MODERATORS and (roles or batched):
        raise ValueError("moderators have no role in the audience, and are few: no batches")

    def register(handler: Handler) -> Handler:
        if name in registry:
            raise RuntimeError(f"live command {name!r} registered twice")
        registry[name] = Command(
            name=name,
            handler=handler,
            roles=frozenset(roles) if roles else None,
            fields=fields,
            rate=rate,
            database=database,
            batched=batched,
        )
        return handler

    return register


HOSTS = {Role.HOST}
STAGE = {Role.HOST, Role.SPEAKER}
