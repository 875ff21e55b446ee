"""Rate limits: token buckets per connection (how fast one page may send commands),
and fixed windows per key, shared by every process (how often one person may act)."""

import functools
import time

from django.conf import settings
from django.core.cache import cache

from core.errors import RateLimited

from . import names


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


def connection_rate_limits() -> dict[str, TokenBucket]:
    """A connection's rate limits, by the `rate` its commands draw on (commands.py)."""
    return {
        "command": TokenBucket(settings.LIVE_COMMAND_RATE, settings.LIVE_COMMAND_BURST),
        "signal": TokenBucket(settings.LIVE_SIGNAL_RATE, settings.LIVE_SIGNAL_BURST),
    }


def rate_limit(*, key: str, allowed: int, per_seconds: int, message: str) -> None:
    """Count one action under `key`; raise RateLimited(message) past `allowed` per window.

    A fixed window, in Redis when it is set up (shared by every process), else in the
    cache of this process.
    """
    (count,) = count_actions([key], per_seconds=per_seconds)
    if count > allowed:
        raise RateLimited(message)


def count_actions(keys: list[str], *, per_seconds: int) -> list[int]:
    """Count one action under each of `keys` (a key twice: two actions) in this window of
    `per_seconds`, in one round trip; answer each key's count so far in the window."""
    window = int(time.time() // per_seconds)
    window_keys = [names.rate_limit_key(key, window) for key in keys]
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
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=ttl)
        return 1
