from django import forms
from django.contrib import admin

from core.origins import normalize_origin

from .models import AuditEntry, EmbedSite

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


class EmbedSiteForm(forms.ModelForm):
    # The model checks the origin once it is normalized (clean_origin).
    origin = forms.CharField(
        max_length=200, help_text=EmbedSite._meta.get_field("origin").help_text
    )

    class Meta:
        model = EmbedSite
        fields = ["origin", "name"]

    def clean_origin(self) -> str:
        # People paste addresses: "https://Shop.example.com/" is the origin browsers send
        # as "https://shop.example.com".
        return normalize_origin(self.cleaned_data["origin"])


@admin.register(EmbedSite)
class EmbedSiteAdmin(admin.ModelAdmin):
    """The websites that may show the widget; a change takes effect at the next load."""

    form = EmbedSiteForm
    list_display = ["origin", "name", "added_at"]
    search_fields = ["origin", "name"]
