"""Live commands every attendee may send."""

from .commands import CommandContext, live_command


@live_command("ping")
def ping(context: CommandContext, data: dict) -> None:
    """The client's heartbeat: an ack proves the socket and the server are alive."""
    return None
