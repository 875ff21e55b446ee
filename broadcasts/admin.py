from django.contrib import admin

from .models import AuditEntry

# The broadcast's own admin page joins what every app knows of it (its audience, its
# leads): it lives in backoffice/admin.py.


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who changed what in a broadcast, and when: state changes, moderation, requests
    decided by hosts, removals, the call-to-action and lead prompts, exports, downloads."""

    list_display = ["at", "action", "actor", "broadcast", "subject"]
    list_filter = ["action", "broadcast", "actor", "at"]
    search_fields = ["subject", "action", "actor__username", "broadcast__title"]
    list_select_related = ["actor", "broadcast"]
    date_hierarchy = "at"
    readonly_fields = ["at", "action", "actor", "broadcast", "subject"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
