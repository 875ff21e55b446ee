from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer or a process supervisor: this process answers
    requests. It asks nothing of the database, so that a busy database does not get a
    healthy server taken out of rotation (pages say 503 themselves)."""
    return HttpResponse("ok\n", content_type="text/plain")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page's icon link says: the SVG icon,
    under its static (hashed, long-cached) name."""
    return redirect(static("favicon.svg"), permanent=True)
