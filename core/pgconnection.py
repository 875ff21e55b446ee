"""The PostgreSQL connection pool's connections, and how it reconnects.

A failed connection attempt marks PostgreSQL out of reach at once (core/outage.py):
the pool's own workers make the connections, and the callers waiting for one would
hear nothing until the pool's timeout.

psycopg_pool retries a failed connection after 1, 2, 4, 8… seconds, without bound
(until its reconnect_timeout, 5 minutes): after a minute's outage it would wait about
another minute before trying again, and every page would answer 503 meanwhile. It
has no setting for this, so its backoff is set here to a steady second: a refused
attempt costs PostgreSQL nothing.
"""

import psycopg
from psycopg_pool.base import AttemptWithBackoff

AttemptWithBackoff.DELAY_BACKOFF = 1.0


class OutageNoticingConnection(psycopg.Connection):
    @classmethod
    def connect(cls, *args, **kwargs):
        from core.outage import database_outage

        try:
            connection = super().connect(*args, **kwargs)
        except psycopg.OperationalError:
            database_outage.failed()
            raise
        database_outage.recovered()
        return connection
