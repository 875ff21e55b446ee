"""The admin's live dashboard socket: `/ws/broadcasts/<slug>/dashboard/`.

A moderator watches a broadcast without being in its audience: the same public events
as every page (numbered, replayed on reconnect), the hosts' moderation frames, and the
moderation commands registered for moderators (participation/live.py: the hosts' own
handlers, run as the moderator, so the services check the permission and record who did
it), through the live socket's guarded path: the frame cap, rate limits, validation,
errors as frames. Its first frame adds the leads captured so far.
"""

from django.contrib.auth import get_user_model

from broadcasts.models import Broadcast
from broadcasts.selectors import user_can_run
from core.errors import Forbidden, NotFound
from core.names import display_name
from leads.capture import leads_count
from participation import analytics, snapshots
from participation.consumers import LiveConsumer
from participation.context import CommandContext
from participation.realtime.batching import database_call
from participation.realtime.bus import bus
from participation.realtime.codes import CLOSE_CODES
from participation.realtime.commands import MODERATORS, REGISTRIES, Command
from participation.realtime.frames import encode, resume_point
from participation.realtime.hub import hubs
from participation.realtime.names import HOSTS
from participation.realtime.ratelimit import connection_rate_limits


class DashboardConsumer(LiveConsumer):
    commands = REGISTRIES[MODERATORS]
    broadcast_id: int | None = None

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.synced_seq = None
        self.pending = []
        self.user = self.scope.get("user")
        self.buckets = connection_rate_limits()
        try:
            self.broadcast_id = await database_call(self._allowed)()
        except (Forbidden, NotFound) as error:
            await self.close(code=CLOSE_CODES[error.code])
            return
        await self.accept()
        self.hub = hubs.current()
        await self.hub.join(self.slug, self)
        self.private_targets = ((HOSTS, self.broadcast_id),)
        self.hub.receive_private(self.private_targets[0], self)
        first_frames, seq = await database_call(self._snapshot)()
        for frame in first_frames:
            await self.send(text_data=frame)
        await self._flush_pending(seq)

    def _allowed(self) -> int:
        return self._moderated(self.user).pk

    def _moderated(self, user) -> Broadcast:
        broadcast = Broadcast.objects.select_related("host").filter(slug=self.slug).first()
        if broadcast is None:
            raise NotFound("There is no such broadcast.")
        if not (user and user.is_staff and user_can_run(broadcast=broadcast, user=user)):
            raise Forbidden("The dashboard is for moderators.")
        return broadcast

    def _snapshot(self) -> tuple[list[str], int]:
        epoch, since = resume_point(self.scope.get("query_string", b""))
        position = bus().position(self.slug, epoch=epoch, since=since)
        if position.missed is not None:
            return position.missed, position.seq
        broadcast = Broadcast.objects.select_related("host").get(pk=self.broadcast_id)
        name = display_name(self.user)
        snapshot = dashboard_snapshot(broadcast=broadcast, moderator_name=name)
        snapshot["epoch"] = position.epoch
        snapshot["seq"] = position.seq
        return [encode(snapshot)], position.seq

    async def disconnect(self, code: int) -> None:
        if self.broadcast_id is None:
            return
        self._leave_room()
        self.broadcast_id = None

    def joined(self) -> bool:
        return self.broadcast_id is not None

    def _run(self, command: Command, data: dict) -> dict | None:
        # Checked again for every command, on a fresh user (permissions are cached on the
        # object): staff status or the permission may have gone since the socket opened.
        moderator = get_user_model().objects.filter(pk=self.user.pk).first()
        broadcast = self._moderated(moderator)
        return command.handler(CommandContext(broadcast=broadcast, moderator=moderator), data)


def dashboard_snapshot(*, broadcast: Broadcast, moderator_name: str) -> dict:
    """The live dashboard's first frame: the live snapshot's shape (so pages share their
    state code), seen by a moderator who is not in the audience, plus the peak."""
    return {
        "type": "snapshot",
        "broadcast": snapshots.snapshot_broadcast(broadcast=broadcast),
        "me": {"id": 0, "name": moderator_name, "role": "host", "avatar": "", "request": None},
        "stage": snapshots.stage_attendees(broadcast=broadcast),
        "hands": snapshots.raised_hands(broadcast=broadcast),
        "audience": analytics.audience_summary(broadcast=broadcast, sample_size=200),
        "likes": analytics.likes_count(broadcast_id=broadcast.pk),
        "questions": snapshots.questions_for(broadcast=broadcast, attendee=None),
        "media": {},
        "leads": leads_count(broadcast_id=broadcast.pk),
        "peak_viewers": analytics.peak_viewers(broadcast_id=broadcast.pk),
    }
