"""The home page, and a broadcast's own pages: its landing page, its state for a waiting
landing page, and its calendar invitation. The audience's pages are participation's
(participation/views.py)."""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from core.http import domain_errors

from .calendar import broadcast_ics
from .models import Audience, Broadcast
from .selectors import broadcast_announced, broadcasts_on_show


def _visible_broadcast(request: HttpRequest, slug: str) -> Broadcast:
    return broadcast_announced(slug=slug, user=request.user, for_page=True)


def home(request: HttpRequest) -> HttpResponse:
    """What is live and what is coming up, for this person."""
    return render(request, "broadcasts/home.html", broadcasts_on_show(user=request.user))


@domain_errors
def landing(request: HttpRequest, slug: str) -> HttpResponse:
    broadcast = _visible_broadcast(request, slug)
    return render(
        request,
        "broadcasts/landing.html",
        {
            "broadcast": broadcast,
            "needs_sign_in": broadcast.audience != Audience.PUBLIC
            and not request.user.is_authenticated,
        },
    )


@domain_errors
def status(request: HttpRequest, slug: str) -> JsonResponse:
    """The state of a broadcast, for a landing page waiting to say "Join live"."""
    broadcast = _visible_broadcast(request, slug)
    response = JsonResponse({"state": broadcast.state, "running": broadcast.is_running})
    response["Cache-Control"] = "max-age=5"
    return response


@domain_errors
def calendar(request: HttpRequest, slug: str) -> HttpResponse:
    broadcast = _visible_broadcast(request, slug)
    if broadcast.scheduled_start is None:
        raise Http404("This broadcast has no start time yet.")
    url = request.build_absolute_uri(reverse("broadcasts:landing", kwargs={"slug": slug}))
    response = HttpResponse(
        broadcast_ics(broadcast=broadcast, url=url), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{broadcast.slug}.ics"'
    return response
