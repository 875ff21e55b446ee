"""The REST API's broadcasts, with the live counters every app adds to them."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets

from broadcasts.models import Broadcast
from core.names import display_name
from leads.capture import leads_count
from participation import analytics as participation


class IsStaff(permissions.BasePermission):
    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class BroadcastSerializer(serializers.ModelSerializer):
    host = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "slug",
            "title",
            "state",
            "host",
            "scheduled_start",
            "went_live_at",
            "ended_at",
            "audience",
            "stage_size",
        ]

    def get_host(self, obj: Broadcast) -> str:
        return display_name(obj.host)


class LiveCountersSerializer(serializers.Serializer):
    viewers_now = serializers.IntegerField()
    likes = serializers.IntegerField()
    rating_average = serializers.FloatField(allow_null=True)
    rating_count = serializers.IntegerField()
    questions = serializers.IntegerField()
    questions_waiting = serializers.IntegerField()
    cta_clicks = serializers.IntegerField()
    leads = serializers.IntegerField()


class BroadcastDetailSerializer(BroadcastSerializer):
    counters = serializers.SerializerMethodField()

    class Meta(BroadcastSerializer.Meta):
        fields = [*BroadcastSerializer.Meta.fields, "description", "counters"]

    @extend_schema(responses=LiveCountersSerializer)
    def get_counters(self, obj: Broadcast) -> dict:
        counts = participation.engagement_counts(broadcast_id=obj.pk)
        rating = participation.rating_summary(broadcast_id=obj.pk)
        return {
            "viewers_now": participation.audience_summary(broadcast=obj, sample_size=0)["count"],
            "likes": counts["likes"],
            "rating_average": rating["average"],
            "rating_count": rating["count"],
            "questions": counts["questions"],
            "questions_waiting": counts["questions_pending"],
            "cta_clicks": counts["cta_clicks"],
            "leads": leads_count(broadcast_id=obj.pk),
        }


class BroadcastViewSet(viewsets.ReadOnlyModelViewSet):
    """Broadcasts, newest first; the detail has its live counters (staff only)."""

    permission_classes = [IsStaff]
    lookup_field = "slug"
    # Only a slug reaches the query (PostgreSQL refuses a NUL in one outright); other
    # text under /api/broadcasts/ is the API's 404.
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = Broadcast.objects.select_related("host").order_by("-scheduled_start", "-created_at")

    def get_serializer_class(self):
        return BroadcastDetailSerializer if self.action == "retrieve" else BroadcastSerializer
