"""The REST API (`/api/`) and its OpenAPI schema (`/api/schema/`, docs at `/api/docs/`)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from backoffice.api import BroadcastViewSet
from leads.api import ExportViewSet, LeadViewSet

router = DefaultRouter()
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("leads", LeadViewSet, basename="lead")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = [
    path("", include(router.urls)),
    path("token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
