"""Lifecycles as tables. Each machine maps an action to {from state: to state}; a move
absent from its table is refused with a Conflict, so the table is the whole rule."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import models

from .errors import Conflict


@dataclass(frozen=True)
class StateMachine:
    moves: Mapping[str, Mapping[str, str]]
    # The refusal shown to people: "{verb}" is the action's verb (the action itself when
    # it has none), "{state}" the current state's label in lower case, "{instance}" the
    # instance itself.
    refusal: str
    verbs: Mapping[str, str] = field(default_factory=dict)

    def allowed(self, state: str) -> list[str]:
        """The actions that can start from this state, in the table's order."""
        return [action for action, moves in self.moves.items() if state in moves]

    def move(self, instance: models.Model, action: str, **changes) -> str:
        """Move a model instance (in memory; the caller saves and records the move) and
        set the other fields that change with it. Returns the state it left."""
        from_state = instance.state
        to_state = self.moves[action].get(from_state)
        if to_state is None:
            label = instance.get_state_display().lower()
            verb = self.verbs.get(action, action)
            raise Conflict(self.refusal.format(verb=verb, state=label, instance=instance))
        instance.state = to_state
        for name, value in changes.items():
            setattr(instance, name, value)
        return from_state
