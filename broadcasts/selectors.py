"""Reads about broadcasts that more than one edge needs."""

import copy
import threading
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Q, QuerySet
from django.db.models.signals import post_delete, post_save

from core.errors import Forbidden, NotFound
from core.names import display_name
from core.origins import normalize_origin

from .lifecycle import live_actions
from .models import RUNNING_STATES, Audience, Broadcast, BroadcastState, EmbedSite

AnyUser = AbstractBaseUser | AnonymousUser

# A broadcast's pages are loaded by crowds (a campaign's link, the minute it starts), and
# reading the broadcast was most of a landing page's work: each server process reads it
# for pages at most once a second, and forgets it as soon as it changes in this process.
# Other processes show a change within that second; pages then follow the live socket,
# which reads afresh, as does every decision about who may join.
PAGE_READ_SECONDS = 1.0
PAGE_READ_SLUGS = 1000  # more than that many broadcasts at once: start over


class _PageBroadcasts:
    def __init__(self):
        self._lock = threading.Lock()
        self._read: dict[str, tuple[float, Broadcast]] = {}

    def get(self, slug: str) -> Broadcast | None:
        entry = self._read.get(slug)
        if entry is None or entry[0] < time.monotonic():
            broadcast = Broadcast.objects.select_related("host").filter(slug=slug).first()
            if broadcast is None:
                return None
            with self._lock:
                if len(self._read) >= PAGE_READ_SLUGS:
                    self._read.clear()
                self._read[slug] = (time.monotonic() + PAGE_READ_SECONDS, broadcast)
        else:
            broadcast = entry[1]
        # Each page its own copy: views and services may set attributes on theirs.
        return copy.copy(broadcast)

    def forget(self, slug: str | None = None) -> None:
        with self._lock:
            if slug is None:
                self._read.clear()
            else:
                self._read.pop(slug, None)


page_broadcasts = _PageBroadcasts()


def _forget_changed(sender, instance: Broadcast, **kwargs) -> None:
    page_broadcasts.forget(instance.slug)


post_save.connect(_forget_changed, sender=Broadcast, dispatch_uid="page-broadcasts")
post_delete.connect(_forget_changed, sender=Broadcast, dispatch_uid="page-broadcasts-gone")


def host_user_ids(*, broadcast: Broadcast) -> set[int]:
    """The host and the co-hosts, by user id."""
    return {broadcast.host_id, *broadcast.co_hosts.values_list("pk", flat=True)}


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


def require_can_run(*, broadcast: Broadcast, by: AnyUser | None) -> None:
    """Refuse anyone but the broadcast's hosts and moderators. `by=None` is the system
    itself (a task, a sweep), which may do anything."""
    if by is not None and not user_can_run(broadcast=broadcast, user=by):
        raise Forbidden("Only the broadcast's hosts and moderators can do that.")


def broadcast_announced(*, slug: str, user: AnyUser, for_page: bool = False) -> Broadcast:
    """A broadcast whose landing page this person may see: any but a draft, and drafts
    to their hosts and moderators. Raises NotFound otherwise. `for_page`: a read of at
    most a second ago will do (see PAGE_READ_SECONDS)."""
    if for_page:
        broadcast = page_broadcasts.get(slug)
    else:
        broadcast = Broadcast.objects.select_related("host").filter(slug=slug).first()
    if broadcast is None or (
        broadcast.state == BroadcastState.DRAFT and not user_can_run(broadcast=broadcast, user=user)
    ):
        raise NotFound("There is no such broadcast.")
    return broadcast


def broadcast_for_audience(*, slug: str, user: AnyUser, for_page: bool = False) -> Broadcast:
    """The broadcast a person asks to see, if they may see it.

    Drafts are visible to their hosts and moderators only; the audience setting
    decides the rest. Raises NotFound or Forbidden (with a reason a page can show).
    """
    broadcast = broadcast_announced(slug=slug, user=user, for_page=for_page)
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


def broadcasts_on_show(*, user: AnyUser, limit: int = 50) -> dict[str, list[Broadcast]]:
    """What the home page lists for this person: the running broadcasts and the scheduled
    ones they may watch (their audience lets them in, as broadcast_for_audience
    decides), live first, then soonest first. Drafts and ended broadcasts are not on
    show."""
    audience = Q(audience=Audience.PUBLIC)
    if user.is_authenticated:
        audience |= Q(audience=Audience.SIGNED_IN)
        audience |= Q(audience=Audience.GROUP, audience_group__in=user.groups.all())
        if user.has_perm("broadcasts.moderate_broadcast"):
            audience = Q()
        else:
            audience |= Q(host=user) | Q(co_hosts=user)
    on_show = (
        Broadcast.objects.filter(audience, state__in=[*RUNNING_STATES, BroadcastState.SCHEDULED])
        .select_related("host")
        .distinct()
        .order_by(F("scheduled_start").asc(nulls_last=True), "pk")[:limit]
    )
    shows = {"running": [], "upcoming": []}
    for broadcast in on_show:
        shows["running" if broadcast.is_running else "upcoming"].append(broadcast)
    return shows


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
        # The rules pages follow, from the server's own tables (lifecycle.py).
        "running": broadcast.is_running,
        "actions": live_actions(broadcast.state),
        "host": display_name(host),
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


def embed_origins() -> list[str]:
    """The websites that may show the widget: those staff added in the admin, then
    PRIMETIME_EMBED_ORIGINS ("*": any). Read from the database each time, so a site
    added or removed takes effect at the next widget load."""
    added = list(EmbedSite.objects.values_list("origin", flat=True))
    return added + [o for o in settings.EMBED_ALLOWED_ORIGINS if o not in added]


def origin_may_embed(origin: str) -> bool:
    allowed = embed_origins()
    return "*" in allowed or normalize_origin(origin) in allowed
