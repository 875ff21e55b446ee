"""A question's moderation moves, in one table: the live commands, the buttons of the
host console and the dashboard (each question carries its `moves`) and the admin's
actions all come from it."""

from core.machines import StateMachine

from .models import PUBLIC_QUESTION_STATES, Question
from .models import QuestionState as Q

QUESTION_MODERATION = StateMachine(
    moves={
        "approve": {Q.PENDING: Q.VISIBLE},
        "answer": {Q.VISIBLE: Q.ANSWERED},
        "reopen": {Q.ANSWERED: Q.VISIBLE},
        "hide": {Q.PENDING: Q.HIDDEN, Q.VISIBLE: Q.HIDDEN, Q.ANSWERED: Q.HIDDEN},
        "show": {Q.HIDDEN: Q.VISIBLE},
    },
    refusal="Cannot {verb} a question that is {state}.",
    verbs={"answer": "mark as answered"},
)

# Every move of a question, with what staff read on the admin's actions. Pinning is
# not a change of state: any question everyone can see may be pinned, one at a time.
MOVE_LABELS = {
    "approve": "Approve",
    "answer": "Mark answered",
    "reopen": "Reopen",
    "hide": "Hide",
    "show": "Show again",
    "pin": "Pin",
    "unpin": "Unpin",
}


def can_pin(question: Question) -> bool:
    return question.state in PUBLIC_QUESTION_STATES


def question_moves(question: Question) -> list[str]:
    """The moderation commands (`question.answer`, ...) that apply to the question now."""
    moves = [f"question.{action}" for action in QUESTION_MODERATION.allowed(question.state)]
    if can_pin(question):
        moves.append("question.unpin" if question.pinned else "question.pin")
    return moves
