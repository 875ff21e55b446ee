"""What a live command's handler is given, and the roles handlers require.

The consumers (the edge) build a `CommandContext` for each command they run; handlers
in each app's `live.py` register with `realtime.commands.live_command(roles=HOSTS)`.
"""

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser

from broadcasts.models import Broadcast

from .models import Attendee, Role


@dataclass(frozen=True)
class CommandContext:
    broadcast: Broadcast
    attendee: Attendee | None = None  # for attendees' commands
    moderator: AbstractBaseUser | None = None  # for moderators' commands

    @property
    def by(self) -> AbstractBaseUser:
        """The user a moderation move is recorded against: the moderator, or the host."""
        return self.moderator if self.moderator is not None else self.attendee.user


HOSTS = {Role.HOST}
STAGE = {Role.HOST, Role.SPEAKER}
