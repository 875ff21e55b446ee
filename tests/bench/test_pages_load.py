"""The page-load harness's smoke run: every page loads with no error, on the README's
production command, and the PostgreSQL connections stay within the pools."""

import json
import subprocess
import sys

import pytest

from tests.servers import ARTIFACTS, ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_page_loads_without_an_error_under_a_few_clients(tmp_path):
    report_path = tmp_path / "pages.json"
    command = [
        sys.executable,
        "bench/pages_load.py",
        "--clients",
        "8",
        "--seconds",
        "2",
        "--json",
        str(report_path),
        "--logs",
        str(ARTIFACTS / "bench-logs"),
    ]
    env = server_env(PRIMETIME_DB_POOL_SIZE="3")
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    rows = json.loads(report_path.read_text())["rows"]
    assert [row["page"] for row in rows] == [
        "minimal view",
        "static file",
        "landing page",
        "watch page",
        "host console",
    ]
    for row in rows:
        assert row["errors"] == {}, row
        assert row["requests"] > 0, row
        assert row["p99_ms"] is not None
    watch = next(row for row in rows if row["page"] == "watch page")
    assert watch["flows"] > 0  # whole arrivals: the name form, its post, the page
    if "postgres" in env["DATABASE_URL"]:
        assert 1 <= max(row["peak_db_connections"] for row in rows) <= 2 * 3
    assert "| clients | page | requests/s |" in run.stdout
