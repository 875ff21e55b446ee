"""The event catalogue (participation/realtime/events.py) covers DESIGN section 4, and
every publisher builds its frames there."""

import ast
import inspect
from pathlib import Path

import pytest

from participation.realtime import events

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCT = ["core", "config", "broadcasts", "participation", "leads", "backoffice"]
CATALOGUE = ROOT / "participation" / "realtime" / "events.py"

# DESIGN section 4's "Events:" list, written out by hand (DESIGN.md is shared with the
# team, outside this repository): public ones, then the private ones.
DESIGN_EVENTS = [
    "broadcast.state",
    "stage.changed",
    "hand.raised",
    "hand.lowered",
    "question.added",
    "question.updated",
    "likes",
    "audience",
    "lead.prompt",
    "rtc.signal",
    "hand.pending",
    "hand.approved",
    "hand.declined",
]
# And the fields DESIGN gives them.
DESIGN_FIELDS = {
    "broadcast.state": {"state"},
    "stage.changed": {"stage"},
    "hand.raised": {"attendee"},
    "hand.lowered": {"attendee"},
    "likes": {"count"},
    "audience": {"count", "sample"},
    "question.added": {"question"},
    "question.updated": {"question"},
}

# `"type": "..."` literals product code may keep outside the catalogue: replies and
# first frames, which are not events, and two that are not frames at all.
NOT_EVENTS = {
    ("participation/consumers.py", "ack"),
    ("participation/consumers.py", "error"),
    ("participation/snapshots.py", "snapshot"),
    ("backoffice/dashboard.py", "snapshot"),
    # The channel-layer message that carries an encoded `export` frame to the exports
    # page's consumer (its handler's name), not a frame.
    ("leads/exports.py", "export.changed"),
    # An <input type="date"> of the exports form.
    ("leads/forms.py", "date"),
    # JSON Schema types of the API's documented refusals.
    ("config/api.py", "object"),
    ("config/api.py", "string"),
    ("config/api.py", "array"),
}

PUBLISHERS = {
    "publish_on_commit",
    "publish",
    "send_private",
    "send_private_on_commit",
    "send_to_hosts",
    "send_to_hosts_on_commit",
    "push",
}


def _made_by(constructor) -> dict:
    """What a constructor makes from placeholder arguments."""
    return constructor(**dict.fromkeys(inspect.signature(constructor).parameters))


def test_every_event_of_design_has_a_constructor_named_after_it():
    for name in DESIGN_EVENTS:
        constructor = events.LIVE_EVENTS.get(name)
        assert constructor is not None, f"no constructor for {name}"
        assert constructor.__name__ == name.replace(".", "_")
        assert _made_by(constructor)["type"] == name
    for name, fields in DESIGN_FIELDS.items():
        assert fields <= set(_made_by(events.LIVE_EVENTS[name])), name


@pytest.mark.parametrize(
    "catalogue", [events.LIVE_EVENTS, events.EXPORTS_EVENTS], ids=["live", "exports"]
)
def test_each_constructor_makes_its_own_type_first_and_is_keyword_only(catalogue):
    for name, constructor in catalogue.items():
        frame = _made_by(constructor)
        assert next(iter(frame)) == "type", name  # the wire's key order: `type` first
        assert frame["type"] == name
        parameters = inspect.signature(constructor).parameters.values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), name


def _product_files():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and path != CATALOGUE:
                yield path


def _type_literals(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "type"
                    and isinstance(value, ast.Constant)
                ):
                    yield node.lineno, value.value


def test_no_event_is_written_outside_the_catalogue():
    found = set()
    for path in _product_files():
        relative = path.relative_to(ROOT).as_posix()
        for line, kind in _type_literals(ast.parse(path.read_text())):
            found.add((relative, kind))
            assert (relative, kind) in NOT_EVENTS, f"{relative}:{line} writes {kind!r} by hand"
    assert found == NOT_EVENTS  # an entry above that is gone goes from the list too


def test_no_publisher_is_handed_a_dict_literal():
    """`{"type": kind, ...}` escapes the literal check above; at a publisher it is caught."""
    literal = []
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in PUBLISHERS and any(isinstance(arg, ast.Dict) for arg in node.args):
                literal.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert literal == []
