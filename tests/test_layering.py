"""Imports run one way: events -> inventory -> accounts. A lower app (its code and its
migrations) never imports or depends on a higher one."""

import ast
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["accounts", "inventory", "events"]  # bottom to top
# config.web (views plumbing shared by every app) imports no app, so it is not "higher".
HIGHER = {app: set(ORDER[i + 1 :]) for i, app in enumerate(ORDER)}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def _string_references(path: Path) -> set[str]:
    """Lazy model references such as ForeignKey("events.Event") or to='events.event'."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.value.split(".")[0].lower()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.count(".") == 1
        and node.value.split(".")[0].lower() in ORDER
        and node.value.split(".")[1].isidentifier()
    }


LOWER_APP_FILES = [
    (app, p) for app in ("accounts", "inventory") for p in (ROOT / app).rglob("*.py")
]


@pytest.mark.parametrize(
    "app,path", LOWER_APP_FILES, ids=[str(p.relative_to(ROOT)) for _, p in LOWER_APP_FILES]
)
def test_lower_app_imports_no_higher_app(app, path):
    higher = HIGHER[app]
    bad = sorted(m for m in _imported_modules(path) if m.split(".")[0] in higher)
    bad += sorted(f"reference {r!r}" for r in _string_references(path) if r in higher)
    assert not bad, f"{path.relative_to(ROOT)} reaches up to {bad}"


def test_scan_sees_every_lower_app_file_including_migrations():
    scanned = {str(p.relative_to(ROOT)) for _, p in LOWER_APP_FILES}
    assert "inventory/migrations/0003_unit_facility_ledger_event.py" in scanned
    assert "accounts/services.py" in scanned


@pytest.mark.parametrize("app", ["accounts", "inventory"])
def test_lower_app_migrations_depend_on_no_higher_app(app):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    bad = [
        (name, dep)
        for (label, name), migration in loader.disk_migrations.items()
        if label == app
        for dep in migration.dependencies
        if dep[0] in HIGHER[app]
    ]
    assert not bad, f"{app} migrations depend on a higher app: {bad}"


# config holds plumbing every app uses (views helpers, cursors, CSV cells, the job runner):
# beside the wiring (settings, urls, wsgi, asgi) it imports no app, not even inside a function,
# so no app -> config -> app import cycle can form.
# views.py is wiring too: the home page, above every app, that only urls.py imports.
CONFIG_WIRING = {"settings.py", "urls.py", "wsgi.py", "asgi.py", "__init__.py", "views.py"}
CONFIG_FILES = sorted(p for p in (ROOT / "config").rglob("*.py") if p.name not in CONFIG_WIRING)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=[p.name for p in CONFIG_FILES])
def test_config_plumbing_imports_no_app(path):
    bad = sorted(m for m in _imported_modules(path) if m.split(".")[0] in ORDER)
    assert not bad, f"{path.relative_to(ROOT)} imports app modules {bad}"


def test_config_scan_sees_the_plumbing():
    names = {p.name for p in CONFIG_FILES}
    assert {"web.py", "keyset.py", "csvsafe.py", "tasks.py"} <= names
    assert not (ROOT / "config" / "mail.py").exists()  # mail is the accounts app's
