"""What each attendee did in their broadcast, for the lead export: read for a batch in a few
queries, or as SQL joined into PostgreSQL's COPY."""

from django.db.models import Count

from .models import Attendee, CtaClick, Like, Question, Rating, SpeakRequest

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
