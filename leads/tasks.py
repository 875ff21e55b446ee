from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_leads(export_id: int) -> None:
    """Write a lead export's CSV. Acknowledged after it ran: a worker lost mid-way means
    the task runs again, which the service makes harmless."""
    services.export_run(export_id=export_id)
