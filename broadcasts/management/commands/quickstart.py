import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from broadcasts.models import Broadcast
from broadcasts.services import broadcast_create

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Migrate, create a demo host and broadcast, and serve pages and WebSockets."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare the demo, then exit without serving"
        )

    def handle(self, *args, addrport: str, no_serve: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password_line = self._demo_host()
        self._demo_broadcast()
        base = f"http://{addrport}"
        self.stdout.write(
            "\nPrimeTime is ready.\n"
            f"  {password_line}\n"
            f"  Landing page:  {base}/b/{DEMO_SLUG}/\n"
            f"  Watch page:    {base}/b/{DEMO_SLUG}/watch/\n"
            f"  Host console:  {base}/b/{DEMO_SLUG}/host/\n"
            f"  Admin:         {base}/admin/\n"
        )
        if no_serve:
            return
        janus = self._janus()
        try:
            call_command("runserver", addrport, use_reloader=False, skip_checks=True)
        finally:
            if janus is not None:
                janus.stop()
                self.stdout.write("Janus stopped.")

    def _janus(self):
        """With MEDIA_BACKEND=janus and no Janus answering: run one for this session."""
        if settings.MEDIA_BACKEND != "janus":
            return None
        from broadcasts.janus.config import JanusNotInstalled
        from broadcasts.janus.process import JanusProcess, janus_answers

        if janus_answers():
            self.stdout.write(f"  Janus:         answering at {settings.JANUS_URL}\n")
            return None
        log = Path(settings.JANUS_CONFIG_DIR).parent / "janus.log"
        try:
            janus = JanusProcess(log_path=log).start()
        except (JanusNotInstalled, RuntimeError) as error:
            raise CommandError(f"MEDIA_BACKEND=janus: {error}") from None
        self.stdout.write(f"  Janus:         started at {settings.JANUS_URL} (log: {log})\n")
        return janus

    def _demo_host(self) -> str:
        User = get_user_model()
        wanted = os.environ.get("PRIMETIME_DEMO_PASSWORD")
        user = User.objects.filter(username="host").first()
        if user is None:
            password = wanted or secrets.token_urlsafe(12)
            user = User.objects.create_user(
                "host", password=password, first_name="Demo", last_name="Host", is_staff=True
            )
            user.groups.add(Group.objects.get(name="Moderators"))
            return f"Demo host:     username host, password {password}"
        if wanted:
            user.set_password(wanted)
            user.save(update_fields=["password"])
            return f"Demo host:     username host, password {wanted}"
        return (
            "Demo host:     username host "
            "(existing password kept; set PRIMETIME_DEMO_PASSWORD to reset it)"
        )

    def _demo_broadcast(self) -> None:
        if Broadcast.objects.filter(slug=DEMO_SLUG).exists():
            return
        host = get_user_model().objects.get(username="host")
        broadcast_create(
            title="PrimeTime demo: spring product launch",
            slug=DEMO_SLUG,
            host=host,
            description=(
                "A live walk-through of what is new this season, with questions at the end."
            ),
            scheduled_start=timezone.now() + timedelta(minutes=15),
            cta_headline="Early-bird offer for everyone watching",
            cta_label="See the offer",
            cta_url="https://example.com/offer",
        )
