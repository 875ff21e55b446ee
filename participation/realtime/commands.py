"""The command registry of every live socket.

Each app's `live.py` registers the commands it handles, with the audience that may send
them (attendees on the live socket, moderators on the admin's dashboard socket), the
roles a sender needs, and the serializer that validates the frame's fields. Both
sockets dispatch through the same guarded path (`LiveConsumer.receive`). Roles are the
domain's words: here they are only strings to compare.
"""

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import serializers

from .compat import unbind

# Who sends a command: an attendee (on the live socket), or a moderator on the dashboard
# socket, who is a staff user and not in the audience.
ATTENDEES = "attendees"
MODERATORS = "moderators"

# `handler(context, data)`: the context is the consumer's (participation/context.py).
Handler = Callable[..., dict | None]


class NoFields(serializers.Serializer):
    """For commands that carry nothing but their type and ref."""


# Row ids are 64-bit integers in every database we run on.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """A row's id in a frame (a person, a question): a positive 64-bit integer. A larger
    number names nothing, and a database driver cannot even send it (SQLite's raises
    OverflowError, PostgreSQL answers out of range)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("error_messages", {"max_value": "There is no such id."})
        super().__init__(**kwargs)


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

    def allows(self, role: str) -> bool:
        """Whether a sender with `role` may send this command."""
        return self.roles is None or role in self.roles

    def validate(self, payload: dict) -> tuple[dict, None] | tuple[None, dict]:
        """The frame's fields: `(validated data, None)`, or `(None, errors by field)`."""
        fields = self.fields(data=payload)
        if fields.is_valid():
            outcome = (fields.validated_data, None)
        else:
            outcome = (None, dict(fields.errors))
        unbind(fields)
        return outcome


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
