"""Every name the live path uses on Redis and the channel layer, in one place."""

import os

EVENTS_CHANNEL_PREFIX = "primetime:live:events:"
PRIVATE_CHANNEL_PREFIX = "primetime:live:private:"
LOCK_PREFIX = "primetime:live:lock:"
RATE_LIMIT_PREFIX = "primetime:rl:"

# Who a private message is for: one attendee's open pages, or a broadcast's open host
# consoles and moderators' dashboards (moderation events).
ATTENDEE = "attendee"
HOSTS = "hosts"

# Channel-layer group of the open exports pages (progress of lead exports).
EXPORTS_GROUP = "primetime.exports"


def private_channel(kind: str, target_id: int) -> str:
    """Redis pub/sub channel of the private messages for one attendee (`ATTENDEE`) or
    for the hosts of one broadcast (`HOSTS`)."""
    return f"{PRIVATE_CHANNEL_PREFIX}{kind}:{target_id}"


def private_target(channel: str) -> tuple[str, int]:
    kind, _, target_id = channel[len(PRIVATE_CHANNEL_PREFIX) :].partition(":")
    return kind, int(target_id)


def events_channel(slug: str) -> str:
    """Redis pub/sub channel carrying a broadcast's public events, one message each."""
    return f"{EVENTS_CHANNEL_PREFIX}{slug}"


def event_log_keys(slug: str) -> list[str]:
    """Redis keys of a broadcast's epoch, sequence counter and replay log.

    The hash tag keeps the three on one slot should Redis ever be clustered.
    """
    tag = "{" + slug + "}"
    return [f"primetime:live:{tag}:epoch", f"primetime:live:{tag}:seq", f"primetime:live:{tag}:log"]


def lock_keys(section: str) -> list[str]:
    """Redis keys of an exclusive section: its lease, and its cooldown after leaving."""
    return [f"{LOCK_PREFIX}{section}", f"{LOCK_PREFIX}{section}:cooldown"]


def counter_section(kind: str, broadcast_id: int) -> str:
    """The exclusive section in which one process at a time publishes a counter."""
    return f"counter:{kind}:{broadcast_id}"


def rate_limit_key(key: str) -> str:
    """Redis (or cache) key logging when the actions under `key` were allowed."""
    return f"{RATE_LIMIT_PREFIX}{key}"


def listener_name() -> str:
    """Redis client name of this process's subscription, so that an operator (or a
    test) can tell each process's listener apart."""
    return f"primetime-live-{os.getpid()}"
