"""Helpers of the tools/analysis smoke tests: run a script as its documentation does, read its tables."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def run_tool(script: str, *args: str, timeout: float = 300, env: Optional[dict] = None
             ) -> subprocess.CompletedProcess:
    """``python tools/analysis/SCRIPT ARGS`` from the repository root (this checkout on PYTHONPATH, as
    a test run has it); fails the test with the end of stderr unless it exits 0."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    run = subprocess.run([sys.executable, f"tools/analysis/{script}", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{script} exited {run.returncode}:\n{run.stderr[-3000:]}"
    return run


def table(text: str, first_header: str) -> Tuple[List[str], List[List[str]]]:
    """The Markdown table of ``text`` whose header row's first cell starts with ``first_header``:
    ``(header cells, body rows of cells)``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0].startswith(first_header):
            assert set(lines[i + 1].replace("|", "").strip()) <= set("-: "), f"no separator under {line}"
            body = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                body.append(_cells(row))
            assert body and all(len(r) == len(cells) for r in body), f"ragged or empty table:\n{text}"
            return cells, body
    raise AssertionError(f"no table starting with {first_header!r} in:\n{text}")


def _cells(line: str) -> List[str]:
    line = line.strip()
    return [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else []


def numbers(cell: str) -> List[float]:
    """The numbers written in a table cell (``"12.5 crops/s"`` -> ``[12.5]``)."""
    return [float(v) for v in NUMBER.findall(cell)]


def assert_positive(rows: Sequence[Sequence[str]], columns: Sequence[int]) -> None:
    """Every cell of ``columns`` holds at least one number, all finite and > 0."""
    for row in rows:
        for c in columns:
            values = numbers(row[c])
            assert values and all(math.isfinite(v) and v > 0 for v in values), (c, row)
