"""The media harness's smoke run: on Janus and on mesh, a browser viewer and a viewer
that receives without decoding both get the host's video, and every figure is there.

It runs the command docs/benchmarks.md gives (bench/media_load.py) with its own Janus,
two server processes sharing Redis, and the test veth for Janus's media address."""

import json
import subprocess
import sys

import pytest

from tests.servers import ARTIFACTS, ROOT, server_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.media_address]


def test_browser_and_rtp_subscribers_get_the_hosts_video_on_janus_and_on_mesh(tmp_path, redis_url):
    report_path = tmp_path / "media.json"
    command = [
        sys.executable,
        "bench/media_load.py",
        # Short waits: the smoke checks that every figure is there, not how good it is.
        *("--subscribers", "2", "--mesh", "2", "--seconds", "3", "--settle", "0.5"),
        *("--audience", "rtp", "--probes", "1"),
        *("--json", str(report_path), "--logs", str(ARTIFACTS / "bench-logs")),
    ]
    env = server_env(REDIS_URL=redis_url)
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    rows = json.loads(report_path.read_text())["rows"]
    assert [(row["backend"], row["subscribers"]) for row in rows] == [
        ("janus", 0),
        ("janus", 2),
        ("mesh", 0),
        ("mesh", 2),
    ]
    janus_idle, janus, mesh_idle, mesh = rows
    for row in (janus, mesh):
        assert row["playing"] == 2
        assert row["rtp_subscribers"] == 1 and row["rtp_subscribers_cpu_percent"] is not None
        # Both viewers count frames: an average of 2 per second cannot come from one.
        assert row["frames_per_subscriber_second"] > 2
        assert row["kbit_per_subscriber"] > 0
        assert row["latency_p50_ms"] is not None  # the browser viewer read the clock
    # On the SFU the host sends one stream whatever the audience; on mesh one per viewer.
    assert janus_idle["host_video_streams"] == janus["host_video_streams"] == 1
    assert janus["janus_cpu_percent"] is not None and janus["janus_rss_mb"] > 0
    assert (mesh_idle["host_video_streams"], mesh["host_video_streams"]) == (0, 2)
    assert mesh["janus_cpu_percent"] is None
    assert "| janus | 2 | 2 |" in run.stdout
