"""The admin's live dashboard socket: `/ws/broadcasts/<slug>/dashboard/`.

A moderator watches a broadcast without being in its audience: the same public events
as every page (numbered, replayed on reconnect), the hosts' moderation frames, and a
short list of moderation commands, each run by the same service as the host's, as the
moderator (so the services check the permission and record who did it).
"""

import json

from rest_framework import serializers

from broadcasts import services as broadcasts
from broadcasts.errors import DomainError, Forbidden, NotFound
from broadcasts.models import Broadcast
from broadcasts.selectors import user_can_run

from . import questions, stage
from .batching import database_call
from .channels import HOSTS
from .consumers import CLOSE_CODES, LiveConsumer, _resume_point
from .fanout import bus, encode, hubs
from .selectors import dashboard_snapshot


class AttendeeId(serializers.Serializer):
    attendee = serializers.IntegerField(min_value=1)


class QuestionId(serializers.Serializer):
    question = serializers.IntegerField(min_value=1)


class Nothing(serializers.Serializer):
    pass


def _about_attendee(service):
    return lambda broadcast, user, data: service(
        broadcast=broadcast, attendee_id=data["attendee"], by=user
    )


def _about_question(action):
    return lambda broadcast, user, data: questions.question_moderate(
        broadcast=broadcast, question_id=data["question"], action=action, by=user
    )


def _pin(*, pinned: bool):
    return lambda broadcast, user, data: questions.question_pin(
        broadcast=broadcast, question_id=data["question"], by=user, pinned=pinned
    )


def _lifecycle(action):
    return lambda broadcast, user, data: broadcasts.ACTIONS[action](broadcast=broadcast, by=user)


# command -> (fields, handler(broadcast, user, data))
COMMANDS = {
    "ping": (Nothing, lambda broadcast, user, data: None),
    "hand.decline": (AttendeeId, _about_attendee(stage.hand_decline)),
    "stage.remove": (AttendeeId, _about_attendee(stage.stage_remove)),
    "attendee.remove": (AttendeeId, _about_attendee(stage.attendee_remove)),
    **{f"question.{action}": (QuestionId, _about_question(action)) for action in questions.MOVES},
    "question.pin": (QuestionId, _pin(pinned=True)),
    "question.unpin": (QuestionId, _pin(pinned=False)),
    "broadcast.pause": (Nothing, _lifecycle("pause")),
    "broadcast.resume": (Nothing, _lifecycle("resume")),
    "broadcast.end": (Nothing, _lifecycle("end")),
}


class DashboardConsumer(LiveConsumer):
    broadcast_id: int | None = None

    async def connect(self) -> None:
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.synced_seq = None
        self.pending = []
        self.user = self.scope.get("user")
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
        broadcast = Broadcast.objects.filter(slug=self.slug).first()
        if broadcast is None:
            raise NotFound("There is no such broadcast.")
        if not (
            self.user and self.user.is_staff and user_can_run(broadcast=broadcast, user=self.user)
        ):
            raise Forbidden("The dashboard is for moderators.")
        return broadcast.pk

    def _snapshot(self) -> tuple[list[str], int]:
        epoch, since = _resume_point(self.scope.get("query_string", b""))
        position = bus().position(self.slug, epoch=epoch, since=since)
        if position.missed is not None:
            return position.missed, position.seq
        broadcast = Broadcast.objects.select_related("host").get(pk=self.broadcast_id)
        name = self.user.get_full_name() or self.user.get_username()
        snapshot = dashboard_snapshot(broadcast=broadcast, moderator_name=name)
        snapshot["epoch"] = position.epoch
        snapshot["seq"] = position.seq
        return [encode(snapshot)], position.seq

    async def disconnect(self, code: int) -> None:
        if self.broadcast_id is None:
            return
        self._leave_room()
        self.broadcast_id = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.broadcast_id is None:
            return
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or frame.get("type") not in COMMANDS:
            await self._error(
                None if not isinstance(frame, dict) else frame.get("ref"),
                "invalid",
                "Unknown command.",
            )
            return
        ref = frame.get("ref")
        fields_class, handler = COMMANDS[frame["type"]]
        fields = fields_class(data={k: v for k, v in frame.items() if k not in ("type", "ref")})
        if not fields.is_valid():
            await self._error(ref, "invalid", "Some fields are not right.", details=fields.errors)
            return

        def run():
            broadcast = Broadcast.objects.get(pk=self.broadcast_id)
            return handler(broadcast, self.user, fields.validated_data)

        try:
            await database_call(run)()
        except DomainError as error:
            await self._error(ref, error.code, error.message, details=error.details)
            return
        await self.send(text_data=encode({"type": "ack", "ref": ref}))
