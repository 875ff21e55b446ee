"""Running Janus with our configuration, and knowing when it answers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings

from .client import JanusAdmin, JanusError
from .config import janus_binary, janus_secret, write_configuration


def janus_command(binary: str, folder: Path) -> list[str]:
    # -F, -C: our configuration folder and file only (never /etc/janus).
    return [binary, "-F", str(folder), "-C", str(folder / "janus.jcfg")]


async def _answers(timeout: float) -> bool:
    admin = JanusAdmin(settings.JANUS_ADMIN_URL, janus_secret())
    try:
        await asyncio.wait_for(admin.info(), timeout)
        return True
    except (JanusError, TimeoutError):
        return False
    finally:
        await admin.close()


def janus_answers(timeout: float = 2.0) -> bool:
    """Does a Janus with our secret answer at JANUS_ADMIN_URL? (From sync code; in a
    thread of its own, as the caller's thread may run an event loop.)"""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _answers(timeout)).result()


class JanusProcess:
    """Janus as a child process (quickstart, tests); stopped with `stop()`."""

    def __init__(self, log_path: Path | None = None, folder: Path | None = None):
        self.log_path, self.folder = log_path, folder
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = 15.0) -> JanusProcess:
        binary, folder = write_configuration(self.folder)
        with open(self.log_path or os.devnull, "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(  # noqa: S603 (our binary, our arguments)
                janus_command(binary, folder),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not stopped by the terminal's Ctrl-C before us
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Janus exited at start-up with status {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if janus_answers(timeout=1.0):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Janus did not answer at {settings.JANUS_ADMIN_URL} within {wait} s")

    def stop(self, grace: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def janus_problem() -> tuple[str, str] | None:
    """Why MEDIA_BACKEND=janus cannot work now: ("error", ...) when Janus neither
    answers nor is installed, ("warning", ...) when it is installed but not running;
    None when it answers."""
    if janus_answers(timeout=1.0):
        return None
    if janus_binary() is None:
        return (
            "error",
            f"MEDIA_BACKEND=janus, but no Janus answers at {settings.JANUS_ADMIN_URL} and "
            f"none is installed ({settings.JANUS_BINARY!r} is not on PATH): install Debian's "
            "janus and run `python manage.py janus`, or point JANUS_URL and "
            "JANUS_ADMIN_URL at a running one",
        )
    return (
        "warning",
        f"MEDIA_BACKEND=janus, but no Janus answers at {settings.JANUS_ADMIN_URL} yet: "
        "start it with `python manage.py janus` (pages show video as reconnecting until "
        "it answers)",
    )
