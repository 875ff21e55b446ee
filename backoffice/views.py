"""The host console's post-show summary, for the broadcast's hosts and moderators."""

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET

from broadcasts.models import Broadcast
from broadcasts.selectors import user_can_run

from .analytics import session_summary


@require_GET
def broadcast_summary(request: HttpRequest, slug: str) -> JsonResponse:
    broadcast = get_object_or_404(Broadcast, slug=slug)
    if not user_can_run(broadcast=broadcast, user=request.user):
        return JsonResponse(
            {"detail": "Only the broadcast's hosts and moderators can see its figures."},
            status=403,
        )
    figures = session_summary(broadcast=broadcast)
    # The analytics page is the admin's: linked for staff who may view broadcasts there.
    staff_can_view = request.user.is_staff and request.user.has_perm("broadcasts.view_broadcast")
    figures["analytics_url"] = (
        reverse("admin:broadcasts_broadcast_analytics", args=[broadcast.pk])
        if staff_can_view
        else None
    )
    return JsonResponse(figures)
