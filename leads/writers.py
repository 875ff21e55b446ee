"""The CSV file of a lead export: one COPY on PostgreSQL, keyset pages of rows elsewhere.
Progress goes to a callback of the caller's; this module does not know who is told."""

import contextlib
import csv
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone

from participation.activity import ACTIVITY_FIELDS, activity_sql, attendees_activity

from .models import LeadExport

logger = logging.getLogger(__name__)

CSV_HEADER = [
    "broadcast",
    "broadcast_slug",
    "captured_at",
    "name",
    "email",
    "phone",
    "company",
    "consent",
    "consent_text",
    "consented_at",
    *ACTIVITY_FIELDS,
]

# Timestamps in UTC, the same text whichever way the file is written.
TIMESTAMP_SQL = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
# A cell a spreadsheet would run as a formula is kept as text (see `_cell`).
TEXT_SQL = r"""CASE WHEN {0} ~ '^[-=+@\t\r]' THEN '''' || {0} ELSE {0} END"""

Announce = Callable[[LeadExport], None]


def write_csv(export: LeadExport, leads, path: str, *, chunk_size: int, announce: Announce) -> int:
    """Write the export's leads to `path` and return the number of rows. `announce` is
    called with the export, its rows_written updated, at most twice a second."""
    if connection.vendor == "postgresql":
        return _write_csv_copy(export, path, announce)
    return _write_csv_rows(export, leads, path, chunk_size, announce)


def export_range(export: LeadExport) -> tuple[datetime, datetime]:
    """The moments a date-range export covers: from the first day's midnight to the
    midnight after the last day."""
    start = timezone.make_aware(datetime.combine(export.date_from, datetime.min.time()))
    end = timezone.make_aware(
        datetime.combine(export.date_to + timedelta(days=1), datetime.min.time())
    )
    return start, end


class Superseded(Exception):
    """The export's run was taken over by a newer one (`attempt`): this one stops."""


class Heartbeat(threading.Thread):
    """The run's heartbeat on a timer, through a connection of its own: a COPY may go
    long without a row (PostgreSQL sorts before it sends), and a run that shows no sign
    of life for EXPORT_STALL_SECONDS is taken over. It stops when a newer run took the
    export (`superseded`), and the progress reports then stop the run."""

    def __init__(self, export: LeadExport):
        super().__init__(name=f"export-{export.pk}-heartbeat", daemon=True)
        self.export_id = export.pk
        self.attempt = export.attempt
        self.every = settings.EXPORT_STALL_SECONDS / 4
        self.stopping = threading.Event()
        self.superseded = threading.Event()

    def run(self) -> None:
        # Django connections belong to their thread: this one is opened and closed here.
        own = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            while not self.stopping.wait(self.every):
                try:
                    with own.cursor() as cursor:
                        cursor.execute(
                            "UPDATE leads_leadexport SET heartbeat_at = %s"
                            " WHERE id = %s AND attempt = %s",
                            [timezone.now(), self.export_id, self.attempt],
                        )
                        beat = cursor.rowcount
                except DatabaseError:
                    # The run itself fails or goes on; the next beat may get through.
                    logger.warning("export %s: heartbeat missed", self.export_id, exc_info=True)
                    own.close()
                    continue
                if not beat:
                    self.superseded.set()
                    return
        finally:
            own.close()

    def __enter__(self) -> "Heartbeat":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.join()


class Progress:
    """Rows written so far, saved and shown at most twice a second. It writes through a
    connection of its own when the export's is busy streaming a COPY (and a Heartbeat
    then keeps the run alive between rows); otherwise each page's report is the run's
    heartbeat, a page being one short query."""

    def __init__(
        self, export: LeadExport, *, announce: Announce, heartbeat: Heartbeat | None = None
    ):
        self.export = export
        self.last = time.monotonic()
        self.heartbeat = heartbeat
        self.announce = announce
        self.connection = None

    def report(self, rows: int) -> None:
        """Save the rows written so far (with the heartbeat, where no Heartbeat runs);
        raise Superseded when a newer run took the export over (this run's worker was
        thought dead)."""
        if self.heartbeat is not None and self.heartbeat.superseded.is_set():
            raise Superseded(self.export.pk)
        if time.monotonic() - self.last < 0.5:
            return
        self.last = time.monotonic()
        self.export.rows_written = min(rows, self.export.rows_total or rows)
        if self.heartbeat is None:
            updated = LeadExport.objects.filter(
                pk=self.export.pk, attempt=self.export.attempt
            ).update(rows_written=self.export.rows_written, heartbeat_at=timezone.now())
        else:
            if self.connection is None:
                self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE leads_leadexport SET rows_written = %s WHERE id = %s AND attempt = %s",
                    [self.export.rows_written, self.export.pk, self.export.attempt],
                )
                updated = cursor.rowcount
        if not updated:
            raise Superseded(self.export.pk)
        self.announce(self.export)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _write_csv_copy(export: LeadExport, path: str, announce: Announce) -> int:
    """PostgreSQL: one COPY streams the rows, activity joined in SQL, straight to the
    file; progress is read off the stream (line ends) as it goes."""
    activity, joins = activity_sql("l.attendee_id")
    columns = [
        TEXT_SQL.format("b.title"),
        "b.slug",
        TIMESTAMP_SQL.format("l.created_at"),
        TEXT_SQL.format("l.name"),
        TEXT_SQL.format("l.email"),
        "l.phone",
        TEXT_SQL.format("l.company"),
        "CASE WHEN l.consent_given THEN 'yes' ELSE 'no' END",
        TEXT_SQL.format("l.consent_text"),
        TIMESTAMP_SQL.format("l.consented_at"),
        *activity,
    ]
    select = ", ".join(f'{sql} AS "{name}"' for sql, name in zip(columns, CSV_HEADER, strict=True))
    if export.broadcast_id:
        where, params = "l.broadcast_id = %s", [export.broadcast_id]
    else:
        where, params = "l.created_at >= %s AND l.created_at < %s", list(export_range(export))
    # Every part is a constant of this module or participation's; values are parameters.
    sql = (
        f"COPY (SELECT {select} FROM leads_lead l"  # noqa: S608
        f" JOIN broadcasts_broadcast b ON b.id = l.broadcast_id {joins}"
        f" WHERE {where} ORDER BY l.id) TO STDOUT WITH (FORMAT csv, HEADER true)"
    )
    seen = 0
    heartbeat = Heartbeat(export)
    progress = Progress(export, announce=announce, heartbeat=heartbeat)
    with (
        heartbeat,
        open(path, "wb") as out,
        connection.cursor() as cursor,
        contextlib.closing(progress),
    ):
        out.write("\ufeff".encode())  # the BOM: spreadsheet programs then read accents right
        raw = cursor.connection.cursor()
        with raw.copy(sql, params) as copy:
            for data in copy:
                out.write(data)
                seen += bytes(data).count(b"\n")
                # Line ends less the header: close enough for a progress bar.
                progress.report(max(seen - 1, 0))
        # COPY's own count of rows (a text with line breaks spans several file lines).
        return raw.rowcount


def _write_csv_rows(
    export: LeadExport, leads, path: str, chunk_size: int, announce: Announce
) -> int:
    """Any other database: keyset pages of rows, activity for each page in a few queries."""
    columns = (
        "pk",
        "broadcast__title",
        "broadcast__slug",
        "created_at",
        "name",
        "email",
        "phone",
        "company",
        "consent_given",
        "consent_text",
        "consented_at",
        "attendee_id",
    )
    written = 0
    last_pk = 0
    progress = Progress(export, announce=announce)
    # utf-8-sig: spreadsheet programs then read the accents right.
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        while True:
            # Keyset pages: each query reads the next chunk by primary key, so memory
            # stays flat however many leads there are.
            chunk = list(
                leads.filter(pk__gt=last_pk).order_by("pk").values_list(*columns)[:chunk_size]
            )
            if not chunk:
                break
            last_pk = chunk[-1][0]
            now = timezone.now()
            activity = attendees_activity(
                attendee_ids=[row[11] for row in chunk if row[11] is not None], now=now
            )
            writer.writerows(_csv_row(row, activity.get(row[11])) for row in chunk)
            written += len(chunk)
            progress.report(written)
    return written


def _csv_row(row: tuple, activity: dict | None) -> list:
    (_, title, slug, created_at, name, email, phone, company, consent, text, at, _) = row
    done = activity or {}
    return [
        _cell(title),
        slug,
        _timestamp(created_at),
        _cell(name),
        _cell(email),
        phone,
        _cell(company),
        "yes" if consent else "no",
        _cell(text),
        _timestamp(at),
        *(_activity_cell(done.get(field)) for field in ACTIVITY_FIELDS),
    ]


def _timestamp(moment) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT) if moment else ""


def _activity_cell(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula is kept as text.
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
