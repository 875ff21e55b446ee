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
