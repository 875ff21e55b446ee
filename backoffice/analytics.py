"""A broadcast's session in figures and a chart of its viewers, for the admin."""

from dataclasses import dataclass

from django.utils import timezone

from broadcasts.models import Broadcast
from leads.capture import leads_count
from participation import analytics as participation

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Chart:
    """A line of viewers over time, laid out for an SVG of WIDTH x HEIGHT."""

    points: str  # polyline "x,y x,y ..."
    area: str  # the same, closed along the time axis
    y_ticks: list[tuple[float, int]]  # (y, viewers)
    x_ticks: list[tuple[float, str, str]]  # (x, "HH:MM", text-anchor)
    samples: list[tuple]  # (when, viewers), for the table beside the chart
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT


def viewers_chart(samples: list[tuple]) -> Chart | None:
    if not samples:
        return None
    start, end = samples[0][0], samples[-1][0]
    span = max((end - start).total_seconds(), 1)
    top = max(max(viewers for _, viewers in samples), 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(when) -> float:
        return round(LEFT + inner_w * (when - start).total_seconds() / span, 1)

    def y(viewers: int) -> float:
        return round(TOP + inner_h * (1 - viewers / top), 1)

    coordinates = [(x(when), y(viewers)) for when, viewers in samples]
    if len(coordinates) == 1:  # one sample: a flat line across
        coordinates.append((WIDTH - RIGHT, coordinates[0][1]))
    points = " ".join(f"{px},{py}" for px, py in coordinates)
    base = HEIGHT - BOTTOM
    area = f"{coordinates[0][0]},{base} {points} {coordinates[-1][0]},{base}"
    y_ticks = sorted({(y(value), value) for value in (0, top // 2, top)}, reverse=True)
    local = [timezone.localtime(when) for when in (start, start + (end - start) / 2, end)]
    x_ticks = [
        (x(when), moment.strftime("%H:%M"), anchor)
        for when, moment, anchor in zip(
            (start, start + (end - start) / 2, end), local, ("start", "middle", "end"), strict=True
        )
    ]
    if span < 60:
        x_ticks = x_ticks[:1]
    return Chart(points=points, area=area, y_ticks=y_ticks, x_ticks=x_ticks, samples=samples)


SUMMARY_FIGURES = (
    "peak_viewers",
    "unique_viewers",
    "average_watch_seconds",
    "likes",
    "rating_average",
    "rating_count",
    "questions_asked",
)


def session_summary(*, broadcast: Broadcast) -> dict:
    """What the host console shows after the show: the audience, their watch time,
    likes, rating, questions and leads."""
    figures = participation.participation_figures(broadcast=broadcast, now=timezone.now())
    return {key: figures[key] for key in SUMMARY_FIGURES} | {
        "leads": leads_count(broadcast_id=broadcast.pk)
    }


def broadcast_analytics(*, broadcast: Broadcast) -> dict:
    """Everything the analytics page shows: the figures, leads and conversion, the chart."""
    now = timezone.now()
    figures = participation.participation_figures(broadcast=broadcast, now=now)
    leads = leads_count(broadcast_id=broadcast.pk)
    came = figures["unique_viewers"]
    live_seconds = None
    if broadcast.went_live_at:
        live_seconds = int(((broadcast.ended_at or now) - broadcast.went_live_at).total_seconds())
    return {
        **figures,
        "leads": leads,
        "conversion_percent": round(100 * leads / came, 1) if came else None,
        "live_seconds": live_seconds,
        "chart": viewers_chart(participation.viewer_samples(broadcast_id=broadcast.pk)),
    }
