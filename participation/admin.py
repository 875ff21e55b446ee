from django.contrib import admin

from .models import Attendee, SpeakRequest, SpeakRequestTransition


@admin.register(Attendee)
class AttendeeAdmin(admin.ModelAdmin):
    list_display = ["display_name", "broadcast", "role", "kind", "online", "joined_at", "left_at"]
    list_filter = ["role", "broadcast"]
    search_fields = ["display_name", "user__username", "user__email", "broadcast__title"]
    list_select_related = ["broadcast", "user"]
    readonly_fields = [
        "broadcast",
        "user",
        "guest_key",
        "role",
        "connections",
        "joined_at",
        "last_seen_at",
        "left_at",
        "widget_closed",
    ]
    fields = ["display_name", *readonly_fields]

    def has_add_permission(self, request) -> bool:
        # Attendees come from people opening a broadcast, not from the admin.
        return False

    @admin.display(description="kind")
    def kind(self, obj: Attendee) -> str:
        return "guest" if obj.is_guest else "user"

    @admin.display(boolean=True, description="online")
    def online(self, obj: Attendee) -> bool:
        return obj.is_online


class SpeakRequestTransitionInline(admin.TabularInline):
    model = SpeakRequestTransition
    fields = ["at", "from_state", "to_state", "by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # The history goes with the request: whoever may see one sees the other.
        return request.user.has_perm("participation.view_speakrequest")


@admin.register(SpeakRequest)
class SpeakRequestAdmin(admin.ModelAdmin):
    """Who asked to speak, who was invited, and who was on stage (history is read-only:
    moves happen live, through the host console)."""

    list_display = ["attendee", "broadcast", "state", "invited_by", "created_at", "on_stage_at"]
    list_filter = ["state", "broadcast"]
    search_fields = ["attendee__display_name", "broadcast__title"]
    list_select_related = ["attendee", "broadcast", "invited_by"]
    readonly_fields = [
        "broadcast",
        "attendee",
        "state",
        "invited_by",
        "seat",
        "created_at",
        "decided_at",
        "on_stage_at",
        "off_stage_at",
    ]
    inlines = [SpeakRequestTransitionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
