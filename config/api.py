"""The REST API (`/api/`) and its OpenAPI schema (`/api/schema/`, docs at `/api/docs/`)."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.routers import DefaultRouter

from backoffice.api import BroadcastViewSet
from config.views import signin_locked_out
from leads.api import ExportViewSet, LeadViewSet


class ObtainAuthTokenThrottled(ObtainAuthToken):
    """DRF's token for a username and password, under the sign-in throttle: axes marks
    DRF's own request object when it refuses, where its middleware does not look."""

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return signin_locked_out(request._request)
            raise


# What every refusal looks like (core/http.py): DRF's `detail`, with the domain's `code`.
ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
# Invalid input: the errors of each field (a list of messages, or a nested field's own
# errors), `non_field_errors`, or a `detail` when the body is not even JSON.
INVALID = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}]},
}
# Query parameters that are not input to validate: a page past the end is a 404.
NOT_VALIDATED = {"page", "format", "lang"}


def document_refusals(result, generator, request, public):
    """drf-spectacular's schema, with the answers it leaves out: 400 where an operation
    takes a body or query parameters, 403 where it needs a signed-in user (DRF answers a
    missing or wrong token with 403: sessions are tried first, and they send no
    challenge), 404 where a path names an object or a list has pages, 429 for the token
    (the sign-in throttle), and 409 for a download of an export not yet done."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["InvalidInput"] = INVALID

    def answer(description: str, component: str) -> dict:
        return {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}
            },
        }

    for address, operations in result["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            queries = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "requestBody" in operation or queries - NOT_VALIDATED:
                responses.setdefault("400", answer("Invalid input", "InvalidInput"))
            if address == "/api/token/":
                responses.setdefault("429", answer("Too many wrong passwords", "Error"))
            else:
                responses.setdefault("403", answer("Not signed in, or not allowed", "Error"))
            if "{" in address or "page" in queries:
                responses.setdefault("404", answer("No such object, or page", "Error"))
            if address.endswith("/download/"):
                responses.setdefault("409", answer("The export has no file yet", "Error"))
    return result


router = DefaultRouter()
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("leads", LeadViewSet, basename="lead")
router.register("exports", ExportViewSet, basename="export")


def api_not_found(request, rest=""):
    """An address under /api/ that names nothing (an id such as `2.5`, which the
    router's patterns leave out): the API's 404, JSON like every other refusal, rather
    than the site's HTML page. Only addresses ending in a slash, so that Django still
    redirects `/api/leads` to `/api/leads/`."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


urlpatterns = [
    path("", include(router.urls)),
    path("token/", ObtainAuthTokenThrottled.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file of its own (no inline script,
    # which the Content-Security-Policy refuses).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^(?P<rest>.*/)$", api_not_found),
]
