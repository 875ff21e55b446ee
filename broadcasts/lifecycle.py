"""A broadcast's lifecycle as one table (DESIGN section 3), and what it lets a page
offer: the pages draw their buttons from `live_actions`, never from a copy."""

from core.machines import StateMachine

from .models import BroadcastState as S

LIFECYCLE = StateMachine(
    moves={
        "schedule": {S.DRAFT: S.SCHEDULED},
        "start": {S.DRAFT: S.LIVE, S.SCHEDULED: S.LIVE},
        "pause": {S.LIVE: S.PAUSED},
        "resume": {S.PAUSED: S.LIVE},
        "end": {S.LIVE: S.ENDED, S.PAUSED: S.ENDED},
    },
    refusal="Cannot {verb} a broadcast that is {state}.",
    verbs={"start": "go live with"},
)

# The moves made from a page's buttons, as live commands; scheduling is the admin's.
LIVE_ACTIONS = ("start", "pause", "resume", "end")


def live_actions(state: str) -> list[str]:
    """The lifecycle commands (`broadcast.pause`, ...) a broadcast in this state allows."""
    return [f"broadcast.{action}" for action in LIFECYCLE.allowed(state) if action in LIVE_ACTIONS]
