from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .errors import DomainError
from .models import Broadcast, BroadcastTransition


class TransitionInline(admin.TabularInline):
    model = BroadcastTransition
    verbose_name = "state change"
    verbose_name_plural = "history of state changes"
    fields = ["at", "from_state", "to_state", "by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-at", "-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _lifecycle_action(action: str, description: str):
    service = services.ACTIONS[action]

    def run(modeladmin, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        done = 0
        for broadcast in queryset:
            try:
                service(broadcast=broadcast, by=request.user)
            except DomainError as error:
                modeladmin.message_user(request, f"{broadcast}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request, f"{description}: {done} broadcast(s).", messages.SUCCESS
            )

    run.__name__ = f"{action}_selected"
    return admin.action(description=f"{description} (selected broadcasts)")(run)


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ["title", "state", "scheduled_start", "host", "audience", "pages"]
    list_filter = ["state", "audience", "scheduled_start"]
    search_fields = [
        "title",
        "slug",
        "description",
        "host__username",
        "host__first_name",
        "host__last_name",
    ]
    date_hierarchy = "scheduled_start"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["host", "co_hosts", "audience_group"]
    readonly_fields = ["state", "went_live_at", "ended_at", "created_at", "updated_at", "pages"]
    inlines = [TransitionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        "schedule_selected",
        _lifecycle_action("start", "Go live"),
        _lifecycle_action("pause", "Pause"),
        _lifecycle_action("resume", "Resume"),
        _lifecycle_action("end", "End"),
    ]
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "pages"]}),
        ("Who", {"fields": ["host", "co_hosts", "audience", "audience_group"]}),
        (
            "When",
            {
                "fields": [
                    "scheduled_start",
                    "duration_minutes",
                    "state",
                    "went_live_at",
                    "ended_at",
                ],
                "description": "A draft with a start time is scheduled when you save it.",
            },
        ),
        ("Call-to-action", {"fields": ["cta_headline", "cta_label", "cta_url"]}),
        ("Stage", {"fields": ["stage_size"]}),
        ("Lead form", {"fields": ["lead_ask_phone", "lead_ask_company", "lead_consent_text"]}),
    ]

    @admin.display(description="pages")
    def pages(self, obj: Broadcast) -> str:
        if obj.pk is None:
            return "—"
        links = [
            ("Landing", reverse("broadcasts:landing", kwargs={"slug": obj.slug})),
            ("Watch", reverse("broadcasts:watch", kwargs={"slug": obj.slug})),
            ("Host console", reverse("broadcasts:host", kwargs={"slug": obj.slug})),
        ]
        return format_html(
            " · ".join(['<a href="{}">{}</a>'] * len(links)),
            *[part for label, url in links for part in (url, label)],
        )

    def save_model(self, request, obj: Broadcast, form, change: bool) -> None:
        if change:
            # Write only what the form edits: the lifecycle fields belong to the services,
            # and a host may have gone live since this form was loaded.
            columns = {field.name for field in Broadcast._meta.concrete_fields}
            obj.save(
                update_fields=[name for name in form.fields if name in columns] + ["updated_at"]
            )
        else:
            obj.save()
        if obj.state == "draft" and obj.scheduled_start is not None:
            try:
                services.broadcast_schedule(broadcast=obj, by=request.user)
            except DomainError as error:
                self.message_user(request, error.message, messages.WARNING)

    @admin.action(description="Schedule (selected drafts with a start time)")
    def schedule_selected(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        done = 0
        for broadcast in queryset:
            try:
                services.broadcast_schedule(broadcast=broadcast, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{broadcast}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"Scheduled {done} broadcast(s).", messages.SUCCESS)
