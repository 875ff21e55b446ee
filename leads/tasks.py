from celery import shared_task

from .exports import export_run


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_leads(export_id: int) -> None:
    """Write a lead export's CSV. Acknowledged after it ran: a worker lost mid-way means
    the task runs again, which export_run makes harmless."""
    export_run(export_id=export_id)
