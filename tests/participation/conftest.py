"""The people of a live broadcast that participation tests share (tests/conftest.py
has the broadcast, its host and a signed-in viewer)."""

import pytest

from participation.services import attendee_for_user
from tests.factories import GuestFactory


@pytest.fixture
def ann(live_broadcast):
    """A guest watching the live broadcast, as "Ann"."""
    return GuestFactory(broadcast=live_broadcast, display_name="Ann")


@pytest.fixture
def ben(live_broadcast):
    """Another guest watching it, as "Ben" (made after Ann when a test takes both)."""
    return GuestFactory(broadcast=live_broadcast, display_name="Ben")


@pytest.fixture
def guests(ann, ben):
    """Ann and Ben, in that order, for tests that unpack `ann, ben = guests`."""
    return [ann, ben]


@pytest.fixture
def host_attendee(live_broadcast, host):
    """The host's own attendee of the live broadcast (what their console joins as)."""
    return attendee_for_user(broadcast=live_broadcast, user=host)
