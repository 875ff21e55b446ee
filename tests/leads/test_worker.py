"""The services profile: a real Celery worker on Redis writes the post-session export."""

import csv

import pytest
from django.core.files.storage import storages

from broadcasts import services
from config.celery import app
from leads.capture import lead_capture
from leads.models import LeadExport
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
