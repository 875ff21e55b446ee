"""The services profile: a real Celery worker on Redis writes the post-session export."""

import csv
import os
import signal
import time

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from broadcasts import services
from config.celery import app
from leads.capture import lead_capture
from leads.exports import export_run
from leads.models import LeadExport
from leads.tasks import export_leads
from tests.e2e.helpers import wait_for
from tests.factories import GuestFactory
from tests.servers import running_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def celery_on_redis(redis_url, settings):
    """This test process sends tasks to Redis, as a production server would."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    _forget_connections()
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    try:
        yield redis_url
    finally:
        _forget_connections()
        app.conf.update(saved)


def _forget_connections():
    # The app keeps the pools of the broker it first used: let go of them, so the next
    # message goes to the broker configured now (kombu keeps each pool for reuse).
    app._pool = None
    app.amqp._producer_pool = None


def test_a_broadcast_ends_and_the_worker_exports_its_leads(
    celery_on_redis, live_broadcast, host, settings
):
    settings.POST_SESSION_EXPORT_DELAY_SECONDS = 0
    for number in range(3):
        guest = GuestFactory(broadcast=live_broadcast, display_name=f"Guest {number}")
        lead_capture(
            broadcast=live_broadcast,
            attendee=guest,
            data={"name": f"Person {number}", "email": f"p{number}@example.com", "consent": "on"},
        )
    exports_dir = settings.STORAGES["exports"]["OPTIONS"]["location"]
    with running_worker(REDIS_URL=celery_on_redis, PRIMETIME_EXPORTS_DIR=exports_dir):
        services.broadcast_end(broadcast=live_broadcast, by=host)
        export = LeadExport.objects.get(broadcast=live_broadcast, post_session=True)
        wait_for(lambda: LeadExport.objects.get(pk=export.pk).state == "done", timeout=60)
    export.refresh_from_db()
    assert export.rows_written == 3
    with storages["exports"].open(export.file.name, "r") as handle:
        rows = list(csv.DictReader(handle.read().lstrip("\ufeff").splitlines()))
    assert sorted(row["email"] for row in rows) == [
        "p0@example.com",
        "p1@example.com",
        "p2@example.com",
    ]
    assert {row["broadcast_slug"] for row in rows} == {live_broadcast.slug}


def fill_leads(broadcast, rows: int) -> None:
    """`rows` leads in one statement (PostgreSQL and SQLite both take a recursive CTE)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_lead
              (broadcast_id, attendee_id, name, email, phone, company, consent_given,
               consent_text, consented_at, created_at, updated_at)
            WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
            SELECT %s, NULL, 'Person ' || n, 'person' || n || '@example.com', '', '', %s,
                   'Yes, contact me.', %s, %s, %s
            FROM g
            """,
            [rows, broadcast.pk, True, now, now, now],
        )


def test_an_export_whose_worker_is_killed_finishes_once_after_a_restart(
    celery_on_redis, live_broadcast, settings
):
    """kill -9 of the worker mid-export: its heart stops, the restarted worker's sweep
    queues it again, and it is written once, whole; the dead run's partial file goes."""
    rows = 300_000 if connection.vendor == "postgresql" else 30_000
    fill_leads(live_broadcast, rows)
    exports_dir = settings.STORAGES["exports"]["OPTIONS"]["location"]
    worker_env = {
        "REDIS_URL": celery_on_redis,
        "PRIMETIME_EXPORTS_DIR": exports_dir,
        "PRIMETIME_EXPORT_STALL_SECONDS": "5",
    }
    export = LeadExport.objects.create(broadcast=live_broadcast)
    with running_worker(**worker_env) as first:
        export_leads.delay(export.pk)
        deadline = time.monotonic() + 60
        while LeadExport.objects.get(pk=export.pk).state != "running":  # closely: it is quick
            assert time.monotonic() < deadline, "the export never started"
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    killed = LeadExport.objects.get(pk=export.pk)
    assert (killed.state, killed.attempt) == ("running", 1)  # killed mid-way, not done

    started = time.monotonic()
    with running_worker(**worker_env):
        wait_for(lambda: LeadExport.objects.get(pk=export.pk).state == "done", timeout=90)
    recovered_in = time.monotonic() - started
    export.refresh_from_db()
    assert (export.rows_written, export.attempt) == (rows, 2)
    with storages["exports"].open(export.file.name, "r") as handle:
        emails = [
            row["email"] for row in csv.DictReader(handle.read().lstrip("\ufeff").splitlines())
        ]
    assert len(emails) == len(set(emails)) == rows
    assert storages["exports"].listdir("leads")[1] == [f"export-{export.pk}.csv"]
    # The message the dead worker held comes back (after Redis's visibility timeout) to
    # an export that is done: it is left as it is.
    export_run(export_id=export.pk)
    assert LeadExport.objects.get(pk=export.pk).attempt == 2
    print(f"{rows:,} leads: export recovered {recovered_in:.1f} s after the restart")
