"""The rings of ARCHITECTURE.md and the shape of the code, checked by reading the sources.

Every check walks its packages whole, sub-packages included, and reads imports wherever
they are (inside functions too).
"""

from __future__ import annotations

import ast
import sys

import pytest

from tests.unit.modules import PACKAGES, PROJECT, Module, imports, module_names, modules, target, top_names

STDLIB = set(sys.stdlib_module_names)
ALLOWED = {
    "schemas": STDLIB | {"schemas", "pydantic"},
    "agents": STDLIB | {"agents", "schemas", "shapely", "rapidfuzz"},
}
FORBIDDEN_IN_AGENTS = {"faust", "aiokafka", "kafka", "httpx", "streams"}
WALL_CLOCK = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
MAX_FUNCTION_LINES = 80  # in streams/: the issue that split the worker and the API set it


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_stay_inside_its_ring(package: str) -> None:
    """schemas/ and agents/ import only what their ring allows (no Kafka, Faust or HTTP)."""
    for module in modules(package):
        outside = top_names(module) - ALLOWED[package]
        assert not outside, f"{module.path} imports {sorted(outside)}"


def test_agents_never_import_io_libraries() -> None:
    """agents/ stays pure: none of the I/O libraries appear in any of its imports."""
    for module in modules("agents"):
        assert not top_names(module) & FORBIDDEN_IN_AGENTS, module.path


def test_agents_never_read_the_wall_clock() -> None:
    """No time.time() or datetime.now() in agents/: time is event time only."""
    for module in modules("agents"):
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in WALL_CLOCK, f"{module.path}:{node.lineno}"


def test_only_settings_reads_the_environment() -> None:
    """os.environ / os.getenv appear nowhere in the packages but streams/settings.py (pydantic-settings)."""
    for module in modules(*PACKAGES):
        if module.name == "streams.settings":
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"environ", "environb", "getenv"}, f"{module.path}:{node.lineno}"
        taken = {(i.module, i.name) for i in imports(module)}
        assert not taken & {("os", "environ"), ("os", "environb"), ("os", "getenv")}, module.path


def test_the_walk_sees_the_sub_packages() -> None:
    """The checks above would pass vacuously if they read only the top folder of each package."""
    names = {module.name for module in modules(*PACKAGES)}
    assert {"streams.worker.app", "streams.api.views", "streams.dev.synthetic.generator"} <= names


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (at any depth, relative ones resolved)."""
    found = modules(*PACKAGES)
    known = {module.name for module in found}
    graph: dict[str, set[str]] = {}
    for module in found:
        loaded = (target(imported, known) for imported in imports(module))
        graph[module.name] = {name for name in loaded if name is not None and name != module.name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (first module repeated at the end) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is a few hundred nodes
        index[node] = low[node] = len(index)
        stack.append(node)
        for following in sorted(graph[node]):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            group = {node}
            while (member := stack.pop()) != node:
                group.add(member)
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop_through(min(group), group, graph) for group in groups]


def _loop_through(start: str, group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from `start` back to itself inside `group` (breadth first)."""
    paths = {following: [start, following] for following in sorted(graph[start] & group)}
    queue = list(paths)
    while start not in paths:
        node = queue.pop(0)
        for following in sorted(graph[node] & group):
            if following not in paths:
                paths[following] = [*paths[node], following]
                queue.append(following)
    return paths[start]


def test_no_import_cycle_among_the_projects_modules() -> None:
    """No module of schemas/, agents/ or streams/ imports, however indirectly, a module that imports it."""
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_cycle_finder_finds_cycles() -> None:
    """The check above is only worth something if it sees a cycle when there is one."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(module: Module, known: set[str]) -> list[str]:
    """`from project.module import _name`, and `module._name` on a project module the file imported."""
    found = [
        f"{module.path}:{imported.node.lineno} imports {imported.module}.{imported.name}"
        for imported in imports(module)
        if imported.name is not None and _private(imported.name) and imported.module in known
    ]
    bound = module_names(module, known)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            owner = bound.get(node.value.id)
            if owner is not None and owner != module.name:
                found.append(f"{module.path}:{node.lineno} uses {owner}.{node.attr}")
    return found


def test_no_module_takes_a_private_name_from_another() -> None:
    """A leading underscore means "this module's own": no other module of the project, tests
    included, imports it or reads it off the module."""
    found = modules(*PROJECT)
    known = {module.name for module in found}
    offenders = [use for module in found for use in private_uses(module, known)]
    assert not offenders, "private names used across modules:\n" + "\n".join(offenders)


def long_functions(module: Module, limit: int) -> list[tuple[str, int]]:
    """(qualified name, lines from `def` to its last line) of each function longer than `limit`."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = (child.end_lineno or child.lineno) - child.lineno + 1
                    if length > limit:
                        found.append((name, length))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(module.tree, "")
    return found


def test_no_function_in_streams_is_longer_than_80_lines() -> None:
    """Agents, timers and views are small module-level functions; a long one is a module waiting to be split."""
    offenders = [
        f"{module.name}.{name}: {length} lines"
        for module in modules("streams")
        for name, length in long_functions(module, MAX_FUNCTION_LINES)
    ]
    assert not offenders, f"functions longer than {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)


def test_the_checks_see_private_names_and_long_functions() -> None:
    """The two checks above find what they look for in a module made to break them."""
    source = (
        "from tests import support as s\nfrom tests.support import _items\nimport tests.paths as p\n"
        "def long():\n" + "    x = 1\n" * 80 + "s._ids, p._hidden, p.__doc__\n"
    )
    fake = Module("fake", "fake.py", ast.parse(source), is_package=False)
    assert private_uses(fake, {"tests", "tests.support", "tests.paths"}) == [
        "fake.py:2 imports tests.support._items",
        "fake.py:85 uses tests.support._ids",
        "fake.py:85 uses tests.paths._hidden",
    ]
    assert long_functions(fake, 80) == [("long", 81)]
