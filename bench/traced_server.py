"""The shipped live server (uvicorn, as bench/live_load.py starts it) with tracemalloc.

    python bench/traced_server.py PORT SNAPSHOT_PATH

Traces every allocation from start-up; on SIGUSR1 it writes a tracemalloc snapshot to
SNAPSHOT_PATH (then renames it to SNAPSHOT_PATH.done), for bench/connection_memory.py.
Binds to 127.0.0.1.
"""

import os
import signal
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRAMES = 30


def _write_snapshot(path: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    partial = path.with_suffix(".partial")
    snapshot.dump(str(partial))
    os.replace(partial, path.with_name(path.name + ".done"))


def main(port: int, snapshot_path: Path) -> None:
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, lambda *_: _write_snapshot(snapshot_path))
    import uvicorn

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    uvicorn.run(
        "config.asgi:application",
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        http="config.http:HeadersTimeoutProtocol",
        ws_per_message_deflate=False,
        ws_max_size=65_536,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
