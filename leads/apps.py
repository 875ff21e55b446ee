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
