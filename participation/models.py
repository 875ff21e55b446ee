import uuid

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    SPEAKER = "speaker", "Speaker"
    HOST = "host", "Host"


# The roles on stage rather than in the audience.
STAGE_ROLES = (Role.HOST, Role.SPEAKER)


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
    # A moderator on the watch page keeps an eye on the show; they are not its audience
    # (not counted as watching, nor in the figures). Set from their permission at each
    # visit.
    moderating = models.BooleanField(default=False, editable=False)
    # Live connections (open pages) right now, across server processes.
    connections = models.PositiveIntegerField(default=0, editable=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    left_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Watch time: seconds with at least one page open, finished visits only; the visit
    # under way started at `online_since`.
    watched_seconds = models.PositiveIntegerField(default=0, editable=False)
    online_since = models.DateTimeField(null=True, blank=True, editable=False)
    widget_closed = models.BooleanField(default=False)
    # What a stage member's page says it sends (media.state): a camera switched off
    # reads "Camera off" on viewers' tiles, video that stopped arriving does not.
    camera_on = models.BooleanField(default=True, editable=False)
    microphone_on = models.BooleanField(default=True, editable=False)
    # Taken out of the broadcast by a host or moderator: disconnected, cannot rejoin.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

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

    def watch_seconds(self, now) -> int:
        """Time spent with the broadcast open, the visit under way included."""
        current = (now - self.online_since).total_seconds() if self.online_since else 0
        return self.watched_seconds + max(0, int(current))


class ServerLease(models.Model):
    """A server process that counts live pages (presence.py): renewed while it lives.
    One that stops renewing is taken for dead and its pages are counted out; the row
    stays a while, expired, so that a process that was only stalled finds out."""

    key = models.UUIDField(primary_key=True, editable=False)
    started_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expired_at", "renewed_at"])]

    def __str__(self) -> str:
        return f"lease {self.key}"


class PagePresence(models.Model):
    """How many of an attendee's pages one server process has open: what is counted
    out of `Attendee.connections` when that process dies. The lease is a plain key,
    not a foreign key: the process writes its lease and its pages in one statement
    each, and rows of an expired lease are what the sweep counts out."""

    lease_key = models.UUIDField()
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="+")
    pages = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lease_key", "attendee"], name="presence_one_per_lease")
        ]

    def __str__(self) -> str:
        return f"{self.pages} page(s) of attendee {self.attendee_id} under {self.lease_key}"


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


class QuestionState(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    VISIBLE = "visible", "Visible"
    ANSWERED = "answered", "Answered"
    HIDDEN = "hidden", "Hidden"


# What every viewer may see; pending and hidden questions stay with hosts (and a
# pending one with its asker).
PUBLIC_QUESTION_STATES = (QuestionState.VISIBLE, QuestionState.ANSWERED)
QUESTION_MAX_CHARS = 500


class Question(models.Model):
    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="questions"
    )
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="questions")
    text = models.TextField(max_length=QUESTION_MAX_CHARS)
    state = models.CharField(
        max_length=16, choices=QuestionState.choices, default=QuestionState.VISIBLE
    )
    pinned = models.BooleanField(default=False)
    # Kept with the question so a list sorted by votes is one indexed read.
    votes = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast"],
                condition=models.Q(pinned=True),
                name="question_one_pinned_per_broadcast",
            ),
            models.CheckConstraint(
                condition=~models.Q(pinned=True) | models.Q(state__in=["visible", "answered"]),
                name="question_pinned_is_public",
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "state", "created_at"])]

    def __str__(self) -> str:
        return self.text[:80]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="vote_set")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "attendee"], name="question_vote_once"),
        ]

    def __str__(self) -> str:
        return f"{self.attendee} ▲ {self.question}"


class Like(models.Model):
    """One per attendee, for good: there is no way to take a like back."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="+"
    )
    attendee = models.OneToOneField(Attendee, on_delete=models.CASCADE, related_name="like")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["broadcast"])]

    def __str__(self) -> str:
        return f"{self.attendee} likes it"


class Rating(models.Model):
    """An attendee's stars for the presenter; changeable while the broadcast runs."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="ratings"
    )
    attendee = models.OneToOneField(Attendee, on_delete=models.CASCADE, related_name="rating")
    stars = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="rating_one_to_five_stars"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attendee}: {self.stars}/5"


class CtaClick(models.Model):
    """A click on the broadcast's call-to-action; the attendee is unknown on the landing page
    of someone who never joined."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="cta_clicks"
    )
    attendee = models.ForeignKey(
        Attendee, null=True, blank=True, on_delete=models.SET_NULL, related_name="cta_clicks"
    )
    source = models.CharField(max_length=16)  # the page it came from: landing, watch, embed, end
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "call-to-action click"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["broadcast", "at"])]

    def __str__(self) -> str:
        return f"{self.attendee or 'Someone'} clicked on the {self.source} page"


class ViewerSample(models.Model):
    """How many were watching a broadcast at one moment (every few seconds while it
    runs): the analytics chart reads these, with nothing to reconstruct from logs."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="viewer_samples"
    )
    # The start of the sampling interval: every server process samples, one row wins.
    at = models.DateTimeField()
    viewers = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "at"], name="viewer_sample_once"),
        ]

    def __str__(self) -> str:
        return f"{self.viewers} at {self.at:%H:%M:%S}"
