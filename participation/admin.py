from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import service_action
from core.errors import DomainError

from . import questions, stage
from .models import Attendee, CtaClick, Question, SpeakRequest, SpeakRequestTransition
from .moderation import MOVE_LABELS


@admin.register(Attendee)
class AttendeeAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "broadcast",
        "role",
        "kind",
        "online",
        "joined_at",
        "left_at",
        "removed_at",
    ]
    list_filter = ["role", "broadcast", ("removed_at", admin.EmptyFieldListFilter)]
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
        "liked",
        "stars",
        "removed_at",
        "removed_by",
    ]
    fields = ["display_name", *readonly_fields]
    actions = ["remove_from_broadcast"]

    @admin.action(
        description="Remove from their broadcast (disconnect; no way back)",
        permissions=["change"],
    )
    def remove_from_broadcast(self, request: HttpRequest, queryset: QuerySet[Attendee]) -> None:
        for attendee in queryset.select_related("broadcast"):
            try:
                stage.attendee_remove(
                    broadcast=attendee.broadcast, attendee_id=attendee.pk, by=request.user
                )
            except DomainError as error:
                self.message_user(request, f"{attendee}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{attendee} was removed.", messages.SUCCESS)

    @admin.display(boolean=True, description="liked")
    def liked(self, obj: Attendee) -> bool:
        return hasattr(obj, "like")

    @admin.display(description="rated the presenter")
    def stars(self, obj: Attendee) -> str:
        rating = getattr(obj, "rating", None)
        return f"{rating.stars} of 5" if rating else "—"

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


def _moderate(question: Question, request: HttpRequest, action: str) -> None:
    if action in ("pin", "unpin"):
        questions.question_pin(
            broadcast=question.broadcast,
            question_id=question.pk,
            by=request.user,
            pinned=action == "pin",
        )
    else:
        questions.question_moderate(
            broadcast=question.broadcast, question_id=question.pk, action=action, by=request.user
        )


def _moderation_action(action: str, description: str):
    return service_action(
        action,
        description,
        lambda question, request: _moderate(question, request, action),
        thing="question",
        quote=lambda question: f"“{question}”",
        permissions=["change"],
    )


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """Every question of every broadcast, hidden and waiting ones included. Moderation goes
    through the same services as the host console, so viewers see it live."""

    list_display = ["text_preview", "author", "broadcast", "state", "pinned", "votes", "created_at"]
    list_filter = ["state", "pinned", "broadcast"]
    search_fields = ["text", "attendee__display_name", "broadcast__title"]
    list_select_related = ["attendee", "broadcast"]
    readonly_fields = [
        "broadcast",
        "attendee",
        "text",
        "state",
        "pinned",
        "votes",
        "created_at",
        "moderated_at",
        "moderated_by",
    ]
    ordering = ["-created_at", "-id"]
    # The moderation table's moves, as on the host console and the dashboard.
    actions = [_moderation_action(action, label) for action, label in MOVE_LABELS.items()]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Changes are the moderation actions, never edits of what someone wrote.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="question")
    def text_preview(self, obj: Question) -> str:
        return obj.text if len(obj.text) <= 90 else obj.text[:89] + "…"

    @admin.display(description="asked by", ordering="attendee__display_name")
    def author(self, obj: Question) -> str:
        return obj.attendee.display_name


@admin.register(CtaClick)
class CtaClickAdmin(admin.ModelAdmin):
    list_display = ["at", "broadcast", "attendee", "source"]
    list_filter = ["source", "broadcast"]
    list_select_related = ["broadcast", "attendee"]
    readonly_fields = ["at", "broadcast", "attendee", "source"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
