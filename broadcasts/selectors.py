"""Reads about broadcasts that more than one edge needs."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .errors import Forbidden, NotFound
from .models import Audience, Broadcast, BroadcastState

AnyUser = AbstractBaseUser | AnonymousUser


def user_is_host(*, broadcast: Broadcast, user: AnyUser) -> bool:
    """The host and the co-hosts: who may use the host console and host-only commands."""
    if not user.is_authenticated:
        return False
    return broadcast.host_id == user.pk or broadcast.co_hosts.filter(pk=user.pk).exists()


def user_can_run(*, broadcast: Broadcast, user: AnyUser | None) -> bool:
    """Who may move a broadcast through its lifecycle: its hosts, and moderators."""
    if user is None or not user.is_authenticated:
        return False
    return user_is_host(broadcast=broadcast, user=user) or user.has_perm(
        "broadcasts.moderate_broadcast"
    )


def broadcast_announced(*, slug: str, user: AnyUser) -> Broadcast:
    """A broadcast whose landing page this person may see: any but a draft, and drafts
    to their hosts and moderators. Raises NotFound otherwise."""
    broadcast = Broadcast.objects.select_related("host", "audience_group").filter(slug=slug).first()
    if broadcast is None or (
        broadcast.state == BroadcastState.DRAFT and not user_can_run(broadcast=broadcast, user=user)
    ):
        raise NotFound("There is no such broadcast.")
    return broadcast


def broadcast_for_audience(*, slug: str, user: AnyUser) -> Broadcast:
    """The broadcast a person asks to see, if they may see it.

    Drafts are visible to their hosts and moderators only; the audience setting
    decides the rest. Raises NotFound or Forbidden (with a reason a page can show).
    """
    broadcast = broadcast_announced(slug=slug, user=user)
    if broadcast.audience == Audience.PUBLIC or user_can_run(broadcast=broadcast, user=user):
        return broadcast
    if not user.is_authenticated:
        raise Forbidden("Sign in to watch this broadcast.", code="forbidden")
    if (
        broadcast.audience == Audience.GROUP
        and not user.groups.filter(pk=broadcast.audience_group_id).exists()
    ):
        raise Forbidden("This broadcast is for members of a group you are not in.")
    return broadcast


def broadcasts_hosted_by(*, user: AnyUser) -> QuerySet[Broadcast]:
    return Broadcast.objects.filter(Q(host=user) | Q(co_hosts=user)).distinct()


def broadcast_public_data(*, broadcast: Broadcast) -> dict:
    """What every viewer may know about a broadcast (the snapshot's `broadcast`)."""
    host = broadcast.host
    return {
        "slug": broadcast.slug,
        "title": broadcast.title,
        "description": broadcast.description,
        "state": broadcast.state,
        "host": host.get_full_name() or host.get_username(),
        "scheduled_start": broadcast.scheduled_start,
        "went_live_at": broadcast.went_live_at,
        "ended_at": broadcast.ended_at,
        "stage_size": broadcast.stage_size,
        "cta": {
            "headline": broadcast.cta_headline,
            "label": broadcast.cta_label,
            "url": broadcast.cta_url,
        }
        if broadcast.has_cta
        else None,
        "cta_pushed_at": broadcast.cta_pushed_at,
        "lead_form": {
            "phone": broadcast.lead_ask_phone,
            "company": broadcast.lead_ask_company,
            "consent_text": broadcast.lead_consent_text,
        },
        "questions_premoderated": broadcast.questions_premoderated,
    }
