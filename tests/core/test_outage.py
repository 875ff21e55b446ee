"""PostgreSQL out of reach is said at once (core/outage.py)."""

import time

import pytest

from core import outage
from core.outage import DatabaseOutage


@pytest.fixture
def pooled(monkeypatch):
    monkeypatch.setattr(outage, "_pooled_postgresql", lambda: True)


def test_after_a_failure_callers_are_refused_at_once_until_a_connection_comes(pooled, monkeypatch):
    probes = []
    monkeypatch.setattr(DatabaseOutage, "_probe", lambda self: probes.append(self))
    monkeypatch.setattr(outage, "PAUSE_SECONDS", 0.05)
    seen = DatabaseOutage()
    assert not seen.refuse_now()
    seen.failed()
    assert seen.refuse_now() and probes == []  # within the pause: nobody tries
    time.sleep(0.06)
    assert seen.refuse_now() and len(probes) == 1  # our probe tries, callers still refused
    assert seen.refuse_now() and len(probes) == 1  # one probe at a time
    seen.recovered()
    assert not seen.refuse_now()


def test_a_connection_obtained_anywhere_ends_the_outage(pooled):
    from django.db import connection
    from django.db.backends.signals import connection_created

    outage.database_outage.failed()
    try:
        connection_created.send(sender=type(connection), connection=connection)
        assert not outage.database_outage.refuse_now()
    finally:
        outage.database_outage.recovered()


def test_sqlite_being_busy_is_no_outage(monkeypatch):
    monkeypatch.setattr(outage, "_pooled_postgresql", lambda: False)
    seen = DatabaseOutage()
    seen.failed()  # "database is locked" and the like
    assert not seen.refuse_now()
