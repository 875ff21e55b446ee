from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from broadcasts import services
from tests.factories import BroadcastFactory, UserFactory

# The file-based SQLite test database (see settings) lives in var/; WhiteNoise warns
# (an error here) when the collected static folder is missing.
(settings.BASE_DIR / "var").mkdir(exist_ok=True)
settings.STATIC_ROOT.mkdir(exist_ok=True)


@pytest.fixture
def host(db):
    return UserFactory(username="host-user", first_name="Hana", last_name="Host")


@pytest.fixture
def viewer_user(db):
    return UserFactory(username="viewer-user", first_name="Vic", last_name="Viewer")


@pytest.fixture
def scheduled_broadcast(host):
    broadcast = BroadcastFactory(host=host, slug="spring-launch", title="Spring launch")
    return services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=1)
    )


@pytest.fixture
def live_broadcast(scheduled_broadcast, host):
    return services.broadcast_start(broadcast=scheduled_broadcast, by=host)
