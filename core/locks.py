"""Row locks that order concurrent changes, and never wait for ever."""

from django.conf import settings
from django.db import DatabaseError, models, transaction

from .errors import Conflict


class Busy(Conflict):
    """A row another request holds too long: answered like any conflict (409, `conflict`)."""


def lock_row(queryset: models.QuerySet, **lookup) -> models.Model | None:
    """The row, locked until the end of the current transaction, or None if there is no
    such row. Outside a transaction the lock would end at once, which is a bug: refused.

    On PostgreSQL a lock held elsewhere for longer than LOCK_TIMEOUT_SECONDS gives up
    with Busy instead of queueing every request behind it; SQLite serialises writers
    itself and waits up to its connection's `timeout`.
    """
    connection = transaction.get_connection(queryset.db)
    if not connection.in_atomic_block:
        raise RuntimeError("lock_row() must run inside transaction.atomic().")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # is_local=true: like SET LOCAL, it ends with the transaction.
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{int(settings.LOCK_TIMEOUT_SECONDS * 1000)}ms"],
            )
    try:
        with transaction.atomic(using=queryset.db):
            return queryset.select_for_update().filter(**lookup).first()
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise Busy("Someone else is changing this right now. Try again.") from error
        raise
