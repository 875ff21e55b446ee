"""PostgreSQL out of reach: said at once, not after a wait.

While PostgreSQL is down, every request for a pooled connection waits the pool's
timeout (PRIMETIME_DB_POOL_TIMEOUT, 10 s) before it fails, and the live path's calls
wait one after the other in the one database thread: a page's command would hang for a
minute behind the others. So after a failure the edges (pages, live commands, new live
connections) answer "unavailable" at once, while a probe of ours tries again every
second; the first connection obtained (by it, the pool or anyone) ends it.

The refusal is asked at the edges (the page middleware, the live consumer's connect and
command dispatch), not in the database layer: only an edge knows how to say it (a 503
page, a close 1013 with a retry, an `error` frame with the command's ref), and only an
edge can refuse before any work starts. A refusal deep in a service would surface as an
OperationalError in the middle of it, which the edges turn into the same answers, only
later.
"""

import logging
import threading
import time

from django.conf import settings
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

# After a failure, how long everyone is refused before one caller tries again.
PAUSE_SECONDS = 1.0


class DatabaseOutage:
    def __init__(self):
        self._lock = threading.Lock()
        self._down = False
        self._until = 0.0
        self._probing = False

    def failed(self) -> None:
        """A caller could not reach the database (an OperationalError)."""
        if not _pooled_postgresql():  # SQLite's "database is locked" is no outage
            return
        with self._lock:
            if not self._down:
                logger.warning("PostgreSQL is out of reach: pages and live commands say so")
            self._down = True
            self._until = time.monotonic() + PAUSE_SECONDS

    def recovered(self, **signal_kwargs) -> None:
        with self._lock:
            if self._down:
                logger.warning("PostgreSQL is back")
            self._down = False

    def refuse_now(self) -> bool:
        """Whether to answer "unavailable" without trying: while PostgreSQL is out of
        reach. A probe of our own, once a pause has passed, finds out when it is back,
        so that no caller waits the pool's timeout to learn it."""
        with self._lock:
            if not self._down:
                return False
            if not self._probing and time.monotonic() >= self._until:
                self._probing = True
                threading.Thread(target=self._probe, name="database-probe", daemon=True).start()
            return True

    def _probe(self) -> None:
        from django.db import connection  # this thread's own, from the pool

        try:
            connection.ensure_connection()
        except Exception:
            self.failed()
        else:
            self.recovered()
        finally:
            connection.close()
            with self._lock:
                self._probing = False


def _pooled_postgresql() -> bool:
    database = settings.DATABASES["default"]
    return database["ENGINE"].endswith("postgresql") and "pool" in database.get("OPTIONS", {})


database_outage = DatabaseOutage()
# Any connection obtained, by any thread of the process, means it is reachable again.
connection_created.connect(database_outage.recovered, dispatch_uid="core.outage")
