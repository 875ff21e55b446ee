"""Row locks: taken inside a transaction only, served in turn, and bounded in time."""

import threading

import pytest
from django.db import connection, connections, transaction

from broadcasts.models import Broadcast
from broadcasts.services import lock_broadcast
from core.errors import NotFound
from core.locks import Busy, lock_row

pytestmark = pytest.mark.django_db(transaction=True)


class Holder(threading.Thread):
    """Another request: locks the broadcast on its own connection, renames it, and
    holds the lock until told to commit."""

    def __init__(self, broadcast_id: int):
        super().__init__(daemon=True)
        self.broadcast_id = broadcast_id
        self.locked = threading.Event()
        self.release = threading.Event()

    def run(self):
        try:
            with transaction.atomic():
                broadcast = lock_broadcast(self.broadcast_id)
                Broadcast.objects.filter(pk=broadcast.pk).update(title="Renamed by the holder")
                self.locked.set()
                self.release.wait(30)
        finally:
            connections.close_all()


def test_a_lock_outside_a_transaction_is_refused(live_broadcast):
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        lock_row(Broadcast.objects, pk=live_broadcast.pk)


def test_a_missing_row_is_none_and_a_missing_broadcast_not_found(db):
    with transaction.atomic():
        assert lock_row(Broadcast.objects, pk=999_999) is None
        with pytest.raises(NotFound):
            lock_broadcast(999_999)


def test_a_second_locker_waits_its_turn_and_sees_the_first_ones_change(live_broadcast):
    holder = Holder(live_broadcast.pk)
    holder.start()
    assert holder.locked.wait(10)
    got = {}

    def second():
        try:
            with transaction.atomic():
                got["title"] = lock_broadcast(live_broadcast.pk).title
        finally:
            connections.close_all()

    waiter = threading.Thread(target=second, daemon=True)
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive(), "the second locker went ahead of the first"
    holder.release.set()
    holder.join(10)
    waiter.join(10)
    assert got == {"title": "Renamed by the holder"}


def test_a_lock_held_too_long_elsewhere_gives_up_instead_of_queueing(live_broadcast, settings):
    if connection.vendor != "postgresql":
        # SQLite serialises writers at BEGIN IMMEDIATE and waits up to the connection's
        # busy timeout (settings: OPTIONS timeout), the same bound in its own place.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20_000
        return
    settings.LOCK_TIMEOUT_SECONDS = 1
    holder = Holder(live_broadcast.pk)
    holder.start()
    try:
        assert holder.locked.wait(10)
        with pytest.raises(Busy) as busy, transaction.atomic():
            lock_broadcast(live_broadcast.pk)
        assert busy.value.code == "conflict"
    finally:
        holder.release.set()
        holder.join(10)
    live_broadcast.refresh_from_db()
    assert live_broadcast.title == "Renamed by the holder"
