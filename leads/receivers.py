"""What leads does when a broadcast announces a change (broadcasts/signals.py)."""

from django.dispatch import receiver

from broadcasts.signals import ended

from .exports import export_post_session


@receiver(ended, dispatch_uid="leads.post_session_export")
def export_the_leads(sender, broadcast_id, **kwargs) -> None:
    # The post-session lead export queues itself once the end is committed.
    export_post_session(broadcast_id=broadcast_id)
