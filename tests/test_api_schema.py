"""The REST API held to its own OpenAPI schema (`/api/schema/`, config/api.py) by
schemathesis (issue 18, "Bad input"): requests made from the schema, valid and not, as an
Ops user with a token; no answer is a server error (5xx), and every answer is one the
schema documents (its status code, content type, headers and body)."""

import time
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from broadcasts import services as broadcasts
from leads.capture import lead_capture
from leads.exports import export_request
from participation.services import attendee_for_user
from tests.factories import BroadcastFactory, GuestFactory, ops_user

pytestmark = pytest.mark.django_db

# Requests per operation and generation mode (valid data, then data the schema rules out).
EXAMPLES = 60

API_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def excluded(operation) -> list:
    """Bodies the schema allows that the data refuses, with a documented 400: an export
    is of a broadcast, or of a range of days that ends after it starts (`{}`, a slug no
    broadcast has); a token is for a right password."""
    if operation.label in ("POST /api/exports/", "POST /api/token/"):
        return [positive_data_acceptance]
    return []


@pytest.fixture
def token(host) -> str:
    """An Ops user's token, and something for the API to list: a live and an ended
    broadcast, a lead, an export done and one queued."""
    ops = ops_user(username="ops")
    live = BroadcastFactory(host=host, slug="spring-launch")
    broadcasts.broadcast_start(broadcast=live, by=host)
    guest = GuestFactory(broadcast=live, display_name="Ann")
    lead_capture(
        broadcast=live,
        attendee=guest,
        data={"name": "Ann Example", "email": "ann@example.com", "consent": "on"},
    )
    attendee_for_user(broadcast=live, user=host)
    ended = BroadcastFactory(host=host, slug="winter-launch")
    broadcasts.broadcast_start(broadcast=ended, by=host)
    broadcasts.broadcast_end(broadcast=ended, by=host)
    today = timezone.localdate()
    export_request(by=ops, date_from=today - timedelta(days=1), date_to=today)
    return Token.objects.create(user=ops).key


@pytest.fixture
def app():
    """The project's Django application, called in the test's thread and transaction. As
    Django's test client does, a request's end does not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def send_requests(operation, mode, auth, calls: Counter, statuses: Counter) -> None:
    """Up to EXAMPLES requests to `operation` with data of `mode`, each answer checked."""

    @API_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode, auth_storage=auth))
    def check(case):
        response = case.call()
        calls[operation.label] += 1
        statuses[response.status_code] += 1
        case.validate_response(response, excluded_checks=excluded(operation))

    check()


def test_every_api_operation_answers_as_its_schema_says(app, token, settings):
    # A sign-in for a username nobody has still hashes the password (so that timing
    # tells nothing): with Django's default hasher, a second per token request.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", app, headers={"Authorization": f"Token {token}"}
    )

    @schema.auth()
    class OpsToken:
        """Every request carries the token, as schemathesis's own auth: its check that
        the API refuses a request without it, or with a wrong one, then applies."""

        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

    calls: Counter = Counter()
    statuses: Counter = Counter()
    failures = []
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                send_requests(operation, mode, schema.auth, calls, statuses)
            except Unsatisfiable:
                # No request the schema rules out (a slug may be any text): none to send.
                assert mode == GenerationMode.NEGATIVE, operation.label
            except BaseException as error:  # schemathesis's FailureGroup is not an Exception
                failures.append(f"{operation.label}, {mode.value} data: {str(error)[:2000]}")
    seconds = time.perf_counter() - started
    print(
        f"\n{sum(calls.values())} API calls in {seconds:.1f} s over {len(operations)} "
        f"operations; statuses: {dict(sorted(statuses.items()))}"
    )
    for label, count in sorted(calls.items()):
        print(f"  {label}: {count}")
    print("\n\n".join(failures))
    assert not [code for code in statuses if code >= 500]
    assert not failures
