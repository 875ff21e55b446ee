"""Dependencies run one way: each layer of the house imports only the layers below it
(the apps built on broadcasts subscribe to what it announces, broadcasts/signals.py,
instead of broadcasts calling them); the real-time layer (participation/realtime/)
imports no domain code, and its modules no cycle."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# The house, bottom up. A layer may import the layers before it, never one after it:
# there is no cycle between apps. The real-time layer counts apart from participation,
# the domain that uses it; config wires everything and is imported by none of them.
LAYERS = ["core", "participation.realtime", "broadcasts", "participation", "leads", "backoffice"]


def layer_of(module: str) -> str | None:
    for layer in sorted(LAYERS, key=len, reverse=True):  # the longest prefix: realtime
        if module == layer or module.startswith(layer + "."):
            return layer
    return "config" if module.split(".")[0] == "config" else None


def test_each_layer_imports_only_the_layers_below_it():
    upward = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer.replace(".", "/")).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = layer_of(module_name(path))
            if source != layer:  # participation/realtime/ is walked on its own
                continue
            for imported in every_import(path):
                target = layer_of(imported)
                if target is None or target == source:
                    continue
                if target == "config" or LAYERS.index(target) > LAYERS.index(source):
                    upward.append(f"{module_name(path)} imports {imported}")
    assert upward == []


def test_the_layer_check_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The check above must see the imports that hide: inside a function, or relative."""
    package = tmp_path / "broadcasts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sneaky.py").write_text(
        "def later():\n"
        "    from leads.capture import leads_count\n"
        "    from ..participation import x\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    imported = every_import(package / "sneaky.py")
    assert {"leads.capture", "participation.x"} <= imported
    assert [layer_of(name) for name in sorted(imported & {"leads.capture", "participation.x"})] == [
        "leads",
        "participation",
    ]


def test_the_broadcast_lifecycle_calls_no_service_of_the_apps_built_on_it():
    imported = every_import(ROOT / "broadcasts" / "services.py")
    assert not {name for name in imported if name.split(".")[0] == "leads"}
    # The publishing transport and the event catalogue only: they are not domain.
    assert {name for name in imported if name.split(".")[0] == "participation"} == {
        "participation.realtime",
        "participation.realtime.events",
        "participation.realtime.publish",
        "participation.realtime.publish.publish_on_commit",
    }


def test_going_live_and_ending_have_their_subscribers():
    from broadcasts import signals
    from broadcasts.models import Broadcast

    for signal in (signals.went_live, signals.ending, signals.ended):
        assert signal.has_listeners(Broadcast)


REALTIME = ROOT / "participation" / "realtime"
# What the real-time layer may import besides the standard library and itself.
REALTIME_MAY_IMPORT = {"django", "channels", "redis", "rest_framework", "core.errors"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def every_import(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, relative imports
    resolved; `from package import name` counts `package.name` too (it may be a module)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            modules.add(module)
            modules |= {f"{module}.{alias.name}" for alias in node.names}
    return modules


def realtime_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(REALTIME.glob("*.py"))}


def allowed_for_realtime(module: str) -> bool:
    top = module.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or module == "participation.realtime"
        or module.startswith("participation.realtime.")
        or any(module == name or module.startswith(name + ".") for name in REALTIME_MAY_IMPORT)
    )


def test_the_real_time_layer_imports_no_domain_code():
    assert len(realtime_modules()) > 5
    outside = {
        name: sorted(
            imported
            for imported in every_import(path)
            if not allowed_for_realtime(imported)
            # `from core.errors import RateLimited`: a name of an allowed module
            and not allowed_for_realtime(imported.rpartition(".")[0])
        )
        for name, path in realtime_modules().items()
    }
    assert {name: found for name, found in outside.items() if found} == {}


def test_the_real_time_layer_imports_nothing_of_participation_broadcasts_or_leads():
    for name, path in realtime_modules().items():
        for imported in every_import(path):
            top = imported.split(".")[0]
            assert top not in ("broadcasts", "leads", "config"), (name, imported)
            if top == "participation":
                assert imported.startswith("participation.realtime"), (name, imported)


def test_the_real_time_layer_has_no_import_cycle():
    modules = realtime_modules()
    graph = {
        name: {imported for imported in every_import(path) if imported in modules} - {name}
        for name, path in modules.items()
    }
    # `from . import names` in the package itself is not a cycle through it.
    graph["participation.realtime"] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path, name])
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_every_domain_error_code_is_a_code_of_the_protocol():
    from core import errors
    from participation.realtime.codes import CLOSE_CODES, ERROR_CODES

    codes = {
        error.code
        for error in vars(errors).values()
        if isinstance(error, type) and issubclass(error, errors.DomainError)
    }
    assert codes == set(ERROR_CODES)
    assert set(CLOSE_CODES) <= set(ERROR_CODES)
