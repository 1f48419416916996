"""Imports run one way: bench -> api -> events -> inventory -> jobs -> accounts -> core, with config
(wiring) on top. A lower room (its code and its migrations) never imports or depends on a higher
one; nothing imports bench; core is a library with no models that imports no app; and config
holds only the wiring."""

import ast
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["core", "accounts", "jobs", "inventory", "events", "api", "bench"]  # bottom to top
TOP = "config"  # wiring: settings and URLs may import any app
ROOMS = [*ORDER, TOP]
HIGHER = {room: set(ROOMS[i + 1 :]) for i, room in enumerate(ROOMS)}
CONFIG_WIRING = {"__init__.py", "settings.py", "urls.py", "wsgi.py", "asgi.py", "views.py"}


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module a file imports, at the top or inside a function, relative imports made
    absolute, plus import_module("...") calls with a constant name."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def _string_references(path: Path, source: str | None = None) -> set[str]:
    """Lazy model references such as ForeignKey("events.Event") or to='events.event'."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    return {
        node.value.split(".")[0].lower()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.count(".") == 1
        and node.value.split(".")[0].lower() in ROOMS
        and node.value.split(".")[1].isidentifier()
    }


ROOM_FILES = [(room, p) for room in ROOMS for p in sorted((ROOT / room).rglob("*.py"))]


def reaches_up(room: str, path: Path, source: str | None = None) -> list[str]:
    higher = HIGHER[room]
    bad = sorted(m for m in _imported_modules(path, source) if m.split(".")[0] in higher)
    bad += sorted(f"reference {r!r}" for r in _string_references(path, source) if r in higher)
    return bad


@pytest.mark.parametrize(
    "room,path", ROOM_FILES, ids=[str(p.relative_to(ROOT)) for _, p in ROOM_FILES]
)
def test_no_room_imports_a_higher_one(room, path):
    bad = reaches_up(room, path)
    assert not bad, f"{path.relative_to(ROOT)} reaches up to {bad}"


def test_nothing_imports_bench():
    """bench is on top: its builders and timers use the apps, and no app (nor config) uses it."""
    bad = [
        str(path.relative_to(ROOT))
        for room, path in ROOM_FILES
        if room != "bench" and any(m.split(".")[0] == "bench" for m in _imported_modules(path))
    ]
    assert not bad, f"these import bench: {bad}"


def test_core_has_no_models_or_migrations():
    assert not (ROOT / "core" / "models.py").exists()
    assert not (ROOT / "core" / "migrations").exists()


def test_config_is_wiring_only():
    extra = sorted(p.name for p in (ROOT / TOP).glob("*.py") if p.name not in CONFIG_WIRING)
    assert not extra, f"config/ is wiring only; move {extra} to core/ or an app"


def test_the_scan_sees_every_room_including_migrations_and_function_level_imports():
    scanned = {str(p.relative_to(ROOT)) for _, p in ROOM_FILES}
    assert "inventory/migrations/0003_unit_facility_ledger_event.py" in scanned
    assert {"core/tasks.py", "jobs/models.py", "bench/build/builder.py"} <= scanned
    # Imports inside a function count; relative ones are resolved against the package.
    assert "jobs.kinds" in _imported_modules(ROOT / "inventory/apps.py")
    assert "jobs" in _imported_modules(ROOT / "jobs/models.py")  # from . import kinds


@pytest.mark.parametrize(
    "source,room,expected",
    [
        ("from events.models import Event\n", "inventory", ["events.models"]),
        ("def f():\n    from bench import pages\n", "events", ["bench"]),
        ('x = models.ForeignKey("inventory.Unit", on_delete=None)\n', "jobs", ["'inventory'"]),
        ("from config.settings import DEBUG\n", "core", ["config.settings"]),
        ("from accounts.models import User\n", "core", ["accounts.models"]),
        ("from accounts.models import User\n", "jobs", []),
    ],
)
def test_a_reach_upwards_is_caught(source, room, expected):
    """The checker itself: each kind of upward reach is named, a downward import is not."""
    found = reaches_up(room, ROOT / room / "probe.py", source)
    assert [f for f in found if any(e in f for e in expected)] == found
    assert len(found) == len(expected)


@pytest.mark.parametrize("room", [r for r in ORDER if r != "core"])
def test_migrations_depend_on_no_higher_room(room):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    bad = [
        (name, dep)
        for (label, name), migration in loader.disk_migrations.items()
        if label == room
        for dep in migration.dependencies
        if dep[0] in HIGHER[room]
    ]
    assert not bad, f"{room} migrations depend on a higher room: {bad}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (at the top or inside a function), where
    `from package import name` counts as importing the module package.name when there is one."""
    files = {_module_of(p): p for _, p in ROOM_FILES if "migrations" not in p.parts}
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = set()
        for imported in _imported_modules(path):
            if imported in files:
                targets.add(imported)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _imported_from(node, path)
                targets |= {f"{base}.{a.name}" for a in node.names} & files.keys()
        graph[module] = targets - {module}
    return graph


def _imported_from(node: ast.ImportFrom, path: Path) -> str:
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1] if node.level else []
    return ".".join([*base, *([node.module] if node.module else [])])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_round_a_cycle():
    """Not even inside a function: a lazy import that closes a cycle hides it from Python, not
    from the reader. The mail and task modules of accounts and inventory once made two."""
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_finds_a_lazy_cycle():
    graph = _import_graph()
    graph["accounts.mail"] = graph["accounts.mail"] | {"accounts.services"}
    assert ["accounts.mail", "accounts.services"] in _cycles(graph)
