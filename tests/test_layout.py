"""The package's layout rules: every module imports on its own, there is no import loop, and
the light modules stay light.

An import loop is found statically: the graph of ``dwpose`` modules that import each other (at module
level or inside functions) must have no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "dwpose"
# Re-export shims, kept for one merge until their importers move (see their docstrings).
SHIMS: set = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The ``dwpose`` modules ``path`` imports (anywhere in the file), package ``__init__``s left out."""
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: List[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in modules and name.startswith("dwpose.") and not modules[name].name == "__init__.py":
                found.add(name)
    return found


def test_no_import_loop():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items() if name not in SHIMS}
    state: Dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: List[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                pytest.fail("import loop: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


@pytest.mark.slow
def test_every_module_imports_in_a_fresh_interpreter():
    names = [n for n in _modules() if not n.endswith("__main__")]
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    proc = subprocess.run([sys.executable, "-c", code, *names], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("module", ["dwpose.keypoints", "dwpose.fileio", "dwpose.errors",
                                    "dwpose.inference.pose_protocol", "dwpose.inference.cli",
                                    "dwpose.evaluation.report", "dwpose.evaluation.pckh",
                                    "dwpose.datasets.part_subset"])
def test_light_modules_import_no_torch_or_mm(module):
    code = (f"import sys, {module}\n"
            "heavy = [m for m in ('torch', 'mmengine', 'mmpose', 'mmcv', 'mmdet') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
