"""Domain errors at the HTTP edges: one status per code, for the API and the pages."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from rest_framework.exceptions import NotAuthenticated

from core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from core.http import api_exception_handler, domain_errors


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("Pick a date."), 400, "invalid"),
        (Forbidden("Not yours."), 403, "forbidden"),
        (NotFound("No such thing."), 404, "not_found"),
        (Conflict("Done already."), 409, "conflict"),
        (RateLimited("Slow down."), 429, "rate_limited"),
    ],
)
def test_the_api_answers_a_domain_error_with_its_status_and_code(error, status, code):
    response = api_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"detail": error.message, "code": code}


def test_the_api_answers_invalid_input_with_its_field_errors():
    error = InvalidInput("Check the form.", details={"date_to": ["Pick an end date."]})
    response = api_exception_handler(error, {})
    assert (response.status_code, response.data) == (400, {"date_to": ["Pick an end date."]})


def test_the_api_leaves_drf_s_own_errors_to_drf():
    assert api_exception_handler(NotAuthenticated(), {}).status_code == 401
    assert api_exception_handler(ValueError("a bug"), {}) is None


def page_raising(error):
    @domain_errors
    def view(request):
        raise error

    return view


def test_a_page_that_finds_nothing_is_the_404_page_and_a_refusal_the_403_page():
    request = RequestFactory().get("/")
    with pytest.raises(Http404, match=r"No such broadcast\."):
        page_raising(NotFound("No such broadcast."))(request)
    request.user = AnonymousUser()
    response = page_raising(Forbidden("Not yours."))(request)
    assert response.status_code == 403
    assert "Not yours." in response.content.decode()


@pytest.mark.parametrize(
    ("error", "status"), [(Conflict("Not yet."), 409), (RateLimited("Wait."), 429)]
)
def test_a_page_conflict_or_rate_limit_is_a_short_plain_answer(error, status):
    response = page_raising(error)(RequestFactory().get("/"))
    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == error.message


def test_a_page_without_errors_is_untouched():
    @domain_errors
    def view(request):
        return HttpResponse("fine")

    assert view(RequestFactory().get("/")).content == b"fine"
