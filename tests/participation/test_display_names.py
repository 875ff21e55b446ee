"""The names guests choose: what others will see, and nothing that disguises it."""

import pytest

from core.errors import InvalidInput
from participation.models import Attendee
from participation.services import clean_display_name

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed, shown",
    [
        ("  Ann   Lee ", "Ann Lee"),
        ("👩🏽‍💻 Dev", "👩🏽‍💻 Dev"),  # a zero-width joiner builds the emoji
        ("👨‍👩‍👧", "👨‍👩‍👧"),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿 Fan", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Fan"),  # a flag made of tag characters
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",) * 2,  # Persian's non-joiner
        ("José", "José"),
        ("李小龍", "李小龍"),
    ],
)
def test_names_people_write_are_kept(typed, shown):
    assert clean_display_name(typed) == shown


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Enter the name others will see."),
        ("   ", "Enter the name others will see."),
        ("\u200d", "Enter the name others will see."),  # a joiner alone shows nothing
        ("x" * 61, "Keep your name to 60 characters."),
        ("Ann\u202eeL", "cannot be shown"),  # a right-to-left override disguises it
        ("Ann\u200bLee", "cannot be shown"),  # a zero-width space
        ("Ann\x07", "cannot be shown"),
        ("Ann\ue000", "cannot be shown"),  # private use
    ],
)
def test_names_that_show_nothing_or_disguise_are_refused(typed, message):
    with pytest.raises(InvalidInput) as refused:
        clean_display_name(typed)
    assert message in refused.value.message


def test_a_guest_joins_under_an_emoji_name(client, live_broadcast):
    response = client.post(f"/b/{live_broadcast.slug}/watch/", {"display_name": "👩🏽‍💻 Dev"})
    assert response.status_code == 302
    assert Attendee.objects.filter(broadcast=live_broadcast, display_name="👩🏽‍💻 Dev").exists()
