import functools
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
    from core.errors import RateLimited

    if attendees_past_rate_limit(attendee_ids=[attendee_id], action=action)[0]:
        raise RateLimited(ATTENDEE_LIMIT_MESSAGES[action])


def attendees_past_rate_limit(*, attendee_ids: list[int], action: str) -> list[bool]:
    """Count one `action` by each of these attendees (an id twice: two actions, in that
    order), in one round trip; answer, for each, whether it went past the setting's
    allowance."""
    from django.conf import settings

    allowed, per_seconds = settings.ATTENDEE_RATE_LIMITS[action]
    counts = _count(
        [f"{action}:{attendee_id}" for attendee_id in attendee_ids], per_seconds=per_seconds
    )
    return [count > allowed for count in counts]


def rate_limit(*, key: str, allowed: int, per_seconds: int, message: str) -> None:
    """Count one action under `key`; raise RateLimited(message) past `allowed` per window.

    A fixed window, in Redis when it is set up (shared by every process), else in the
    cache of this process.
    """
    from core.errors import RateLimited

    (count,) = _count([key], per_seconds=per_seconds)
    if count > allowed:
        raise RateLimited(message)


def _count(keys: list[str], *, per_seconds: int) -> list[int]:
    from django.conf import settings

    window = int(time.time() // per_seconds)
    window_keys = [f"primetime:rl:{key}:{window}" for key in keys]
    if settings.REDIS_URL:
        return _count_in_redis(settings.REDIS_URL, window_keys, per_seconds + 1)
    return [_count_in_cache(key, per_seconds + 1) for key in window_keys]


@functools.cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def _count_in_redis(url: str, keys: list[str], ttl: int) -> list[int]:
    # One round trip on a pool shared by the process's threads. (Django's cache would
    # open a connection per call from the live socket's worker thread: its handler
    # keeps one client per async context.)
    pipeline = _redis_client(url).pipeline(transaction=False)
    for key in keys:
        pipeline.incr(key)
        pipeline.expire(key, ttl)
    return [int(count) for count in pipeline.execute()[::2]]


def _count_in_cache(key: str, ttl: int) -> int:
    from django.core.cache import cache

    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=ttl)
        return 1
