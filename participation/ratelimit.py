import time


class TokenBucket:
    """`rate` actions a second on average, up to `burst` at once."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# What each attendee may do per window, across their pages and server processes.
ATTENDEE_LIMIT_MESSAGES = {
    "question": "You are asking questions faster than the host can read them. "
    "Wait a minute, then ask again.",
    "vote": "You are voting very quickly. Wait a moment, then try again.",
    "like": "Slow down a little, then try again.",
    "rate": "You are changing your rating very quickly. Wait a moment, then try again.",
}


def attendee_rate_limit(*, attendee_id: int, action: str) -> None:
    """Count one `action` by this attendee; raise RateLimited beyond the setting's allowance."""
    from django.conf import settings

    allowed, per_seconds = settings.ATTENDEE_RATE_LIMITS[action]
    rate_limit(
        key=f"{action}:{attendee_id}",
        allowed=allowed,
        per_seconds=per_seconds,
        message=ATTENDEE_LIMIT_MESSAGES[action],
    )


def rate_limit(*, key: str, allowed: int, per_seconds: int, message: str) -> None:
    """Count one action under `key`; raise RateLimited(message) past `allowed` per window.

    A fixed window in the cache (shared by every process when Redis is set up).
    """
    from django.core.cache import cache

    from broadcasts.errors import RateLimited

    window = int(time.time() // per_seconds)
    cache_key = f"primetime:rl:{key}:{window}"
    cache.add(cache_key, 0, timeout=per_seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(cache_key, 1, timeout=per_seconds + 1)
        count = 1
    if count > allowed:
        raise RateLimited(message)
