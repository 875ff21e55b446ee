"""The broadcast admin: what marketing staff and moderators use to run broadcasts."""

import warnings
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.deprecation import RemovedInDjango60Warning

from broadcasts import services
from broadcasts.models import Broadcast, BroadcastTransition
from tests.admin_forms import broadcast_form
from tests.factories import BroadcastFactory, GroupFactory, UserFactory

CHANGELIST = "/admin/broadcasts/broadcast/"
ADD = "/admin/broadcasts/broadcast/add/"

pytestmark = pytest.mark.django_db


def change_url(broadcast: Broadcast) -> str:
    return f"/admin/broadcasts/broadcast/{broadcast.pk}/change/"


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture(params=["superuser", "moderator"])
def staff(request):
    return request.getfixturevalue(request.param)


def _messages(response) -> list[tuple[str, str]]:
    """The messages an action left for the page it redirects to (a followed response)."""
    assert response.redirect_chain == [(CHANGELIST, 302)]
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def _titles(response) -> set[str]:
    return {str(b) for b in response.context["cl"].result_list}


def _act(client, action: str, *broadcasts: Broadcast):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(b.pk) for b in broadcasts], "index": "0"},
        follow=True,
    )


# --- The Moderators group -----------------------------------------------------------


def test_moderators_group_has_the_permissions_to_run_broadcasts(db):
    group = Group.objects.get(name="Moderators")
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }
    assert {
        "broadcasts.moderate_broadcast",
        "broadcasts.add_broadcast",
        "broadcasts.change_broadcast",
        "broadcasts.view_broadcast",
        "broadcasts.view_broadcasttransition",
    } <= granted
    assert "broadcasts.delete_broadcast" not in granted


def test_a_moderator_has_the_permissions(moderator):
    assert moderator.has_perm("broadcasts.moderate_broadcast")
    assert moderator.has_perm("broadcasts.change_broadcast")
    assert not moderator.has_perm("broadcasts.delete_broadcast")


# --- Changelist -------------------------------------------------------------------


def test_changelist_loads(client, staff, live_broadcast):
    client.force_login(staff)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert _titles(response) == {"Spring launch"}
    assert "/b/spring-launch/host/" in response.content.decode()


def test_changelist_filters_by_state(client, staff, live_broadcast, host):
    _scheduled_other = services.broadcast_schedule(
        broadcast=BroadcastFactory(host=host, title="Autumn preview"),
        by=host,
        scheduled_start=timezone.now() + timedelta(days=1),
    )
    BroadcastFactory(host=host, title="Winter draft")
    client.force_login(staff)

    assert _titles(client.get(CHANGELIST)) == {"Spring launch", "Autumn preview", "Winter draft"}
    assert _titles(client.get(CHANGELIST + "?state__exact=live")) == {"Spring launch"}
    assert _titles(client.get(CHANGELIST + "?state__exact=scheduled")) == {"Autumn preview"}
    assert _titles(client.get(CHANGELIST + "?state__exact=draft")) == {"Winter draft"}
    assert _titles(client.get(CHANGELIST + "?state__exact=ended")) == set()


def test_changelist_searches_by_title(client, staff, scheduled_broadcast, host):
    BroadcastFactory(host=host, title="Autumn preview")
    client.force_login(staff)
    assert _titles(client.get(CHANGELIST + "?q=spring")) == {"Spring launch"}
    assert _titles(client.get(CHANGELIST + "?q=autumn")) == {"Autumn preview"}
    assert _titles(client.get(CHANGELIST + "?q=nothing-like-this")) == set()


def test_staff_without_permissions_is_refused(client, scheduled_broadcast):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(scheduled_broadcast)).status_code == 403
    assert _act(client, "start_selected", scheduled_broadcast).status_code == 403
    scheduled_broadcast.refresh_from_db()
    assert scheduled_broadcast.state == "scheduled"


def test_non_staff_is_sent_to_the_admin_login(client, viewer_user):
    client.force_login(viewer_user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- Add and change forms ------------------------------------------------------------


def test_add_form_creates_a_draft(client, staff, host):
    client.force_login(staff)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, broadcast_form(host))
    assert response.status_code == 302, response.context["adminform"].form.errors
    broadcast = Broadcast.objects.get(slug="summer-sale")
    assert broadcast.title == "Summer sale"
    assert broadcast.host == host
    assert broadcast.duration_minutes == 45
    assert broadcast.state == "draft"
    assert not broadcast.transitions.exists()


def test_add_form_with_a_start_time_schedules_the_broadcast(client, staff, host):
    client.force_login(staff)
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = client.post(
        ADD,
        broadcast_form(
            host,
            scheduled_start_0=start.strftime("%Y-%m-%d"),
            scheduled_start_1=start.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    broadcast = Broadcast.objects.get(slug="summer-sale")
    assert broadcast.state == "scheduled"
    assert broadcast.scheduled_start == start
    transition = broadcast.transitions.get()
    assert (transition.from_state, transition.to_state, transition.by) == (
        "draft",
        "scheduled",
        staff,
    )


def test_change_form_adding_a_start_time_schedules_a_draft(client, staff, host):
    broadcast = BroadcastFactory(host=host, slug="summer-sale")
    client.force_login(staff)
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = client.post(
        change_url(broadcast),
        broadcast_form(
            host,
            scheduled_start_0=start.strftime("%Y-%m-%d"),
            scheduled_start_1=start.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    broadcast.refresh_from_db()
    assert broadcast.state == "scheduled"
    assert broadcast.transitions.get().by == staff


def test_audience_group_without_a_group_is_a_form_error(client, staff, host):
    client.force_login(staff)
    response = client.post(ADD, broadcast_form(host, audience="group"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "audience_group" in form.errors
    assert "Pick the group whose members may watch." in response.content.decode()
    assert not Broadcast.objects.filter(slug="summer-sale").exists()


def test_audience_group_with_a_group_is_accepted(client, staff, host):
    group = GroupFactory(name="Partners")
    client.force_login(staff)
    response = client.post(
        ADD, broadcast_form(host, audience="group", audience_group=str(group.pk))
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Broadcast.objects.get(slug="summer-sale").audience_group == group


def test_cta_label_without_url_is_a_form_error(client, staff, host):
    client.force_login(staff)
    response = client.post(ADD, broadcast_form(host, cta_label="Buy now"))
    assert response.status_code == 200
    assert "cta_url" in response.context["adminform"].form.errors
    assert not Broadcast.objects.exists()


def test_change_page_shows_the_transition_history(client, staff, live_broadcast, host):
    services.broadcast_pause(broadcast=live_broadcast, by=host)
    client.force_login(staff)
    response = client.get(change_url(live_broadcast))
    assert response.status_code == 200
    html = response.content.decode()
    assert "History of state changes" in html
    rows = [str(t) for t in live_broadcast.transitions.all()]
    assert rows == ["draft → scheduled", "scheduled → live", "live → paused"]
    for row in rows:
        assert row in html
    # Newest first.
    assert (
        html.index("live → paused")
        < html.index("scheduled → live")
        < html.index("draft → scheduled")
    )
    assert "host-user" in html


# --- Lifecycle actions ------------------------------------------------------------


def test_actions_move_a_broadcast_through_its_lifecycle(client, staff, host):
    broadcast = BroadcastFactory(
        host=host, title="Summer sale", scheduled_start=timezone.now() + timedelta(hours=1)
    )
    client.force_login(staff)
    for action, expected in [
        ("schedule_selected", "scheduled"),
        ("start_selected", "live"),
        ("pause_selected", "paused"),
        ("resume_selected", "live"),
        ("end_selected", "ended"),
    ]:
        response = _act(client, action, broadcast)
        assert response.status_code == 200, action
        assert [level for level, _ in _messages(response)] == ["success"], action
        broadcast.refresh_from_db()
        assert broadcast.state == expected, action
        last = broadcast.transitions.last()
        assert (last.to_state, last.by) == (expected, staff)
    assert broadcast.transitions.count() == 5
    assert broadcast.went_live_at is not None
    assert broadcast.ended_at is not None


def test_an_action_reports_a_refused_move_and_changes_nothing(client, staff, scheduled_broadcast):
    client.force_login(staff)
    response = _act(client, "pause_selected", scheduled_broadcast)
    messages = _messages(response)
    assert len(messages) == 1
    level, text = messages[0]
    assert level == "error"
    assert "Spring launch" in text
    assert "pause" in text.lower()
    scheduled_broadcast.refresh_from_db()
    assert scheduled_broadcast.state == "scheduled"
    assert scheduled_broadcast.transitions.count() == 1


def test_an_action_over_several_broadcasts_reports_each(client, staff, host, live_broadcast):
    other = services.broadcast_schedule(
        broadcast=BroadcastFactory(host=host, title="Autumn preview"),
        by=host,
        scheduled_start=timezone.now() + timedelta(days=1),
    )
    client.force_login(staff)
    response = _act(client, "end_selected", live_broadcast, other)
    messages = _messages(response)
    assert ("success", "End: 1 broadcast(s).") in messages
    errors = [text for level, text in messages if level == "error"]
    assert len(errors) == 1
    assert errors[0].startswith("Autumn preview:")
    live_broadcast.refresh_from_db()
    other.refresh_from_db()
    assert (live_broadcast.state, other.state) == ("ended", "scheduled")


def test_schedule_action_needs_a_start_time(client, staff, host):
    broadcast = BroadcastFactory(host=host, title="Undated")
    client.force_login(staff)
    response = _act(client, "schedule_selected", broadcast)
    messages = _messages(response)
    assert len(messages) == 1
    assert messages[0][0] == "error"
    assert "start time" in messages[0][1]
    broadcast.refresh_from_db()
    assert broadcast.state == "draft"
    assert not BroadcastTransition.objects.filter(broadcast=broadcast).exists()


def test_an_action_by_staff_who_may_not_run_broadcasts_is_refused(client, scheduled_broadcast):
    """Staff who may edit broadcasts but are neither hosts nor moderators get Forbidden."""
    from django.contrib.auth.models import Permission

    editor = UserFactory(username="editor", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="broadcasts",
            codename__in=["view_broadcast", "change_broadcast"],
        )
    )
    client.force_login(editor)
    assert client.get(CHANGELIST).status_code == 200
    response = _act(client, "start_selected", scheduled_broadcast)
    messages = _messages(response)
    assert [level for level, _ in messages] == ["error"]
    assert "hosts and moderators" in messages[0][1]
    scheduled_broadcast.refresh_from_db()
    assert scheduled_broadcast.state == "scheduled"
    assert scheduled_broadcast.transitions.count() == 1


def test_the_host_as_staff_may_run_their_own_broadcast_from_the_admin(
    client, scheduled_broadcast, host
):
    from django.contrib.auth.models import Permission

    host.is_staff = True
    host.save()
    host.user_permissions.add(
        Permission.objects.get(content_type__app_label="broadcasts", codename="view_broadcast")
    )
    client.force_login(host)
    _act(client, "start_selected", scheduled_broadcast)
    scheduled_broadcast.refresh_from_db()
    assert scheduled_broadcast.state == "live"


def test_admin_add_form_renders_without_deprecation_warnings(client, superuser):
    client.force_login(superuser)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RemovedInDjango60Warning)
        assert client.get(ADD).status_code == 200


# --- Branding -------------------------------------------------------------------------


def test_branding_is_set_in_the_admin(client, staff, host):
    client.force_login(staff)
    branding = {
        "brand_logo_url": "https://cdn.example.com/logo.svg",
        "brand_accent": "#0A7C66",
        "brand_cover_url": "https://cdn.example.com/cover.jpg",
    }
    response = client.post(ADD, broadcast_form(host, **branding))
    assert response.status_code == 302, response.context["adminform"].form.errors
    broadcast = Broadcast.objects.get(slug="summer-sale")
    assert (broadcast.brand_logo_url, broadcast.brand_accent, broadcast.brand_cover_url) == (
        "https://cdn.example.com/logo.svg",
        "#0A7C66",
        "https://cdn.example.com/cover.jpg",
    )


def test_a_logo_or_cover_from_an_http_address_is_refused(client, staff, host):
    client.force_login(staff)
    branding = {
        "brand_logo_url": "http://cdn.example.com/logo.svg",
        "brand_cover_url": "HTTP://cdn.example.com/cover.jpg",
    }
    response = client.post(ADD, broadcast_form(host, **branding))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    message = "Give an https:// address: pages do not show images from http:// ones."
    assert (errors["brand_logo_url"], errors["brand_cover_url"]) == ([message], [message])


@pytest.mark.parametrize("colour", ["green", "#12345", "#12345g", "0a7c66"])
def test_an_accent_that_is_not_a_colour_is_refused(client, staff, host, colour):
    client.force_login(staff)
    response = client.post(ADD, broadcast_form(host, brand_accent=colour))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["brand_accent"] == ["Give the colour as #rrggbb, like #5b3df5."]
    assert not Broadcast.objects.filter(slug="summer-sale").exists()
