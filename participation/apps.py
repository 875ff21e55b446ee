from django.apps import AppConfig
from django.conf import settings
from django.utils.module_loading import autodiscover_modules


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = "Participation"

    def ready(self) -> None:
        # Each app's live.py registers the commands it handles on the live socket.
        autodiscover_modules("live")
        from . import receivers  # noqa: F401  (connects them)

        register_live_work()


def register_live_work() -> None:
    """What the real-time layer does for the domain without knowing it: publish the
    coalesced counters, and the periodic jobs every server process runs."""
    from .presence import lease_renew
    from .realtime import counters, jobs
    from .services import (
        COUNTER_SPACING_SECONDS,
        counter_publish,
        hosts_away_pause,
        presence_sweep,
        viewers_sample,
    )
    from .stage import speak_requests_sweep_absent

    # `audience` (who is watching, marked as pages come and go), `likes`, `rating`.
    for kind in COUNTER_SPACING_SECONDS:
        counters.register(kind, counter_publish)
    # Requests of people who left, and speakers who dropped off, are let go after a
    # grace period. Every process sweeps; the moves are idempotent under their locks.
    jobs.register(
        "sweep",
        lambda: speak_requests_sweep_absent(grace_seconds=settings.SPEAK_REQUEST_GRACE_SECONDS),
        every=lambda: settings.SPEAK_REQUEST_SWEEP_SECONDS,
        doing="sweep the requests of absent attendees",
    )
    # A broadcast whose hosts are all gone for a while pauses by itself.
    jobs.register(
        "host-away",
        lambda: hosts_away_pause(away_seconds=settings.HOST_AWAY_PAUSE_SECONDS),
        every=lambda: settings.HOST_AWAY_SWEEP_SECONDS,
        doing="pause the broadcasts whose hosts are gone",
    )
    # The analytics chart's points: every process samples; one row per interval wins.
    jobs.register(
        "samples",
        viewers_sample,
        every=lambda: settings.VIEWER_SAMPLE_SECONDS,
        doing="sample the viewers of running broadcasts",
    )
    # Each process renews its presence lease; the pages of a process that stopped
    # renewing (killed) are counted out by whichever sweep comes first.
    jobs.register(
        "presence-lease",
        lease_renew,
        every=lambda: settings.PRESENCE_LEASE_SECONDS / 3,
        doing="renew this process's presence lease",
    )
    jobs.register(
        "presence-sweep",
        lambda: presence_sweep(lease_seconds=settings.PRESENCE_LEASE_SECONDS),
        every=lambda: settings.PRESENCE_LEASE_SECONDS / 3,
        doing="count out the pages of stopped server processes",
    )
