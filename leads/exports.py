"""Lead exports for ops: requested, run by a Celery task through a table of states (queued,
running, done, failed), downloaded; safe to run twice without writing a row twice."""

import contextlib
import logging
import os
from datetime import date, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
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
from .writers import Superseded, export_range, write_csv

logger = logging.getLogger(__name__)

E = ExportState
EXPORT_PERMISSION = "leads.export_leads"
MAX_RANGE_DAYS = 366

# action -> {from state: to state}. A worker that died mid-export leaves it running and
# its heart stops: the sweep queues it again (`requeue`), or the redelivered task starts
# it again from the top (the file is rewritten, not appended).
EXPORT_LIFECYCLE = StateMachine(
    moves={
        "start": {E.QUEUED: E.RUNNING, E.RUNNING: E.RUNNING},
        "requeue": {E.RUNNING: E.QUEUED},
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


def _stalled_before():
    return timezone.now() - timedelta(seconds=settings.EXPORT_STALL_SECONDS)


def _stalled(export: LeadExport) -> bool:
    # No heartbeat: a run from before runs had one, or one that never wrote it.
    return export.heartbeat_at is None or export.heartbeat_at < _stalled_before()


def export_run(*, export_id: int, chunk_size: int = 5000) -> LeadExport | None:
    """Write an export's CSV (the Celery task's body). Safe to run twice, even at once: a
    finished export is left alone, a run under way (its heart beating) is left to
    finish, and a run whose worker died is taken over, rewriting its file from the top.
    Only the latest run (`attempt`) may finish it."""
    with transaction.atomic():
        export = lock_row(LeadExport.objects, pk=export_id)
        if export is None:  # deleted since it was queued: nothing to do
            logger.warning("lead export %s is gone; nothing to write", export_id)
            return None
        if export.state in (E.DONE, E.FAILED):
            return export
        if export.state == E.RUNNING and not _stalled(export):
            logger.info("lead export %s is being written by another run", export_id)
            return export
        leads = _leads_of(export)
        now = timezone.now()
        _move(
            export,
            "start",
            started_at=now,
            heartbeat_at=now,
            attempt=export.attempt + 1,
            rows_written=0,
            rows_total=leads.count(),
        )
    attempt = export.attempt
    _announce(export.pk)
    storage = storages["exports"]
    name = f"leads/export-{export.pk}.csv"
    final_path = storage.path(name)
    os.makedirs(os.path.dirname(final_path), exist_ok=True)
    partial_path = f"{final_path}.{attempt}.partial"
    for earlier in range(1, attempt):  # what runs that died left behind
        _remove(f"{final_path}.{earlier}.partial")
    try:
        # Loaded now: progress messages show them, and a streaming COPY holds the connection.
        shown = LeadExport.objects.select_related("broadcast", "requested_by").get(pk=export.pk)
        rows = write_csv(shown, leads, partial_path, chunk_size=chunk_size, announce=_send)
    except Superseded:
        logger.warning("lead export %s run %s was taken over; it stops", export.pk, attempt)
        _remove(partial_path)
        return None
    except Exception as error:
        logger.exception("lead export %s failed", export.pk)
        _remove(partial_path)
        with transaction.atomic():
            export = lock_row(LeadExport.objects, pk=export.pk)
            if export.attempt != attempt or export.state != E.RUNNING:
                return export
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
        if export.attempt != attempt or export.state != E.RUNNING:
            # Taken over while this run wrote: the newer run's file is the one.
            _remove(partial_path)
            return export
        os.replace(partial_path, final_path)
        _move(export, "finish", rows_written=rows, file=name, finished_at=timezone.now())
    _announce(export.pk)
    return export


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def exports_requeue_stalled() -> list[int]:
    """Exports whose run stopped showing progress for EXPORT_STALL_SECONDS (its worker
    was killed, or lost its machine) are queued again, once: under the row's lock, the
    move from running to queued happens for one sweeper only."""
    from .tasks import export_leads

    requeued = []
    stalled = LeadExport.objects.filter(state=E.RUNNING).filter(
        Q(heartbeat_at__lt=_stalled_before()) | Q(heartbeat_at=None)
    )
    for export_id in stalled.values_list("pk", flat=True):
        with transaction.atomic():
            export = lock_row(LeadExport.objects, pk=export_id)
            if export is None or export.state != E.RUNNING or not _stalled(export):
                continue
            _move(export, "requeue")
            export_leads.delay_on_commit(export.pk)
            requeued.append(export.pk)
    for export_id in requeued:
        logger.warning("lead export %s stalled; queued again", export_id)
        _announce(export_id)
    return requeued


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
