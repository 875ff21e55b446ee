"""A broadcast's branding (logo, accent colour, cover image) on the landing page, the
watch page and the widget; pages without branding keep PrimeTime's own look."""

import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from broadcasts import services
from tests.admin_forms import broadcast_form
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


# --- Uploaded images ---------------------------------------------------------------------


def png(width: int = 8, height: int = 8, *, noise: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), "#0a7c66")
    if noise:  # random pixels do not compress: a big file from a modest picture
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


CHANGE = "/admin/broadcasts/broadcast/{}/change/"


def upload(client, broadcast, **fields):
    form = broadcast_form(broadcast.host, title=broadcast.title, slug=broadcast.slug) | fields
    return client.post(CHANGE.format(broadcast.pk), form)


def test_a_logo_and_a_cover_are_uploaded_in_the_admin_and_shown(client, moderator, host):
    broadcast = BroadcastFactory(host=host, slug="uploaded", brand_logo_url=LOGO)
    services.broadcast_start(broadcast=broadcast, by=host)
    client.force_login(moderator)
    response = upload(
        client,
        broadcast,
        brand_logo=SimpleUploadedFile("Logo.PNG", png(), content_type="image/png"),
        brand_cover=SimpleUploadedFile("cover.png", png(64, 24), content_type="image/png"),
        brand_logo_url=LOGO,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    broadcast.refresh_from_db()
    assert re.fullmatch(r"brand/[0-9a-f]{32}\.png", broadcast.brand_logo.name)
    # The upload wins over the address.
    assert broadcast.logo_src == f"/media/{broadcast.brand_logo.name}"
    assert broadcast.cover_src == f"/media/{broadcast.brand_cover.name}"

    client.logout()
    landing = client.get("/b/uploaded/").content.decode()
    assert f'src="{broadcast.logo_src}"' in landing and LOGO not in landing
    assert f'src="{broadcast.cover_src}"' in landing

    image = client.get(broadcast.logo_src)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in image["Cache-Control"]
    assert image["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(image.streaming_content) == png()


@pytest.mark.parametrize(
    "upload_file, message",
    [
        (SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>"), "Upload a valid image"),
        (SimpleUploadedFile("logo.svg", b"<svg></svg>"), "Upload a valid image"),
        (
            SimpleUploadedFile("logo.png", png(900, 900, noise=True)),
            "keep it under 2.0\xa0MB",
        ),
    ],
    ids=["not-an-image", "svg", "too-large"],
)
def test_an_upload_that_is_not_a_small_raster_image_is_refused(
    client, moderator, host, upload_file, message
):
    broadcast = BroadcastFactory(host=host, slug="refused")
    client.force_login(moderator)
    response = upload(client, broadcast, brand_logo=upload_file)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["brand_logo"]
    assert any(message in error for error in errors), errors
    broadcast.refresh_from_db()
    assert not broadcast.brand_logo


@pytest.mark.parametrize(
    "path",
    [
        "/media/brand/missing.png",
        "/media/brand/../../config/settings.py",
        "/media/brand/notes.txt",
        "/media/exports/1.csv",
        "/media/brand/",
    ],
)
def test_only_uploaded_images_are_served(client, settings, path):
    (settings.MEDIA_ROOT / "brand").mkdir(parents=True)
    (settings.MEDIA_ROOT / "brand" / "notes.txt").write_text("not an image")
    assert client.get(path).status_code == 404
