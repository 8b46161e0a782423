"""The package rules of docs/architecture.md, read from the code's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "syncctl"
# Each package and what it may import (besides itself); docs/architecture.md shows the same.
ALLOWED = {
    "contract": set(),
    "errors": set(),
    "logging": set(),
    "describe": {"contract"},
    "selection": {"contract", "errors"},
    "settings": {"contract", "errors"},
    "machine": {"contract"},
    "kafka": {"settings", "errors", "logging", "contract"},
    "store": {"kafka", "contract", "settings", "errors", "logging"},
    "observability": {"settings", "logging"},
    "client": {"kafka", "contract", "settings", "errors", "selection"},
    "worker": {
        "store",
        "machine",
        "kafka",
        "observability",
        "contract",
        "settings",
        "errors",
        "logging",
    },
    "runner": {"client", "kafka", "contract", "settings", "errors", "logging", "machine"},
    "connect": {"client", "runner", "kafka", "contract", "settings", "errors", "logging"},
    "console": {
        "client",
        "kafka",
        "machine",
        "describe",
        "contract",
        "settings",
        "errors",
        "logging",
    },
    "local": {"errors"},
}


def imports_by_package() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for module in PACKAGE.rglob("*.py"):
        package = module.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "syncctl" and len(parts) > 1 and parts[1] != package:
                    found.setdefault(package, set()).add(parts[1])
    return found


def test_every_package_imports_only_what_the_architecture_allows() -> None:
    broken = {
        package: sorted(imported - ALLOWED[package])
        for package, imported in imports_by_package().items()
        if package in ALLOWED and imported - ALLOWED[package]
    }
    assert broken == {}, f"imports that break docs/architecture.md's rules: {broken}"


def test_nothing_on_the_workers_path_reaches_the_local_stack() -> None:
    graph = imports_by_package()
    reached, pending = set(), ["worker", "runner", "connect", "console", "client"]
    while pending:
        package = pending.pop()
        if package not in reached:
            reached.add(package)
            pending += graph.get(package, set())
    assert "local" not in reached and "cli" not in reached
