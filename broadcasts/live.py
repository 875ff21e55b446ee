"""Live commands of the broadcast lifecycle (host console buttons)."""

from participation.context import HOSTS, CommandContext
from participation.realtime.commands import live_command

from . import services


def _lifecycle(name: str, action: str) -> None:
    service = services.ACTIONS[action]

    @live_command(name, roles=HOSTS)
    def handle(context: CommandContext, data: dict) -> None:
        service(broadcast=context.broadcast, by=context.attendee.user)


_lifecycle("broadcast.start", "start")
_lifecycle("broadcast.pause", "pause")
_lifecycle("broadcast.resume", "resume")
_lifecycle("broadcast.end", "end")


@live_command("cta.push", roles=HOSTS)
def cta_push(context: CommandContext, data: dict) -> None:
    services.broadcast_cta_push(broadcast=context.broadcast, by=context.attendee.user)
