"""Participation in figures: counters and ratings for pages, the admin and the API, who is
watching now, and a finished session's figures."""

from django.db.models import Avg, Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from broadcasts.models import Broadcast

from .models import (
    CtaClick,
    Like,
    Question,
    QuestionState,
    Rating,
    SpeakRequest,
    ViewerSample,
)
from .presenters import attendee_public
from .selectors import audience, watching


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


def audience_summary(*, broadcast: Broadcast, sample_size: int) -> dict:
    """How many are watching now, and a sample of them (never the whole crowd)."""
    online = watching(broadcast=broadcast)
    count = online.count()
    sample = [attendee_public(a) for a in online.order_by("joined_at", "id")[:sample_size]]
    return {"count": count, "sample": sample}


def peak_viewers(*, broadcast_id: int) -> int:
    """The most viewers seen at once so far (from the samples)."""
    peak = (
        ViewerSample.objects.filter(broadcast_id=broadcast_id)
        .order_by("-viewers")
        .values_list("viewers", flat=True)
        .first()
    )
    return peak or 0


def viewer_samples(*, broadcast_id: int) -> list[tuple]:
    """(when, viewers) for the analytics chart, oldest first."""
    return list(ViewerSample.objects.filter(broadcast_id=broadcast_id).values_list("at", "viewers"))


def participation_figures(*, broadcast: Broadcast, now) -> dict:
    """A session in figures: viewers (peak, average, how many came), watch time, likes,
    rating, questions, requests to speak and speakers."""
    samples = [viewers for _, viewers in viewer_samples(broadcast_id=broadcast.pk)]
    people = audience(broadcast=broadcast)
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
    """Annotate broadcasts with `viewers_now` and `viewers_peak` (for lists)."""
    now = (
        watching(broadcast=OuterRef("pk"))
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
    )
