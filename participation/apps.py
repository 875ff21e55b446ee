from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class ParticipationConfig(AppConfig):
    name = "participation"
    verbose_name = "Participation"

    def ready(self) -> None:
        # Each app's live.py registers the commands it handles on the live socket.
        autodiscover_modules("live")
        from . import receivers  # noqa: F401  (connects them)
