"""Analytics: viewers sampled while live, the session in figures, the chart page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.analytics import broadcast_analytics, viewers_chart
from leads.capture import lead_capture
from participation import questions, reactions, services, stage
from participation.analytics import participation_figures
from participation.models import Attendee, ViewerSample
from tests.factories import GuestFactory, UserFactory, in_group

pytestmark = pytest.mark.django_db


def online(attendee: Attendee) -> None:
    services.attendee_connected(attendee=attendee)


def test_every_process_samples_but_one_row_per_interval_wins(live_broadcast, settings):
    settings.VIEWER_SAMPLE_SECONDS = 10
    for name in ("Ann", "Ben"):
        online(GuestFactory(broadcast=live_broadcast, display_name=name))
    moment = timezone.now().replace(second=33, microsecond=0)
    services.viewers_sample(now=moment)
    services.viewers_sample(now=moment + timedelta(seconds=2))  # the same interval
    assert ViewerSample.objects.count() == 1
    services.viewers_sample(now=moment + timedelta(seconds=10))
    samples = list(ViewerSample.objects.values_list("at", "viewers"))
    assert [viewers for _, viewers in samples] == [2, 2]
    assert samples[0][0].second == 30 and samples[1][0].second == 40


def test_the_audience_is_counted_not_the_hosts_consoles_nor_moderators(
    live_broadcast, host_attendee, moderator
):
    from participation.analytics import audience_summary, with_audience_counters

    co_host = UserFactory(username="cora")
    live_broadcast.co_hosts.add(co_host)
    online(host_attendee)
    online(services.attendee_for_user(broadcast=live_broadcast, user=co_host))
    # A moderator on the watch page keeps an eye on the show: not its audience.
    watcher = services.attendee_for_user(broadcast=live_broadcast, user=moderator)
    assert watcher.moderating
    online(watcher)
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    online(ann)
    summary = audience_summary(broadcast=live_broadcast, sample_size=10)
    assert summary["count"] == 1
    assert [a["id"] for a in summary["sample"]] == [ann.pk]
    services.viewers_sample()
    assert list(ViewerSample.objects.values_list("viewers", flat=True)) == [1]
    (annotated,) = with_audience_counters(type(live_broadcast).objects.all())
    assert (annotated.viewers_now, annotated.viewers_peak) == (1, 1)
    a_minute_on = timezone.now() + timedelta(minutes=1)
    figures = participation_figures(broadcast=live_broadcast, now=a_minute_on)
    assert figures["unique_viewers"] == 1


def test_a_moderator_who_loses_the_permission_counts_as_audience_at_the_next_visit(
    live_broadcast, moderator
):
    assert services.attendee_for_user(broadcast=live_broadcast, user=moderator).moderating
    moderator.groups.clear()
    moderator = type(moderator).objects.get(pk=moderator.pk)  # permissions are cached
    assert not services.attendee_for_user(broadcast=live_broadcast, user=moderator).moderating


def test_only_running_broadcasts_are_sampled(scheduled_broadcast):
    online(GuestFactory(broadcast=scheduled_broadcast, display_name="Early"))
    services.viewers_sample()
    assert not ViewerSample.objects.exists()


def test_a_session_in_figures(live_broadcast, host):
    start = timezone.now() - timedelta(minutes=5)
    for offset, viewers in enumerate([1, 3, 2]):
        ViewerSample.objects.create(
            broadcast=live_broadcast, at=start + timedelta(seconds=10 * offset), viewers=viewers
        )
    ann, ben, cy, _never_watched = (
        GuestFactory(broadcast=live_broadcast, display_name=name)
        for name in ("Ann", "Ben", "Cy", "Dee")
    )
    Attendee.objects.filter(pk__in=[ann.pk, ben.pk]).update(watched_seconds=120)
    Attendee.objects.filter(pk=cy.pk).update(watched_seconds=60)  # Dee never watched
    reactions.like(attendee=ann)
    reactions.rate(attendee=ann, stars=5)
    reactions.rate(attendee=ben, stars=4)
    asked = questions.question_ask(attendee=ann, text="When?")
    questions.question_ask(attendee=ben, text="Where?")
    questions.question_moderate(
        broadcast=live_broadcast, question_id=asked.pk, action="answer", by=host
    )
    stage.hand_raise(attendee=cy)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=cy.pk, by=host)
    lead_capture(
        broadcast=live_broadcast,
        attendee=ann,
        data={"name": "Ann", "email": "ann@example.com", "consent": "on"},
    )

    figures = broadcast_analytics(broadcast=live_broadcast)
    assert figures["peak_viewers"] == 3
    assert figures["average_viewers"] == 2.0
    assert figures["unique_viewers"] == 3
    assert figures["average_watch_seconds"] == 100
    assert figures["likes"] == 1
    assert (figures["rating_average"], figures["rating_count"]) == (4.5, 2)
    assert figures["rating_distribution"] == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert (figures["questions_asked"], figures["questions_answered"]) == (2, 1)
    assert (figures["speak_requests"], figures["speakers"]) == (1, 1)
    assert figures["leads"] == 1
    assert figures["conversion_percent"] == 33.3
    assert figures["chart"] is not None


def test_the_chart_spans_the_samples():
    start = timezone.now()
    chart = viewers_chart([(start, 0), (start + timedelta(minutes=10), 8)])
    first, last = ([float(n) for n in point.split(",")] for point in chart.points.split())
    assert first == [chart.left, chart.bottom]  # 0 viewers at the start: bottom left
    assert last[0] == chart.right  # the last sample at the right edge
    assert [value for _, value in chart.y_ticks] == [0, 4, 8]
    assert viewers_chart([]) is None


def test_the_analytics_page(client, live_broadcast):
    ViewerSample.objects.create(broadcast=live_broadcast, at=timezone.now(), viewers=7)
    moderator = in_group(
        UserFactory(username="mod", is_staff=True),
        "Moderators",
        "broadcasts.view_broadcast",
    )
    client.force_login(moderator)
    url = f"/admin/broadcasts/broadcast/{live_broadcast.pk}/analytics/"
    page = client.get(url).content.decode()
    assert '<svg class="chart" role="img"' in page
    assert "Peak 7 viewers" in page
    client.force_login(UserFactory(username="intern", is_staff=True))
    assert client.get(url).status_code == 403


def test_the_broadcast_list_shows_viewers_and_leads(client, live_broadcast):
    for name in ("Ann", "Ben"):
        online(GuestFactory(broadcast=live_broadcast, display_name=name))
    ViewerSample.objects.create(broadcast=live_broadcast, at=timezone.now(), viewers=7)
    lead_capture(
        broadcast=live_broadcast,
        attendee=None,
        data={"name": "Zoe", "email": "zoe@example.com", "consent": "on"},
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get("/admin/broadcasts/broadcast/").content.decode()
    assert "2 now / 7 peak" in page
    assert '<td class="field-leads_captured">1</td>' in page
