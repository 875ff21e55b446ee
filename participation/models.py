import uuid

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    SPEAKER = "speaker", "Speaker"
    HOST = "host", "Host"


class Attendee(models.Model):
    """One person in one broadcast: a signed-in user, or a guest known by a signed cookie."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="attendees"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    guest_key = models.UUIDField(null=True, blank=True, editable=False)
    display_name = models.CharField(max_length=60)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Live connections (open pages) right now, across server processes.
    connections = models.PositiveIntegerField(default=0, editable=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    left_at = models.DateTimeField(null=True, blank=True, editable=False)
    widget_closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "user"],
                condition=models.Q(user__isnull=False),
                name="attendee_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["broadcast", "guest_key"],
                condition=models.Q(guest_key__isnull=False),
                name="attendee_one_per_guest",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=True, guest_key__isnull=False)
                | models.Q(user__isnull=False, guest_key__isnull=True),
                name="attendee_user_xor_guest",
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "connections"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def is_online(self) -> bool:
        return self.connections > 0


def new_guest_key() -> uuid.UUID:
    return uuid.uuid4()


class SpeakRequestState(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "On stage"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    ENDED = "ended", "Left the stage"
    REMOVED = "removed", "Removed from stage"


ACTIVE_REQUEST_STATES = (SpeakRequestState.PENDING, SpeakRequestState.APPROVED)


class SpeakRequest(models.Model):
    """A viewer's wish to speak (or the host's invitation), and their time on stage."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="speak_requests"
    )
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="speak_requests")
    state = models.CharField(
        max_length=16, choices=SpeakRequestState.choices, default=SpeakRequestState.PENDING
    )
    # Set when the host invited the viewer, rather than the viewer asking.
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The place on stage an approved request holds; unique among those on stage, so
    # the database itself refuses a second speaker in the same place.
    seat = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    on_stage_at = models.DateTimeField(null=True, blank=True)
    off_stage_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attendee"],
                condition=models.Q(state__in=["pending", "approved"]),
                name="speak_request_one_active_per_attendee",
            ),
            models.UniqueConstraint(
                fields=["broadcast", "seat"],
                condition=models.Q(state="approved"),
                name="speak_request_one_speaker_per_seat",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="approved") | models.Q(seat__isnull=False),
                name="speak_request_approved_has_seat",
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.attendee} ({self.get_state_display()})"

    @property
    def is_invitation(self) -> bool:
        return self.invited_by_id is not None


class SpeakRequestTransition(models.Model):
    """One recorded move of a speak request: who, when, from, to (from is blank at creation)."""

    request = models.ForeignKey(SpeakRequest, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=SpeakRequestState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=SpeakRequestState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"
