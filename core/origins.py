"""Web origins ("https://shop.example.com"): the websites that may show the widget."""

import re

from django.core.exceptions import ValidationError

ORIGIN_PATTERN = re.compile(r"https?://[^/\s;,'\"]+")


def normalize_origin(value: str) -> str:
    """What people paste (a trailing slash, capitals) as the origin browsers send."""
    return value.strip().rstrip("/").lower()


def validate_origin(value: str) -> None:
    if not ORIGIN_PATTERN.fullmatch(value):
        raise ValidationError(
            "%(value)s is not a website origin: a scheme and a host (and a port, if any), "
            "like https://shop.example.com, without a path.",
            params={"value": value},
            code="invalid_origin",
        )
