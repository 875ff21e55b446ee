from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from participation.snapshots import register_own_state

        from . import receivers  # noqa: F401  (connects them)
        from .capture import leads_of_attendees

        # A person's own details ride in their live snapshot's `me.lead`.
        register_own_state("lead", lambda ids: leads_of_attendees(attendee_ids=ids))
        register_export_sweep()


def register_export_sweep() -> None:
    """Exports whose run died are queued again by one sweep per process that runs them:
    each Celery worker's (tasks.sweep_stalled_exports); without a broker, where exports
    run in the server processes themselves, every server's hub."""
    from django.conf import settings

    from participation.realtime import jobs

    from .exports import exports_requeue_stalled

    if settings.REDIS_URL:  # Celery workers run the exports, and sweep them
        return
    jobs.register(
        "exports",
        exports_requeue_stalled,
        every=lambda: settings.EXPORT_STALL_SECONDS / 2,
        doing="queue stalled lead exports again",
    )
