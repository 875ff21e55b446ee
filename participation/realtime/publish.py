"""Sending live events: public ones after the commit (DESIGN section 2's rule), and
private ones to one attendee's pages or to a broadcast's hosts."""

from django.db import transaction

from . import names
from .bus import bus
from .frames import encode


def publish_on_commit(slug: str, payload: dict) -> None:
    """Publish a public event of a broadcast once the current transaction commits."""
    transaction.on_commit(lambda: bus().publish(slug, payload), robust=True)


def send_private(attendee_id: int, payload: dict, *, then_close: bool = False) -> None:
    """Send an event to one attendee's open pages only; with `then_close`, their sockets
    close after it (they were removed)."""
    bus().send_private(names.ATTENDEE, attendee_id, encode(payload), close=then_close)


def send_to_hosts(broadcast_id: int, payload: dict) -> None:
    """Send an event to the open host consoles of a broadcast (hosts and co-hosts) and
    its moderators' dashboards."""
    bus().send_private(names.HOSTS, broadcast_id, encode(payload), close=False)


def send_to_hosts_on_commit(broadcast_id: int, payload: dict) -> None:
    transaction.on_commit(lambda: send_to_hosts(broadcast_id, payload), robust=True)


def send_private_on_commit(attendee_id: int, payload: dict, *, then_close: bool = False) -> None:
    transaction.on_commit(
        lambda: send_private(attendee_id, payload, then_close=then_close), robust=True
    )
