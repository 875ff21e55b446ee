import pytest
from django.contrib.auth.models import Group

from participation import stage
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_moderators_see_requests_to_speak_and_their_history(client, live_broadcast, host):
    guest = GuestFactory(broadcast=live_broadcast, display_name="Asker", connections=1)
    request = stage.hand_raise(attendee=guest)
    stage.hand_approve(broadcast=live_broadcast, attendee_id=guest.pk, by=host)

    moderator = UserFactory(is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    client.force_login(moderator)
    listing = client.get("/admin/participation/speakrequest/?state__exact=approved")
    assert listing.status_code == 200
    assert "Asker" in listing.content.decode()
    page = client.get(f"/admin/participation/speakrequest/{request.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Waiting for approval" in body and "On stage" in body
    # History is read-only: moves happen live, not in the admin.
    assert (
        client.post(f"/admin/participation/speakrequest/{request.pk}/change/", {}).status_code
        == 403
    )
    assert client.get("/admin/participation/speakrequest/add/").status_code == 403
