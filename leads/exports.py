"""Lead exports for ops: requested, run by a Celery task through a table of states (queued,
running, done, failed), downloaded; safe to run twice without writing a row twice."""

import contextlib
import logging
import os
from datetime import date

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from broadcasts.audit import audit_record
from broadcasts.models import Broadcast
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.locks import lock_row
from core.machines import StateMachine
from core.names import display_name
from participation.realtime import events
from participation.realtime.frames import encode
from participation.realtime.names import EXPORTS_GROUP

from .models import ExportDownload, ExportState, ExportTransition, Lead, LeadExport
from .writers import export_range, write_csv

logger = logging.getLogger(__name__)

E = ExportState
EXPORT_PERMISSION = "leads.export_leads"
MAX_RANGE_DAYS = 366

# action -> {from state: to state}. A worker that died mid-export leaves it running; the
# redelivered task starts it again from the top (the file is rewritten, not appended).
EXPORT_LIFECYCLE = StateMachine(
    moves={
        "start": {E.QUEUED: E.RUNNING, E.RUNNING: E.RUNNING},
        "finish": {E.RUNNING: E.DONE},
        "fail": {E.QUEUED: E.FAILED, E.RUNNING: E.FAILED},
    },
    refusal="Export #{instance.pk} is {state} already.",
)


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
    # Imported here: the task module imports this one.
    from .tasks import export_leads

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
        # Sent once the export is committed, so the worker always finds it.
        export_leads.apply_async_on_commit((export.pk,), countdown=delay_seconds or None)
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


def _move(export: LeadExport, action: str, **changes) -> None:
    from_state = EXPORT_LIFECYCLE.move(export, action, **changes)
    export.save()
    ExportTransition.objects.create(export=export, from_state=from_state, to_state=export.state)


def _leads_of(export: LeadExport):
    leads = Lead.objects.all()
    if export.broadcast_id:
        return leads.filter(broadcast_id=export.broadcast_id)
    start, end = export_range(export)
    return leads.filter(created_at__gte=start, created_at__lt=end)


def export_run(*, export_id: int, chunk_size: int = 5000) -> LeadExport | None:
    """Write an export's CSV (the Celery task's body). Safe to run twice: a finished
    export is left alone, and a restarted one rewrites its one file from the top."""
    with transaction.atomic():
        export = lock_row(LeadExport.objects, pk=export_id)
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
        # Loaded now: progress messages show them, and a streaming COPY holds the connection.
        shown = LeadExport.objects.select_related("broadcast", "requested_by").get(pk=export.pk)
        rows = write_csv(shown, leads, partial_path, chunk_size=chunk_size, announce=_send)
        os.replace(partial_path, final_path)
    except Exception as error:
        logger.exception("lead export %s failed", export.pk)
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial_path)
        with transaction.atomic():
            export = lock_row(LeadExport.objects, pk=export.pk)
            _move(
                export,
                "fail",
                error=f"{type(error).__name__}: {error}"[:2000],
                finished_at=timezone.now(),
            )
        _announce(export.pk)
        return export
    with transaction.atomic():
        export = lock_row(LeadExport.objects, pk=export.pk)
        _move(export, "finish", rows_written=rows, file=name, finished_at=timezone.now())
    _announce(export.pk)
    return export


def export_file(*, export_id: int, user, via: str):
    """The finished export's file, opened for download, and the download recorded."""
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
        "requested_by": display_name(export.requested_by)
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
    try:
        async_to_sync(get_channel_layer().group_send)(
            EXPORTS_GROUP,
            {
                "type": "export.changed",
                "frame": encode(events.export(export=export_public(export))),
            },
        )
    except Exception:  # progress is a courtesy; the export itself must not fail for it
        logger.exception("could not announce export %s", export.pk)
