"""The audit log: who changed what in a broadcast, and when."""

import pytest

from broadcasts import services
from broadcasts.models import AuditEntry
from leads import exports
from participation import questions, stage
from tests.factories import GuestFactory, UserFactory, in_group, ops_user

pytestmark = pytest.mark.django_db(transaction=True)


def entries(broadcast):
    return list(
        AuditEntry.objects.filter(broadcast=broadcast)
        .order_by("at", "id")
        .values_list("action", "actor__username", "subject")
    )


def test_changes_are_recorded_with_who_made_them(live_broadcast, host):
    moderator = in_group(UserFactory(username="mod"), "Moderators", "broadcasts.moderate_broadcast")
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    asked = questions.question_ask(attendee=ann, text="Replay?")
    questions.question_moderate(
        broadcast=live_broadcast, question_id=asked.pk, action="hide", by=moderator
    )
    stage.hand_raise(attendee=ann)  # Ann's own move: not an audited decision
    stage.hand_decline(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=moderator)
    services.broadcast_pause(broadcast=live_broadcast, by=host)
    assert entries(live_broadcast) == [
        ("broadcast.schedule", "host-user", "draft → scheduled"),
        ("broadcast.start", "host-user", "scheduled → live"),
        ("question.hide", "mod", "“Replay?” from Ann"),
        ("request.decline", "host-user", "Ann"),
        ("attendee.remove", "mod", "Ann"),
        ("broadcast.pause", "host-user", "live → paused"),
    ]


def test_exports_and_downloads_are_recorded(live_broadcast):
    ops = ops_user(username="olga")
    export = exports.export_request(by=ops, broadcast=live_broadcast)
    exports.export_file(export_id=export.pk, user=ops, via="page")[1].close()
    actions = [(action, who) for action, who, _ in entries(live_broadcast)]
    assert actions[-2:] == [("export.request", "olga"), ("export.download", "olga")]


def test_moderators_read_it_filtered_and_nobody_edits_it(client, live_broadcast, host):
    services.broadcast_pause(broadcast=live_broadcast, by=host)
    moderator = in_group(
        UserFactory(username="mod", is_staff=True), "Moderators", "broadcasts.view_auditentry"
    )
    client.force_login(moderator)
    page = client.get(
        f"/admin/broadcasts/auditentry/?broadcast__id__exact={live_broadcast.pk}"
    ).content.decode()
    assert "broadcast.pause" in page and "live → paused" in page
    entry = AuditEntry.objects.filter(broadcast=live_broadcast).first()
    client.post(f"/admin/broadcasts/auditentry/{entry.pk}/change/", {"subject": "nothing"})
    assert AuditEntry.objects.get(pk=entry.pk).subject != "nothing"
    client.force_login(UserFactory(username="intern", is_staff=True))
    assert client.get("/admin/broadcasts/auditentry/").status_code == 403
