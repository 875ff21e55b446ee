"""Domain errors at the HTTP edges, mapped in one place: the API's exception handler and
the page views' decorator."""

import functools

from django.http import Http404, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import NotFound as NotFoundAnswer
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError, Forbidden, InvalidInput, NotFound


def api_exception_handler(exc, context):
    """DRF's handler, plus domain errors: their status, and a body shaped like DRF's own
    (`detail`, or the field errors of invalid input)."""
    if isinstance(exc, DomainError):
        if isinstance(exc, InvalidInput) and exc.details:
            body = exc.details
        else:
            body = {"detail": exc.message, "code": exc.code}
        return Response(body, status=exc.status)
    return exception_handler(exc, context)


class Pages(PageNumberPagination):
    """DRF's numbered pages, where an empty `page` is not a number either (DRF would take
    it for the first page): 404, as for any page that is not one."""

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise NotFoundAnswer(self.invalid_page_message.format(page_number="", message=""))
        return super().get_page_number(request, paginator)


def forbidden_page(request, message: str) -> HttpResponse:
    """The 403 page, saying why. Rendered here rather than raised as PermissionDenied,
    which Django logs with a traceback, as if a refusal were a fault."""
    return render(request, "403.html", {"message": message}, status=403)


def domain_errors(view):
    """Let a page view raise domain errors: not found is the 404 page, forbidden the 403
    page, a conflict or a rate limit a short plain answer. Field errors belong beside
    their fields, which is the view's own work."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from None
        except Forbidden as error:
            return forbidden_page(request, error.message)
        except DomainError as error:
            return HttpResponse(
                error.message, status=error.status, content_type="text/plain; charset=utf-8"
            )

    return wrapped
