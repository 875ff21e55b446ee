import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from core.origins import validate_origin


class BroadcastState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


# A running broadcast has an audience in the room: viewers like, rate and raise hands,
# the stage and its media are up. Paused holds the picture, not the room.
RUNNING_STATES = (BroadcastState.LIVE, BroadcastState.PAUSED)


class Audience(models.TextChoices):
    PUBLIC = "public", "Public (guests choose a display name)"
    SIGNED_IN = "signed_in", "Signed-in users"
    GROUP = "group", "Members of one group"


# Uploaded branding images: raster formats only (an SVG can carry script), small enough
# to load at once on a phone.
BRAND_IMAGE_FORMATS = ["png", "jpg", "jpeg", "webp", "gif"]
BRAND_IMAGE_MAX_BYTES = 2 * 1024 * 1024


def validate_brand_image_size(image) -> None:
    if image.size > BRAND_IMAGE_MAX_BYTES:
        raise ValidationError(
            "This image is %(size)s; keep it under %(limit)s.",
            code="image_too_large",
            params={
                "size": filesizeformat(image.size),
                "limit": filesizeformat(BRAND_IMAGE_MAX_BYTES),
            },
        )


def brand_image_path(broadcast, filename: str) -> str:
    """A fresh name for every upload, so a replaced image is a new address and the old
    one can be cached forever."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"brand/{uuid.uuid4().hex}.{extension}"


def brand_image_field(verbose_name: str, help_text: str) -> models.ImageField:
    return models.ImageField(
        verbose_name,
        upload_to=brand_image_path,
        blank=True,
        validators=[
            FileExtensionValidator(BRAND_IMAGE_FORMATS),
            validate_brand_image_size,
        ],
        help_text=help_text,
    )


class Broadcast(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_broadcasts"
    )
    co_hosts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="co_hosted_broadcasts"
    )
    scheduled_start = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="Planned length, used for calendar invitations.",
    )

    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.PUBLIC)
    audience_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Required when the audience is the members of one group.",
    )

    # Branding, on the landing page, the watch page and the widget. An image is uploaded
    # (kept under MEDIA_ROOT) or given by address (your website or CDN); the upload wins.
    brand_logo = brand_image_field(
        "logo",
        "A small logo (PNG, JPEG, WebP or GIF, up to 2 MB), shown beside the title.",
    )
    brand_logo_url = models.URLField(
        "logo URL",
        blank=True,
        help_text="Or the address of a logo on your website (SVG or PNG).",
    )
    brand_accent = models.CharField(
        "accent colour",
        max_length=7,
        blank=True,
        validators=[
            RegexValidator(
                r"^#[0-9a-fA-F]{6}$", "Give the colour as #rrggbb, like #5b3df5.", "invalid_colour"
            )
        ],
        help_text="Buttons and highlights, as #rrggbb. Empty: PrimeTime's own.",
    )
    brand_cover = brand_image_field(
        "cover image",
        "A wide picture for the landing page and the screen before the start (PNG, JPEG, "
        "WebP or GIF, up to 2 MB).",
    )
    brand_cover_url = models.URLField(
        "cover image URL",
        blank=True,
        help_text="Or the address of a cover image on your website.",
    )

    cta_headline = models.CharField("call-to-action headline", max_length=200, blank=True)
    cta_label = models.CharField("call-to-action button label", max_length=60, blank=True)
    cta_url = models.URLField("call-to-action URL", blank=True)

    cta_pushed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a host last pushed the call-to-action to every viewer.",
    )

    questions_premoderated = models.BooleanField(
        "hold questions for approval",
        default=False,
        help_text="Questions wait until a host or moderator approves them; "
        "the asker still sees their own.",
    )

    lead_ask_phone = models.BooleanField("ask for a phone number", default=False)
    lead_ask_company = models.BooleanField("ask for a company", default=False)
    lead_consent_text = models.TextField(
        blank=True,
        default="I agree to be contacted about this event and related offers.",
    )

    stage_size = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(0), MaxValueValidator(12)],
        help_text="How many speakers may join the host on stage.",
    )

    state = models.CharField(
        max_length=16, choices=BroadcastState.choices, default=BroadcastState.DRAFT, editable=False
    )
    went_live_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_start", "-created_at"]
        permissions = [
            ("moderate_broadcast", "Can run and moderate any broadcast"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(audience="group") | models.Q(audience_group__isnull=False),
                name="broadcast_group_audience_has_group",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("broadcasts:landing", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.audience == Audience.GROUP and self.audience_group_id is None:
            raise ValidationError({"audience_group": "Pick the group whose members may watch."})
        if self.audience != Audience.GROUP and self.audience_group_id is not None:
            raise ValidationError(
                {"audience_group": "Only a broadcast for the members of a group needs a group."}
            )
        if self.cta_label and not self.cta_url:
            raise ValidationError({"cta_url": "The call-to-action button needs a URL."})
        if self.cta_url and not self.cta_label:
            raise ValidationError({"cta_label": "The call-to-action button needs a label."})
        # Pages allow images from https addresses only (the Content-Security-Policy's
        # img-src; an http image on an https page is mixed content anyway): say so here
        # rather than show a broken picture.
        insecure = {
            field: "Give an https:// address: pages do not show images from http:// ones."
            for field in ("brand_logo_url", "brand_cover_url")
            if getattr(self, field).lower().startswith("http://")
        }
        if insecure:
            raise ValidationError(insecure)

    @property
    def is_running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def has_cta(self) -> bool:
        return bool(self.cta_label and self.cta_url)

    @property
    def logo_src(self) -> str:
        return self.brand_logo.url if self.brand_logo else self.brand_logo_url

    @property
    def cover_src(self) -> str:
        return self.brand_cover.url if self.brand_cover else self.brand_cover_url

    @property
    def brand_style(self) -> str:
        """The accent colour as the pages' CSS variables, with a text colour that reads on
        it (dark on a light accent, white on a dark one); empty without branding."""
        if not self.brand_accent:
            return ""
        red, green, blue = (int(self.brand_accent[i : i + 2], 16) / 255 for i in (1, 3, 5))
        # Relative luminance (WCAG 2), then whichever of black and white contrasts more.
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        ink = "#111111" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"
        accent = self.brand_accent.lower()
        # As text on white it must reach 4.5:1 (WCAG AA), or links keep PrimeTime's colour.
        text = accent if 1.05 / (luminance + 0.05) >= 4.5 else "#5b3df5"
        return f"--accent: {accent}; --accent-ink: {ink}; --accent-text: {text};"


class BroadcastTransition(models.Model):
    """One recorded move of a broadcast's state machine: who, when, from, to."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=BroadcastState.choices)
    to_state = models.CharField(max_length=16, choices=BroadcastState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class AuditEntry(models.Model):
    """Who did what to a broadcast, and when: state changes, moderation, exports and
    downloads. Written by the services that make those changes; never edited."""

    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)  # e.g. "question.hide"
    subject = models.CharField(max_length=300, blank=True)  # what it was done to, in words
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'the system'}"


class EmbedSite(models.Model):
    """A website that may show the widget (any broadcast's), added by staff in the admin;
    PRIMETIME_EMBED_ORIGINS adds to these. Read at every widget load: a site added or
    removed takes effect at once."""

    origin = models.CharField(
        max_length=200,
        unique=True,
        validators=[validate_origin],
        help_text="The website's origin: https://shop.example.com (with a port if it has one).",
    )
    name = models.CharField(max_length=120, blank=True, help_text="For you: whose site it is.")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "embed site"
        ordering = ["origin"]

    def __str__(self) -> str:
        return self.origin
