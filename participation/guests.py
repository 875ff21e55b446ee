"""The guest cookie: a signed random key that identifies a guest across pages and the socket."""

import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

_SALT = "primetime.guest"


def guest_key_from_request(request: HttpRequest) -> uuid.UUID | None:
    return guest_key_from_cookies(request.COOKIES)


def guest_key_from_cookies(cookies: dict[str, str]) -> uuid.UUID | None:
    """The guest key from a request's cookies or a WebSocket handshake's (Channels' scope)."""
    value = cookies.get(settings.GUEST_COOKIE_NAME)
    if not value:
        return None
    try:
        return _parse(_signer().unsign(value, max_age=settings.GUEST_COOKIE_MAX_AGE))
    except signing.BadSignature:
        return None


def guest_key_from_token(token: str | None) -> uuid.UUID | None:
    """The guest key an embedded widget hands over (its own storage, not a cookie: a
    third-party iframe cannot count on cookies)."""
    if not token:
        return None
    try:
        return _parse(_signer().unsign(token[:200], max_age=settings.GUEST_COOKIE_MAX_AGE))
    except signing.BadSignature:
        return None


def _signer() -> signing.Signer:
    return signing.get_cookie_signer(salt=settings.GUEST_COOKIE_NAME + _SALT)


def guest_cookie_value(key: uuid.UUID) -> str:
    """The signed key: the guest cookie's value, and the widget's token."""
    return _signer().sign(key.hex)


def set_guest_cookie(response: HttpResponse, key: uuid.UUID) -> None:
    response.set_cookie(
        settings.GUEST_COOKIE_NAME,
        guest_cookie_value(key),
        max_age=settings.GUEST_COOKIE_MAX_AGE,
        # Never read by our scripts; Lax, as the widget in another website's iframe does
        # not use it (it hands the socket a token instead: third-party cookies are often
        # refused); Secure wherever the session cookie is (production, behind TLS).
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _parse(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(hex=raw)
    except ValueError:
        return None
