"""`python manage.py janus`: run Janus with the configuration rendered from settings."""

import os

from django.core.management.base import BaseCommand, CommandError

from broadcasts.janus.config import JanusNotInstalled, write_configuration
from broadcasts.janus.process import janus_command


class Command(BaseCommand):
    help = (
        "Run the Janus SFU with PrimeTime's configuration (APIs on the addresses of "
        "JANUS_URL and JANUS_ADMIN_URL, the VideoRoom plugin only, our secret)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--config-dir", help="where to write the configuration")
        parser.add_argument(
            "--write-only", action="store_true", help="write the configuration and exit"
        )

    def handle(self, *args, config_dir=None, write_only=False, **options):
        try:
            binary, folder = write_configuration(config_dir)
        except JanusNotInstalled as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Janus configuration written to {folder}")
        if write_only:
            return
        command = janus_command(binary, folder)
        self.stdout.flush()
        # Janus takes this process's place, so a service manager's signals reach it.
        os.execv(command[0], command)  # noqa: S606 (no shell wanted)
