"""Dependencies run one way: the apps built on broadcasts subscribe to what it announces
(broadcasts/signals.py) instead of broadcasts calling them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
    return modules


def test_the_broadcast_lifecycle_calls_no_service_of_the_apps_built_on_it():
    imported = imported_modules(ROOT / "broadcasts" / "services.py")
    assert not {name for name in imported if name.split(".")[0] == "leads"}
    # The publishing transport only: it is not domain (it moves to its own package).
    assert {name for name in imported if name.split(".")[0] == "participation"} == {
        "participation.fanout"
    }


def test_going_live_and_ending_have_their_subscribers():
    from broadcasts import signals
    from broadcasts.models import Broadcast

    for signal in (signals.went_live, signals.ending, signals.ended):
        assert signal.has_listeners(Broadcast)
