from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from hypothesis.configuration import set_hypothesis_home_dir

from broadcasts import services
from participation.services import attendee_for_user
from tests import workers
from tests.factories import BroadcastFactory, GuestFactory, UserFactory, in_group

# Tests of the Redis paths use the suite's Redis when it runs on one, or a local one;
# parallel workers each get a Redis of their own (tests/workers.py).
REDIS_URL = workers.isolate()

# The file-based SQLite test database (see settings) lives in var/; WhiteNoise warns
# (an error here) when the collected static folder is missing.
(settings.BASE_DIR / "var").mkdir(exist_ok=True)
settings.STATIC_ROOT.mkdir(exist_ok=True)
# Hypothesis (the live sockets' fuzzer, schemathesis) keeps its caches in var/ too, not
# in the work tree's root; its example database is off (tests/participation/fuzz_frames.py).
set_hypothesis_home_dir(settings.BASE_DIR / "var" / "hypothesis")


@pytest.fixture
def host(db):
    return UserFactory(username="host-user", first_name="Hana", last_name="Host")


@pytest.fixture
def viewer_user(db):
    return UserFactory(username="viewer-user", first_name="Vic", last_name="Viewer")


@pytest.fixture
def moderator(db):
    """Mo Derator, staff in the Moderators group. In the database the migrations made, the
    group has every permission they grant it (the admin tests rely on them); where a
    transactional test before has flushed it, it is made again with moderate_broadcast
    only, which the live dashboard needs."""
    return in_group(
        UserFactory(username="mod", first_name="Mo", last_name="Derator", is_staff=True),
        "Moderators",
        "broadcasts.moderate_broadcast",
    )


@pytest.fixture
def scheduled_broadcast(host):
    broadcast = BroadcastFactory(host=host, slug="spring-launch", title="Spring launch")
    return services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=1)
    )


@pytest.fixture
def live_broadcast(scheduled_broadcast, host):
    return services.broadcast_start(broadcast=scheduled_broadcast, by=host)


# The people of the live broadcast that tests share.
@pytest.fixture
def ann(live_broadcast):
    """A guest watching the live broadcast, as "Ann"."""
    return GuestFactory(broadcast=live_broadcast, display_name="Ann")


@pytest.fixture
def ben(live_broadcast):
    """Another guest watching it, as "Ben" (made after Ann when a test takes both)."""
    return GuestFactory(broadcast=live_broadcast, display_name="Ben")


@pytest.fixture
def guests(ann, ben):
    """Ann and Ben, in that order, for tests that unpack `ann, ben = guests`."""
    return [ann, ben]


@pytest.fixture
def host_attendee(live_broadcast, host):
    """The host's own attendee of the live broadcast (what their console joins as)."""
    return attendee_for_user(broadcast=live_broadcast, user=host)


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    finally:
        client.close()  # an open socket left to the garbage collector is an error here
    return REDIS_URL


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Per-attendee rate limits live in the cache; ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def database_reachable():
    """A test that makes the database fail leaves no outage behind (core/outage.py)."""
    yield
    from core.outage import database_outage

    database_outage.recovered()


@pytest.fixture(autouse=True)
def fresh_live_caches():
    """Counters of a broadcast are published at most so often, and viewers' snapshots
    share a read of the broadcast for a moment: ids repeat between tests."""
    from participation.realtime import bus, names
    from participation.snapshots import shared_snapshots

    shared_snapshots.clear()
    live_bus = bus.bus()
    if isinstance(live_bus, bus.MemoryEventBus):
        live_bus.forget_sections()
    else:
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(names.LOCK_PREFIX + "*"):
            client.delete(key)
        client.close()
    yield


@pytest.fixture(autouse=True)
def private_exports(settings, tmp_path):
    """Lead export files and uploads of a test go to its own folder, never the project's
    var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORTS_ROOT = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports"), "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def celery_in_process(settings):
    """Tasks run in the test's process, on commit, whatever the broker: the services
    profile proves the real worker in tests that start one (tests/leads/test_worker.py)."""
    from config.celery import app

    saved = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def fresh_page_reads():
    """Pages read a broadcast at most once a second per process: ids and slugs repeat
    between tests."""
    from broadcasts.selectors import page_broadcasts

    page_broadcasts.forget()
    yield


def pytest_collection_modifyitems(items):
    # Parallel workers run these on one of them, one after another: the tests that need
    # Janus's media address (a veth that the first to need it makes and removes,
    # tests/janus.py), and the benchmarks' smoke runs, which load both cores and would
    # starve the video of a test beside them.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            {"janus", "turn_url"} & set(item.fixturenames)
            or (callspec and callspec.params.get("backend") == "janus")
            or item.get_closest_marker("media_address")
            or "tests/bench/" in item.nodeid
        ):
            item.add_marker(pytest.mark.xdist_group("one-at-a-time"))
