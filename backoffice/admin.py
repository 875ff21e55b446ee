"""The staff's side of a broadcast, joined from every app: the broadcast's admin page
with its audience counters, reactions and leads, its analytics page and live dashboard."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from broadcasts import services
from broadcasts.models import Broadcast, BroadcastTransition
from broadcasts.selectors import embed_origins, user_can_run, user_is_host
from core.admin import service_action
from core.errors import DomainError
from leads.capture import leads_count_subquery
from leads.exports import export_request
from participation import analytics as participation
from participation.services import attendee_for_user

from .analytics import broadcast_analytics


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


def _lifecycle_action(action: str, description: str, service=None, **options):
    """An admin action for a move of the lifecycle: a live command's service by default."""
    service = service or services.ACTIONS[action]
    return service_action(
        action,
        description,
        lambda broadcast, request: service(broadcast=broadcast, by=request.user),
        thing="broadcast",
        **options,
    )


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "state",
        "scheduled_start",
        "host",
        "audience",
        "viewers",
        "leads_captured",
        "pages",
    ]
    list_filter = ["state", "audience", "host", "scheduled_start"]
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
    readonly_fields = [
        "state",
        "went_live_at",
        "ended_at",
        "created_at",
        "updated_at",
        "pages",
        "engagement",
        "rating_distribution",
    ]
    inlines = [TransitionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        _lifecycle_action(
            "schedule",
            "Schedule",
            services.broadcast_schedule,  # the one move that is not a live command
            label="Schedule (selected drafts with a start time)",
        ),
        _lifecycle_action("start", "Go live"),
        _lifecycle_action("pause", "Pause"),
        _lifecycle_action("resume", "Resume"),
        _lifecycle_action("end", "End"),
        "export_leads",
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
        (
            "Branding",
            {
                "fields": [
                    "brand_logo",
                    "brand_logo_url",
                    "brand_accent",
                    "brand_cover",
                    "brand_cover_url",
                ],
                "description": "Shown on the landing page, the watch page and the widget.",
            },
        ),
        ("Call-to-action", {"fields": ["cta_headline", "cta_label", "cta_url"]}),
        ("Stage and questions", {"fields": ["stage_size", "questions_premoderated"]}),
        ("Audience reactions", {"fields": ["engagement", "rating_distribution"]}),
        ("Lead form", {"fields": ["lead_ask_phone", "lead_ask_company", "lead_consent_text"]}),
    ]

    def get_queryset(self, request):
        # The list's counters in the same query, not one query per row.
        broadcasts = participation.with_audience_counters(super().get_queryset(request))
        return broadcasts.annotate(leads_total=Coalesce(leads_count_subquery(), Value(0)))

    @admin.display(description="viewers now / peak")
    def viewers(self, obj: Broadcast) -> str:
        if obj.is_running:
            return f"{obj.viewers_now} now / {obj.viewers_peak or 0} peak"
        return f"{obj.viewers_peak} peak" if obj.viewers_peak is not None else "—"

    @admin.display(description="leads", ordering="leads_total")
    def leads_captured(self, obj: Broadcast) -> int:
        return obj.leads_total

    @admin.display(description="pages")
    def pages(self, obj: Broadcast) -> str:
        if obj.pk is None:
            return "—"
        links = [
            ("Landing", reverse("broadcasts:landing", kwargs={"slug": obj.slug})),
            ("Watch", reverse("broadcasts:watch", kwargs={"slug": obj.slug})),
            ("Host console", reverse("broadcasts:host", kwargs={"slug": obj.slug})),
            ("Live dashboard", reverse("admin:broadcasts_broadcast_dashboard", args=[obj.pk])),
            ("Analytics", reverse("admin:broadcasts_broadcast_analytics", args=[obj.pk])),
            (
                "Audit log",
                reverse("admin:broadcasts_auditentry_changelist")
                + f"?broadcast__id__exact={obj.pk}",
            ),
        ]
        return format_html(
            " · ".join(['<a href="{}">{}</a>'] * len(links)),
            *[part for label, url in links for part in (url, label)],
        )

    @admin.display(description="so far")
    def engagement(self, obj: Broadcast) -> str:
        if obj.pk is None:
            return "—"
        counts = participation.engagement_counts(broadcast_id=obj.pk)
        questions = (
            reverse("admin:participation_question_changelist") + f"?broadcast__id__exact={obj.pk}"
        )
        clicks = (
            reverse("admin:participation_ctaclick_changelist") + f"?broadcast__id__exact={obj.pk}"
        )
        return format_html(
            '{} likes · <a href="{}">{} questions</a> ({} waiting for approval) · '
            '<a href="{}">{} call-to-action clicks</a>',
            counts["likes"],
            questions,
            counts["questions"],
            counts["questions_pending"],
            clicks,
            counts["cta_clicks"],
        )

    @admin.display(description="presenter rating")
    def rating_distribution(self, obj: Broadcast) -> str:
        if obj.pk is None:
            return "—"
        summary = participation.rating_summary(broadcast_id=obj.pk)
        if not summary["count"]:
            return "No ratings yet."
        distribution = participation.rating_distribution(broadcast_id=obj.pk)
        most = max(distribution.values()) or 1
        rows = format_html_join(
            "",
            '<tr><th scope="row">{} ★</th><td><span class="rating-bar" style="width:{}px"></span>'
            " {}</td></tr>",
            (
                (stars, round(160 * n / most), n)
                for stars, n in sorted(distribution.items(), reverse=True)
            ),
        )
        return format_html(
            "<p><strong>{}</strong> average from {} rating(s)</p>"
            '<table class="rating-distribution" aria-label="Ratings by stars">{}</table>',
            summary["average"],
            summary["count"],
            rows,
        )

    def get_urls(self):
        return [
            path(
                "<int:broadcast_id>/dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="broadcasts_broadcast_dashboard",
            ),
            path(
                "<int:broadcast_id>/analytics/",
                self.admin_site.admin_view(self.analytics_view),
                name="broadcasts_broadcast_analytics",
            ),
            *super().get_urls(),
        ]

    def dashboard_view(self, request: HttpRequest, broadcast_id: int):
        """A session as it happens, updated live, with the moderator's controls."""
        broadcast = get_object_or_404(Broadcast.objects.select_related("host"), pk=broadcast_id)
        if not user_can_run(broadcast=broadcast, user=request.user):
            raise PermissionDenied("The dashboard is for the broadcast's hosts and moderators.")
        # A moderator sees the stage's video through the live socket, as their own
        # attendee (moderating: not audience). A host has the console for that, and
        # their pages there are what puts them on stage.
        watches_stage = not user_is_host(broadcast=broadcast, user=request.user)
        if watches_stage:
            attendee_for_user(broadcast=broadcast, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Live dashboard: {broadcast}",
            "broadcast": broadcast,
            "socket_path": f"/ws/broadcasts/{broadcast.slug}/dashboard/",
            "stage_socket_path": f"/ws/broadcasts/{broadcast.slug}/" if watches_stage else "",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/broadcasts/broadcast/dashboard.html", context)

    def analytics_view(self, request: HttpRequest, broadcast_id: int):
        """A session in figures, live and after the end, with its viewers over time."""
        broadcast = get_object_or_404(Broadcast.objects.select_related("host"), pk=broadcast_id)
        if not self.has_view_permission(request, broadcast):
            raise PermissionDenied
        analytics = broadcast_analytics(broadcast=broadcast)
        most = max(analytics["rating_distribution"].values(), default=0) or 1
        distribution = [
            (stars, (n, round(160 * n / most)))
            for stars, n in sorted(analytics["rating_distribution"].items(), reverse=True)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Analytics: {broadcast}",
            "broadcast": broadcast,
            "a": analytics,
            "distribution": distribution,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/broadcasts/broadcast/analytics.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            # The snippet a website pastes to show this broadcast's widget.
            loader = request.build_absolute_uri(static("js/embed.js"))
            context["embed_snippet"] = (
                f'<script src="{loader}" data-broadcast="{obj.slug}" async></script>'
            )
            context["embed_origins"] = embed_origins()
            context["embed_sites_url"] = reverse("admin:broadcasts_embedsite_changelist")
        return super().render_change_form(request, context, add, change, form_url, obj)

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

    @admin.action(description="Export leads (selected broadcasts)")
    def export_leads(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        for broadcast in queryset:
            try:
                export = export_request(by=request.user, broadcast=broadcast)
            except DomainError as error:
                self.message_user(request, f"{broadcast}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    format_html(
                        'Export #{} of “{}” is queued; follow it on <a href="{}">the exports '
                        "page</a>.",
                        export.pk,
                        broadcast,
                        reverse("leads:exports"),
                    ),
                    messages.SUCCESS,
                )
