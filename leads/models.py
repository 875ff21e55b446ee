from django.conf import settings
from django.core.files.storage import storages
from django.db import models


class Lead(models.Model):
    """Someone's contact details, left in a broadcast; one per (broadcast, email), a
    second submission updates it. The consent text shown is kept with the consent."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="leads"
    )
    attendee = models.ForeignKey(
        "participation.Attendee",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    name = models.CharField(max_length=120)
    email = models.EmailField(max_length=254)  # stored lower-cased
    phone = models.CharField(max_length=20, blank=True)  # international form, +4912345678
    company = models.CharField(max_length=120, blank=True)
    consent_given = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "email"], name="lead_one_per_email"),
        ]
        permissions = [("export_leads", "Can export and download leads")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def _exports_storage():
    return storages["exports"]


class LeadExport(models.Model):
    """A CSV of leads, written by a Celery task: one broadcast's, or a date range's."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    broadcast = models.ForeignKey(
        "broadcasts.Broadcast",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_exports",
    )
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    # The export queued by itself when a broadcast ends.
    post_session = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)
    file = models.FileField(storage=_exports_storage, upload_to="leads/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Which run writes it now (each start counts one), and when that run last showed
    # progress: a run that stops showing it died with its worker, and is run again.
    attempt = models.PositiveIntegerField(default=0, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(broadcast__isnull=False)
                | models.Q(date_from__isnull=False, date_to__isnull=False),
                name="lead_export_has_a_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.scope_label})"

    @property
    def scope_label(self) -> str:
        if self.broadcast_id:
            return str(self.broadcast)
        return f"{self.date_from:%Y-%m-%d} to {self.date_to:%Y-%m-%d}"

    @property
    def progress(self) -> int | None:
        """Percent done, when the number of rows is known."""
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return None
        return min(99, int(100 * self.rows_written / self.rows_total))


class ExportTransition(models.Model):
    """One recorded move of an export: from, to, when (the task is who)."""

    export = models.ForeignKey(LeadExport, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=ExportState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=ExportState.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '·'} → {self.to_state}"


class ExportDownload(models.Model):
    """Who downloaded an export, and when (personal data leaving the building)."""

    export = models.ForeignKey(LeadExport, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=8)  # "page" or "api"
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.export} ({self.via})"
