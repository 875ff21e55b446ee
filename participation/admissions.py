"""Live connections that open together are admitted together (see `batching`): who
they are, then their presence and first frames, in a few queries for a crowd; those
that close together leave together."""

from dataclasses import dataclass

from . import services
from .batching import Batcher
from .fanout import Position, bus, encode
from .models import Attendee
from .selectors import snapshots_for_connections

identify = Batcher(services.attendees_for_connections)


@dataclass(frozen=True)
class Entry:
    """A connection that has joined its broadcast's room and wants its first frames."""

    slug: str
    attendee: Attendee
    # Where the page left off, when it reconnects (the protocol's ?epoch=&since=).
    epoch: str | None = None
    since: int | None = None


def first_frames(entries: list[Entry]) -> list[tuple[list[str], int]]:
    """Count the connections in, then each one's first frames and stream position:
    the events it missed when it can replay them, else a snapshot."""
    services.attendees_connected(attendees=[entry.attendee for entry in entries])
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
    frames: list[tuple[list[str], int]] = [(p.missed or [], p.seq) for p in chosen]
    for i, snapshot in zip(fresh, snapshots, strict=True):
        frames[i] = ([encode(snapshot)], chosen[i].seq)
    return frames


enter = Batcher(first_frames)


# When a broadcast ends, every page closes within a second or two.
leave = Batcher(services.attendees_disconnected)
