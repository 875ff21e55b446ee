import re

from django import forms
from django.core.exceptions import ValidationError

from broadcasts.models import Broadcast

# International form: a plus, a country code, then the number (spaces, dots, dashes and
# brackets are allowed while typing and dropped).
PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
PHONE_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")


class LeadForm(forms.Form):
    """The lead form of one broadcast: name and email, phone and company if it asks for
    them, and consent to its consent text. `website` is a honeypot: people leave it empty."""

    name = forms.CharField(
        label="Your name", max_length=120, error_messages={"required": "Enter your name."}
    )
    email = forms.EmailField(
        label="Email", max_length=254, error_messages={"required": "Enter your email address."}
    )
    phone = forms.CharField(
        label="Phone",
        max_length=32,
        required=False,
        help_text="With your country code, e.g. +44 20 7946 0958",
    )
    company = forms.CharField(label="Company", max_length=120, required=False)
    consent = forms.BooleanField(
        label="I agree",
        error_messages={"required": "Tick the box to agree to be contacted."},
    )
    website = forms.CharField(required=False, label="Leave this empty")

    def __init__(self, *args, broadcast: Broadcast, **kwargs):
        super().__init__(*args, **kwargs)
        self.broadcast = broadcast
        if not broadcast.lead_ask_phone:
            del self.fields["phone"]
        if not broadcast.lead_ask_company:
            del self.fields["company"]
        self.fields["consent"].label = broadcast.lead_consent_text or "I agree to be contacted."

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Enter your name.")
        return name

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        phone = PHONE_SEPARATORS.sub("", raw)
        if phone.startswith("00"):
            phone = "+" + phone[2:]
        if not PHONE_INTERNATIONAL.match(phone):
            raise ValidationError(
                "Enter the number in international form, starting with + and the country code."
            )
        return phone

    def clean_company(self) -> str:
        return " ".join(self.cleaned_data.get("company", "").split())

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


class ExportRequestForm(forms.Form):
    """What the exports page asks: one broadcast's leads, or those of a date range."""

    broadcast = forms.ModelChoiceField(
        queryset=Broadcast.objects.order_by("-scheduled_start", "-created_at"),
        required=False,
        empty_label="All broadcasts, in a date range",
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
