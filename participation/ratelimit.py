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

    A fixed window, in Redis when it is set up (shared by every process), else in the
    cache of this process.
    """
    from django.conf import settings

    from broadcasts.errors import RateLimited

    window = int(time.time() // per_seconds)
    window_key = f"primetime:rl:{key}:{window}"
    if settings.REDIS_URL:
        count = _count_in_redis(settings.REDIS_URL, window_key, per_seconds + 1)
    else:
        count = _count_in_cache(window_key, per_seconds + 1)
    if count > allowed:
        raise RateLimited(message)


@functools.cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def _count_in_redis(url: str, key: str, ttl: int) -> int:
    # One round trip on a pool shared by the process's threads. (Django's cache would
    # open a connection per call from the live socket's worker thread: its handler
    # keeps one client per async context.)
    pipeline = _redis_client(url).pipeline(transaction=False)
    pipeline.incr(key)
    pipeline.expire(key, ttl)
    return int(pipeline.execute()[0])


def _count_in_cache(key: str, ttl: int) -> int:
    from django.core.cache import cache

    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=ttl)
        return 1
