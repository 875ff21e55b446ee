from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods

from core.errors import Forbidden
from core.http import domain_errors
from participation import reactions
from participation import services as participation
from participation.forms import GuestNameForm
from participation.guests import guest_cookie_value, guest_key_from_request, set_guest_cookie
from participation.models import new_guest_key

from .calendar import broadcast_ics
from .models import Audience, Broadcast
from .selectors import broadcast_announced, broadcast_for_audience, user_is_host


def _visible_broadcast(request: HttpRequest, slug: str) -> Broadcast:
    return broadcast_announced(slug=slug, user=request.user, for_page=True)


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


def _watchable(request: HttpRequest, slug: str) -> Broadcast | HttpResponse:
    try:
        return broadcast_for_audience(slug=slug, user=request.user, for_page=True)
    except Forbidden as error:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return render(request, "broadcasts/forbidden.html", {"message": error.message}, status=403)


@domain_errors
@require_http_methods(["GET", "POST"])
def watch(request: HttpRequest, slug: str) -> HttpResponse:
    broadcast = _watchable(request, slug)
    if isinstance(broadcast, HttpResponse):
        return broadcast
    if request.user.is_authenticated:
        attendee = participation.attendee_for_user(broadcast=broadcast, user=request.user)
        return _watch_page(request, broadcast, attendee)

    guest_key = guest_key_from_request(request)
    attendee = participation.attendee_for_guest(broadcast=broadcast, guest_key=guest_key)
    renaming = request.method == "GET" and "rename" in request.GET
    if request.method == "POST":
        form = GuestNameForm(request.POST)
        if form.is_valid():
            attendee = participation.attendee_join_as_guest(
                broadcast=broadcast,
                guest_key=guest_key,
                display_name=form.cleaned_data["display_name"],
            )
            response = redirect("broadcasts:watch", slug=slug)
            set_guest_cookie(response, attendee.guest_key)
            return response
    elif attendee is not None and not renaming:
        return _watch_page(request, broadcast, attendee)
    else:
        form = GuestNameForm(initial={"display_name": attendee.display_name} if attendee else None)
    return render(request, "broadcasts/guest_name.html", {"broadcast": broadcast, "form": form})


def _watch_page(request, broadcast, attendee) -> HttpResponse:
    if attendee.removed_at is not None:
        return render(
            request,
            "broadcasts/forbidden.html",
            {"message": "You were removed from this broadcast."},
            status=403,
        )
    return render(
        request,
        "broadcasts/watch.html",
        {"broadcast": broadcast, "attendee": attendee, "live_path": _live_path(broadcast)},
    )


@login_required
def host_console(request: HttpRequest, slug: str) -> HttpResponse:
    broadcast = Broadcast.objects.select_related("host").filter(slug=slug).first()
    if broadcast is None:
        raise Http404("There is no such broadcast.")
    if not user_is_host(broadcast=broadcast, user=request.user):
        raise PermissionDenied("Only this broadcast's host and co-hosts can open its console.")
    attendee = participation.attendee_for_user(broadcast=broadcast, user=request.user)
    return render(
        request,
        "broadcasts/host.html",
        {"broadcast": broadcast, "attendee": attendee, "live_path": _live_path(broadcast)},
    )


def _live_path(broadcast: Broadcast) -> str:
    return f"/ws/broadcasts/{broadcast.slug}/"


@xframe_options_exempt
@domain_errors
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    """The widget, in an iframe on another website (DESIGN section 2: `/b/<slug>/embed/`).

    Guests get a token the widget keeps in its own storage and hands to the socket; a
    third-party iframe cannot rely on cookies. Only the origins in the settings may
    frame it.
    """
    try:
        broadcast = broadcast_for_audience(slug=slug, user=request.user, for_page=True)
        refusal = None
    except Forbidden as error:
        broadcast = _visible_broadcast(request, slug)
        refusal = error.message
    known_guest = guest_key_from_request(request)
    response = render(
        request,
        "broadcasts/embed.html",
        {
            "broadcast": broadcast,
            "refusal": refusal,
            "live_path": _live_path(broadcast),
            "signed_in": request.user.is_authenticated,
            # A guest known from the watch page stays the same person in the widget.
            "known_guest_token": guest_cookie_value(known_guest) if known_guest else "",
            "new_guest_token": guest_cookie_value(new_guest_key()),
        },
    )
    ancestors = " ".join(["'self'", *settings.EMBED_ALLOWED_ORIGINS])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    response["Cache-Control"] = "no-store"
    return response


@domain_errors
def cta(request: HttpRequest, slug: str) -> HttpResponse:
    """Follow the call-to-action from a page without a live socket (the landing page),
    counting the click for whoever is known."""
    broadcast = _visible_broadcast(request, slug)
    if not broadcast.has_cta:
        raise Http404("This broadcast has no call-to-action.")
    if request.user.is_authenticated:
        attendee = participation.attendee_of_user(broadcast=broadcast, user=request.user)
    else:
        attendee = participation.attendee_for_guest(
            broadcast=broadcast, guest_key=guest_key_from_request(request)
        )
    reactions.cta_click_record(broadcast=broadcast, attendee=attendee, source="landing")
    return redirect(broadcast.cta_url)
