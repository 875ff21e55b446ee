"""Leads: captured from the lead form, exported to CSV by a Celery task for ops.

Capturing commits the lead before anyone is thanked. An export moves through a
table of states (queued, running, done, failed), writes one file per export, and can
run twice without writing a row twice.
"""

import contextlib
import csv
import logging
import os
import time
from datetime import UTC, date, datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone

from broadcasts.audit import audit_record
from broadcasts.models import Broadcast, BroadcastState
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from participation.activity import ACTIVITY_FIELDS, activity_sql, attendees_activity
from participation.fanout import send_to_hosts_on_commit
from participation.models import Attendee
from participation.ratelimit import rate_limit

from .forms import LeadForm
from .models import ExportState, ExportTransition, Lead, LeadExport

logger = logging.getLogger(__name__)

E = ExportState
EXPORTS_GROUP = "primetime.exports"
EXPORT_PERMISSION = "leads.export_leads"
MAX_RANGE_DAYS = 366

# action -> {from state: to state}. A worker that died mid-export leaves it running; the
# redelivered task starts it again from the top (the file is rewritten, not appended).
EXPORT_MOVES: dict[str, dict[str, str]] = {
    "start": {E.QUEUED: E.RUNNING, E.RUNNING: E.RUNNING},
    "finish": {E.RUNNING: E.DONE},
    "fail": {E.QUEUED: E.FAILED, E.RUNNING: E.FAILED},
}

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


# --- Capture ---------------------------------------------------------------------


def lead_capture(*, broadcast: Broadcast, attendee: Attendee | None, data: dict) -> Lead | None:
    """Validate and store a lead; a second submission with the same email updates it.

    Raises InvalidInput with field errors, or RateLimited. Returns None for a bot that
    filled the honeypot (it is told nothing different, and nothing is stored).
    """
    if broadcast.state == BroadcastState.DRAFT:
        raise Conflict("This broadcast is not open yet.")
    form = LeadForm(data, broadcast=broadcast)
    if form.is_spam:
        logger.info("lead form honeypot filled on broadcast %s", broadcast.pk)
        return None
    if attendee is not None:
        rate_limit(
            key=f"lead:attendee:{attendee.pk}",
            allowed=5,
            per_seconds=600,
            message="You have sent your details several times already. Wait a few minutes.",
        )
    if not form.is_valid():
        raise InvalidInput(
            "Some fields need another look.",
            details={field: [str(m) for m in errors] for field, errors in form.errors.items()},
        )
    values = form.cleaned_data
    rate_limit(
        key=f"lead:email:{values['email']}",
        allowed=5,
        per_seconds=3600,
        message="These details were sent several times already. Try again later.",
    )
    fields = {
        "name": values["name"],
        "phone": values.get("phone", ""),
        "company": values.get("company", ""),
        "consent_given": True,
        "consent_text": broadcast.lead_consent_text,
        "consented_at": timezone.now(),
    }
    with transaction.atomic():
        lead = _upsert(broadcast, attendee, values["email"], fields)
        # Host consoles and the admin's dashboard count leads live.
        send_to_hosts_on_commit(
            broadcast.pk, {"type": "leads", "count": leads_count(broadcast_id=broadcast.pk)}
        )
        if broadcast.state == BroadcastState.ENDED:
            transaction.on_commit(lambda: export_refresh_post_session(broadcast_id=broadcast.pk))
    return lead


def _upsert(broadcast: Broadcast, attendee: Attendee | None, email: str, fields: dict) -> Lead:
    for _ in range(2):
        lead = Lead.objects.select_for_update().filter(broadcast=broadcast, email=email).first()
        if lead is not None:
            for name, value in fields.items():
                setattr(lead, name, value)
            if attendee is not None:
                # The latest person to send these details is who the lead's page shows
                # them to: nobody else sees what another person typed.
                lead.attendee = attendee
            lead.save()
            return lead
        try:
            with transaction.atomic():
                return Lead.objects.create(
                    broadcast=broadcast, attendee=attendee, email=email, **fields
                )
        except IntegrityError:  # the same address, sent twice at once: update the other
            continue
    raise Conflict("Could not save your details; try again.")


def lead_private(lead: Lead) -> dict:
    """A person's own lead, as their pages show it (never anyone else's)."""
    return {"name": lead.name, "email": lead.email, "phone": lead.phone, "company": lead.company}


def leads_of_attendees(*, attendee_ids: list[int]) -> dict[int, dict]:
    """Each attendee's own latest lead, as their pages show it, by attendee id (those
    who left none are missing)."""
    leads: dict[int, dict] = {}
    newest_first = Lead.objects.filter(attendee_id__in=attendee_ids).order_by("-updated_at")
    for lead in newest_first:
        leads.setdefault(lead.attendee_id, lead_private(lead))
    return leads


def lead_prompt(*, broadcast: Broadcast, by) -> None:
    """A host asks every viewer for their details: the lead form opens on their pages."""
    from participation.fanout import publish_on_commit

    if broadcast.state not in (BroadcastState.LIVE, BroadcastState.PAUSED):
        raise Conflict("Ask for details while the broadcast is live.")
    audit_record(broadcast=broadcast, by=by, action="lead.prompt")
    publish_on_commit(broadcast.slug, {"type": "lead.prompt", "at": timezone.now()})


# --- Exports ---------------------------------------------------------------------


def can_export(user) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(EXPORT_PERMISSION)


def export_request(
    *,
    by,
    broadcast: Broadcast | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    post_session: bool = False,
    delay_seconds: int = 0,
) -> LeadExport:
    """Queue an export of one broadcast's leads, or of those captured in a date range."""
    if by is not None and not can_export(by):
        raise Forbidden("You are not allowed to export leads.")
    if broadcast is None:
        if date_from is None or date_to is None:
            raise InvalidInput(
                "Pick a broadcast, or both dates of a range.",
                details={"date_from": ["Required without a broadcast."]},
            )
        if date_from > date_to:
            raise InvalidInput(
                "The range ends before it starts.",
                details={"date_to": ["Pick a day on or after the first one."]},
            )
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise InvalidInput(
                "Export at most a year at a time.",
                details={"date_to": [f"At most {MAX_RANGE_DAYS} days after the first day."]},
            )
    with transaction.atomic():
        export = LeadExport.objects.create(
            requested_by=by if by is not None and by.is_authenticated else None,
            broadcast=broadcast,
            date_from=None if broadcast else date_from,
            date_to=None if broadcast else date_to,
            post_session=post_session,
        )
        ExportTransition.objects.create(export=export, from_state="", to_state=E.QUEUED)
        audit_record(
            broadcast=broadcast,
            by=by,
            action="export.request",
            subject=f"Export #{export.pk} ({export.scope_label})"
            + (", after the broadcast" if post_session else ""),
        )
        transaction.on_commit(lambda: _dispatch(export.pk, delay_seconds))
        transaction.on_commit(lambda: _announce(export.pk))
    return export


def export_post_session(*, broadcast_id: int) -> LeadExport:
    """The export a broadcast queues for itself when it ends, a little later so that the
    leads left on the end screen are in it."""
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    return export_request(
        by=None,
        broadcast=broadcast,
        post_session=True,
        delay_seconds=settings.POST_SESSION_EXPORT_DELAY_SECONDS,
    )


def export_refresh_post_session(*, broadcast_id: int) -> LeadExport | None:
    """A lead arrived after the end: unless a post-session export is still waiting to
    run (it will include the lead), queue a fresh one."""
    waiting = LeadExport.objects.filter(
        broadcast_id=broadcast_id, post_session=True, state=E.QUEUED
    ).exists()
    if waiting:
        return None
    return export_post_session(broadcast_id=broadcast_id)


def _dispatch(export_id: int, delay_seconds: int) -> None:
    from .tasks import export_leads

    export_leads.apply_async((export_id,), countdown=delay_seconds or None)


def _move(export: LeadExport, action: str, **changes) -> None:
    to_state = EXPORT_MOVES[action].get(export.state)
    if to_state is None:
        raise Conflict(f"Export #{export.pk} is {export.get_state_display().lower()} already.")
    from_state = export.state
    export.state = to_state
    for name, value in changes.items():
        setattr(export, name, value)
    export.save()
    ExportTransition.objects.create(export=export, from_state=from_state, to_state=to_state)


def _leads_of(export: LeadExport):
    leads = Lead.objects.all()
    if export.broadcast_id:
        return leads.filter(broadcast_id=export.broadcast_id)
    start, end = _range(export)
    return leads.filter(created_at__gte=start, created_at__lt=end)


def export_run(*, export_id: int, chunk_size: int = 5000) -> LeadExport | None:
    """Write an export's CSV (the Celery task's body). Safe to run twice: a finished
    export is left alone, and a restarted one rewrites its one file from the top."""
    with transaction.atomic():
        export = LeadExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None:  # deleted since it was queued: nothing to do
            logger.warning("lead export %s is gone; nothing to write", export_id)
            return None
        if export.state in (E.DONE, E.FAILED):
            return export
        leads = _leads_of(export)
        _move(export, "start", started_at=timezone.now(), rows_written=0, rows_total=leads.count())
    _announce(export.pk)
    storage = storages["exports"]
    name = f"leads/export-{export.pk}.csv"
    final_path = storage.path(name)
    os.makedirs(os.path.dirname(final_path), exist_ok=True)
    partial_path = final_path + ".partial"
    try:
        rows = _write_csv(export, leads, partial_path, chunk_size)
        os.replace(partial_path, final_path)
    except Exception as error:
        logger.exception("lead export %s failed", export.pk)
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial_path)
        with transaction.atomic():
            export = LeadExport.objects.select_for_update().get(pk=export.pk)
            _move(
                export,
                "fail",
                error=f"{type(error).__name__}: {error}"[:2000],
                finished_at=timezone.now(),
            )
        _announce(export.pk)
        return export
    with transaction.atomic():
        export = LeadExport.objects.select_for_update().get(pk=export.pk)
        _move(export, "finish", rows_written=rows, file=name, finished_at=timezone.now())
    _announce(export.pk)
    return export


class _Progress:
    """Rows written so far, saved and shown at most twice a second. It writes through a
    connection of its own: the export's connection may be busy streaming a COPY."""

    def __init__(self, export: LeadExport, *, own_connection: bool):
        self.export = export
        self.last = time.monotonic()
        self.own_connection = own_connection
        self.connection = None

    def report(self, rows: int) -> None:
        if time.monotonic() - self.last < 0.5:
            return
        self.last = time.monotonic()
        self.export.rows_written = min(rows, self.export.rows_total or rows)
        if not self.own_connection:
            LeadExport.objects.filter(pk=self.export.pk).update(
                rows_written=self.export.rows_written
            )
        else:
            if self.connection is None:
                self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE leads_leadexport SET rows_written = %s WHERE id = %s",
                    [self.export.rows_written, self.export.pk],
                )
        _send(self.export)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _write_csv(export: LeadExport, leads, path: str, chunk_size: int) -> int:
    # Loaded now: progress messages show them, and a streaming COPY holds the connection.
    export = LeadExport.objects.select_related("broadcast", "requested_by").get(pk=export.pk)
    if connection.vendor == "postgresql":
        return _write_csv_copy(export, path)
    return _write_csv_rows(export, leads, path, chunk_size)


# Timestamps in UTC, the same text whichever way the file is written.
TIMESTAMP_SQL = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
# A cell a spreadsheet would run as a formula is kept as text (see `_cell`).
TEXT_SQL = r"""CASE WHEN {0} ~ '^[-=+@\t\r]' THEN '''' || {0} ELSE {0} END"""


def _write_csv_copy(export: LeadExport, path: str) -> int:
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
        where, params = "l.created_at >= %s AND l.created_at < %s", list(_range(export))
    # Every part is a constant of this module or participation's; values are parameters.
    sql = (
        f"COPY (SELECT {select} FROM leads_lead l"  # noqa: S608
        f" JOIN broadcasts_broadcast b ON b.id = l.broadcast_id {joins}"
        f" WHERE {where} ORDER BY l.id) TO STDOUT WITH (FORMAT csv, HEADER true)"
    )
    seen = 0
    progress = _Progress(export, own_connection=True)
    with open(path, "wb") as out, connection.cursor() as cursor, contextlib.closing(progress):
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


def _range(export: LeadExport) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(export.date_from, datetime.min.time()))
    end = timezone.make_aware(
        datetime.combine(export.date_to + timedelta(days=1), datetime.min.time())
    )
    return start, end


def _write_csv_rows(export: LeadExport, leads, path: str, chunk_size: int) -> int:
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
    progress = _Progress(export, own_connection=False)
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


def export_file(*, export_id: int, user, via: str):
    """The finished export's file, opened for download, and the download recorded."""
    from .models import ExportDownload

    if not can_export(user):
        raise Forbidden("You are not allowed to download leads.")
    export = LeadExport.objects.filter(pk=export_id).first()
    if export is None:
        raise NotFound("There is no such export.")
    if export.state != E.DONE or not export.file:
        raise Conflict("This export has no file yet.")
    # Through the storage as configured now (a FileField's storage is fixed at start-up).
    handle = storages["exports"].open(export.file.name, "rb")
    ExportDownload.objects.create(export=export, user=user, via=via)
    audit_record(
        broadcast=export.broadcast_id,
        by=user,
        action="export.download",
        subject=f"Export #{export.pk} ({export.scope_label}), "
        f"{export.rows_written} rows, via {via}",
    )
    return export, handle


def export_public(export: LeadExport) -> dict:
    """An export as the exports page and the API show it."""
    from django.urls import reverse

    return {
        "id": export.pk,
        "scope": export.scope_label,
        "broadcast": export.broadcast.slug if export.broadcast_id else None,
        "date_from": export.date_from,
        "date_to": export.date_to,
        "post_session": export.post_session,
        "state": export.state,
        "state_label": export.get_state_display(),
        "rows_total": export.rows_total,
        "rows_written": export.rows_written,
        "progress": export.progress,
        "error": export.error,
        "requested_by": (export.requested_by.get_full_name() or export.requested_by.get_username())
        if export.requested_by_id
        else "Automatic (after the broadcast)",
        "created_at": export.created_at,
        "finished_at": export.finished_at,
        "download_url": reverse("leads:download", kwargs={"export_id": export.pk})
        if export.state == E.DONE
        else None,
    }


def _announce(export_id: int) -> None:
    """Tell the open exports pages how an export stands (progress shown live)."""
    _send(LeadExport.objects.select_related("broadcast", "requested_by").get(pk=export_id))


def _send(export: LeadExport) -> None:
    from participation.fanout import encode

    try:
        async_to_sync(get_channel_layer().group_send)(
            EXPORTS_GROUP,
            {
                "type": "export.changed",
                "frame": encode({"type": "export", "export": export_public(export)}),
            },
        )
    except Exception:  # progress is a courtesy; the export itself must not fail for it
        logger.exception("could not announce export %s", export.pk)


def leads_count(*, broadcast_id: int) -> int:
    return Lead.objects.filter(broadcast_id=broadcast_id).count()


def leads_count_subquery():
    """The number of leads of the broadcast in the outer query (for annotated lists)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery

    counts = (
        Lead.objects.filter(broadcast=OuterRef("pk"))
        .order_by()
        .values("broadcast")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(counts, output_field=IntegerField())
