"""Admin actions that call a service once per selected row."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from .errors import DomainError


def service_action(
    name: str,
    description: str,
    act: Callable[[Model, HttpRequest], object],
    *,
    thing: str,
    quote: Callable[[Model], str] = str,
    label: str = "",
    **options,
):
    """An admin action `<name>_selected` that runs `act(row, request)` for each selected
    row: each refusal (a domain error) is reported with its row, the successes counted.
    `thing` names a row in the messages ("broadcast"); `label`, the action in the menu
    when "<description> (selected <thing>s)" does not say enough."""

    def run(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for row in queryset:
            try:
                act(row, request)
            except DomainError as error:
                modeladmin.message_user(request, f"{quote(row)}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{description}: {done} {thing}(s).", messages.SUCCESS)

    run.__name__ = f"{name}_selected"
    label = label or f"{description} (selected {thing}s)"
    return admin.action(description=label, **options)(run)
