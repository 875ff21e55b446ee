"""Sign-in throttling (django-axes) on every way in: the sign-in page, the admin's sign-in
and /api/token/. A few wrong passwords for one username from one address pause it."""

import pytest
from django.conf import settings

from tests.csp import policy
from tests.factories import TEST_PASSWORD as PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def few_failures(settings):
    # Every wrong password costs a real hash check (about a second here): the limit is
    # the setting's, whatever its value.
    settings.AXES_FAILURE_LIMIT = 3


@pytest.fixture
def staff_user():
    return UserFactory(username="sam", is_staff=True)


def sign_in(client, path: str, password: str):
    return client.post(path, {"username": "sam", "password": password})


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_pause_the_sign_in_page(client, staff_user, path):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = sign_in(client, path, "wrong")
        assert response.status_code == 200  # the form again, with its error
    locked = sign_in(client, path, "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many wrong passwords" in page and "paused for 15 minutes" in page
    assert policy(locked)["script-src"] == ["'self'"]  # the lockout page is a page too
    # Even the right password waits now.
    assert sign_in(client, path, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_resets_the_count(client, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "/accounts/login/", "wrong")
    assert sign_in(client, "/accounts/login/", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "/accounts/login/", "wrong").status_code == 200


def test_other_users_and_addresses_are_not_paused(client, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "/accounts/login/", "wrong")
    UserFactory(username="tess")
    response = client.post("/accounts/login/", {"username": "tess", "password": PASSWORD})
    assert response.status_code == 302
    client.logout()
    elsewhere = client.post(
        "/accounts/login/",
        {"username": "sam", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    assert elsewhere.status_code == 302


def test_the_api_token_endpoint_is_paused_in_json(client, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "/api/token/", "wrong")
        assert response.status_code == 400
    locked = sign_in(client, "/api/token/", "wrong")
    assert locked.status_code == 429
    assert locked.json() == {
        "detail": "Signing in as this user from here is paused for 15 minutes. Try again then,"
        " or ask an administrator to clear the lockout."
    }
    assert sign_in(client, "/api/token/", PASSWORD).status_code == 429
