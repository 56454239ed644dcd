"""The project's modules as the architecture tests read them: parsed, never imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from tests.paths import ROOT

PACKAGES = ("schemas", "agents", "streams")
"""The shipped packages."""

PROJECT = (*PACKAGES, "tests", "benchmarks")
"""Every folder of the project's own Python code."""


@dataclass(frozen=True)
class Module:
    name: str  # dotted, as imported: "streams.worker.app", "streams.worker" for its __init__.py
    path: str  # relative to the checkout
    tree: ast.Module
    is_package: bool


@dataclass(frozen=True)
class Import:
    node: ast.Import | ast.ImportFrom
    module: str  # the module named by the statement (relative imports resolved)
    name: str | None  # the name taken from it (`from module import name`), None for `import module`
    alias: str  # the name the importing module binds


@cache
def modules(*tops: str) -> tuple[Module, ...]:
    """Every module under the given top-level folders, sub-packages included."""
    found = []
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found.append(Module(name, str(path.relative_to(ROOT)), tree, is_package))
    assert found, f"no modules under {tops}"
    return tuple(found)


def imports(module: Module) -> Iterator[Import]:
    """Every import statement of the module, at any depth (inside functions too)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(node, alias.name, None, alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                yield Import(node, base, alias.name, alias.asname or alias.name)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def target(imported: Import, known: set[str]) -> str | None:
    """The project module an import loads (`from pkg import mod` loads pkg.mod), or None."""
    if imported.name is not None and f"{imported.module}.{imported.name}" in known:
        return f"{imported.module}.{imported.name}"
    return imported.module if imported.module in known else None


def top_names(module: Module) -> set[str]:
    """The top-level package of every import (`faust`, `schemas`, `os`...)."""
    return {imported.module.split(".")[0] for imported in imports(module) if imported.module}


def module_names(module: Module, known: set[str]) -> dict[str, str]:
    """Local name -> the project module it stands for (`import a.b as c`, `from a import b`)."""
    bound = {}
    for imported in imports(module):
        if imported.name is None:
            dotted = imported.module if imported.alias != imported.module.split(".")[0] else imported.alias
        else:
            dotted = f"{imported.module}.{imported.name}"
        if dotted in known:
            bound[imported.alias] = dotted
    return bound
