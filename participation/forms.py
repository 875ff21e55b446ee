from django import forms
from django.core.exceptions import ValidationError

from core.errors import InvalidInput

from .services import DISPLAY_NAME_MAX, clean_display_name


class GuestNameForm(forms.Form):
    display_name = forms.CharField(
        label="Your name",
        max_length=DISPLAY_NAME_MAX,
        help_text="Shown to the host and other viewers.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "autofocus": True}),
    )

    def clean_display_name(self) -> str:
        try:
            return clean_display_name(self.cleaned_data["display_name"])
        except InvalidInput as error:
            raise ValidationError(error.message) from None
