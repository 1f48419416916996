"""The repository stands alone: the README explains the rules and links nothing outside it."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = {".py", ".html", ".md", ".js", ".css", ".toml", ".txt", ".cfg"}


SKIP_DIRS = {"staticfiles", "test-artifacts", "node_modules", "__pycache__"}


def _repo_files():
    for top in ROOT.iterdir():
        if top.name.startswith(".") or top.name in SKIP_DIRS:
            continue
        candidates = [top] if top.is_file() else top.rglob("*")
        for path in candidates:
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                yield path


def test_readme_links_resolve_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", readme, flags=re.M)
    }
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        if target.startswith("#"):
            assert target[1:] in anchors, target
        else:
            assert not target.startswith(("http", "/", "..")), target
            assert (ROOT / target).exists(), target


def test_readme_explains_how_trunkpool_works():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How Trunkpool works", 1)[1].split("\n## ", 1)[0]
    for heading in (
        "Roles",
        "Pooling",
        "Unit states",
        "The custody filter",
        "Transfers",
        "Events and facility stock",
    ):
        assert f"### {heading}" in section


def test_nothing_points_outside_the_repository():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _repo_files()
        if path.name != "test_readme.py"
        and re.search(r"\.\./shared|DESIGN\.md|STYLE\.md", path.read_text(errors="ignore"))
    ]
    assert offenders == []


def _make_run_dry(*args):
    """What `make run` would run (make -n prints the commands without running them)."""
    return subprocess.run(
        ["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_run_serves_on_the_port_it_is_given():
    assert "runserver 127.0.0.1:8000" in _make_run_dry()
    assert "runserver 127.0.0.1:8001" in _make_run_dry("PORT=8001")
    assert "SITE_URL:-http://127.0.0.1:8001" in _make_run_dry("PORT=8001")
    assert "make run PORT=8001" in (ROOT / "README.md").read_text()
