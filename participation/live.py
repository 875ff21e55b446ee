"""Live commands: what attendees send on the live socket (the WebRTC signalling path
among them), and the moderation moves that hosts send there and moderators on the
admin's dashboard socket, one handler for both."""

from rest_framework import serializers

from broadcasts import services as broadcasts
from broadcasts.lifecycle import LIVE_ACTIONS
from broadcasts.media import SIGNAL_KINDS
from core.errors import DomainError

from . import questions, reactions, services, stage
from .context import HOSTS, STAGE, CommandContext
from .models import QUESTION_MAX_CHARS, Role
from .moderation import QUESTION_MODERATION
from .realtime.commands import MODERATORS, IdField, NoFields, live_command


@live_command("ping", database=False)
@live_command("ping", database=False, audience=MODERATORS)
def ping(context: None, data: dict) -> None:
    """The client's heartbeat: an ack proves the socket and the server are alive."""
    return None


def moderation(name: str, *, fields=None, moderators: bool = True):
    """Register a moderation move for hosts on the live socket and, with `moderators`,
    for moderators on the dashboard socket. `context.by` is whoever moved."""
    fields = fields or NoFields

    def register(handler):
        live_command(name, roles=HOSTS, fields=fields)(handler)
        if moderators:
            live_command(name, fields=fields, audience=MODERATORS)(handler)
        return handler

    return register


class IceCandidate(serializers.Serializer):
    # Field names as RTCIceCandidate.toJSON() gives them.
    candidate = serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=False)
    sdpMid = serializers.CharField(max_length=64, allow_null=True, required=False)
    sdpMLineIndex = serializers.IntegerField(
        min_value=0, max_value=255, allow_null=True, required=False
    )
    usernameFragment = serializers.CharField(max_length=256, allow_null=True, required=False)


class SignalData(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SIGNAL_KINDS)
    # The sender's id of one peer connection: a page may hold several.
    pc = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$")
    sdp = serializers.CharField(max_length=60_000, required=False, trim_whitespace=False)
    candidate = IceCandidate(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200, required=False)
    # With a request, on an SFU: the simulcast layer the page wants (0 lowest, 2 highest).
    layer = serializers.IntegerField(min_value=0, max_value=2, required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs["kind"] in ("offer", "answer") and not attrs.get("sdp"):
            raise serializers.ValidationError({"sdp": "An offer or answer carries its SDP."})
        if attrs["kind"] == "candidate" and "candidate" not in attrs:
            raise serializers.ValidationError({"candidate": "A candidate signal carries one."})
        return attrs


class RtcSignalFields(serializers.Serializer):
    to = IdField()
    data = SignalData()


@live_command("rtc.signal", fields=RtcSignalFields, rate="signal")
def rtc_signal(context: CommandContext, data: dict):
    # On an SFU, what comes back runs next on the sender's connection (the consumer).
    return services.rtc_signal_send(
        broadcast=context.broadcast, sender=context.attendee, to=data["to"], data=data["data"]
    )


@live_command("media.ready", roles=STAGE)
def media_ready(context: CommandContext, data: dict) -> None:
    services.media_publisher_ready(broadcast=context.broadcast, attendee=context.attendee)


class MediaState(serializers.Serializer):
    camera = serializers.BooleanField()
    microphone = serializers.BooleanField()


@live_command("media.state", roles=STAGE, fields=MediaState)
def media_state(context: CommandContext, data: dict) -> None:
    services.media_state_set(
        broadcast=context.broadcast,
        attendee=context.attendee,
        camera=data["camera"],
        microphone=data["microphone"],
    )


VIEWERS = {Role.VIEWER}
SPEAKERS = {Role.SPEAKER}


class AttendeeField(serializers.Serializer):
    attendee = IdField()


@live_command("hand.raise", roles=VIEWERS)
def hand_raise(context: CommandContext, data: dict) -> None:
    stage.hand_raise(attendee=context.attendee)


@live_command("hand.cancel", roles=VIEWERS)
def hand_cancel(context: CommandContext, data: dict) -> None:
    stage.hand_cancel(attendee=context.attendee)


def _decides(name: str, service, *, moderators: bool) -> None:
    """A moderation move about one attendee (`{"attendee": id}`), run by `service`."""

    @moderation(name, fields=AttendeeField, moderators=moderators)
    def handle(context: CommandContext, data: dict) -> None:
        service(broadcast=context.broadcast, attendee_id=data["attendee"], by=context.by)


# Moderators answer requests to speak (and keep order); inviting someone who did not
# ask is the hosts' call.
_decides("hand.approve", stage.hand_approve, moderators=True)
_decides("stage.invite", stage.stage_invite, moderators=False)
_decides("hand.decline", stage.hand_decline, moderators=True)
_decides("stage.remove", stage.stage_remove, moderators=True)
_decides("attendee.remove", stage.attendee_remove, moderators=True)


@moderation("hand.lower_all", moderators=False)
def hand_lower_all(context: CommandContext, data: dict) -> dict:
    lowered = stage.hands_lower_all(broadcast=context.broadcast, by=context.by)
    return {"lowered": lowered}


@live_command("stage.leave", roles=SPEAKERS)
def stage_leave(context: CommandContext, data: dict) -> None:
    stage.stage_leave(attendee=context.attendee)


@live_command("invitation.accept", roles=VIEWERS)
def invitation_accept(context: CommandContext, data: dict) -> None:
    stage.invitation_accept(attendee=context.attendee)


@live_command("invitation.decline", roles=VIEWERS)
def invitation_decline(context: CommandContext, data: dict) -> None:
    stage.invitation_decline(attendee=context.attendee)


class QuestionText(serializers.Serializer):
    # The length rule and its message live in the service; this only bounds the frame.
    text = serializers.CharField(
        max_length=QUESTION_MAX_CHARS * 4, allow_blank=True, trim_whitespace=False
    )


class QuestionField(serializers.Serializer):
    question = IdField()


@live_command("question.ask", fields=QuestionText)
def question_ask(context: CommandContext, data: dict) -> dict:
    question = questions.question_ask(attendee=context.attendee, text=data["text"])
    return {"question": question.pk, "state": question.state}


@live_command("question.upvote", fields=QuestionField)
def question_upvote(context: CommandContext, data: dict) -> dict:
    question = questions.question_upvote(attendee=context.attendee, question_id=data["question"])
    return {"votes": question.votes}


def _moderates(name: str, action: str) -> None:
    @moderation(name, fields=QuestionField)
    def handle(context: CommandContext, data: dict) -> None:
        questions.question_moderate(
            broadcast=context.broadcast, question_id=data["question"], action=action, by=context.by
        )


for _action in QUESTION_MODERATION.moves:
    _moderates(f"question.{_action}", _action)


@moderation("question.pin", fields=QuestionField)
def question_pin(context: CommandContext, data: dict) -> None:
    questions.question_pin(broadcast=context.broadcast, question_id=data["question"], by=context.by)


@moderation("question.unpin", fields=QuestionField)
def question_unpin(context: CommandContext, data: dict) -> None:
    questions.question_pin(
        broadcast=context.broadcast, question_id=data["question"], by=context.by, pinned=False
    )


def _lifecycle(action: str) -> None:
    # The host console's buttons, and the dashboard's (moderators do not go live for a
    # host: the host's camera has to be ready).
    @moderation(f"broadcast.{action}", moderators=action != "start")
    def handle(context: CommandContext, data: dict) -> None:
        broadcasts.ACTIONS[action](broadcast=context.broadcast, by=context.by)


for _action in LIVE_ACTIONS:
    _lifecycle(_action)


@moderation("cta.push", moderators=False)
def cta_push(context: CommandContext, data: dict) -> None:
    broadcasts.broadcast_cta_push(broadcast=context.broadcast, by=context.by)


@live_command("like", batched=True)
def like(contexts: list[CommandContext], datas: list[dict]) -> list:
    outcomes = reactions.likes(attendees=[context.attendee for context in contexts])
    return [o if isinstance(o, DomainError) else {"liked": True} for o in outcomes]


class Stars(serializers.Serializer):
    stars = serializers.IntegerField(
        min_value=1,
        max_value=5,
        error_messages={
            "min_value": "Choose from 1 to 5 stars.",
            "max_value": "Choose from 1 to 5 stars.",
        },
    )


@live_command("rate", roles={Role.VIEWER, Role.SPEAKER}, fields=Stars)
def rate(context: CommandContext, data: dict) -> dict:
    rating = reactions.rate(attendee=context.attendee, stars=data["stars"])
    return {"stars": rating.stars}


@live_command("widget.close")
def widget_close(context: CommandContext, data: dict) -> None:
    reactions.widget_fold(attendee=context.attendee, closed=True)


@live_command("widget.open")
def widget_open(context: CommandContext, data: dict) -> None:
    reactions.widget_fold(attendee=context.attendee, closed=False)


class CtaSource(serializers.Serializer):
    source = serializers.ChoiceField(choices=reactions.CTA_SOURCES, default="watch")


@live_command("cta.click", fields=CtaSource)
def cta_click(context: CommandContext, data: dict) -> None:
    reactions.cta_click_record(
        broadcast=context.broadcast, attendee=context.attendee, source=data["source"]
    )
