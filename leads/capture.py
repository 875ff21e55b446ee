"""Leads captured from the lead form, and the reads of them other apps show.

Capturing commits the lead before anyone is thanked.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.utils import timezone

from broadcasts.audit import audit_record
from broadcasts.models import Broadcast, BroadcastState
from core.errors import Conflict, Forbidden, InvalidInput
from participation.models import Attendee
from participation.realtime import events
from participation.realtime.publish import publish_on_commit, send_to_hosts_on_commit
from participation.realtime.ratelimit import rate_limit

from .exports import export_refresh_post_session
from .forms import LeadForm
from .models import Lead

logger = logging.getLogger(__name__)


def lead_capture(*, broadcast: Broadcast, attendee: Attendee | None, data: dict) -> Lead | None:
    """Validate and store a lead; a second submission with the same email updates it.

    Raises InvalidInput with field errors, or RateLimited. Returns None for a bot that
    filled the honeypot (it is told nothing different, and nothing is stored).
    """
    if broadcast.state == BroadcastState.DRAFT:
        raise Conflict("This broadcast is not open yet.")
    if attendee is not None and attendee.removed_at is not None:
        raise Forbidden("You were removed from this broadcast.")
    form = LeadForm(data, broadcast=broadcast)
    if form.is_spam:
        logger.info("lead form honeypot filled on broadcast %s", broadcast.pk)
        return None
    # Validated first: a mistyped email is corrected, not counted against the person.
    if not form.is_valid():
        raise InvalidInput(
            "Some fields need another look.",
            details={field: [str(m) for m in errors] for field, errors in form.errors.items()},
        )
    if attendee is not None:
        rate_limit(
            key=f"lead:attendee:{attendee.pk}",
            allowed=5,
            per_seconds=600,
            message="You have sent your details several times already. Wait a few minutes.",
        )
    values = form.cleaned_data
    rate_limit(
        key=f"lead:email:{values['email']}",
        allowed=5,
        per_seconds=3600,
        message="These details were sent several times already. Try again later.",
    )
    fields = {
        "name": values["name"],
        "phone": values.get("phone", ""),
        "company": values.get("company", ""),
        "consent_given": True,
        "consent_text": broadcast.lead_consent_text,
        "consented_at": timezone.now(),
    }
    with transaction.atomic():
        lead = _upsert(broadcast, attendee, values["email"], fields)
        # Host consoles and the admin's dashboard count leads live.
        send_to_hosts_on_commit(
            broadcast.pk, events.leads(count=leads_count(broadcast_id=broadcast.pk))
        )
        if broadcast.state == BroadcastState.ENDED:
            transaction.on_commit(lambda: export_refresh_post_session(broadcast_id=broadcast.pk))
    return lead


def _upsert(broadcast: Broadcast, attendee: Attendee | None, email: str, fields: dict) -> Lead:
    for _ in range(2):
        lead = Lead.objects.select_for_update().filter(broadcast=broadcast, email=email).first()
        if lead is not None:
            for name, value in fields.items():
                setattr(lead, name, value)
            if attendee is not None:
                # The latest person to send these details is who the lead's page shows
                # them to: nobody else sees what another person typed.
                lead.attendee = attendee
            lead.save()
            return lead
        try:
            with transaction.atomic():
                return Lead.objects.create(
                    broadcast=broadcast, attendee=attendee, email=email, **fields
                )
        except IntegrityError:  # the same address, sent twice at once: update the other
            continue
    raise Conflict("Could not save your details; try again.")


def lead_private(lead: Lead) -> dict:
    """A person's own lead, as their pages show it (never anyone else's)."""
    return {"name": lead.name, "email": lead.email, "phone": lead.phone, "company": lead.company}


def leads_of_attendees(*, attendee_ids: list[int]) -> dict[int, dict]:
    """Each attendee's own latest lead, as their pages show it, by attendee id (those
    who left none are missing)."""
    leads: dict[int, dict] = {}
    newest_first = Lead.objects.filter(attendee_id__in=attendee_ids).order_by("-updated_at")
    for lead in newest_first:
        leads.setdefault(lead.attendee_id, lead_private(lead))
    return leads


def lead_prompt(*, broadcast: Broadcast, by) -> None:
    """A host asks every viewer for their details: the lead form opens on their pages."""
    if not broadcast.is_running:
        raise Conflict("Ask for details while the broadcast is live.")
    audit_record(broadcast=broadcast, by=by, action="lead.prompt")
    publish_on_commit(broadcast.slug, events.lead_prompt(at=timezone.now()))


def leads_count(*, broadcast_id: int) -> int:
    return Lead.objects.filter(broadcast_id=broadcast_id).count()


def leads_count_subquery():
    """The number of leads of the broadcast in the outer query (for annotated lists)."""
    counts = (
        Lead.objects.filter(broadcast=OuterRef("pk"))
        .order_by()
        .values("broadcast")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(counts, output_field=IntegerField())
