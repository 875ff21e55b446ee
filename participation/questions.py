"""Questions from the audience, and their moderation (DESIGN section 3).

A question is visible as soon as it is asked, or waits for approval when the
broadcast holds questions for moderation. Hosts and moderators answer, pin, hide or
show questions; the moves are a table. Viewers never receive a hidden question, nor a
pending one unless they asked it.
"""

import unicodedata

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from broadcasts.audit import audit_record
from broadcasts.models import Broadcast, BroadcastState
from broadcasts.selectors import AnyUser, require_can_run
from broadcasts.services import lock_broadcast
from core.errors import Conflict, InvalidInput, NotFound

from .limits import attendee_rate_limit
from .models import (
    PUBLIC_QUESTION_STATES,
    QUESTION_MAX_CHARS,
    Attendee,
    Question,
    QuestionVote,
    Role,
)
from .models import QuestionState as Q
from .moderation import QUESTION_MODERATION, can_pin
from .presenters import question_public, question_withdrawn
from .realtime import events
from .realtime.publish import (
    publish_on_commit,
    send_private_on_commit,
    send_to_hosts_on_commit,
)


def clean_question_text(raw: str) -> str:
    """1 to 500 characters once trimmed; line breaks are kept, other control characters refused."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("Type your question first.")
    if len(text) > QUESTION_MAX_CHARS:
        raise InvalidInput(f"Keep your question to {QUESTION_MAX_CHARS} characters.")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InvalidInput("Your question contains characters that cannot be shown.")
    return text


def question_ask(*, attendee: Attendee, text: str) -> Question:
    broadcast = attendee.broadcast
    if broadcast.state == BroadcastState.ENDED:
        raise Conflict("Questions are closed: the broadcast has ended.")
    cleaned = clean_question_text(text)
    attendee_rate_limit(attendee_id=attendee.pk, action="question")
    held = broadcast.questions_premoderated and attendee.role != Role.HOST
    with transaction.atomic():
        question = Question.objects.create(
            broadcast=broadcast,
            attendee=attendee,
            text=cleaned,
            state=Q.PENDING if held else Q.VISIBLE,
        )
        _announce(question, before=None)
    return question


def question_moderate(
    *, broadcast: Broadcast, question_id: int, action: str, by: AnyUser | None
) -> Question:
    """Approve, answer, reopen, hide or show a question (hosts and moderators)."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        question = _locked(broadcast, question_id)
        before = QUESTION_MODERATION.move(
            question,
            action,
            moderated_at=timezone.now(),
            moderated_by=by if by is not None and by.is_authenticated else None,
        )
        if question.state not in PUBLIC_QUESTION_STATES:
            question.pinned = False
        question.save(update_fields=["state", "pinned", "moderated_at", "moderated_by"])
        _audit(question, by, action)
        _announce(question, before=before)
    return question


def question_pin(
    *, broadcast: Broadcast, question_id: int, by: AnyUser | None, pinned: bool = True
) -> Question:
    """Pin a question on top for everyone (one at a time), or unpin it."""
    require_can_run(broadcast=broadcast, by=by)
    with transaction.atomic():
        # The broadcast's row orders two hosts pinning at once.
        lock_broadcast(broadcast.pk)
        question = _locked(broadcast, question_id)
        if pinned and not can_pin(question):
            raise Conflict("Only a question everyone can see can be pinned.")
        if question.pinned == pinned:
            return question
        if pinned:
            for other in Question.objects.select_related("attendee").filter(
                broadcast=broadcast, pinned=True
            ):
                other.pinned = False
                other.save(update_fields=["pinned"])
                _announce(other, before=other.state)
        question.pinned = pinned
        question.save(update_fields=["pinned"])
        _audit(question, by, "pin" if pinned else "unpin")
        _announce(question, before=question.state)
    return question


def question_upvote(*, attendee: Attendee, question_id: int) -> Question:
    """One vote per attendee per question; a vote cannot be taken back."""
    attendee_rate_limit(attendee_id=attendee.pk, action="vote")
    with transaction.atomic():
        question = _locked(attendee.broadcast, question_id)
        if question.state not in PUBLIC_QUESTION_STATES:
            raise NotFound("There is no such question.")
        try:
            with transaction.atomic():
                QuestionVote.objects.create(question=question, attendee=attendee)
        except IntegrityError:
            raise Conflict("You have voted for this question already.") from None
        Question.objects.filter(pk=question.pk).update(votes=F("votes") + 1)
        question.refresh_from_db(fields=["votes"])
        _announce(question, before=question.state)
    return question


def _audit(question: Question, by, action: str) -> None:
    text = question.text if len(question.text) <= 80 else question.text[:79] + "…"
    audit_record(
        broadcast=question.broadcast_id,
        by=by,
        action=f"question.{action}",
        subject=f"“{text}” from {question.attendee.display_name}",
    )


def _locked(broadcast: Broadcast, question_id: int) -> Question:
    question = (
        Question.objects.select_for_update()
        .select_related("attendee")
        .filter(pk=question_id, broadcast=broadcast)
        .first()
    )
    if question is None:
        raise NotFound("There is no such question.")
    return question


def _announce(question: Question, *, before: str | None) -> None:
    """Tell each page what it may know of the question's new state, after commit."""
    was_public = before in PUBLIC_QUESTION_STATES
    is_public = question.state in PUBLIC_QUESTION_STATES
    full = question_public(question)
    slug = question.broadcast.slug
    if is_public:
        event = events.question_updated if was_public else events.question_added
        publish_on_commit(slug, event(question=full))
        return
    # Pending or hidden: hosts see it whole; viewers only lose it if they had it.
    event = events.question_added if before is None else events.question_updated
    send_to_hosts_on_commit(question.broadcast_id, event(question=full))
    if was_public:
        gone = question_withdrawn(question)
        publish_on_commit(slug, events.question_updated(question=gone))
    elif question.attendee.role != Role.HOST:
        # The asker keeps seeing their own pending question, and learns when it is hidden.
        mine = full if question.state == Q.PENDING else question_withdrawn(question)
        send_private_on_commit(question.attendee_id, event(question=mine))
