"""The load harness's smoke run: 200 viewers, checked for correctness, not time.

It runs the one command the docs give (bench/live_load.py), against this test run's
database (and Redis, in the services profile: then two server processes share it)."""

import json
import subprocess
import sys

import pytest

from tests.servers import ARTIFACTS, ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)

VIEWERS = 200


def test_two_hundred_viewers_get_every_event_in_order_and_every_like_counts_once(tmp_path):
    report_path = tmp_path / "load.json"
    command = [
        sys.executable,
        "bench/live_load.py",
        "--viewers",
        str(VIEWERS),
        # Short phases: the smoke checks what arrives, not how fast (docs/benchmarks.md
        # has the figures of the long runs).
        *("--join-seconds", "2", "--like-seconds", "2", "--hold", "1", "--event-gap", "0.3"),
        "--json",
        str(report_path),
        "--logs",
        str(ARTIFACTS / "bench-logs"),
    ]
    run = subprocess.run(
        command, cwd=ROOT, env=server_env(), capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert not report["problems"]

    (result,) = report["results"]
    assert (result["connected"], result["failed"], result["dropped"]) == (VIEWERS, 0, 0)
    assert result["events"] >= 6
    assert (result["missed_events"], result["gaps"], result["out_of_order"]) == (0, 0, 0)
    assert result["fanout_ms"]["max"] is not None
    # Each event's last viewer: the slowest of them is the slowest receipt of all.
    assert len(result["event_last_ms"]) == result["events"]
    assert max(result["event_last_ms"]) == result["fanout_ms"]["max"]
    # Every like counted exactly once, seen by everyone, in coalesced frames.
    assert result["likes_sent"] == result["likes_acked"] == result["likes_in_db"] == VIEWERS
    assert result["likes_seen_last"] == VIEWERS
    assert 1 <= result["like_frames_per_second_max"] <= 5
    assert result["rss_per_viewer_kb"] is not None

    baseline = report["baseline"]
    assert (baseline["connected"], baseline["missed_events"], baseline["gaps"]) == (VIEWERS, 0, 0)
    assert "setup" in run.stdout and "bare websockets" in run.stdout
    assert "last viewer per event" in run.stdout


def test_viewers_who_arrive_through_the_watch_page_get_bursts_of_events_in_order(tmp_path):
    """The scenario of people arriving at the watch page (its name form, then the
    socket with the guest cookie) while the host's events come several at once."""
    viewers = 60
    report_path = tmp_path / "load.json"
    command = [
        sys.executable,
        "bench/live_load.py",
        "--viewers",
        str(viewers),
        "--join",
        "page",
        "--events",
        "6",
        "--burst",
        "3",
        "--event-gap",
        "0.5",
        "--hold",
        "1",
        *("--join-seconds", "2", "--no-baseline"),
        "--json",
        str(report_path),
        "--logs",
        str(ARTIFACTS / "bench-logs"),
    ]
    run = subprocess.run(
        command, cwd=ROOT, env=server_env(), capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert "watch page" in report["scenario"] and "groups of 3" in report["scenario"]
    (result,) = report["results"]
    assert (result["connected"], result["failed"], result["dropped"]) == (viewers, 0, 0)
    assert (result["missed_events"], result["gaps"], result["out_of_order"]) == (0, 0, 0)
    assert len(result["event_last_ms"]) == result["events"] == 6


def test_the_slowest_events_are_named_by_their_number():
    from bench.live_load import Result, slowest_events

    result = Result(setup="uvicorn x2", viewers=3, event_last_ms=[10.0, 950.0, 12.0, 11.0])
    assert slowest_events([result], count=2) == (
        "- uvicorn x2: last viewer per event, median 11.5 ms; slowest #2 950.0, #3 12.0"
    )


def test_a_viewers_like_is_answered_only_by_the_reply_that_carries_its_ref():
    from bench.live_load import Viewer, ViewerClient

    client = ViewerClient(Viewer(url="ws://127.0.0.1:1/", origin="http://127.0.0.1:1"), set())
    ping_ack = '{"type": "ack", "ref": null}'
    client._receive(ping_ack, started=0)  # a ping's, before any like
    assert not client.like_answered.is_set() and not client.viewer.like_acked
    client.like_ref = "like-1"
    client._receive(ping_ack, started=0)
    assert not client.like_answered.is_set()
    client._receive('{"type": "ack", "ref": "like-1", "liked": true}', started=0)
    assert client.like_answered.is_set() and client.viewer.like_acked
