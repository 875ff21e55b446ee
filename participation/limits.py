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
NEW_GUESTS_MESSAGE = "Many people joined from your network just now. Wait a minute, then try again."


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


def new_guests_allowed(*, addresses: list[str | None]) -> list[bool]:
    """One new guest from each of these network addresses (an address twice: two
    guests), in one round trip: for each, whether it may be made now. Without an
    address (a server that does not say) there is nothing to count by."""
    counted = [address for address in addresses if address]
    taken = iter(
        take_allowance(
            [f"guests:{address}" for address in counted],
            allowed=settings.GUESTS_PER_ADDRESS_PER_MINUTE,
            per_seconds=60,
        )
        if counted
        else []
    )
    return [next(taken) if address else True for address in addresses]


def new_guest_allowed(*, address: str | None) -> None:
    """Count one new guest from `address`; raise RateLimited past the allowance."""
    if not new_guests_allowed(addresses=[address])[0]:
        raise RateLimited(NEW_GUESTS_MESSAGE)
