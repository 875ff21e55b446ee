"""Form data the Django admin's pages post, for tests that drive them without a browser."""


def broadcast_form(host, **overrides) -> dict:
    """The admin's broadcast form as a browser posts it, new and empty but for overrides."""
    data = {
        "title": "Summer sale",
        "slug": "summer-sale",
        "description": "Hot deals.",
        "host": str(host.pk),
        "audience": "public",
        "audience_group": "",
        "scheduled_start_0": "",
        "scheduled_start_1": "",
        "duration_minutes": "45",
        "cta_headline": "",
        "cta_label": "",
        "cta_url": "",
        "stage_size": "3",
        "lead_consent_text": "Yes, contact me.",
        "transitions-TOTAL_FORMS": "0",
        "transitions-INITIAL_FORMS": "0",
        "transitions-MIN_NUM_FORMS": "0",
        "transitions-MAX_NUM_FORMS": "0",
        "_save": "Save",
    }
    data.update(overrides)
    return data
