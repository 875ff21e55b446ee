from django.contrib import admin

from .models import ExportDownload, ExportTransition, Lead, LeadExport


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Leads as captured. Staff may correct a name, phone or company; the email (the
    lead's key) and the consent, its text and time, are never edited after the fact."""

    list_display = ["name", "email", "company", "broadcast", "consent_given", "created_at"]
    list_filter = ["broadcast", "consent_given", "created_at"]
    search_fields = ["name", "email", "company", "broadcast__title"]
    list_select_related = ["broadcast"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "broadcast",
        "attendee",
        "email",
        "consent_given",
        "consent_text",
        "consented_at",
        "created_at",
        "updated_at",
    ]
    fields = ["name", "phone", "company", *readonly_fields]

    def has_add_permission(self, request) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ExportTransitionInline(ReadOnlyInline):
    model = ExportTransition
    fields = readonly_fields = ["at", "from_state", "to_state"]


class ExportDownloadInline(ReadOnlyInline):
    model = ExportDownload
    fields = readonly_fields = ["at", "user", "via"]


@admin.register(LeadExport)
class LeadExportAdmin(admin.ModelAdmin):
    """Exports are made by the task; their record cannot be edited. Ops download them
    from the exports page (/leads/exports/)."""

    list_display = [
        "__str__",
        "state",
        "rows_written",
        "requested_by",
        "post_session",
        "created_at",
    ]
    list_filter = ["state", "post_session"]
    list_select_related = ["broadcast", "requested_by"]
    readonly_fields = [
        "broadcast",
        "date_from",
        "date_to",
        "post_session",
        "requested_by",
        "state",
        "rows_total",
        "rows_written",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["file"]
    inlines = [ExportTransitionInline, ExportDownloadInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
