"""Every name the live path uses on the channel layer and on Redis, in one place."""

EVENTS_CHANNEL_PREFIX = "primetime:live:events:"


def attendee_group(attendee_id: int) -> str:
    """Channel-layer group of one attendee's connections (private messages)."""
    return f"primetime.attendee.{attendee_id}"


def hosts_group(broadcast_id: int) -> str:
    """Channel-layer group of a broadcast's open host consoles (moderation events)."""
    return f"primetime.hosts.{broadcast_id}"


def events_channel(slug: str) -> str:
    """Redis pub/sub channel carrying a broadcast's public events, one message each."""
    return f"{EVENTS_CHANNEL_PREFIX}{slug}"


def event_log_keys(slug: str) -> list[str]:
    """Redis keys of a broadcast's epoch, sequence counter and replay log.

    The hash tag keeps the three on one slot should Redis ever be clustered.
    """
    tag = "{" + slug + "}"
    return [f"primetime:live:{tag}:epoch", f"primetime:live:{tag}:seq", f"primetime:live:{tag}:log"]
