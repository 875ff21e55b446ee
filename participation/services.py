"""Who is in a broadcast and what they do there."""

import threading
import unicodedata
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DateTimeField, F, Max, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from broadcasts.media import media_backend
from broadcasts.models import RUNNING_STATES, Audience, Broadcast, BroadcastState
from broadcasts.selectors import AnyUser, broadcast_for_audience, host_user_ids, user_is_host
from broadcasts.services import broadcast_pause
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from core.names import display_name

from . import presence
from .analytics import audience_summary, likes_count, rating_summary
from .limits import NEW_GUESTS_MESSAGE, new_guest_allowed, new_guests_allowed
from .models import STAGE_ROLES, Attendee, Role, ViewerSample, new_guest_key
from .presenters import attendee_public, media_participant
from .realtime import events
from .realtime.bus import bus
from .realtime.counters import counter_changed_on_commit, counters
from .realtime.names import counter_section
from .realtime.publish import send_private_on_commit
from .selectors import watching
from .stage import publish_stage

DISPLAY_NAME_MAX = 60


# Invisible characters a name may hold: the joiners that build emoji (👩🏽‍💻) and
# scripts (Persian's non-joiner), and the tags of flag sequences. Other format
# characters (direction overrides, zero-width spaces) only disguise a name.
NAME_JOINERS = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))


def clean_display_name(raw: str) -> str:
    """A display name as others will see it: trimmed, one line, 1-60 characters, at
    least one of them visible."""
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidInput("Enter the name others will see.")
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(f"Keep your name to {DISPLAY_NAME_MAX} characters.")
    if any(unicodedata.category(ch)[0] == "C" and ch not in NAME_JOINERS for ch in name):
        raise InvalidInput("Your name contains characters that cannot be shown.")
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in name):
        raise InvalidInput("Enter the name others will see.")
    return name


def _user_display_name(user: AnyUser) -> str:
    return display_name(user)[:DISPLAY_NAME_MAX]


def hosts_demote_former(*, broadcast: Broadcast) -> list[Attendee]:
    """After the broadcast's hosts changed: whoever is no longer one loses the host role
    now, not at their next visit. Their open consoles are told and closed (they stop
    receiving the hosts' private frames, and can send no host command), they leave the
    stage, and on an SFU their right to publish goes. Someone made a host takes the role
    when they open the console."""
    hosts = host_user_ids(broadcast=broadcast)
    former = list(
        Attendee.objects.filter(broadcast=broadcast, role=Role.HOST).exclude(user_id__in=hosts)
    )
    if not former:
        return []
    Attendee.objects.filter(pk__in=[a.pk for a in former]).update(role=Role.VIEWER)
    for attendee in former:
        attendee.role = Role.VIEWER
        send_private_on_commit(
            attendee.pk,
            events.removed(message="You are no longer a host of this broadcast."),
            then_close=True,
        )
        attendee_id, broadcast_id = attendee.pk, broadcast.pk
        transaction.on_commit(
            lambda a=attendee_id, b=broadcast_id: media_backend().left_stage(
                broadcast_id=b, attendee_id=a
            )
        )
    publish_stage(broadcast)
    return former


def attendee_for_user(*, broadcast: Broadcast, user: AnyUser) -> Attendee:
    """The signed-in person's attendee in this broadcast, created on first visit.

    Hosts and co-hosts take the host role; everyone else starts as a viewer.
    """
    role = Role.HOST if user_is_host(broadcast=broadcast, user=user) else Role.VIEWER
    moderating = role != Role.HOST and user.has_perm("broadcasts.moderate_broadcast")
    attendee = Attendee.objects.filter(broadcast=broadcast, user=user).first()
    if attendee is None:
        try:
            with transaction.atomic():
                attendee = Attendee.objects.create(
                    broadcast=broadcast,
                    user=user,
                    display_name=_user_display_name(user),
                    role=role,
                    moderating=moderating,
                )
                if role == Role.HOST:
                    publish_stage(broadcast)
        except IntegrityError:  # the same person opened two pages at once
            attendee = Attendee.objects.get(broadcast=broadcast, user=user)
    elif (role == Role.HOST) != (attendee.role == Role.HOST):
        # Made or unmade a co-host since their last visit.
        with transaction.atomic():
            attendee.role = role
            attendee.save(update_fields=["role"])
            publish_stage(broadcast)
    if attendee.moderating != moderating:
        attendee.moderating = moderating
        attendee.save(update_fields=["moderating"])
    return attendee


def attendee_of_user(*, broadcast: Broadcast, user: AnyUser) -> Attendee | None:
    """The person's attendee if they have joined this broadcast (never creates one)."""
    return Attendee.objects.filter(broadcast=broadcast, user=user).first()


def attendee_join_as_guest(
    *,
    broadcast: Broadcast,
    guest_key: uuid.UUID | None,
    display_name: str,
    address: str | None = None,
) -> Attendee:
    """A guest enters a public broadcast under the name they chose (or renames themselves).
    A newcomer (no guest key yet) gets a new one, in a single INSERT: a crowd arriving at
    the watch page is mostly newcomers. Newcomers from one network `address` are
    limited per minute (RateLimited)."""
    if broadcast.audience != Audience.PUBLIC:
        raise Forbidden("Sign in to watch this broadcast.")
    name = clean_display_name(display_name)
    if guest_key is None:
        new_guest_allowed(address=address)
        return Attendee.objects.create(
            broadcast=broadcast, guest_key=new_guest_key(), display_name=name
        )
    with transaction.atomic():
        attendee, created = Attendee.objects.get_or_create(
            broadcast=broadcast, guest_key=guest_key, defaults={"display_name": name}
        )
        if not created and attendee.display_name != name:
            attendee.display_name = name
            attendee.save(update_fields=["display_name"])
    return attendee


def attendee_for_guest(*, broadcast: Broadcast, guest_key: uuid.UUID | None) -> Attendee | None:
    if guest_key is None:
        return None
    return Attendee.objects.filter(broadcast=broadcast, guest_key=guest_key).first()


def _widget_guest_join(*, broadcast: Broadcast, guest_key: uuid.UUID) -> Attendee:
    # One INSERT: a widget's visitors arrive by the thousand when a broadcast starts.
    try:
        with presence_transaction():
            return Attendee.objects.create(
                broadcast=broadcast, guest_key=guest_key, display_name=widget_guest_name(guest_key)
            )
    except IntegrityError:  # the same visitor's second page got there first
        return Attendee.objects.get(broadcast=broadcast, guest_key=guest_key)


def widget_guest_name(guest_key: uuid.UUID) -> str:
    """The name a widget guest gets until they give theirs (in the lead form, say)."""
    return f"Guest {guest_key.int % 10000:04d}"


@dataclass(frozen=True)
class ConnectionRequest:
    """Who opens a live connection: the broadcast's slug, the signed-in user, and the
    guest key of the watch page's cookie or the embedded widget's token (`embedded`)."""

    slug: str
    user: AnyUser
    guest_key: uuid.UUID | None
    embedded: bool = False
    # The network address it comes from, which new guests are limited by.
    address: str | None = None


def attendees_for_connections(
    requests: list[ConnectionRequest],
) -> list[Attendee | DomainError]:
    """Who each new live connection is, after the broadcast's audience rules: its
    attendee, or the error that refuses it (NotFound, Forbidden, or InvalidInput for a
    watch-page guest who has not chosen a name). A guest of the embedded widget
    (`embedded`) joins at once under a placeholder name. The guests of one broadcast
    take a few queries for them all: a widget's visitors arrive by the thousand."""
    outcomes: list[Attendee | DomainError | None] = [None] * len(requests)
    guests: dict[str, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        if request.user.is_authenticated:  # people signed in are few: one at a time
            try:
                outcomes[index] = _admitted(_attendee_of_signed_in(request))
            except DomainError as error:
                outcomes[index] = error
        else:
            guests[request.slug].append(index)
    for slug, indexes in guests.items():
        try:
            broadcast = broadcast_for_audience(slug=slug, user=requests[indexes[0]].user)
        except DomainError as error:
            for index in indexes:
                outcomes[index] = error
            continue
        keys = {requests[i].guest_key for i in indexes if requests[i].guest_key is not None}
        known = {
            attendee.guest_key: attendee
            for attendee in Attendee.objects.filter(broadcast=broadcast, guest_key__in=keys)
        }
        # Past broadcast_for_audience, an anonymous visitor's broadcast is public.
        unknown = keys - known.keys()
        first_of_key = {}
        for i in indexes:
            key = requests[i].guest_key
            if requests[i].embedded and key in unknown:
                first_of_key.setdefault(key, i)
        allowed = new_guests_allowed(addresses=[requests[i].address for i in first_of_key.values()])
        arriving = {key for key, ok in zip(first_of_key, allowed, strict=True) if ok}
        refused = first_of_key.keys() - arriving
        known |= widget_guests_join(broadcast=broadcast, guest_keys=arriving)
        for index in indexes:
            if requests[index].guest_key in refused:
                outcomes[index] = RateLimited(NEW_GUESTS_MESSAGE)
                continue
            try:
                outcomes[index] = _admitted(known.get(requests[index].guest_key))
            except DomainError as error:
                outcomes[index] = error
    return outcomes


def _attendee_of_signed_in(request: ConnectionRequest) -> Attendee:
    broadcast = broadcast_for_audience(slug=request.slug, user=request.user)
    return attendee_for_user(broadcast=broadcast, user=request.user)


def _admitted(attendee: Attendee | None) -> Attendee:
    if attendee is None:
        raise InvalidInput("Choose a display name on the watch page first.")
    if attendee.removed_at is not None:
        raise Forbidden("You were removed from this broadcast.")
    return attendee


def widget_guests_join(
    *, broadcast: Broadcast, guest_keys: set[uuid.UUID]
) -> dict[uuid.UUID, Attendee]:
    """Make the widget's new guests of a broadcast, each with a name of its own, in one
    insert; a guest another process made meanwhile is found instead of made twice."""
    if not guest_keys:
        return {}
    attendees = [
        Attendee(broadcast=broadcast, guest_key=key, display_name=widget_guest_name(key))
        for key in guest_keys
    ]
    try:
        with presence_transaction():
            Attendee.objects.bulk_create(attendees)
    except IntegrityError:  # a visitor's other page got there first: one at a time
        return {key: _widget_guest_join(broadcast=broadcast, guest_key=key) for key in guest_keys}
    return {attendee.guest_key: attendee for attendee in attendees}


@contextmanager
def presence_transaction():
    """A transaction for who-is-here bookkeeping, committed without waiting for the disk.

    Thousands of pages open and close at once; waiting for a disk flush on each would
    make them queue. A database crash may lose the last moments of presence (pages
    reconnect and count themselves again), never a like, a question or a lead: their
    commits flush everything written before them.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def attendee_connected(*, attendee: Attendee) -> uuid.UUID:
    """One more page of this attendee is open (presence counts every page)."""
    return attendees_connected(attendees=[attendee])


def attendees_connected(*, attendees: list[Attendee]) -> uuid.UUID:
    """One more page open for each of `attendees` (an attendee twice: two pages), in
    this process; returns the presence lease they are counted under (presence.py),
    which their closing names.

    One statement for a crowd of viewers: thousands join at once when a broadcast starts.
    """
    now = timezone.now()
    viewers = Counter(attendee.pk for attendee in attendees if attendee.role != Role.HOST)
    hosts = [attendee for attendee in attendees if attendee.role == Role.HOST]
    with presence_transaction():
        lease = presence.pages_opened(Counter(attendee.pk for attendee in attendees))
        for pages in sorted(set(viewers.values())):
            ids = [pk for pk, count in viewers.items() if count == pages]
            Attendee.objects.filter(pk__in=ids).update(**_presence_opened(now, pages))
        # A host's first console puts a co-host on stage: their pages are counted one by
        # one, so that exactly one of them sees the first.
        for host in hosts:
            Attendee.objects.filter(pk=host.pk).update(**_presence_opened(now, 1))
            _stage_presence_changed(host.pk, online=True)
    return lease


def _presence_opened(now, pages: int) -> dict:
    return {
        "connections": F("connections") + pages,
        "last_seen_at": now,
        "left_at": None,
        # The first open page starts a visit (watch time counts from here).
        "online_since": Coalesce(F("online_since"), Value(now, output_field=DateTimeField())),
    }


def attendees_disconnected(
    attendees: list[Attendee], *, lease: uuid.UUID | None = None
) -> list[None]:
    """One page fewer open for each of `attendees` (an attendee twice: two pages),
    counted under `lease` (this process's, by default). When an attendee's last page
    closes, their visit ends and its time is added to their watch time. A few
    statements for a crowd: everyone leaves when a broadcast ends."""
    hosts = {attendee.pk for attendee in attendees if attendee.role == Role.HOST}
    with presence_transaction():
        closed = presence.pages_closed(
            lease or presence.lease_key(), Counter(attendee.pk for attendee in attendees)
        )
        _pages_counted_out(closed, hosts=hosts)
    return [None] * len(attendees)


def pages_closed(closing: list[tuple[Attendee, uuid.UUID]]) -> list[None]:
    """Pages that close together, each with the lease it was counted under."""
    by_lease = defaultdict(list)
    for attendee, lease in closing:
        by_lease[lease].append(attendee)
    for lease, attendees in by_lease.items():
        attendees_disconnected(attendees, lease=lease)
    return [None] * len(closing)


# Pages that closed while PostgreSQL was out of reach, to be counted out when it is back.
_closed_uncounted: list[tuple[Attendee, uuid.UUID]] = []
_closed_uncounted_lock = threading.Lock()


def pages_closed_later(closing: list[tuple[Attendee, uuid.UUID]]) -> None:
    """Pages whose closing could not be written now: the presence sweep writes it."""
    with _closed_uncounted_lock:
        _closed_uncounted.extend(closing)


def _pages_closed_meanwhile() -> None:
    with _closed_uncounted_lock:
        closing = _closed_uncounted[:]
        del _closed_uncounted[:]
    if not closing:
        return
    try:
        pages_closed(closing)
    except Exception:
        pages_closed_later(closing)  # still out of reach: next sweep
        raise
    for broadcast_id in {attendee.broadcast_id for attendee, _ in closing}:
        counters.mark("audience", broadcast_id)


def presence_sweep(*, lease_seconds: float) -> int:
    """Count out the pages of server processes that stopped renewing their presence
    lease (killed, or lost with their machine): visits end, the audience count goes
    out again, a host's stage presence follows; and this process's pages that closed
    while PostgreSQL was out of reach. Returns the pages of other processes counted
    out."""
    _pages_closed_meanwhile()
    with presence_transaction():
        taken = presence.expired_pages_take(lease_seconds=lease_seconds)
        if not taken:
            return 0
        # The role now: a page opened as a host is counted out as one.
        hosts = set(
            Attendee.objects.filter(pk__in=list(taken), role=Role.HOST).values_list("pk", flat=True)
        )
        _pages_counted_out(taken, hosts=hosts)
        for broadcast_id in set(
            Attendee.objects.filter(pk__in=list(taken)).values_list("broadcast_id", flat=True)
        ):
            counter_changed_on_commit("audience", broadcast_id)
    return sum(taken.values())


def _pages_counted_out(closed: Counter, *, hosts: set[int]) -> None:
    now = timezone.now()
    viewers = {pk: pages for pk, pages in closed.items() if pk not in hosts and pages}
    for pages in sorted(set(viewers.values())):
        ids = [pk for pk, count in viewers.items() if count == pages]
        Attendee.objects.filter(pk__in=ids).update(
            connections=Greatest(F("connections") - pages, Value(0)), last_seen_at=now
        )
    _visits_ended(list(viewers), now)
    # As on arrival, a host's pages one by one: exactly one of them sees the last.
    for host_id in hosts:
        for _ in range(closed.get(host_id, 0)):
            Attendee.objects.filter(pk=host_id, connections__gt=0).update(
                connections=F("connections") - 1, last_seen_at=now
            )
            _visits_ended([host_id], now)
            _stage_presence_changed(host_id, online=False)


def _visits_ended(attendee_ids: list[int], now) -> None:
    closing = list(
        Attendee.objects.select_for_update()
        .filter(pk__in=attendee_ids, connections=0)
        .only("pk", "online_since", "watched_seconds")
    )
    for attendee in closing:
        visit = (now - attendee.online_since).total_seconds() if attendee.online_since else 0
        attendee.watched_seconds += max(0, int(visit))
        attendee.left_at, attendee.online_since = now, None
    Attendee.objects.bulk_update(closing, ["left_at", "online_since", "watched_seconds"])


def _stage_presence_changed(attendee_id: int, *, online: bool) -> None:
    # A co-host is on stage while their console is open, and the main host is shown away
    # while none of theirs is: their first page opening or their last one closing changes
    # the stage for everyone. (Only hosts get here: the role is the one the connection
    # was opened with, which its attendee had then.)
    current = Attendee.objects.select_related("broadcast").get(pk=attendee_id)
    if current.role != Role.HOST:
        return
    if current.connections == (1 if online else 0):
        publish_stage(current.broadcast)


def hosts_away_pause(*, away_seconds: float, now=None) -> list[str]:
    """Pause the live broadcasts whose hosts have all been gone for `away_seconds` (the
    console closed, the network lost): viewers get the hold screen instead of a frozen
    picture. A host who never opened a console is not "gone". The host resumes from the
    console. Returns the slugs paused. Safe in several processes at once: the pause
    runs under the broadcast's lock and a second one finds it paused already."""
    now = now or timezone.now()
    hosts = Attendee.objects.filter(broadcast__state=BroadcastState.LIVE, role=Role.HOST)
    present = hosts.filter(connections__gt=0).values("broadcast_id")
    gone = (
        hosts.exclude(broadcast_id__in=present)
        .filter(last_seen_at__isnull=False)
        .values("broadcast_id")
        .annotate(last=Max("last_seen_at"))
        .filter(last__lte=now - timedelta(seconds=away_seconds))
    )
    paused = []
    for broadcast in Broadcast.objects.filter(pk__in=gone.values("broadcast_id")):
        try:
            broadcast_pause(broadcast=broadcast, by=None)
        except Conflict:
            continue  # paused or ended meanwhile, by someone else
        paused.append(broadcast.slug)
    return paused


# The least time between two publications of a counter of one broadcast, across all
# server processes: the audience changes with every join, and a crowd joins at once.
COUNTER_SPACING_SECONDS = {"audience": 1.0, "likes": 0.5, "rating": 0.5}


def counter_publish(*, kind: str, broadcast_id: int) -> bool:
    """Publish a counter's current value: `audience` (who is watching), `likes` or
    `rating`. Called by the coalescing flusher, never once per viewer's action.

    Every process flushes its own viewers' changes; reading and publishing happen in a
    section one process at a time, so a value read earlier is never published after
    one read later (the last count everyone sees is the true one), and at most once
    per COUNTER_SPACING_SECONDS. Returns False when another process is in that
    section or was a moment ago: the caller tries again on its next round.
    """
    if kind not in COUNTER_SPACING_SECONDS:
        raise ValueError(f"no such counter: {kind}")
    broadcast = Broadcast.objects.filter(pk=broadcast_id).only("slug").first()
    if broadcast is None:
        raise NotFound("The broadcast is gone.")
    spacing = COUNTER_SPACING_SECONDS[kind]
    with bus().exclusive(counter_section(kind, broadcast_id), spacing=spacing) as ours:
        if not ours:
            return False
        if kind == "audience":
            summary = audience_summary(
                broadcast=broadcast, sample_size=settings.LIVE_AUDIENCE_SAMPLE_SIZE
            )
            event = events.audience(count=summary["count"], sample=summary["sample"])
        elif kind == "likes":
            event = events.likes(count=likes_count(broadcast_id=broadcast_id))
        else:
            summary = rating_summary(broadcast_id=broadcast_id)
            event = events.rating(average=summary["average"], count=summary["count"])
        bus().publish(broadcast.slug, event)
    return True


def rtc_signal_send(*, broadcast: Broadcast, sender: Attendee, to: int, data: dict):
    """Relay WebRTC signalling (a request, offer, answer, ICE candidate or bye) to one
    peer of the same broadcast, as the media backend allows; an SFU backend returns
    what its part on the sender's connection does. Media never passes here."""
    recipient = Attendee.objects.filter(pk=to, broadcast_id=broadcast.pk).first()
    if recipient is None:
        raise NotFound("There is no such person in this broadcast.")
    kind = data["kind"]
    if kind == "request" and not broadcast.is_running:
        raise Conflict("The broadcast is not live.")
    backend = media_backend()
    backend.check_signal(
        sender=media_participant(sender, with_rank=kind == "request"),
        recipient=media_participant(recipient),
        kind=kind,
    )
    return backend.deliver(
        broadcast_id=broadcast.pk,
        sender=sender.pk,
        recipient=recipient.pk,
        data=data,
        stage=lambda: list(
            Attendee.objects.filter(broadcast_id=broadcast.pk, role__in=STAGE_ROLES).values_list(
                "pk", flat=True
            )
        ),
    )


def media_publisher_ready(*, broadcast: Broadcast, attendee: Attendee) -> None:
    """A stage member's page is ready to send media: viewers connect (again) to it,
    which is how a reloaded host console gets its audience back at once."""
    if broadcast.state == BroadcastState.ENDED:
        raise Conflict("The broadcast has ended.")
    bus().publish(broadcast.slug, events.media_ready(attendee=attendee_public(attendee)))


def media_state_set(
    *, broadcast: Broadcast, attendee: Attendee, camera: bool, microphone: bool
) -> None:
    """A stage member's page says whether it sends their camera and microphone; the
    stage is told when that changes (so a camera switched off reads "Camera off")."""
    if broadcast.state == BroadcastState.ENDED:
        raise Conflict("The broadcast has ended.")
    changed = (
        Attendee.objects.filter(pk=attendee.pk)
        .exclude(camera_on=camera, microphone_on=microphone)
        .update(camera_on=camera, microphone_on=microphone)
    )
    if changed:
        publish_stage(broadcast)


def viewers_sample(*, now=None) -> None:
    """Count who watches each running broadcast now, one sample per interval.

    Every server process calls this; the interval's start is the sample's key, so the
    first process to write it wins and the others change nothing.
    """
    now = now or timezone.now()
    interval = settings.VIEWER_SAMPLE_SECONDS
    bucket = datetime.fromtimestamp(int(now.timestamp()) // interval * interval, tz=UTC)
    running = Broadcast.objects.filter(state__in=RUNNING_STATES).values_list("pk", flat=True)
    counts = dict(
        watching(broadcast_id__in=list(running)).values_list("broadcast_id").annotate(n=Count("id"))
    )
    samples = [
        ViewerSample(broadcast_id=broadcast_id, at=bucket, viewers=counts.get(broadcast_id, 0))
        for broadcast_id in running
    ]
    ViewerSample.objects.bulk_create(samples, ignore_conflicts=True)


def viewers_sample_at_end(*, broadcast: Broadcast) -> None:
    """The session's last moment, counted: a short session may end between two samples
    (its peak would read 0), and the chart ends where the session did."""
    viewers = watching(broadcast_id=broadcast.pk).count()
    ViewerSample.objects.bulk_create(
        [ViewerSample(broadcast_id=broadcast.pk, at=timezone.now(), viewers=viewers)],
        ignore_conflicts=True,
    )
