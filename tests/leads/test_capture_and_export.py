"""Capturing leads (validation, dedupe, spam) and exporting them (the CSV, idempotency,
failure, the post-session export)."""

import csv
import io
import time
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from broadcasts import services as broadcasts
from core.errors import Conflict, Forbidden, InvalidInput, RateLimited
from leads import capture, exports
from leads.models import ExportTransition, Lead, LeadExport
from leads.writers import CSV_HEADER, Heartbeat, Progress, Superseded
from participation import questions, reactions, stage
from tests.factories import BroadcastFactory, GuestFactory, ops_user

pytestmark = pytest.mark.django_db(transaction=True)


def form(**fields):
    return {"name": "Ann Lee", "email": "ann@example.com", "consent": "on", **fields}


def rows_of(export: LeadExport) -> list[dict]:
    with storages["exports"].open(export.file.name, "rb") as handle:
        text = handle.read().decode("utf-8")
    assert text.startswith("\ufeff")  # a BOM: spreadsheets read the accents right
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_field_errors_and_nothing_stored(live_broadcast):
    live_broadcast.lead_ask_phone = True
    live_broadcast.save()
    with pytest.raises(InvalidInput) as refused:
        capture.lead_capture(
            broadcast=live_broadcast,
            attendee=None,
            data=form(email="ann@", phone="0171 123", consent=""),
        )
    assert set(refused.value.details) == {"email", "phone", "consent"}
    assert not Lead.objects.exists()


def test_phones_are_kept_in_international_form(live_broadcast):
    live_broadcast.lead_ask_phone = True
    live_broadcast.save()
    for typed, kept in [("+44 20 7946 0958", "+442079460958"), ("0049 30 1234567", "+49301234567")]:
        lead = capture.lead_capture(
            broadcast=live_broadcast, attendee=None, data=form(email=f"{kept}@x.org", phone=typed)
        )
        assert lead.phone == kept


def test_a_second_submission_updates_the_lead(live_broadcast):
    first = capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    live_broadcast.lead_consent_text = "New wording."
    live_broadcast.save()
    second = capture.lead_capture(
        broadcast=live_broadcast,
        attendee=None,
        data=form(name="Ann B. Lee", email="ANN@Example.com"),
    )
    assert second.pk == first.pk
    lead = Lead.objects.get()
    assert (lead.name, lead.email, lead.consent_text) == (
        "Ann B. Lee",
        "ann@example.com",
        "New wording.",
    )


def test_the_honeypot_stores_nothing_and_says_nothing(live_broadcast):
    assert (
        capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form(website="x"))
        is None
    )
    assert not Lead.objects.exists()


def test_rate_limits_per_person_and_per_address(live_broadcast):
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    for number in range(5):
        capture.lead_capture(
            broadcast=live_broadcast, attendee=ann, data=form(email=f"a{number}@x.org")
        )
    with pytest.raises(RateLimited):
        capture.lead_capture(broadcast=live_broadcast, attendee=ann, data=form(email="a9@x.org"))
    for _ in range(5):
        capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form(email="same@x.org"))
    with pytest.raises(RateLimited):
        capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form(email="same@x.org"))


def test_mistyped_emails_do_not_count_against_the_person(live_broadcast):
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    for typo in ["ann@", "ann@example", "ann.example.com", "@example.com", "ann@@x", "a b@x.org"]:
        with pytest.raises(InvalidInput):
            capture.lead_capture(broadcast=live_broadcast, attendee=ann, data=form(email=typo))
    lead = capture.lead_capture(
        broadcast=live_broadcast, attendee=ann, data=form(email="ann@example.com")
    )
    assert lead.attendee == ann


def test_a_removed_attendee_leaves_no_lead(live_broadcast, host):
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    stage.attendee_remove(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    ann.refresh_from_db()
    with pytest.raises(Forbidden):
        capture.lead_capture(broadcast=live_broadcast, attendee=ann, data=form())
    assert not Lead.objects.exists()


def test_a_draft_takes_no_leads(host):
    draft = BroadcastFactory(host=host, slug="draft")
    with pytest.raises(Conflict):
        capture.lead_capture(broadcast=draft, attendee=None, data=form())


def test_the_csv_joins_what_each_person_did(live_broadcast, host):
    ann = GuestFactory(broadcast=live_broadcast, display_name="Ann")
    reactions.like(attendee=ann)
    reactions.rate(attendee=ann, stars=4)
    questions.question_ask(attendee=ann, text="One?")
    questions.question_ask(attendee=ann, text="Two?")
    stage.hand_raise(attendee=ann)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=ann.pk, by=host)
    stage.stage_leave(attendee=ann)
    reactions.cta_click_record(broadcast=live_broadcast, attendee=ann, source="watch")
    capture.lead_capture(broadcast=live_broadcast, attendee=ann, data=form(name="=HYPERLINK(1)"))
    capture.lead_capture(
        broadcast=live_broadcast, attendee=None, data=form(email="bo@x.org", name="Bo")
    )
    export = exports.export_request(by=ops_user(username="olga"), broadcast=live_broadcast)
    export.refresh_from_db()
    assert (export.state, export.rows_written) == ("done", 2)
    rows = rows_of(export)
    assert list(rows[0]) == CSV_HEADER
    ann_row, bo_row = rows
    assert ann_row["name"] == "'=HYPERLINK(1)"  # never run as a formula
    assert (ann_row["liked"], ann_row["rating"], ann_row["questions_asked"]) == ("yes", "4", "2")
    assert (ann_row["raised_hand"], ann_row["cta_clicks"], ann_row["consent"]) == (
        "yes",
        "1",
        "yes",
    )
    assert int(ann_row["stage_seconds"]) >= 0
    assert bo_row["liked"] == "" and bo_row["watch_seconds"] == ""  # no attendee: unknown
    assert list(
        ExportTransition.objects.filter(export=export).values_list("to_state", flat=True)
    ) == [
        "queued",
        "running",
        "done",
    ]


def test_chunks_and_date_ranges(live_broadcast):
    for number in range(5):
        capture.lead_capture(
            broadcast=live_broadcast, attendee=None, data=form(email=f"p{number}@x.org")
        )
    Lead.objects.filter(email="p0@x.org").update(created_at=timezone.now() - timedelta(days=3))
    export = LeadExport.objects.create(broadcast=live_broadcast)
    exports.export_run(export_id=export.pk, chunk_size=2)
    export.refresh_from_db()
    assert sorted(row["email"] for row in rows_of(export)) == [f"p{n}@x.org" for n in range(5)]
    today = timezone.localdate()
    recent = LeadExport.objects.create(date_from=today - timedelta(days=1), date_to=today)
    exports.export_run(export_id=recent.pk, chunk_size=2)
    recent.refresh_from_db()
    assert recent.rows_written == 4


def test_running_twice_writes_nothing_twice(live_broadcast):
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    export = LeadExport.objects.create(broadcast=live_broadcast, state="running")
    exports.export_run(export_id=export.pk)  # a redelivered task: starts from the top
    exports.export_run(export_id=export.pk)  # done already: left alone
    export.refresh_from_db()
    assert export.state == "done" and len(rows_of(export)) == 1
    assert LeadExport.objects.count() == 1


def test_a_failure_is_recorded_and_leaves_no_partial_file(live_broadcast, monkeypatch):
    export = LeadExport.objects.create(broadcast=live_broadcast)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_csv", broken)
    exports.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == "failed" and "disk full" in export.error
    assert storages["exports"].listdir("leads")[1] == []  # no partial file


def test_a_run_whose_worker_died_is_queued_again_once(live_broadcast, settings):
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    beat = timezone.now() - timedelta(seconds=settings.EXPORT_STALL_SECONDS + 1)
    stalled = LeadExport.objects.create(
        broadcast=live_broadcast, state="running", attempt=1, heartbeat_at=beat
    )
    busy = LeadExport.objects.create(
        broadcast=live_broadcast, state="running", attempt=1, heartbeat_at=timezone.now()
    )
    # Tasks run at once here: queued again, it is written by a second run.
    assert exports.exports_requeue_stalled() == [stalled.pk]
    assert exports.exports_requeue_stalled() == []
    stalled.refresh_from_db()
    assert (stalled.state, stalled.attempt, stalled.rows_written) == ("done", 2, 1)
    moves = ExportTransition.objects.filter(export=stalled).order_by("pk")
    assert [(m.from_state, m.to_state) for m in moves][-3:] == [
        ("running", "queued"),
        ("queued", "running"),
        ("running", "done"),
    ]
    busy.refresh_from_db()
    assert busy.state == "running"  # its run is alive: nobody else touches it


def test_a_second_delivery_leaves_a_live_run_alone(live_broadcast):
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    export = LeadExport.objects.create(
        broadcast=live_broadcast, state="running", attempt=1, heartbeat_at=timezone.now()
    )
    exports.export_run(export_id=export.pk)  # Redis handed the message to a second worker
    export.refresh_from_db()
    assert (export.state, export.attempt) == ("running", 1)


def test_a_run_taken_over_stops_and_keeps_no_file(live_broadcast, monkeypatch):
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    export = LeadExport.objects.create(broadcast=live_broadcast)
    real_write = exports.write_csv

    def taken_over_meanwhile(shown, *args, **kwargs):
        # The sweep thought this run dead and a newer one started.
        LeadExport.objects.filter(pk=shown.pk).update(attempt=shown.attempt + 1)
        return real_write(shown, *args, **kwargs)

    monkeypatch.setattr(exports, "write_csv", taken_over_meanwhile)
    exports.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == "running" and export.attempt == 2
    assert storages["exports"].listdir("leads")[1] == []


def test_the_heartbeat_beats_without_rows_and_stops_when_taken_over(live_broadcast, settings):
    settings.EXPORT_STALL_SECONDS = 0.2  # a beat every 50 ms
    long_ago = timezone.now() - timedelta(hours=1)
    export = LeadExport.objects.create(
        broadcast=live_broadcast, state="running", attempt=1, heartbeat_at=long_ago
    )
    with Heartbeat(export) as heartbeat:  # a COPY still sorting: no row yet
        for _ in range(100):
            export.refresh_from_db()
            if export.heartbeat_at > long_ago:
                break
            time.sleep(0.02)
        assert export.heartbeat_at > long_ago and not heartbeat.superseded.is_set()
        LeadExport.objects.filter(pk=export.pk).update(attempt=2)  # a newer run took it
        assert heartbeat.superseded.wait(5)
        progress = Progress(export, announce=lambda export: None, heartbeat=heartbeat)
        with pytest.raises(Superseded):
            progress.report(10)
    assert not heartbeat.is_alive()


def test_the_end_queues_the_post_session_export_and_late_leads_refresh_it(live_broadcast, host):
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form())
    broadcasts.broadcast_end(broadcast=live_broadcast, by=host)
    first = LeadExport.objects.get(broadcast=live_broadcast, post_session=True)
    assert (first.state, first.rows_written) == ("done", 1)
    capture.lead_capture(broadcast=live_broadcast, attendee=None, data=form(email="late@x.org"))
    latest = LeadExport.objects.filter(post_session=True).order_by("-pk").first()
    assert latest.pk != first.pk and latest.rows_written == 2


def test_scope_is_checked(live_broadcast):
    ops = ops_user(username="olga")
    with pytest.raises(InvalidInput):
        exports.export_request(by=ops)
    today = timezone.localdate()
    with pytest.raises(InvalidInput):
        exports.export_request(by=ops, date_from=today, date_to=today - timedelta(days=1))
    with pytest.raises(InvalidInput):
        exports.export_request(by=ops, date_from=today - timedelta(days=400), date_to=today)
