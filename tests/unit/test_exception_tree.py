"""One exception root: every exception class of the packages is an `AidmonError`, named
`...Error`, and drawn where it hangs in the tree of `schemas/exceptions.py`'s docstring."""

from __future__ import annotations

import ast
import builtins
import importlib
import re

import schemas.exceptions
from tests.unit.modules import PACKAGES, Module, modules

ROOT_ERROR = "schemas.exceptions.AidmonError"
BRANCH = re.compile(r"^(?P<indent>[\s│├└─]*?)(?P<name>[A-Z]\w*)\b")


def classes() -> dict[str, tuple[Module, ast.ClassDef]]:
    """Every class of the packages (nested ones too), by "module.Class"."""
    return {
        f"{module.name}.{node.name}": (module, node)
        for module in modules(*PACKAGES)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
    }


def _bindings(module: Module) -> dict[str, str]:
    """Local name -> what it stands for, dotted ("schemas.exceptions.ApiError", "httpx")."""
    bound = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                bound[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def bases(module: Module, node: ast.ClassDef) -> list[str]:
    """The dotted names of a class's bases, resolved through the module's imports."""
    bound = _bindings(module)
    local = {c.name for c in ast.walk(module.tree) if isinstance(c, ast.ClassDef)}
    found = []
    for base in node.bases:
        dotted = ast.unparse(base.value if isinstance(base, ast.Subscript) else base)
        head, _, rest = dotted.partition(".")
        if head in bound:
            head = bound[head]
        elif head in local:
            head = f"{module.name}.{head}"
        elif hasattr(builtins, head):
            head = f"builtins.{head}"
        found.append(f"{head}.{rest}" if rest else head)
    return found


def _outside_class(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name, None)
    except (ImportError, ValueError):  # a name the module did not import (a local of a function)
        return None


def ancestors(dotted: str, known: dict[str, tuple[Module, ast.ClassDef]]) -> set[str]:
    """Every class `dotted` derives from (project classes by name, others down to `builtins`)."""
    if dotted not in known:
        found = _outside_class(dotted)
        return {f"{c.__module__}.{c.__qualname__}" for c in found.__mro__} if isinstance(found, type) else set()
    result = set()
    for base in bases(*known[dotted]):
        result |= {base} | ancestors(base, known)
    return result


def exception_classes() -> dict[str, set[str]]:
    """"module.Class" -> its ancestors, for every class of the packages that is an exception."""
    known = classes()
    found = {dotted: ancestors(dotted, known) for dotted in known}
    return {dotted: above for dotted, above in found.items() if "builtins.BaseException" in above}


def drawn_tree() -> dict[str, str | None]:
    """Class name -> the name it hangs under in the docstring's tree (None for the root)."""
    doc = schemas.exceptions.__doc__ or ""
    parents: dict[str, str | None] = {}
    path: list[tuple[int, str]] = []  # (column, name) from the root down to the last line
    for line in doc.splitlines():
        match = BRANCH.match(line)
        if not match or not match["name"].endswith("Error") or (not path and match["indent"].strip()):
            continue
        column = len(match["indent"])
        while path and path[-1][0] >= column:
            path.pop()
        parents[match["name"]] = path[-1][1] if path else None
        path.append((column, match["name"]))
    return parents


def test_the_tree_is_found() -> None:
    """The checks below read the drawing: it must be there, rooted at AidmonError."""
    tree = drawn_tree()
    assert tree["AidmonError"] is None
    assert tree["SanctionsListError"] == "ConfigurationError" and tree["BadCursorError"] == "ApiError"


def test_every_exception_derives_from_the_root_and_is_named_error() -> None:
    """No exception class of the packages escapes AidmonError, and each one says it is an error."""
    found = exception_classes()
    assert f"{ROOT_ERROR}" in found and "schemas.exceptions.InvalidEventError" in found
    outside = sorted(dotted for dotted, above in found.items() if dotted != ROOT_ERROR and ROOT_ERROR not in above)
    assert not outside, f"exceptions outside {ROOT_ERROR}: {outside}"
    misnamed = sorted(dotted for dotted in found if not dotted.endswith("Error"))
    assert not misnamed, f"exception names not ending in Error: {misnamed}"


def test_the_drawn_tree_is_the_class_tree() -> None:
    """Each exception class is drawn under its own base class, and the drawing names no other class."""
    tree = drawn_tree()
    found = exception_classes()
    known = classes()
    actual = {}
    for dotted in found:
        parent = next((b for b in bases(*known[dotted]) if b in found), None)
        actual[dotted.rpartition(".")[2]] = parent.rpartition(".")[2] if parent else None
    assert actual == tree


def test_the_check_sees_an_exception_outside_the_root() -> None:
    """An exception class deriving from a builtin one, even through another class, is found as such."""
    source = (
        "import schemas.exceptions as e\n"
        "class Oops(ValueError): ...\nclass Worse(Oops): ...\nclass Fine(e.ApiError): ...\n"
    )
    fake = Module("fake", "fake.py", ast.parse(source), is_package=False)
    known = {f"fake.{c.name}": (fake, c) for c in fake.tree.body if isinstance(c, ast.ClassDef)}
    assert {"builtins.ValueError", "builtins.BaseException"} <= ancestors("fake.Worse", known)
    assert ROOT_ERROR not in ancestors("fake.Worse", known)
    assert ROOT_ERROR in ancestors("fake.Fine", known)
