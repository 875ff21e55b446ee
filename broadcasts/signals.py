"""What a broadcast announces to the apps built on it, so that `broadcasts` never
imports their services: participation puts the host on stage when the broadcast goes
live and clears the stage as it ends; leads queues the post-session export once the end
is committed.

`went_live` and `ending` are sent inside the state change's transaction, with the
locked row (`broadcast=`): an exception in a receiver rolls the change back. `ended` is
sent after the commit (`broadcast_id=`). `hosts_changed` is sent where the host or the
co-hosts changed (`broadcast=`), so that participation takes the console's rights from
whoever lost them at once. Receivers are connected in their app's `AppConfig.ready()`.
"""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import Signal

from .models import Broadcast

went_live = Signal()
ending = Signal()
ended = Signal()
hosts_changed = Signal()


def _co_hosts_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        hosts_changed.send(sender=Broadcast, broadcast=instance)
        return
    # From the user's side (user.co_hosted_broadcasts): each broadcast it touched.
    for broadcast in Broadcast.objects.filter(pk__in=pk_set or ()):
        hosts_changed.send(sender=Broadcast, broadcast=broadcast)


def _saved(sender, instance: Broadcast, created: bool, update_fields, **kwargs) -> None:
    # The host is a column: any full save may have changed it (state moves save less).
    if not created and (update_fields is None or "host" in update_fields):
        hosts_changed.send(sender=Broadcast, broadcast=instance)


m2m_changed.connect(_co_hosts_changed, sender=Broadcast.co_hosts.through, dispatch_uid="co-hosts")
post_save.connect(_saved, sender=Broadcast, dispatch_uid="broadcast-host")
