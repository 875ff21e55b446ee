"""A broadcast's branding (logo, accent colour, cover image) on the landing page, the
watch page and the widget; pages without branding keep PrimeTime's own look."""

import pytest

from broadcasts import services
from tests.factories import BroadcastFactory

pytestmark = pytest.mark.django_db

LOGO = "https://cdn.example.com/logo.svg"
COVER = "https://cdn.example.com/cover.jpg"


@pytest.fixture
def branded(host):
    broadcast = BroadcastFactory(
        host=host,
        slug="branded",
        brand_logo_url=LOGO,
        brand_accent="#0A7C66",
        brand_cover_url=COVER,
    )
    return services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=broadcast.created_at.replace(year=2030)
    )


@pytest.mark.parametrize(
    "accent, ink, text",
    [
        ("#0A7C66", "#ffffff", "#0a7c66"),
        ("#5b3df5", "#ffffff", "#5b3df5"),
        # Too light to read as text on white: links keep PrimeTime's colour.
        ("#ffd166", "#111111", "#5b3df5"),
        ("#ffffff", "#111111", "#5b3df5"),
    ],
)
def test_the_accent_comes_with_colours_that_read(accent, ink, text):
    broadcast = BroadcastFactory.build(brand_accent=accent)
    assert broadcast.brand_style == (
        f"--accent: {accent.lower()}; --accent-ink: {ink}; --accent-text: {text};"
    )


def test_no_accent_no_style():
    assert BroadcastFactory.build(brand_accent="").brand_style == ""


@pytest.mark.parametrize("path", ["/b/branded/", "/b/branded/embed/"])
def test_the_landing_page_and_the_widget_carry_the_branding(client, branded, path):
    page = client.get(path).content.decode()
    assert 'style="--accent: #0a7c66; --accent-ink: #ffffff; --accent-text: #0a7c66;"' in page
    assert f'src="{LOGO}"' in page
    assert f'src="{COVER}"' in page


def test_the_watch_page_carries_the_branding(client, branded):
    client.post("/b/branded/watch/", {"display_name": "Ann"})
    page = client.get("/b/branded/watch/").content.decode()
    assert 'style="--accent: #0a7c66; --accent-ink: #ffffff; --accent-text: #0a7c66;"' in page
    assert f'src="{LOGO}"' in page
    assert f'src="{COVER}"' in page  # behind "Starting soon"


def test_pages_without_branding_keep_primetimes_look(client, scheduled_broadcast):
    page = client.get(f"/b/{scheduled_broadcast.slug}/").content.decode()
    assert "--accent:" not in page
    assert "brand-logo" not in page and 'class="cover"' not in page
