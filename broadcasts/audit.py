"""The audit log's one writer: services record who did what to a broadcast."""

from .models import AuditEntry, Broadcast


def audit_record(*, broadcast: Broadcast | int | None, by, action: str, subject: str = "") -> None:
    """Record a change made by `by` (a user, or None for the system), in the caller's
    transaction: the entry exists exactly when the change does."""
    AuditEntry.objects.create(
        broadcast_id=broadcast.pk if isinstance(broadcast, Broadcast) else broadcast,
        actor=by if by is not None and by.is_authenticated else None,
        action=action,
        subject=subject[:300],
    )
