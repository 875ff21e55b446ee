"""When the database cannot serve a request: a 503 that says to try again, never a 500."""

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from config.middleware import server_error
from tests.csp import policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_refuses(monkeypatch):
    """Every read of a broadcast fails as when no pooled connection came in time."""
    from broadcasts import views
    from participation import views as audience_views

    def refuse(*args, **kwargs):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr(views, "broadcast_announced", refuse)
    monkeypatch.setattr(audience_views, "broadcast_for_audience", refuse)


def test_a_page_says_busy_with_503_and_retry_after(client, database_refuses, caplog):
    response = client.get("/b/spring-launch/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "We are busy for a moment" in page and "Try again now" in page
    assert policy(response)["script-src"] == ["'self'"]  # under the pages' policy too
    # One line in the log, not a traceback.
    (record,) = [r for r in caplog.records if r.name == "config.database"]
    assert "503 for GET /b/spring-launch/" in record.getMessage() and record.exc_info is None


def test_the_watch_page_says_busy_too(client, database_refuses):
    assert client.get("/b/spring-launch/watch/").status_code == 503


def test_the_api_says_busy_in_json(admin_client, monkeypatch):
    from backoffice.api import BroadcastViewSet

    def refuse(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(BroadcastViewSet, "get_queryset", refuse)
    response = admin_client.get("/api/broadcasts/")
    assert response.status_code == 503
    assert response.json() == {"detail": "The service is busy; try again in a few seconds."}


def test_other_errors_stay_500(client, monkeypatch):
    from broadcasts import views

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(views, "broadcast_announced", broken)
    client.raise_request_exception = False
    response = client.get("/b/spring-launch/")
    assert response.status_code == 500
    assert policy(response)["script-src"] == ["'self'"]


def test_a_database_failure_outside_a_view_is_503_as_well():
    """handler500: a middleware that could not save the session, say."""
    request = RequestFactory().get("/b/spring-launch/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500


def test_health_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]
