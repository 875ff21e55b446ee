from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from broadcasts.selectors import broadcast_for_audience
from core.errors import DomainError, Forbidden, InvalidInput
from core.http import domain_errors
from participation import services as participation
from participation.guests import guest_key_from_request

from .capture import lead_capture
from .exports import can_export, export_file, export_public, export_request
from .forms import ExportRequestForm, LeadForm
from .models import LeadExport


def _exporter(request: HttpRequest) -> None:
    if not can_export(request.user):
        raise Forbidden("Exporting leads needs the export permission (the Ops group).")


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def exports(request: HttpRequest) -> HttpResponse:
    """Ops: every export, newest first, with live progress; ask for a new one."""
    _exporter(request)
    form = ExportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = export_request(by=request.user, **form.cleaned_data)
        except InvalidInput as error:
            for field, problems in (error.details or {}).items():
                for problem in problems:
                    form.add_error(field, problem)
            if not error.details:
                form.add_error(None, error.message)
        else:
            messages.success(request, f"Export #{export.pk} is queued.")
            return redirect("leads:exports")
    listing = LeadExport.objects.select_related("broadcast", "requested_by")[:100]
    return render(
        request,
        "leads/exports.html",
        {"form": form, "exports": [export_public(e) for e in listing]},
        status=400 if form.errors else 200,
    )


@login_required
@domain_errors
def download(request: HttpRequest, export_id: int) -> HttpResponse:
    """The CSV, after a permission check; never a public URL. Every download is recorded."""
    export, handle = export_file(export_id=export_id, user=request.user, via="page")
    return FileResponse(
        handle, as_attachment=True, filename=download_name(export), content_type="text/csv"
    )


def download_name(export: LeadExport) -> str:
    scope = export.broadcast.slug if export.broadcast_id else f"{export.date_from}-{export.date_to}"
    return f"leads-{scope}-{export.pk}.csv"


@require_POST
@domain_errors
def lead_form(request: HttpRequest, slug: str) -> HttpResponse:
    """The lead form without JavaScript (the pages send it over the live socket): a
    CSRF-protected POST, answered with a thank-you or the form and its errors."""
    broadcast = broadcast_for_audience(slug=slug, user=request.user)
    if request.user.is_authenticated:
        attendee = participation.attendee_of_user(broadcast=broadcast, user=request.user)
    else:
        attendee = participation.attendee_for_guest(
            broadcast=broadcast, guest_key=guest_key_from_request(request)
        )
    form = LeadForm(request.POST, broadcast=broadcast)
    try:
        lead = lead_capture(broadcast=broadcast, attendee=attendee, data=request.POST)
    except InvalidInput:
        form.is_valid()  # the same rules: show their errors beside the fields
        return render(
            request, "leads/lead_page.html", {"broadcast": broadcast, "form": form}, status=400
        )
    except DomainError as error:
        return render(
            request,
            "leads/lead_page.html",
            {"broadcast": broadcast, "form": form, "problem": error.message},
            status=429 if error.code == "rate_limited" else 409,
        )
    return render(request, "leads/lead_page.html", {"broadcast": broadcast, "lead": lead})
