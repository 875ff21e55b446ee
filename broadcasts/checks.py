"""System checks: what `manage.py check` (and runserver) should say before serving."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def janus_reachable(app_configs=None, **kwargs):
    if settings.MEDIA_BACKEND != "janus":
        return []
    from .janus.process import janus_problem

    problem = janus_problem()
    if problem is None:
        return []
    level, message = problem
    if level == "error":
        return [Error(message, id="primetime.E001")]
    return [Warning(message, id="primetime.W001")]
