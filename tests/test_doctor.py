"""``dwpose doctor``: versions, providers, CUDA, mmcv ops, CPU and data; exit 0 when the environment works."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _doctor(*prelude: str) -> subprocess.CompletedProcess:
    code = "; ".join([*prelude, "from dwpose.cli import main", "sys.exit(main(['doctor']))"])
    return subprocess.run([sys.executable, "-c", "import sys; " + code], cwd=REPO, capture_output=True,
                          text=True, timeout=180)  # fmt: skip


def _row(out: str, name: str) -> str:
    rows = [
        line.split(None, len(name.split()))[-1] for line in out.splitlines() if line.split()[:1] == [name]
    ]
    assert rows, f"no {name} row in:\n{out}"
    return rows[0]


@pytest.mark.slow
def test_doctor_reports_this_environment_and_exits_0():
    pytest.importorskip("mmcv.ops")
    import onnxruntime

    proc = _doctor()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("the environment works")
    for dist, shown in (("numpy", "numpy"), ("onnxruntime", "onnxruntime"), ("mmengine", "mmengine"),
                        ("mmpose", "mmpose"), ("mmdet", "mmdet"), ("mmcv", "mmcv")):  # fmt: skip
        assert _row(proc.stdout, shown) == metadata.version(dist)
    assert _row(proc.stdout, "torch").startswith(metadata.version("torch").split("+")[0])
    assert _row(proc.stdout, "providers") == ", ".join(onnxruntime.get_available_providers())
    assert _row(proc.stdout, "mmcv.ops.nms") == "ran on the CPU, right result"
    assert "pinned AVX2 kernels" in proc.stdout and "coco-wholebody-mini" in proc.stdout


@pytest.mark.slow
def test_doctor_exits_1_and_names_a_package_that_does_not_import():
    proc = _doctor("sys.modules['mmpose'] = None")  # `import mmpose` now raises ImportError
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mmpose" in _row(proc.stdout, "mmpose") and "PROBLEM: cannot import" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("problems: mmpose")
