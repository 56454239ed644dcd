"""The rings of ARCHITECTURE.md, checked by reading the imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

STDLIB = set(sys.stdlib_module_names)
ALLOWED = {
    "schemas": STDLIB | {"schemas", "pydantic"},
    "agents": STDLIB | {"agents", "schemas", "shapely", "rapidfuzz"},
}
FORBIDDEN_IN_AGENTS = {"faust", "aiokafka", "kafka", "httpx", "streams"}
WALL_CLOCK = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_stay_inside_its_ring(package: str) -> None:
    """schemas/ and agents/ import only what their ring allows (no Kafka, Faust or HTTP)."""
    files = sorted((ROOT / package).glob("*.py"))
    assert files, f"no modules found in {package}/"
    for path in files:
        outside = _imports(path) - ALLOWED[package]
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_agents_never_import_io_libraries() -> None:
    """agents/ stays pure: none of the I/O libraries appear in any of its imports."""
    for path in sorted((ROOT / "agents").glob("*.py")):
        assert not _imports(path) & FORBIDDEN_IN_AGENTS, path.name


def test_agents_never_read_the_wall_clock() -> None:
    """No time.time() or datetime.now() in agents/: time is event time only."""
    for path in sorted((ROOT / "agents").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in WALL_CLOCK, f"{path.name}:{node.lineno}"


def test_only_settings_reads_the_environment() -> None:
    """os.environ / os.getenv appear nowhere in the packages (settings.py uses pydantic-settings)."""
    for package in ("schemas", "agents", "streams"):
        for path in sorted((ROOT / package).glob("*.py")):
            if path == ROOT / "streams" / "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            assert "os.environ" not in text and "getenv(" not in text, path
