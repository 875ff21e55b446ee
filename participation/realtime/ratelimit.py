"""Rate limits: token buckets per connection (how fast one page may send commands),
and sliding windows per key, shared by every process (how often one person may act)."""

import functools
import threading
import time
import uuid

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
    """Count one action under `key`; raise RateLimited(message) if `allowed` were made in
    the last `per_seconds` already (a refused action is not counted).

    In Redis when it is set up (shared by every process), else in the cache of this
    process.
    """
    if not take_allowance([key], allowed=allowed, per_seconds=per_seconds)[0]:
        raise RateLimited(message)


# Each key's log of when its actions were allowed, in a sorted set: the ones older than
# the window go, and an action is let in (and logged) only while fewer than `allowed`
# remain. Keys in order, one after the other: a key twice is two actions.
SLIDING_WINDOW = """
local now, window, allowed, call = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local taken = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < allowed then
    redis.call('ZADD', key, now, call .. ':' .. i)
    redis.call('PEXPIRE', key, window)
    taken[i] = 1
  else
    taken[i] = 0
  end
end
return taken
"""


def take_allowance(keys: list[str], *, allowed: int, per_seconds: int) -> list[bool]:
    """One action under each of `keys`, in one round trip: for each, whether it is
    allowed, that is whether fewer than `allowed` were in the last `per_seconds`.

    A sliding window, exact: six questions in 20 s are six whatever clock minute they
    fall in, and the allowance comes back as each action turns `per_seconds` old.
    """
    now_ms = int(time.time() * 1000)
    window_ms = per_seconds * 1000
    log_keys = [names.rate_limit_key(key) for key in keys]
    if settings.REDIS_URL:
        script = _sliding_window_script(settings.REDIS_URL)
        taken = script(keys=log_keys, args=[now_ms, window_ms, allowed, uuid.uuid4().hex])
        return [bool(flag) for flag in taken]
    with _cache_lock:
        return [_take_in_cache(key, now_ms, window_ms, allowed) for key in log_keys]


@functools.cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, **settings.REDIS_CLIENT_OPTIONS)


@functools.cache
def _sliding_window_script(url: str):
    # One round trip on a pool shared by the process's threads. (Django's cache would
    # open a connection per call from the live socket's worker thread: its handler
    # keeps one client per async context.)
    return _redis_client(url).register_script(SLIDING_WINDOW)


# Without Redis (one process): the same log, as a list in the process's cache.
_cache_lock = threading.Lock()


def _take_in_cache(key: str, now_ms: int, window_ms: int, allowed: int) -> bool:
    log = [moment for moment in cache.get(key, []) if moment > now_ms - window_ms]
    taken = len(log) < allowed
    if taken:
        log.append(now_ms)
    cache.set(key, log, timeout=window_ms / 1000 + 1)
    return taken
