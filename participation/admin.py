from django.contrib import admin

from .models import Attendee


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
