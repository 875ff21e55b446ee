"""The audience's pages of a broadcast: the watch page (and its guest name form), the
host console, the embeddable widget and the call-to-action link; and the avatars."""

from functools import wraps

from csp.decorators import csp_replace
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from broadcasts.models import Broadcast
from broadcasts.selectors import (
    broadcast_announced,
    broadcast_for_audience,
    embed_origins,
    origin_may_embed,
    user_is_host,
)
from core.errors import Forbidden, NotFound, RateLimited
from core.http import domain_errors, forbidden_page

from . import reactions, services
from .forms import GuestNameForm
from .guests import guest_cookie_value, guest_key_from_request, set_guest_cookie
from .models import new_guest_key

AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img">'
    '<circle cx="32" cy="32" r="32" fill="hsl({hue},55%,42%)"/>'
    '<text x="32" y="41" text-anchor="middle" font-family="system-ui,sans-serif" '
    'font-size="26" font-weight="600" fill="#fff">{letters}</text></svg>'
)


@cache_control(public=True, max_age=60 * 60 * 24 * 30, immutable=True)
def avatar(request: HttpRequest, letters: str, hue: int) -> HttpResponse:
    """Initials on a coloured disc: everyone has a picture, even without a photo."""
    svg = AVATAR_SVG.format(hue=hue % 360, letters=escape(letters[:2]))
    return HttpResponse(svg, content_type="image/svg+xml")


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
        attendee = services.attendee_for_user(broadcast=broadcast, user=request.user)
        return _watch_page(request, broadcast, attendee)

    guest_key = guest_key_from_request(request)
    attendee = services.attendee_for_guest(broadcast=broadcast, guest_key=guest_key)
    renaming = request.method == "GET" and "rename" in request.GET
    if request.method == "POST":
        form = GuestNameForm(request.POST)
        if form.is_valid():
            try:
                attendee = services.attendee_join_as_guest(
                    broadcast=broadcast,
                    guest_key=guest_key,
                    display_name=form.cleaned_data["display_name"],
                    address=request.META.get("REMOTE_ADDR"),
                )
            except RateLimited as error:
                form.add_error(None, error.message)
                context = {"broadcast": broadcast, "form": form}
                return render(request, "broadcasts/guest_name.html", context, status=429)
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
        return forbidden_page(
            request, "Only this broadcast's host and co-hosts can open its console."
        )
    attendee = services.attendee_for_user(broadcast=broadcast, user=request.user)
    return render(
        request,
        "broadcasts/host.html",
        {"broadcast": broadcast, "attendee": attendee, "live_path": _live_path(broadcast)},
    )


def _live_path(broadcast: Broadcast) -> str:
    return f"/ws/broadcasts/{broadcast.slug}/"


def framed_by_embed_sites(view):
    """The site-wide policy (settings.CONTENT_SECURITY_POLICY), with the embed sites as
    frame-ancestors instead of 'none'. They are read per request (the admin edits them),
    and django-csp's decorators take a policy fixed when the view is defined: one is
    made for each request."""

    @wraps(view)
    def framed(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        frame_ancestors = {"frame-ancestors": ["'self'", *embed_origins()]}
        return csp_replace(frame_ancestors)(view)(request, *args, **kwargs)

    return framed


@xframe_options_exempt
@framed_by_embed_sites
@domain_errors
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    """The widget, in an iframe on another website (DESIGN section 2: `/b/<slug>/embed/`).

    Guests get a token the widget keeps in its own storage and hands to the socket; a
    third-party iframe cannot rely on cookies. Only the embed sites (the admin's, and
    PRIMETIME_EMBED_ORIGINS) may frame it.
    """
    try:
        broadcast = broadcast_for_audience(slug=slug, user=request.user, for_page=True)
        refusal = None
    except Forbidden as error:
        broadcast = broadcast_announced(slug=slug, user=request.user, for_page=True)
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
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def embed_allowed(request: HttpRequest, slug: str) -> JsonResponse:
    """For embed.js on a website: may this website (the request's Origin) show the
    broadcast's widget? Lets the loader say why in the console instead of mounting a
    frame the browser refuses. Any website may ask (CORS); it learns only its own
    answer."""
    try:
        broadcast_announced(slug=slug, user=request.user, for_page=True)
    except NotFound as error:
        response = JsonResponse({"detail": error.message}, status=404)
    else:
        origin = request.headers.get("Origin", "")
        # No Origin: a same-origin request (PrimeTime's own pages), always allowed.
        allowed = not origin or origin_may_embed(origin)
        response = JsonResponse({"allowed": allowed, "origin": origin or None})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # a count, nothing else: the landing page stays without cookies
@require_http_methods(["GET", "POST"])
@domain_errors
def cta(request: HttpRequest, slug: str) -> HttpResponse:
    """The landing page's call-to-action clicks: its beacon POSTs here, and the click is
    counted for whoever is known. A GET (an old link, a prefetch, a link preview) goes
    on to the offer without counting anything."""
    broadcast = broadcast_announced(slug=slug, user=request.user, for_page=True)
    if not broadcast.has_cta:
        raise Http404("This broadcast has no call-to-action.")
    if request.method == "GET":
        return redirect(broadcast.cta_url)
    if request.user.is_authenticated:
        attendee = services.attendee_of_user(broadcast=broadcast, user=request.user)
    else:
        attendee = services.attendee_for_guest(
            broadcast=broadcast, guest_key=guest_key_from_request(request)
        )
    reactions.cta_click_record(broadcast=broadcast, attendee=attendee, source="landing")
    return HttpResponse(status=204)
