"""The state-machine helper every lifecycle is written with."""

import pytest

from broadcasts.models import Broadcast, BroadcastState
from core.errors import Conflict
from core.machines import StateMachine

S = BroadcastState

DOORS = StateMachine(
    moves={
        "open": {S.DRAFT: S.LIVE},
        "close": {S.LIVE: S.ENDED, S.PAUSED: S.ENDED},
    },
    refusal="Cannot {verb} a broadcast that is {state}.",
    verbs={"open": "open the doors of"},
)


def test_a_move_in_the_table_changes_the_state_and_the_fields_that_go_with_it():
    broadcast = Broadcast(state=S.DRAFT, title="Before")
    left = DOORS.move(broadcast, "open", title="After")
    assert (left, broadcast.state, broadcast.title) == (S.DRAFT, S.LIVE, "After")


def test_a_move_absent_from_the_table_is_refused_and_changes_nothing():
    broadcast = Broadcast(state=S.ENDED, title="Kept")
    with pytest.raises(Conflict) as refused:
        DOORS.move(broadcast, "open", title="Changed")
    assert refused.value.message == "Cannot open the doors of a broadcast that is ended."
    assert refused.value.code == "conflict"
    assert (broadcast.state, broadcast.title) == (S.ENDED, "Kept")


def test_an_action_without_a_verb_is_named_by_itself():
    with pytest.raises(Conflict, match=r"Cannot close a broadcast that is draft\."):
        DOORS.move(Broadcast(state=S.DRAFT), "close")


def test_allowed_lists_the_actions_that_start_from_a_state_in_table_order():
    assert DOORS.allowed(S.DRAFT) == ["open"]
    assert DOORS.allowed(S.PAUSED) == ["close"]
    assert DOORS.allowed(S.ENDED) == []
