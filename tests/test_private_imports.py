"""No module reaches into another's private names: ``from dwpose.x import _name`` or ``module._name``.

A private name may be renamed or removed by its own module at any time; what other modules use must
be public. The check is static (AST) over the package, the tools and the root entry points.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(REPO / "dwpose").rglob("*.py"), *(REPO / "tools").rglob("*.py"), *REPO.glob("*.py")])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str, path: str = "<src>") -> List[str]:
    """``path:line name`` for every private name of a ``dwpose`` module used outside it."""
    tree = ast.parse(source)
    modules = set()  # local names bound to dwpose modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dwpose"):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{path}:{node.lineno} from {node.module} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dwpose"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"{path}:{node.lineno} {node.value.id}.{node.attr}")
    return sorted(found, key=lambda use: int(use.split(":")[1].split()[0]))


def test_no_module_uses_another_modules_private_names():
    found = [use for p in SOURCES for use in private_uses(p.read_text(), str(p.relative_to(REPO)))]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_check_finds_both_forms():
    src = ("from dwpose.demo import _train, run\nfrom dwpose import demo\nimport dwpose.video as v\n"
           "demo._evaluate()\nv._positive_int\ndemo.run()\nfrom dwpose.engine import train as _train2\n")
    assert private_uses(src) == ["<src>:1 from dwpose.demo import _train", "<src>:4 demo._evaluate",
                                 "<src>:5 v._positive_int"]
