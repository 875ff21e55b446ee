from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer or a process supervisor: this process answers
    requests. It asks nothing of the database, so that a busy database does not get a
    healthy server taken out of rotation (pages say 503 themselves)."""
    return HttpResponse("ok\n", content_type="text/plain")


health.without_database = True  # answered while PostgreSQL is out of reach, too


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page's icon link says: the SVG icon,
    under its static (hashed, long-cached) name."""
    return redirect(static("favicon.svg"), permanent=True)


# What /media/ may answer with: the branding formats the upload accepts, nothing else.
UPLOADED_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}


@require_safe
def uploaded_image(request: HttpRequest, name: str) -> FileResponse:
    """An uploaded branding image. Their names are fresh for every upload, so they are
    cached for a year; nosniff and a sandbox keep a file that is not what it claims from
    being run as a page."""
    content_type = UPLOADED_IMAGE_TYPES.get(name.rsplit(".", 1)[-1].lower())
    if content_type is None or not name.startswith("brand/"):
        raise Http404("No such image.")
    try:
        image = default_storage.open(name)
    except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation):
        raise Http404("No such image.") from None
    response = FileResponse(image, content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def signin_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """What django-axes answers to a sign-in it refused: the page, or JSON for the API."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    message = (
        f"Signing in as this user from here is paused for {minutes} minute"
        f"{pluralize(minutes)}. Try again then, or ask an administrator to clear the lockout."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
