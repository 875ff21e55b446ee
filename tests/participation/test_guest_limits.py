"""New guests per network address: the watch page's name form and the widget make at most
GUESTS_PER_ADDRESS_PER_MINUTE a minute from one address; people already known, other
addresses and signed-in people are not held up."""

import uuid

import pytest
from channels.db import database_sync_to_async

from participation.models import Attendee
from tests.participation.live_client import live_client, refused, widget_query

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def three_a_minute(settings):
    settings.GUESTS_PER_ADDRESS_PER_MINUTE = 3


def join(client, broadcast, name, address="198.51.100.7"):
    return client.post(f"/b/{broadcast.slug}/watch/", {"display_name": name}, REMOTE_ADDR=address)


def test_the_name_form_makes_a_few_guests_a_minute_per_address(client, live_broadcast):
    for number in range(3):
        client.cookies.clear()
        assert join(client, live_broadcast, f"Guest {number}").status_code == 302
    client.cookies.clear()
    refused_page = join(client, live_broadcast, "One too many")
    assert refused_page.status_code == 429
    assert "Many people joined from your network just now" in refused_page.content.decode()
    assert not Attendee.objects.filter(display_name="One too many").exists()
    # Another address, and a guest already known here (renaming), are not held up.
    client.cookies.clear()
    assert join(client, live_broadcast, "Elsewhere", address="203.0.113.5").status_code == 302
    assert join(client, live_broadcast, "Elsewhere, renamed").status_code == 302
    assert Attendee.objects.filter(broadcast=live_broadcast, user=None).count() == 4


async def test_the_widget_makes_a_few_guests_a_minute_per_address(live_broadcast):
    keys = [uuid.uuid4() for _ in range(4)]
    for key in keys[:3]:
        async with live_client(live_broadcast.slug, query=widget_query(key)):
            pass
    assert await refused(live_broadcast.slug, query=widget_query(keys[3])) == 4429
    # The guests it made come back as often as they like; other addresses get in.
    async with live_client(live_broadcast.slug, query=widget_query(keys[0])):
        pass
    async with live_client(live_broadcast.slug, query=widget_query(keys[3]), address="203.0.113.5"):
        pass
    count = await database_sync_to_async(
        Attendee.objects.filter(broadcast=live_broadcast, user=None).count
    )()
    assert count == 4
