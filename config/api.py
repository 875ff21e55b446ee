"""The REST API (`/api/`) and its OpenAPI schema (`/api/schema/`, docs at `/api/docs/`)."""

from django.urls import include, path
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


router = DefaultRouter()
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("leads", LeadViewSet, basename="lead")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = [
    path("", include(router.urls)),
    path("token/", ObtainAuthTokenThrottled.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file of its own (no inline script,
    # which the Content-Security-Policy refuses).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
