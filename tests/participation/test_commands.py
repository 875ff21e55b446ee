"""The live command registry: validating a frame's fields."""

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from participation.realtime.commands import REGISTRY, NoFields
from tests.garbage import cyclic_garbage

# One valid payload (the frame without `type` and `ref`) per command that has fields.
VALID_PAYLOADS = {
    "rtc.signal": {
        "to": 3,
        "data": {
            "kind": "candidate",
            "pc": "pc-1",
            "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0"},
        },
    },
    "lead.submit": {"name": "Ada", "email": "ada@example.com", "consent": True},
    "question.ask": {"text": "Does it ship to Norway?"},
    "question.upvote": {"question": 7},
    "question.approve": {"question": 7},
    "question.hide": {"question": 7},
    "question.show": {"question": 7},
    "question.answer": {"question": 7},
    "question.reopen": {"question": 7},
    "question.pin": {"question": 7},
    "question.unpin": {"question": 7},
    "hand.approve": {"attendee": 2},
    "hand.decline": {"attendee": 2},
    "stage.invite": {"attendee": 2},
    "stage.remove": {"attendee": 2},
    "attendee.remove": {"attendee": 2},
    "media.state": {"camera": False, "microphone": True},
    "rate": {"stars": 4},
    "cta.click": {"source": "embed"},
}


def test_every_command_with_fields_has_a_sample_here():
    with_fields = {name for name, command in REGISTRY.items() if command.fields is not NoFields}
    assert with_fields == set(VALID_PAYLOADS)


def test_validate_gives_the_data_or_the_errors_by_field():
    assert REGISTRY["rate"].validate({"stars": 4}) == ({"stars": 4}, None)
    assert REGISTRY["ping"].validate({"extra": 1}) == ({}, None)
    data, errors = REGISTRY["rtc.signal"].validate({"to": 0, "data": {"kind": "nope"}})
    assert data is None
    assert set(errors) == {"to", "data"}
    assert set(errors["data"]) == {"kind", "pc"}


def test_a_validated_frame_is_freed_at_once_not_by_the_cyclic_collector():
    # Each viewer's page pings every 20 s: with 5,000 of them, frames that only the
    # cyclic collector frees made collections long enough to show in fan-out latency.
    # Every command in one block (a collection of this process takes a good part of a
    # second); only if something is left are they taken one by one, to name them.
    assert serializer_parts_left(REGISTRY) == 0, {
        name: left for name in REGISTRY if (left := serializer_parts_left({name: REGISTRY[name]}))
    }


def serializer_parts_left(commands) -> int:
    """Serializer parts that validating each of `commands` 20 times leaves in cycles."""
    with cyclic_garbage() as found:
        for name, command in commands.items():
            payload = VALID_PAYLOADS.get(name, {})
            for _ in range(20):
                _data, errors = command.validate(payload)
                assert errors is None, (name, errors)
    return sum(isinstance(o, serializers.Field | BindingDict) for o in found)
