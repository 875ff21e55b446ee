"""Live connections that open together are admitted together (see `realtime.batching`): who
they are, then their presence and first frames, in a few queries for a crowd; those
that close together leave together."""

import uuid
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser

from . import services
from .models import Attendee
from .realtime.batching import Batcher
from .realtime.bus import Position, bus
from .realtime.frames import encode
from .snapshots import snapshots_for_connections


@dataclass(frozen=True)
class Arrival:
    """A live connection as it opens: its broadcast's slug and its credentials, the
    Django session's key (people signed in) or the guest key of the watch page's cookie
    or of the embedded widget's token (`embedded`)."""

    slug: str
    session_key: str | None
    guest_key: uuid.UUID | None
    embedded: bool = False
    address: str | None = None


def attendees_arriving(arrivals: list[Arrival]) -> list:
    """Who each arriving connection is (see `services.attendees_for_connections`).
    A session is read only when there is one: guests, nearly everyone, cost nothing
    here. (Channels' authentication middleware looks up a user for every socket, one
    at a time, in the database thread.)"""
    requests = [
        services.ConnectionRequest(
            slug=arrival.slug,
            user=user_of_session(arrival.session_key) if arrival.session_key else AnonymousUser(),
            guest_key=arrival.guest_key,
            embedded=arrival.embedded,
            address=arrival.address,
        )
        for arrival in arrivals
    ]
    return services.attendees_for_connections(requests)


def user_of_session(session_key: str):
    """The user signed in with this session, as Django's authentication has it for a
    request (its backend, and the session's hash of the password), or AnonymousUser."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return auth.get_user(SimpleNamespace(session=store))


identify = Batcher(attendees_arriving)


@dataclass(frozen=True)
class Entry:
    """A connection that has joined its broadcast's room and wants its first frames."""

    slug: str
    attendee: Attendee
    # Where the page left off, when it reconnects (the protocol's ?epoch=&since=).
    epoch: str | None = None
    since: int | None = None


def first_frames(entries: list[Entry]) -> list[tuple[list[str], int, uuid.UUID]]:
    """Count the connections in, then each one's first frames and stream position:
    the events it missed when it can replay them, else a snapshot; and the presence
    lease they are counted under, which their closing names."""
    lease = services.attendees_connected(attendees=[entry.attendee for entry in entries])
    # Read after every connection of the batch joined its room: any event numbered
    # after this position reaches them all through the hub.
    positions: dict[tuple, Position] = {}
    chosen = []
    for entry in entries:
        # Pages that resume ask for their own replay; the others share one read.
        key = (entry.slug, entry.epoch, entry.since) if entry.since is not None else (entry.slug,)
        if key not in positions:
            positions[key] = bus().position(entry.slug, epoch=entry.epoch, since=entry.since)
        chosen.append(positions[key])
    fresh = [i for i, position in enumerate(chosen) if position.missed is None]
    snapshots = snapshots_for_connections(
        [(entries[i].attendee, chosen[i].epoch, chosen[i].seq) for i in fresh]
    )
    frames = [(p.missed or [], p.seq, lease) for p in chosen]
    for i, snapshot in zip(fresh, snapshots, strict=True):
        frames[i] = ([encode(snapshot)], chosen[i].seq, lease)
    return frames


enter = Batcher(first_frames)


# When a broadcast ends, every page closes within a second or two.
leave = Batcher(services.pages_closed)
