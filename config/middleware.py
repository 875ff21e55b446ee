"""Answers for when the database cannot serve a request right now.

A request that waits longer than the pool's timeout for a connection, or finds
PostgreSQL unreachable, gets a short 503 page that says to try again (or, from the API,
a JSON body), with `Retry-After`: not a 500 and a traceback. The busy server logs one
line per refusal, not a traceback each, so that logging does not slow it further.
"""

import logging
import sys

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

from core.outage import database_outage

logger = logging.getLogger("config.database")

RETRY_AFTER_SECONDS = 5


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": "The service is busy; try again in a few seconds."}, status=503
        )
    else:
        # No context processors: they may need the database too (the signed-in user).
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A view that could not reach the database answers 503; while PostgreSQL is out of
    reach, every page does so at once (core/outage.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs):
        if not getattr(view, "without_database", False) and database_outage.refuse_now():
            return database_unavailable(request)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, OperationalError):
            logger.warning("503 for %s %s: %s", request.method, request.path, exception)
            database_outage.failed()
            return database_unavailable(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: the same 503 when the database failed outside a view (a middleware
    saving the session, say); Django's own 500 page otherwise."""
    if isinstance(sys.exc_info()[1], OperationalError):
        database_outage.failed()
        return database_unavailable(request)
    return defaults.server_error(request)
