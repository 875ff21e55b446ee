import logging
import threading

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections

from .exports import export_run, exports_requeue_stalled

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_leads(export_id: int) -> None:
    """Write a lead export's CSV. Acknowledged after it ran: a worker lost mid-way means
    the task runs again, which export_run makes harmless."""
    export_run(export_id=export_id)


@worker_ready.connect(dispatch_uid="leads.stalled_exports")
def sweep_stalled_exports(**kwargs) -> threading.Thread:
    """Each worker, from its start, queues again the exports whose run died with its
    worker (killed, out of memory, its machine lost): their heartbeat stops, and a
    message Redis still holds for the dead worker would wait an hour to come back."""

    def sweep_forever() -> None:
        stop = threading.Event()
        while not stop.wait(settings.EXPORT_STALL_SECONDS / 2):
            try:
                exports_requeue_stalled()
            except Exception:
                logger.exception("could not queue stalled lead exports again")
            finally:
                connections.close_all()  # this thread holds none between sweeps

    sweeper = threading.Thread(target=sweep_forever, name="stalled-exports", daemon=True)
    sweeper.start()
    return sweeper
