"""Export 1,000,000 leads to CSV, beside PostgreSQL's own COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/primetime_bench \\
        python bench/leads_export.py --rows 1000000

Fills a benchmark database (its own: it is wiped first), runs the export task's body in
a child process (so its peak memory is its own), then `COPY (same rows) TO STDOUT`.
Prints time, rows per second and peak memory of each, and the ratio. Aim: the export
within 3 times COPY's time, under 150 MB peak. Loopback only; stops by itself.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/primetime_bench")
os.environ.pop("REDIS_URL", None)  # tasks run in-process here: we time the task's body

from bench.common import ensure_database  # noqa: E402 - needs ROOT on the path

COPY_SQL = """
COPY (
  SELECT b.title, b.slug, l.created_at, l.name, l.email, l.phone, l.company,
         l.consent_given, l.consent_text, l.consented_at, l.attendee_id
  FROM leads_lead l JOIN broadcasts_broadcast b ON b.id = l.broadcast_id
  WHERE l.broadcast_id = %s ORDER BY l.id
) TO STDOUT WITH (FORMAT csv, HEADER true)
"""


def setup_django():
    import django

    django.setup()


def fill(rows: int) -> int:
    """A broadcast with `rows` leads; every fifth lead is an attendee who did things."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from broadcasts.models import Broadcast
    from tests.factories import UserFactory

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_exportdownload, leads_exporttransition, leads_leadexport, leads_lead,"
            " participation_like, participation_rating, participation_question,"
            " participation_attendee, broadcasts_broadcasttransition, broadcasts_broadcast CASCADE"
        )
    host = UserFactory(username="bench-host")
    broadcast = Broadcast.objects.create(
        title="Benchmark launch", slug="bench", host=host, state="ended"
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO participation_attendee
              (broadcast_id, guest_key, display_name, role, connections, joined_at,
               watched_seconds, widget_closed)
            SELECT %s, gen_random_uuid(), 'Guest ' || g, 'viewer', 0, now(), g %% 3600, false
            FROM generate_series(1, %s) g
            """,
            [broadcast.pk, rows // 5],
        )
        cursor.execute(
            "INSERT INTO participation_like (broadcast_id, attendee_id, created_at)"
            " SELECT broadcast_id, id, now() FROM participation_attendee"
            " WHERE broadcast_id = %s AND id %% 2 = 0",
            [broadcast.pk],
        )
        cursor.execute(
            "INSERT INTO participation_rating"
            " (broadcast_id, attendee_id, stars, created_at, updated_at)"
            " SELECT broadcast_id, id, 1 + id %% 5, now(), now() FROM participation_attendee"
            " WHERE broadcast_id = %s AND id %% 3 = 0",
            [broadcast.pk],
        )
        cursor.execute(
            """
            WITH people AS (
              SELECT id, row_number() OVER (ORDER BY id) AS n
              FROM participation_attendee WHERE broadcast_id = %s
            )
            INSERT INTO leads_lead
              (broadcast_id, attendee_id, name, email, phone, company, consent_given,
               consent_text, consented_at, created_at, updated_at)
            SELECT %s, people.id, 'Person ' || g, 'person' || g || '@example.com',
                   '+4915100' || lpad(g::text, 7, '0'), 'ACME ' || (g %% 1000), true,
                   'I agree to be contacted about this event.', now(), now(), now()
            FROM generate_series(1, %s) g
            LEFT JOIN people ON g %% 5 = 0 AND people.n = g / 5
            """,
            [broadcast.pk, broadcast.pk, rows],
        )
        cursor.execute("ANALYZE")
    print(f"filled {rows:,} leads in {time.monotonic() - started:.1f} s", flush=True)
    return broadcast.pk


def run_export(broadcast_id: int) -> None:
    """The child: run one export and report its time and this process's peak memory."""
    from leads.exports import export_run
    from leads.models import LeadExport

    export = LeadExport.objects.create(broadcast_id=broadcast_id)
    started = time.monotonic()
    export = export_run(export_id=export.pk)
    elapsed = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RESULT {elapsed:.3f} {export.rows_written} {peak_mb:.1f} {export.state}", flush=True)


def run_copy(broadcast_id: int, path: Path) -> tuple[float, int]:
    from django.db import connection

    started = time.monotonic()
    rows = -1  # the header
    with (
        connection.cursor() as cursor,
        open(path, "wb") as out,
        cursor.connection.cursor().copy(COPY_SQL, [broadcast_id]) as copy,
    ):
        for data in copy:
            out.write(data)
            rows += bytes(data).count(b"\n")
    return time.monotonic() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child-export", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        setup_django()
        run_export(args.child_export)
        return

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    broadcast_id = fill(args.rows)

    # Baseline first, so both read from a warm cache.
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    copy_seconds, copy_rows = run_copy(broadcast_id, out / "copy.csv")
    env = dict(os.environ, PRIMETIME_EXPORTS_DIR=str(out / "exports"))
    child = subprocess.run(
        [sys.executable, __file__, "--child-export", str(broadcast_id)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    line = next(line for line in child.stdout.splitlines() if line.startswith("RESULT"))
    _, seconds, rows, peak_mb, state = line.split()
    seconds, rows, peak_mb = float(seconds), int(rows), float(peak_mb)

    print()
    print(f"| path (PostgreSQL, {args.rows:,} leads) | seconds | rows/s | peak memory |")
    print("| --- | --- | --- | --- |")
    print(
        f"| `COPY ... TO STDOUT` (baseline) | {copy_seconds:.1f} |"
        f" {copy_rows / copy_seconds:,.0f} | (server side) |"
    )
    print(
        f"| lead export task ({state}) | {seconds:.1f} | {rows / seconds:,.0f} | {peak_mb:.0f} MB |"
    )
    print()
    print(
        f"export / COPY time: {seconds / copy_seconds:.2f}x (aim: at most 3x);"
        f" peak {peak_mb:.0f} MB (aim: under 150 MB)"
    )


if __name__ == "__main__":
    main()
