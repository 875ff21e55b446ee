"""Reads of the participation state: attendees as others see them, and snapshots."""

import bisect
import hashlib
import threading
import time

from django.conf import settings
from django.db.models import Avg, Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse

from broadcasts.media import Participant, media_backend
from broadcasts.models import Broadcast
from broadcasts.selectors import broadcast_public_data

from .models import (
    PUBLIC_QUESTION_STATES,
    Attendee,
    CtaClick,
    Like,
    Question,
    QuestionState,
    QuestionVote,
    Rating,
    Role,
    SpeakRequest,
    ViewerSample,
)
from .models import SpeakRequestState as R

STAGE_ROLES = (Role.HOST, Role.SPEAKER)


def initials(name: str) -> str:
    words = [word for word in name.split() if word[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_url(attendee: Attendee) -> str:
    # A colour that stays the same for a person, picked from their attendee id.
    hue = int(hashlib.blake2s(str(attendee.pk).encode(), digest_size=2).hexdigest(), 16) % 360
    return reverse("avatar", kwargs={"letters": initials(attendee.display_name), "hue": hue})


def attendee_public(attendee: Attendee) -> dict:
    """An attendee as every other attendee sees them (the protocol's attendee object)."""
    return {
        "id": attendee.pk,
        "name": attendee.display_name,
        "role": attendee.role,
        "avatar": avatar_url(attendee),
    }


def attendees_with_own_state(attendee_ids: list[int]) -> dict[int, Attendee]:
    """The attendees, fresh, by id, with what each did annotated in the same query:
    `liked`, `stars`, and whether they have an active request, pending questions or votes
    (so a snapshot asks for those only when there is something to read)."""
    return {a.pk: a for a in _with_own_state(Attendee.objects.filter(pk__in=attendee_ids))}


def _with_own_state(attendees):
    mine = OuterRef("pk")
    return attendees.annotate(
        liked=Exists(Like.objects.filter(attendee=mine)),
        stars=Subquery(Rating.objects.filter(attendee=mine).values("stars")[:1]),
        has_request=Exists(
            SpeakRequest.objects.filter(attendee=mine, state__in=[R.PENDING, R.APPROVED])
        ),
        has_pending_questions=Exists(
            Question.objects.filter(attendee=mine, state=QuestionState.PENDING)
        ),
        has_votes=Exists(QuestionVote.objects.filter(attendee=mine)),
    )


def attendee_private(attendee: Attendee, *, lead: dict | None) -> dict:
    """The snapshot's `me`: the attendee (from `attendees_with_own_state`), their own
    private state, and their own `lead` (the leads app's `leads_of_attendees`)."""
    return {
        **attendee_public(attendee),
        "guest": attendee.is_guest,
        "widget_closed": attendee.widget_closed,
        "request": request_private(active_request(attendee=attendee))
        if attendee.has_request
        else None,
        "liked": attendee.liked,
        "rating": attendee.stars,
        "lead": lead,
    }


def _own_leads(attendee_ids: list[int]) -> dict[int, dict]:
    # The leads app owns leads; this only asks it for each person's own.
    from leads.capture import leads_of_attendees

    return leads_of_attendees(attendee_ids=attendee_ids)


def stage_attendees(*, broadcast: Broadcast) -> list[dict]:
    """Who is on stage: the host, co-hosts while their console is open, and speakers."""
    on_stage = Attendee.objects.filter(broadcast=broadcast).filter(
        Q(role=Role.SPEAKER)
        | Q(role=Role.HOST, user_id=broadcast.host_id)
        | Q(role=Role.HOST, connections__gt=0)
    )
    # The main host first, then co-hosts, then speakers in the order they came on.
    ordered = sorted(
        on_stage,
        key=lambda a: (a.user_id != broadcast.host_id, a.role != Role.HOST, a.joined_at, a.pk),
    )
    return [attendee_public(a) for a in ordered]


def request_private(request: SpeakRequest | None) -> dict | None:
    """A request as its requester sees it (the snapshot's `me.request`)."""
    if request is None:
        return None
    return {
        "id": request.pk,
        "state": request.state,
        "invited": request.is_invitation,
        "invited_by": _name(request.invited_by) if request.is_invitation else None,
        "position": queue_position(request) if request.state == R.PENDING else None,
    }


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def queue_position(request: SpeakRequest) -> int | None:
    """First come, first served: 1 for the oldest raised hand still waiting."""
    if request.is_invitation:
        return None
    return (
        pending_hands(request.broadcast_id)
        .filter(
            Q(created_at__lt=request.created_at)
            | Q(created_at=request.created_at, pk__lt=request.pk)
        )
        .count()
        + 1
    )


def pending_hands(broadcast_id: int):
    """Raised hands still waiting, first come first served (invitations are not hands)."""
    return SpeakRequest.objects.filter(
        broadcast_id=broadcast_id, state=R.PENDING, invited_by__isnull=True
    )


def raised_hands(*, broadcast: Broadcast) -> list[dict]:
    """Everyone waiting for approval, in the order they asked (the snapshot's `hands`)."""
    requests = pending_hands(broadcast.pk).select_related("attendee")
    return [attendee_public(request.attendee) for request in requests]


def active_request(*, attendee: Attendee) -> SpeakRequest | None:
    return SpeakRequest.objects.filter(attendee=attendee, state__in=[R.PENDING, R.APPROVED]).first()


def audience_summary(*, broadcast: Broadcast, sample_size: int) -> dict:
    """How many are watching now, and a sample of them (never the whole crowd)."""
    online = Attendee.objects.filter(broadcast=broadcast, connections__gt=0)
    count = online.count()
    sample = [attendee_public(a) for a in online.order_by("joined_at", "id")[:sample_size]]
    return {"count": count, "sample": sample}


def media_participant(attendee: Attendee, *, with_rank: bool = True) -> Participant:
    """The attendee as the media backend sees them: on stage, or a viewer with a rank."""
    if attendee.role in STAGE_ROLES:
        return Participant(id=attendee.pk, on_stage=True)
    if not with_rank:
        return Participant(id=attendee.pk, on_stage=False)
    return media_participants([attendee])[attendee.pk]


def media_participants(attendees: list[Attendee]) -> dict[int, Participant]:
    """`media_participant` of attendees of one broadcast, ranked in one query."""
    participants = {a.pk: Participant(id=a.pk, on_stage=True) for a in attendees}
    viewers = [a for a in attendees if a.role not in STAGE_ROLES]
    if not viewers:
        return participants
    # Counted only as far as the backend tells ranks apart: bounded, whatever the crowd.
    limit = media_backend().rank_limit
    online = []
    if limit:
        online = list(
            Attendee.objects.filter(broadcast_id=viewers[0].broadcast_id, connections__gt=0)
            .exclude(role__in=STAGE_ROLES)
            .filter(joined_at__lte=max(a.joined_at for a in viewers))
            .order_by("joined_at", "pk")
            .values_list("joined_at", "pk")[:limit]
        )
    for viewer in viewers:
        # Among viewers online now, how many came before this one.
        rank = bisect.bisect_left(online, (viewer.joined_at, viewer.pk))
        participants[viewer.pk] = Participant(id=viewer.pk, on_stage=False, viewer_rank=rank)
    return participants


def snapshot_shared(*, broadcast: Broadcast) -> dict:
    """The parts of a snapshot that are the same for every viewer at one point of the
    broadcast's event stream (questions: the public ones, without `voted`)."""
    return {
        # The presenter's rating rides in `broadcast`: the snapshot's keys are a contract.
        "broadcast": {
            **broadcast_public_data(broadcast=broadcast),
            "rating": rating_summary(broadcast_id=broadcast.pk),
        },
        "stage": stage_attendees(broadcast=broadcast),
        "hands": raised_hands(broadcast=broadcast),
        "audience": audience_summary(
            broadcast=broadcast, sample_size=settings.LIVE_AUDIENCE_SAMPLE_SIZE
        ),
        "likes": likes_count(broadcast_id=broadcast.pk),
        "questions": public_questions(broadcast=broadcast),
    }


def live_snapshot(*, broadcast: Broadcast, attendee: Attendee, shared: dict | None = None) -> dict:
    """Everything a page needs to draw a broadcast, for one attendee (without epoch/seq).

    `shared` is `snapshot_shared` of this broadcast when the caller has it already."""
    shared = shared if shared is not None else snapshot_shared(broadcast=broadcast)
    (snapshot,) = live_snapshots(broadcast=broadcast, attendee_ids=[attendee.pk], shared=shared)
    return snapshot


def live_snapshots(*, broadcast: Broadcast, attendee_ids: list[int], shared: dict) -> list[dict]:
    """`live_snapshot` of attendees of one broadcast (an id may come twice), in order:
    their own state read in a few queries for them all."""
    attendees = attendees_with_own_state(attendee_ids)
    leads = _own_leads(list(attendees))
    participants = media_participants(list(attendees.values()))
    backend = media_backend()
    snapshots = []
    for attendee_id in attendee_ids:
        attendee = attendees[attendee_id]
        snapshots.append(
            {
                "type": "snapshot",
                **shared,
                "me": attendee_private(attendee, lead=leads.get(attendee_id)),
                "questions": questions_for(
                    broadcast=broadcast, attendee=attendee, public=shared["questions"]
                ),
                "media": backend.session(participant=participants[attendee_id]),
            }
        )
    return snapshots


class SharedSnapshots:
    """This process's latest `snapshot_shared` of each broadcast, by stream position.

    When thousands join at once, they share one read of the broadcast instead of
    each making a dozen queries. An entry serves only callers at the same (epoch, seq)
    and for `max_age` seconds: anything that changes a shared part publishes an event
    (a new seq) that the joiner receives after its snapshot; counters are published
    within a second of a change, and `max_age` bounds the rest (an edit in the admin).
    """

    def __init__(self, max_age: float):
        self.max_age = max_age
        self._entries: dict[int, tuple[tuple[str, int], float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, *, broadcast_id: int, epoch: str, seq: int, build) -> dict:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(broadcast_id)
        if entry is not None and entry[0] == (epoch, seq) and now - entry[1] < self.max_age:
            return entry[2]
        shared = build()
        with self._lock:
            for key, (_, at, _) in list(self._entries.items()):
                if now - at >= self.max_age:
                    del self._entries[key]
            self._entries[broadcast_id] = ((epoch, seq), now, shared)
        return shared

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


shared_snapshots = SharedSnapshots(max_age=1.0)


def snapshots_for_connections(entries: list[tuple[Attendee, str, int]]) -> list[dict]:
    """The snapshots new live connections start from: for each (attendee, epoch, seq),
    the attendee's snapshot at that position of their broadcast's stream, in order."""
    groups: dict[tuple[int, str, int], list[int]] = {}
    for index, (attendee, epoch, seq) in enumerate(entries):
        groups.setdefault((attendee.broadcast_id, epoch, seq), []).append(index)
    snapshots: list[dict] = [{}] * len(entries)
    for (broadcast_id, epoch, seq), indexes in groups.items():
        shared = shared_snapshots.get(
            broadcast_id=broadcast_id, epoch=epoch, seq=seq, build=_shared_builder(broadcast_id)
        )
        # Past the shared part, the snapshots need only the broadcast's id.
        personal = live_snapshots(
            broadcast=Broadcast(pk=broadcast_id),
            attendee_ids=[entries[i][0].pk for i in indexes],
            shared=shared,
        )
        for index, snapshot in zip(indexes, personal, strict=True):
            snapshots[index] = snapshot | {"epoch": epoch, "seq": seq}
    return snapshots


def _shared_builder(broadcast_id: int):
    def build() -> dict:
        broadcast = Broadcast.objects.select_related("host").get(pk=broadcast_id)
        return snapshot_shared(broadcast=broadcast)

    return build


def likes_count(*, broadcast_id: int) -> int:
    return Like.objects.filter(broadcast_id=broadcast_id).count()


def rating_summary(*, broadcast_id: int) -> dict:
    """The presenter's average stars (one decimal) and how many rated."""
    summary = Rating.objects.filter(broadcast_id=broadcast_id).aggregate(
        average=Avg("stars"), count=Count("id")
    )
    average = summary["average"]
    return {
        "average": round(average, 1) if average is not None else None,
        "count": summary["count"],
    }


def engagement_counts(*, broadcast_id: int) -> dict[str, int]:
    """Likes, questions and call-to-action clicks of a broadcast (the admin's summary)."""
    questions = Question.objects.filter(broadcast_id=broadcast_id).aggregate(
        total=Count("id"), pending=Count("id", filter=Q(state=QuestionState.PENDING))
    )
    return {
        "likes": likes_count(broadcast_id=broadcast_id),
        "questions": questions["total"],
        "questions_pending": questions["pending"],
        "cta_clicks": CtaClick.objects.filter(broadcast_id=broadcast_id).count(),
    }


def rating_distribution(*, broadcast_id: int) -> dict[int, int]:
    """How many gave each number of stars, 1 to 5 (the admin's bar)."""
    rows = (
        Rating.objects.filter(broadcast_id=broadcast_id)
        .values_list("stars")
        .annotate(n=Count("id"))
    )
    counts = dict(rows)
    return {stars: counts.get(stars, 0) for stars in range(1, 6)}


def question_public(question: Question) -> dict:
    """A question as the protocol carries it (text as typed: pages show it as text)."""
    return {
        "id": question.pk,
        "text": question.text,
        "author": attendee_public(question.attendee),
        "state": question.state,
        "pinned": question.pinned,
        "votes": question.votes,
        "created_at": question.created_at,
    }


def question_withdrawn(question: Question) -> dict:
    """What viewers learn of a question taken from them: only that it is gone."""
    return {"id": question.pk, "state": question.state, "pinned": False}


QUESTIONS_IN_SNAPSHOT = 200


def _newest_questions(questions) -> list[dict]:
    newest = questions.select_related("attendee").order_by("-pinned", "-created_at", "-id")
    return [question_public(q) for q in newest[:QUESTIONS_IN_SNAPSHOT]]


def public_questions(*, broadcast: Broadcast) -> list[dict]:
    """The newest questions every viewer sees (and the pinned one), without `voted`."""
    return _newest_questions(
        Question.objects.filter(broadcast=broadcast, state__in=PUBLIC_QUESTION_STATES)
    )


def questions_for(
    *, broadcast: Broadcast, attendee: Attendee | None, public: list[dict] | None = None
) -> list[dict]:
    """The questions this attendee may see, the newest 200 and the pinned one, oldest first.

    Hosts (and moderators on the dashboard: no attendee) see every question; others see
    public ones and their own pending ones. Each carries `voted`: whether this attendee
    has upvoted it. `public` is `public_questions` when the caller has it already; an
    attendee from `attendees_with_own_state` saves the queries they have no use for.
    """
    if attendee is None or attendee.role == Role.HOST:
        shown = _newest_questions(Question.objects.filter(broadcast=broadcast))
    else:
        shown = list(public if public is not None else public_questions(broadcast=broadcast))
        if getattr(attendee, "has_pending_questions", True):
            own = Question.objects.filter(
                broadcast=broadcast, attendee=attendee, state=QuestionState.PENDING
            )
            shown += _newest_questions(own)
            shown.sort(key=lambda q: (q["pinned"], q["created_at"], q["id"]), reverse=True)
            del shown[QUESTIONS_IN_SNAPSHOT:]
    voted = set()
    if attendee is not None and getattr(attendee, "has_votes", True) and shown:
        voted = set(
            QuestionVote.objects.filter(
                attendee=attendee, question_id__in=[q["id"] for q in shown]
            ).values_list("question_id", flat=True)
        )
    shown.sort(key=lambda q: (q["created_at"], q["id"]))
    return [{**q, "voted": q["id"] in voted} for q in shown]


ACTIVITY_FIELDS = (
    "watch_seconds",
    "liked",
    "rating",
    "questions_asked",
    "raised_hand",
    "stage_seconds",
    "cta_clicks",
)


def attendees_activity(*, attendee_ids: list[int], now) -> dict[int, dict]:
    """What each attendee did in their broadcast, in a few queries for the whole batch
    (the lead export joins it to each lead): watch time, liked, rating, questions asked,
    raised a hand, time on stage, call-to-action clicks."""
    if not attendee_ids:
        return {}
    activity = {
        attendee.pk: {
            "watch_seconds": attendee.watch_seconds(now),
            "liked": False,
            "rating": None,
            "questions_asked": 0,
            "raised_hand": False,
            "stage_seconds": 0,
            "cta_clicks": 0,
        }
        for attendee in Attendee.objects.filter(pk__in=attendee_ids).only(
            "pk", "watched_seconds", "online_since"
        )
    }
    for attendee_id in Like.objects.filter(attendee_id__in=attendee_ids).values_list(
        "attendee_id", flat=True
    ):
        activity[attendee_id]["liked"] = True
    for attendee_id, stars in Rating.objects.filter(attendee_id__in=attendee_ids).values_list(
        "attendee_id", "stars"
    ):
        activity[attendee_id]["rating"] = stars
    counts = (
        (Question, "questions_asked"),
        (CtaClick, "cta_clicks"),
    )
    for model, key in counts:
        rows = (
            model.objects.filter(attendee_id__in=attendee_ids)
            .values_list("attendee_id")
            .annotate(n=Count("id"))
        )
        for attendee_id, n in rows:
            activity[attendee_id][key] = n
    requests = SpeakRequest.objects.filter(attendee_id__in=attendee_ids).values_list(
        "attendee_id", "invited_by_id", "on_stage_at", "off_stage_at"
    )
    for attendee_id, invited_by, on_stage_at, off_stage_at in requests:
        if invited_by is None:
            activity[attendee_id]["raised_hand"] = True
        if on_stage_at is not None:
            seconds = ((off_stage_at or now) - on_stage_at).total_seconds()
            activity[attendee_id]["stage_seconds"] += max(0, int(seconds))
    return activity


def activity_sql(attendee_id_column: str) -> tuple[list[str], str]:
    """The same activity as `attendees_activity`, as SQL for PostgreSQL's COPY: the
    select expressions (in ACTIVITY_FIELDS order, NULL without an attendee) and the
    joins they need, given the column holding the attendee's id. The lead export streams
    a million rows this way at close to COPY's own speed."""
    a = "pt_a"
    none = f"CASE WHEN {a}.id IS NULL THEN NULL"
    expressions = [
        f"{a}.watched_seconds + CASE WHEN {a}.online_since IS NULL THEN 0"
        f" ELSE floor(extract(epoch FROM now() - {a}.online_since))::int END",
        f"{none} WHEN pt_like.attendee_id IS NOT NULL THEN 'yes' ELSE 'no' END",
        "pt_rating.stars",
        f"{none} ELSE coalesce(pt_q.n, 0) END",
        f"{none} WHEN pt_s.hand THEN 'yes' ELSE 'no' END",
        f"{none} ELSE coalesce(pt_s.stage, 0) END",
        f"{none} ELSE coalesce(pt_c.n, 0) END",
    ]
    # Identifiers of this module only, no values (those go as parameters).
    joins = f"""
        LEFT JOIN participation_attendee {a} ON {a}.id = {attendee_id_column}
        LEFT JOIN participation_like pt_like ON pt_like.attendee_id = {a}.id
        LEFT JOIN participation_rating pt_rating ON pt_rating.attendee_id = {a}.id
        LEFT JOIN (SELECT attendee_id, count(*) AS n FROM participation_question
                   GROUP BY attendee_id) pt_q ON pt_q.attendee_id = {a}.id
        LEFT JOIN (SELECT attendee_id, bool_or(invited_by_id IS NULL) AS hand,
                          sum(CASE WHEN on_stage_at IS NULL THEN 0 ELSE floor(extract(
                              epoch FROM coalesce(off_stage_at, now()) - on_stage_at)) END
                          )::int AS stage
                   FROM participation_speakrequest GROUP BY attendee_id) pt_s
               ON pt_s.attendee_id = {a}.id
        LEFT JOIN (SELECT attendee_id, count(*) AS n FROM participation_ctaclick
                   GROUP BY attendee_id) pt_c ON pt_c.attendee_id = {a}.id
    """  # noqa: S608
    return expressions, joins


def viewer_samples(*, broadcast_id: int) -> list[tuple]:
    """(when, viewers) for the analytics chart, oldest first."""
    return list(ViewerSample.objects.filter(broadcast_id=broadcast_id).values_list("at", "viewers"))


def participation_figures(*, broadcast: Broadcast, now) -> dict:
    """A session in figures: viewers (peak, average, how many came), watch time, likes,
    rating, questions, requests to speak and speakers."""
    samples = [viewers for _, viewers in viewer_samples(broadcast_id=broadcast.pk)]
    people = Attendee.objects.filter(broadcast=broadcast).exclude(role=Role.HOST)
    visits = people.only("watched_seconds", "online_since")
    watched = [seconds for a in visits if (seconds := a.watch_seconds(now)) > 0]
    questions = Question.objects.filter(broadcast=broadcast).aggregate(
        asked=Count("id"), answered=Count("id", filter=Q(state=QuestionState.ANSWERED))
    )
    requests = SpeakRequest.objects.filter(broadcast=broadcast)
    rating = rating_summary(broadcast_id=broadcast.pk)
    return {
        "peak_viewers": max(samples, default=0),
        "average_viewers": round(sum(samples) / len(samples), 1) if samples else 0,
        "unique_viewers": len(watched),
        "average_watch_seconds": round(sum(watched) / len(watched)) if watched else 0,
        "likes": likes_count(broadcast_id=broadcast.pk),
        "rating_average": rating["average"],
        "rating_count": rating["count"],
        "rating_distribution": rating_distribution(broadcast_id=broadcast.pk),
        "questions_asked": questions["asked"],
        "questions_answered": questions["answered"],
        "speak_requests": requests.filter(invited_by__isnull=True).count(),
        "speakers": requests.filter(on_stage_at__isnull=False)
        .values("attendee_id")
        .distinct()
        .count(),
    }


def with_audience_counters(broadcasts):
    """Annotate broadcasts with `viewers_now`, `viewers_peak` and `leads_total` (for lists)."""
    from django.db.models import IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from leads.capture import leads_count_subquery

    now = (
        Attendee.objects.filter(broadcast=OuterRef("pk"), connections__gt=0)
        .order_by()
        .values("broadcast")
        .annotate(n=Count("id"))
        .values("n")
    )
    peak = (
        ViewerSample.objects.filter(broadcast=OuterRef("pk"))
        .order_by("-viewers")
        .values("viewers")[:1]
    )
    return broadcasts.annotate(
        viewers_now=Coalesce(Subquery(now, output_field=IntegerField()), Value(0)),
        viewers_peak=Subquery(peak, output_field=IntegerField()),
        leads_total=Coalesce(leads_count_subquery(), Value(0)),
    )


def dashboard_snapshot(*, broadcast: Broadcast, moderator_name: str) -> dict:
    """The live dashboard's first frame: the live snapshot's shape (so pages share their
    state code), seen by a moderator who is not in the audience, plus the peak."""
    from leads.capture import leads_count

    peak = (
        ViewerSample.objects.filter(broadcast=broadcast)
        .order_by("-viewers")
        .values_list("viewers", flat=True)
        .first()
    )
    return {
        "type": "snapshot",
        "broadcast": {
            **broadcast_public_data(broadcast=broadcast),
            "rating": rating_summary(broadcast_id=broadcast.pk),
        },
        "me": {"id": 0, "name": moderator_name, "role": "host", "avatar": "", "request": None},
        "stage": stage_attendees(broadcast=broadcast),
        "hands": raised_hands(broadcast=broadcast),
        "audience": audience_summary(broadcast=broadcast, sample_size=200),
        "likes": likes_count(broadcast_id=broadcast.pk),
        "questions": questions_for(broadcast=broadcast, attendee=None),
        "media": {},
        "leads": leads_count(broadcast_id=broadcast.pk),
        "peak_viewers": peak or 0,
    }
