"""Periodic jobs of the live path, which the domain registers (`register`, in
`AppConfig.ready()`) and every hub runs: each waits its interval, then runs in the
hub's housekeeping thread, again and again while the hub lives (hub.py)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str  # its task is `primetime-live-<name>`
    run: Callable[[], object]  # a plain function; it may use the database
    every: Callable[[], float]  # seconds to wait before each run, read each time
    doing: str  # for the log when a run fails: "could not <doing>"


# What a job answers when the hub's connections must reconnect: what this process
# knew of them was taken for lost (its presence lease expired while it stalled).
RESYNC = "resync"

_jobs: dict[str, Job] = {}


def register(
    name: str, run: Callable[[], object], *, every: Callable[[], float], doing: str
) -> None:
    """Run `run()` every `every()` seconds in each hub, from the hub's start; a failed
    run is logged and the next one comes on time. Every process runs it, so it must be
    safe to run in several at once. A run that answers RESYNC has every connection
    of the hub reconnect."""
    if name in _jobs:
        raise RuntimeError(f"live job {name!r} registered twice")
    _jobs[name] = Job(name=name, run=run, every=every, doing=doing)


def registered() -> list[Job]:
    """The jobs, in the order they were registered."""
    return list(_jobs.values())
