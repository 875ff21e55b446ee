from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The staff's side of a broadcast, built on every other app and imported by none."""

    name = "backoffice"
    verbose_name = "Back office"
