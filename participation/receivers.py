"""What participation does when a broadcast announces a change (broadcasts/signals.py)."""

from django.dispatch import receiver

from broadcasts.signals import ending, hosts_changed, went_live

from .services import attendee_for_user, hosts_demote_former, viewers_sample_at_end
from .stage import stage_clear_for_end


@receiver(went_live, dispatch_uid="participation.host_on_stage")
def put_the_host_on_stage(sender, broadcast, **kwargs) -> None:
    # The host is on stage from the first second, console open or not yet.
    attendee_for_user(broadcast=broadcast, user=broadcast.host)


@receiver(ending, dispatch_uid="participation.last_sample")
def sample_the_last_moment(sender, broadcast, **kwargs) -> None:
    viewers_sample_at_end(broadcast=broadcast)


@receiver(ending, dispatch_uid="participation.clear_stage")
def clear_the_stage(sender, broadcast, **kwargs) -> None:
    """Pending requests to speak expire and every speaker's call ends."""
    stage_clear_for_end(broadcast=broadcast)


@receiver(hosts_changed, dispatch_uid="participation.former_hosts")
def demote_former_hosts(sender, broadcast, **kwargs) -> None:
    hosts_demote_former(broadcast=broadcast)
