"""Imports run one way: settings (with the shared vocabulary beside it: names, versions, images,
bindings, the database's shape) -> azure and kubernetes -> stores -> aidbox -> program (how
__main__.py composes them) -> __main__.py.
A lower layer that imports a higher one is a cycle waiting to happen, and a sign that a piece
sits in the wrong room."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
# Each room's rank; a module may import from its own rank or below. Modules directly under
# components/ are the shared vocabulary: rank 0 with the settings.
RANKS = {"settings": 0, "azure": 1, "kubernetes": 1, "stores": 2, "aidbox": 3, "program": 4}


def rank(parts: tuple[str, ...]) -> int:
    """The rank of `components.<parts...>`: its room's, or 0 for a shared module."""
    return RANKS.get(parts[0], 0) if len(parts) > 1 or parts[0] in RANKS else 0


def imported(path: Path) -> list[tuple[str, ...]]:
    """What a module under components/ imports from components/, as path parts."""
    package = path.relative_to(COMPONENTS).parent.parts
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module.split(".") if node.module else ()))
                if not node.module:
                    found += [(*target, alias.name) for alias in node.names]
                    continue
            elif node.module and node.module.split(".")[0] == "components":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            found.append(target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "components":
                    found.append(tuple(alias.name.split(".")[1:]))
    return [t for t in found if t]


def upward_imports() -> list[str]:
    wrong = []
    for path in sorted(COMPONENTS.rglob("*.py")):
        parts = path.relative_to(COMPONENTS).with_suffix("").parts
        own = rank(parts)
        for target in imported(path):
            if rank(target) > own:
                wrong.append(f"{'/'.join(parts)}.py imports {'.'.join(target)}")
    return wrong


def test_imports_run_one_way() -> None:
    assert upward_imports() == []


def test_the_check_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    """The walker itself: a relative import two levels up, and an absolute one."""
    module = COMPONENTS / "stores" / "vault" / "store.py"
    targets = imported(module)
    assert ("binding",) in targets  # from ...binding import StoreBinding
    assert all(rank(t) <= RANKS["stores"] for t in targets), targets
    assert rank(("aidbox", "component")) == 3 and rank(("naming",)) == 0
