"""What each attendee may do per window, across their pages and server processes
(the allowances are the setting ATTENDEE_RATE_LIMITS; the counting is realtime's)."""

from django.conf import settings

from core.errors import RateLimited

from .realtime.ratelimit import take_allowance

ATTENDEE_LIMIT_MESSAGES = {
    "question": "You are asking questions faster than the host can read them. "
    "Wait a minute, then ask again.",
    "vote": "You are voting very quickly. Wait a moment, then try again.",
    "like": "Slow down a little, then try again.",
    "rate": "You are changing your rating very quickly. Wait a moment, then try again.",
}


def attendee_rate_limit(*, attendee_id: int, action: str) -> None:
    """Count one `action` by this attendee; raise RateLimited beyond the setting's allowance."""
    if attendees_past_rate_limit(attendee_ids=[attendee_id], action=action)[0]:
        raise RateLimited(ATTENDEE_LIMIT_MESSAGES[action])


def attendees_past_rate_limit(*, attendee_ids: list[int], action: str) -> list[bool]:
    """Count one `action` by each of these attendees (an id twice: two actions, in that
    order), in one round trip; answer, for each, whether it went past the setting's
    allowance."""
    allowed, per_seconds = settings.ATTENDEE_RATE_LIMITS[action]
    taken = take_allowance(
        [f"{action}:{attendee_id}" for attendee_id in attendee_ids],
        allowed=allowed,
        per_seconds=per_seconds,
    )
    return [not allowed_now for allowed_now in taken]
