"""Live commands of the lead form."""

from rest_framework import serializers

from participation.context import HOSTS, CommandContext
from participation.realtime.commands import live_command

from . import capture


class LeadFields(serializers.Serializer):
    # Bounds only: the lead form validates, with field errors.
    name = serializers.CharField(max_length=500, allow_blank=True, required=False)
    email = serializers.CharField(max_length=500, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=100, allow_blank=True, required=False)
    company = serializers.CharField(max_length=500, allow_blank=True, required=False)
    consent = serializers.BooleanField(required=False, default=False)
    website = serializers.CharField(max_length=500, allow_blank=True, required=False)


@live_command("lead.submit", fields=LeadFields)
def lead_submit(context: CommandContext, data: dict) -> dict:
    form_data = {key: value for key, value in data.items() if key != "consent"}
    if data.get("consent"):
        form_data["consent"] = "on"
    lead = capture.lead_capture(
        broadcast=context.broadcast, attendee=context.attendee, data=form_data
    )
    # A bot that filled the honeypot is thanked like anyone else.
    return {"lead": capture.lead_private(lead) if lead else None}


@live_command("lead.prompt", roles=HOSTS)
def lead_prompt(context: CommandContext, data: dict) -> None:
    capture.lead_prompt(broadcast=context.broadcast, by=context.attendee.user)
