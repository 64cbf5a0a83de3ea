"""``--device cuda``: onnxruntime's CUDA provider when it can run, else one warning line saying why and
the CPU; every ``dwpose predict`` run names the provider it used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ort = pytest.importorskip("onnxruntime")

from dwpose.inference import runtime  # noqa: E402
from dwpose.inference.pose_models import OnnxPoseModel  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CPU_LINE = "running on CPUExecutionProvider"


@pytest.fixture()
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(runtime, "_warned", set())


def _warnings(err: str) -> list:
    return [line for line in err.splitlines() if line.startswith("dwpose: warning:")]


def test_predict_with_cuda_where_it_cannot_run_warns_once_and_names_the_cpu(tmp_path, peaks_onnx, photos):
    if runtime.cuda_unavailable_reason() is None:
        pytest.skip("onnxruntime-gpu and a GPU are here: CUDA can run")
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([[10, 10, 200, 300]]))
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", str(photos[0]), "--pose", str(peaks_onnx.path),
           "--boxes", str(boxes), "--device", "cuda", "--out", str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = _warnings(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "device cuda was asked for but" in lines[0] and lines[0].endswith(CPU_LINE)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert "pip install onnxruntime-gpu" in lines[0]
    assert "providers: pose model onnxruntime CPUExecutionProvider\n" in proc.stdout


def test_no_onnxruntime_gpu_is_named(monkeypatch, capsys, fresh_warnings, peaks_onnx):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    model = OnnxPoseModel(peaks_onnx.path, "cuda:1")
    OnnxPoseModel(peaks_onnx.path, "cuda:1")  # a second model: no second line
    (line,) = _warnings(capsys.readouterr().err)
    assert "device cuda:1 was asked for but this onnxruntime has no CUDA provider" in line
    assert runtime.session_provider(model.session) == "CPUExecutionProvider"


def test_no_gpu_is_named(monkeypatch, capsys, fresh_warnings, peaks_onnx):
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    model = OnnxPoseModel(peaks_onnx.path, "cuda")
    (line,) = _warnings(capsys.readouterr().err)
    assert "no GPU is visible" in line and line.endswith(CPU_LINE)
    assert runtime.session_provider(model.session) == "CPUExecutionProvider"


class _SessionWithoutCuda:
    """What onnxruntime-gpu gives when the CUDA provider cannot load: a session on the CPU only."""

    def __init__(self, path, sess_options=None, providers=None):
        assert providers[0][0] == "CUDAExecutionProvider" and providers[0][1] == {"device_id": 0}
        self._real = _REAL_SESSION(path, sess_options=sess_options, providers=["CPUExecutionProvider"])

    def __getattr__(self, name):
        return getattr(self._real, name)


_REAL_SESSION = ort.InferenceSession


def test_a_provider_that_fails_to_load_is_named(monkeypatch, capsys, fresh_warnings, peaks_onnx):
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(runtime, "gpu_visible", lambda: True)
    monkeypatch.setattr(ort, "InferenceSession", _SessionWithoutCuda)
    model = OnnxPoseModel(peaks_onnx.path, "cuda")
    (line,) = _warnings(capsys.readouterr().err)
    assert "CUDAExecutionProvider failed to load" in line and line.endswith(CPU_LINE)
    assert runtime.providers_line(pose_model=model, detector=None) == (
        "providers: pose model onnxruntime CPUExecutionProvider"
    )


def test_cpu_asks_for_nothing_and_warns_nothing(capsys, fresh_warnings, peaks_onnx):
    model = OnnxPoseModel(peaks_onnx.path, "cpu")
    assert runtime.session_provider(model.session) == "CPUExecutionProvider"
    assert _warnings(capsys.readouterr().err) == []
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        OnnxPoseModel(peaks_onnx.path, "tpu")
