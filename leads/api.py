from django.core.validators import slug_re
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action

from broadcasts.models import Broadcast

from .exports import can_export, export_file, export_request
from .models import Lead, LeadExport
from .views import download_name


class CanExport(permissions.BasePermission):
    message = "Leads and exports need the export permission (the Ops group)."

    def has_permission(self, request, view) -> bool:
        return can_export(request.user)


class LeadSerializer(serializers.ModelSerializer):
    broadcast = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "broadcast",
            "name",
            "email",
            "phone",
            "company",
            "consent_given",
            "consent_text",
            "consented_at",
            "created_at",
            "updated_at",
        ]


class LeadFilters(serializers.Serializer):
    broadcast = serializers.SlugField(required=False, allow_blank=True)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "broadcast", str, description="a broadcast's slug", pattern=r"^[-a-zA-Z0-9_]*$"
        ),
        OpenApiParameter("since", OpenApiTypes.DATE, description="captured on or after"),
        OpenApiParameter("until", OpenApiTypes.DATE, description="captured on or before"),
    ]
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Captured leads, newest first, paginated; filter by broadcast and capture date."""

    permission_classes = [CanExport]
    serializer_class = LeadSerializer

    def get_queryset(self):
        leads = Lead.objects.select_related("broadcast").order_by("-created_at", "-id")
        # A 400 with the errors by parameter, as for a body. As a plain dict, so that an
        # empty date (`?until=`) is a wrong date, not one left out.
        filters = LeadFilters(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        if wanted.get("broadcast"):
            leads = leads.filter(broadcast__slug=wanted["broadcast"])
        if wanted.get("since"):
            leads = leads.filter(created_at__date__gte=wanted["since"])
        if wanted.get("until"):
            leads = leads.filter(created_at__date__lte=wanted["until"])
        return leads


class BroadcastSlugField(serializers.SlugRelatedField):
    """A broadcast named by its slug. Text that cannot be a slug names none, and is
    refused before any query: PostgreSQL refuses a NUL character in one outright."""

    def to_internal_value(self, data):
        if not (isinstance(data, str) and slug_re.fullmatch(data)):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return super().to_internal_value(data)


class ExportSerializer(serializers.ModelSerializer):
    broadcast = BroadcastSlugField(
        slug_field="slug", queryset=Broadcast.objects.all(), required=False, allow_null=True
    )
    progress = serializers.IntegerField(read_only=True, allow_null=True)
    requested_by = serializers.StringRelatedField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = LeadExport
        fields = [
            "id",
            "broadcast",
            "date_from",
            "date_to",
            "post_session",
            "state",
            "rows_total",
            "rows_written",
            "progress",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = [
            "post_session",
            "state",
            "rows_total",
            "rows_written",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_download_url(self, obj: LeadExport) -> str | None:
        if obj.state != "done":
            return None
        return self.context["request"].build_absolute_uri(f"/api/exports/{obj.pk}/download/")


class ExportViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Lead exports: ask for one (a broadcast, or a date range), follow its state, and
    download its CSV once done."""

    permission_classes = [CanExport]
    serializer_class = ExportSerializer
    queryset = LeadExport.objects.select_related("broadcast", "requested_by")

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        # Domain errors answer through core.http.api_exception_handler.
        serializer.instance = export_request(
            by=self.request.user,
            broadcast=data.get("broadcast"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        # Found as `retrieve` finds it: an id that is not a number is a 404 too.
        export, handle = export_file(export_id=self.get_object().pk, user=request.user, via="api")
        return FileResponse(
            handle, as_attachment=True, filename=download_name(export), content_type="text/csv"
        )
