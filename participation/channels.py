"""Every name the live path uses on Redis, in one place."""

EVENTS_CHANNEL_PREFIX = "primetime:live:events:"
PRIVATE_CHANNEL_PREFIX = "primetime:live:private:"

# Who a private message is for: one attendee's open pages, or a broadcast's open host
# consoles and moderators' dashboards (moderation events).
ATTENDEE = "attendee"
HOSTS = "hosts"


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
