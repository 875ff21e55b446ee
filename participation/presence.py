"""Presence across server processes: who has how many pages open, and where.

`Attendee.connections` counts an attendee's open pages in every process. A process
that dies (kill -9, out of memory, its machine lost) never says its pages closed, so
each process holds a lease it renews (`lease_renew`) and writes, beside each change of
`connections`, how many pages of each attendee it holds (`PagePresence`). A lease not
renewed for PRESENCE_LEASE_SECONDS expires, and any process's sweep
(`leases_expire`) counts that process's pages out: visits end, the audience count
and the stage are right again. A process that was only stalled finds its lease expired
at its next renewal, takes a new one, and has its pages reconnect (their count was
taken out), so nothing is counted twice or lost for good.

The functions that change rows run inside the caller's presence transaction
(services.presence_transaction).
"""

import logging
import threading
import uuid
from collections import Counter
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import PagePresence, ServerLease
from .realtime.jobs import RESYNC

logger = logging.getLogger(__name__)

# An expired lease's row is kept this long after its pages were counted out, for a
# stalled process to find out at its next renewal.
EXPIRED_KEPT = timedelta(days=1)

_lock = threading.Lock()
_key = uuid.uuid4()
_leases_made: set[uuid.UUID] = set()  # the leases this process has written


def lease_key() -> uuid.UUID:
    """The key this process counts its pages under now."""
    with _lock:
        return _key


def pages_opened(pages: Counter) -> uuid.UUID:
    """Record that this process opened `pages` (attendee id -> pages); returns the
    lease they are counted under, for their closing."""
    key = lease_key()
    if key not in _leases_made:
        # Made with the first pages; an expired one is not brought back (lease_renew).
        now = timezone.now()
        ServerLease.objects.bulk_create(
            [ServerLease(key=key, started_at=now, renewed_at=now)], ignore_conflicts=True
        )
        transaction.on_commit(lambda: _leases_made.add(key))
    table = PagePresence._meta.db_table
    rows = ", ".join(["(%s, %s, %s)"] * len(pages))
    params = []
    for attendee_id, count in pages.items():
        params += [key.hex if connection.vendor == "sqlite" else key, attendee_id, count]
    with connection.cursor() as cursor:
        # One statement for a crowd; both PostgreSQL and SQLite speak this upsert.
        cursor.execute(
            f"INSERT INTO {table} (lease_key, attendee_id, pages) VALUES {rows}"  # noqa: S608
            f" ON CONFLICT (lease_key, attendee_id) DO UPDATE SET pages = {table}.pages"
            " + excluded.pages",
            params,
        )
    return key


def pages_closed(key: uuid.UUID, pages: Counter) -> Counter:
    """Take `pages` (attendee id -> pages) off what lease `key` holds; returns the pages
    actually taken, which are those to count out: pages a sweep counted out already
    (their process was taken for dead) are not counted out twice."""
    held = dict(
        PagePresence.objects.select_for_update()
        .filter(lease_key=key, attendee_id__in=list(pages))
        .order_by("pk")
        .values_list("attendee_id", "pages")
    )
    taken = Counter({pk: min(held[pk], pages[pk]) for pk in held})
    closing = PagePresence.objects.filter(lease_key=key)
    emptied = [pk for pk in held if held[pk] == taken[pk]]
    if emptied:
        closing.filter(attendee_id__in=emptied).delete()
    for count in sorted({taken[pk] for pk in held if pk not in emptied}):
        fewer = [pk for pk in held if pk not in emptied and taken[pk] == count]
        closing.filter(attendee_id__in=fewer).update(pages=F("pages") - count)
    return taken


def lease_renew() -> str | None:
    """Renew this process's lease. Answers RESYNC when it had expired (the process was
    stalled past PRESENCE_LEASE_SECONDS and its pages were counted out): it then holds
    a new lease, and its pages must reconnect to be counted again."""
    global _key
    now = timezone.now()
    with _lock:
        key = _key
        renewed = ServerLease.objects.filter(key=key, expired_at=None).update(renewed_at=now)
        if renewed or not ServerLease.objects.filter(key=key).exists():
            return None  # renewed, or no page opened yet under it: nothing to renew
        _key = uuid.uuid4()
    logger.warning("presence lease %s had expired; this process's pages reconnect", key)
    return RESYNC


def expired_pages_take(*, lease_seconds: float, now=None) -> Counter:
    """Expire the leases not renewed for `lease_seconds` and take out the pages they
    hold; returns them (attendee id -> pages), for the caller to count out in the same
    transaction. Safe in several processes at once: each row is taken by one sweep."""
    now = now or timezone.now()
    # Never this process's own: it is running this sweep, so it lives, however late its
    # renewal is (a process too busy to renew on time would count its own pages out).
    ServerLease.objects.filter(
        expired_at=None, renewed_at__lt=now - timedelta(seconds=lease_seconds)
    ).exclude(key=lease_key()).update(expired_at=now)
    rows = list(
        PagePresence.objects.select_for_update(skip_locked=True)
        .filter(lease_key__in=ServerLease.objects.filter(expired_at__isnull=False).values("key"))
        .order_by("pk")
    )
    PagePresence.objects.filter(pk__in=[row.pk for row in rows]).delete()
    taken: Counter = Counter()
    for row in rows:
        taken[row.attendee_id] += row.pages
    if rows:
        logger.warning(
            "presence: %s pages of %s attendees counted out (their server stopped)",
            sum(taken.values()),
            len(taken),
        )
    ServerLease.objects.filter(expired_at__lt=now - EXPIRED_KEPT).exclude(
        key__in=PagePresence.objects.values("lease_key")
    ).delete()
    return taken
