"""The package rules of docs/architecture.md, read from the code's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "syncctl"
# Any package may import these.
EVERYWHERE = {"errors", "logging", "waiting"}
# Each package and what else it may import (besides itself); docs/architecture.md shows the same.
ALLOWED = {
    "contract": set(),
    "errors": set(),
    "logging": set(),
    "waiting": set(),
    "describe": {"contract"},
    "selection": {"contract"},
    "settings": {"contract"},
    "machine": {"contract"},
    "kafka": {"settings"},
    "store": {"kafka", "contract", "settings"},
    "observability": {"settings"},
    "listing": {"kafka", "contract", "selection"},
    "client": {"kafka", "contract", "settings", "selection", "listing"},
    "engine": {"client", "kafka", "contract"},
    "worker": {"store", "machine", "kafka", "observability", "contract", "settings"},
    "runner": {"engine", "client", "kafka", "contract", "settings"},
    "connect": {"engine", "client", "kafka", "contract", "settings"},
    "console": {"client", "kafka", "machine", "describe", "selection", "contract", "settings"},
    "local": set(),
    "cli": {
        "worker",
        "runner",
        "connect",
        "console",
        "engine",
        "client",
        "listing",
        "store",
        "observability",
        "kafka",
        "machine",
        "settings",
        "describe",
        "selection",
        "contract",
        "local",
    },
    "__init__": {"client", "machine", "selection"},  # the public API: `from syncctl import ...`
    "__main__": {"cli"},
}


def packages() -> set[str]:
    return {
        path.name.removesuffix(".py")
        for path in PACKAGE.iterdir()
        if path.suffix == ".py" or (path / "__init__.py").exists()
    }


def imports_by_package() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for module in PACKAGE.rglob("*.py"):
        package = module.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                raise AssertionError(f"{module}: a relative import; the rules read absolute ones")
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "syncctl" and len(parts) > 1 and parts[1] != package:
                    found.setdefault(package, set()).add(parts[1])
    return found


def test_every_package_has_rules() -> None:
    assert packages() == set(ALLOWED), "a package docs/architecture.md does not place"


def test_every_package_imports_only_what_the_architecture_allows() -> None:
    broken = {
        package: sorted(imported - ALLOWED[package] - EVERYWHERE)
        for package, imported in imports_by_package().items()
        if imported - ALLOWED[package] - EVERYWHERE
    }
    assert broken == {}, f"imports that break docs/architecture.md's rules: {broken}"


def test_the_rules_allow_no_import_that_nothing_uses() -> None:
    found = imports_by_package()
    unused = {
        package: sorted(allowed - found.get(package, set()))
        for package, allowed in ALLOWED.items()
        if allowed - found.get(package, set())
    }
    assert unused == {}, f"rules (and docs/architecture.md) wider than the code: {unused}"


def test_nothing_on_the_workers_path_reaches_the_local_stack() -> None:
    graph = imports_by_package()
    reached, pending = set(), ["worker", "runner", "connect", "console", "client"]
    while pending:
        package = pending.pop()
        if package not in reached:
            reached.add(package)
            pending += graph.get(package, set())
    assert "local" not in reached and "cli" not in reached
