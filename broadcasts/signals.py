"""What a broadcast announces to the apps built on it, so that `broadcasts` never
imports their services: participation puts the host on stage when the broadcast goes
live and clears the stage as it ends; leads queues the post-session export once the end
is committed.

`went_live` and `ending` are sent inside the state change's transaction, with the
locked row (`broadcast=`): an exception in a receiver rolls the change back. `ended` is
sent after the commit (`broadcast_id=`). Receivers are connected in their app's
`AppConfig.ready()`.
"""

from django.dispatch import Signal

went_live = Signal()
ending = Signal()
ended = Signal()
