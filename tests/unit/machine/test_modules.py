"""The machine's modules import one way, as docs/architecture.md ("The state machine") shows."""

from __future__ import annotations

import ast
from graphlib import TopologicalSorter
from pathlib import Path

MACHINE = Path(__file__).resolve().parents[3] / "src" / "syncctl" / "machine"
# Each module of syncctl.machine and the modules of it that it may import.
_BASE = {"rejections", "stages", "transitions", "reasons", "model"}
ALLOWED = {
    "__init__": {"core", "model", "rejections"},
    "core": {
        "create",
        "stops",
        "schedules",
        "changes",
        "reports",
        "timer",
        "retention",
        "model",
        "transitions",
    },
    "retention": {"model", "transitions"},
    "timer": {"stops", "schedules", "changes", "model"},
    "reports": {"stops", "changes"} | _BASE,
    "stops": _BASE,
    "schedules": _BASE,
    "changes": _BASE,
    "create": _BASE,
    "rejections": {"reasons", "model"},
    "transitions": {"reasons", "model"},
    "stages": {"model"},
    "reasons": set(),
    "model": set(),
}


def machine_imports(module: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "syncctl.machine":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "syncctl.machine."
        ):
            found.add(node.module.split(".")[2])
    return found


def test_every_module_is_listed_and_imports_only_what_is_allowed() -> None:
    modules = {path.stem: path for path in MACHINE.glob("*.py")}
    assert set(modules) == set(ALLOWED), "list a new module of syncctl.machine in ALLOWED"
    broken = {
        name: sorted(machine_imports(path) - ALLOWED[name])
        for name, path in modules.items()
        if machine_imports(path) - ALLOWED[name]
    }
    assert broken == {}


def test_the_allowed_imports_have_no_cycle() -> None:
    TopologicalSorter(ALLOWED).prepare()  # raises CycleError on a cycle
