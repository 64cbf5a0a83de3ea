"""ONNX export: numerical parity with PyTorch, the DWPose I/O, and `dwpose predict` on the exported file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
torch = pytest.importorskip("torch")
pytest.importorskip("mmpose")


@pytest.fixture(scope="module")
def torch_model(tiny_model):
    from dwpose.inference.torch_pose import TorchPoseModel

    return TorchPoseModel(tiny_model.config, tiny_model.checkpoint)


def test_onnx_matches_pytorch_on_random_crops(tiny_model, torch_model):
    from dwpose.export.onnx import parity

    diff, scale = parity(torch_model, tiny_model.onnx, num_crops=3, seed=1)
    assert diff < 1e-4 and 0.1 < scale < 10  # logits of a trained model's size (see fakes.tiny_rtmpose)


def test_onnx_has_the_dwpose_io_and_a_dynamic_batch(tiny_model):
    from dwpose.inference.pose_models import OnnxPoseModel

    model = OnnxPoseModel(tiny_model.onnx)
    inputs, outputs = model.session.get_inputs(), model.session.get_outputs()
    assert [i.name for i in inputs] == ["input"] and inputs[0].shape[1:] == [3, 256, 192]
    assert [o.name for o in outputs] == ["simcc_x", "simcc_y"]
    assert model.fixed_batch is None and model.input_size == (192, 256)
    simcc_x, simcc_y = model(np.zeros((5, 3, 256, 192), np.float32))
    assert simcc_x.shape == (5, 133, 384) and simcc_y.shape == (5, 133, 512)


def test_torch_and_onnx_pipelines_agree(tiny_model, torch_model, photos):
    import cv2

    from dwpose.inference.pipeline import TopDownPipeline
    from dwpose.inference.pose_models import OnnxPoseModel

    image = cv2.imread(str(photos[-1]))
    boxes = np.array([[139, 102, 361, 344], [287, 62, 362, 228]], np.float32)
    a = TopDownPipeline(torch_model)(image, boxes)
    b = TopDownPipeline(OnnxPoseModel(tiny_model.onnx))(image, boxes)
    assert np.mean(np.all(np.abs(a.keypoints - b.keypoints) < 1e-3, axis=-1)) > 0.98  # argmax ties may flip
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)


def test_export_cli_with_parity_check(tmp_path, tiny_model, capsys):
    from dwpose.cli import main

    out = tmp_path / "m.onnx"
    assert (
        main(["export", "onnx", str(tiny_model.config), str(tiny_model.checkpoint), str(out), "--check"]) == 0
    )
    assert out.is_file() and not list(tmp_path.glob(".*tmp"))
    assert "max |PyTorch - onnxruntime|" in capsys.readouterr().out


def _bad_checkpoint(tiny_model, folder: Path, kind: str) -> Path:
    state = torch.load(tiny_model.checkpoint, weights_only=False)["state_dict"]  # our own test file
    if kind == "distill":
        state = {f"student.{k}": v for k, v in state.items()}
    else:  # a 17-keypoint head: the config says 133
        state["head.final_layer.weight"] = state["head.final_layer.weight"][:17]
        state["head.final_layer.bias"] = state["head.final_layer.bias"][:17]
    path = folder / f"{kind}.pth"
    torch.save({"state_dict": state}, path)
    return path


def test_checkpoint_errors_say_what_is_wrong(tmp_path, tiny_model):
    from dwpose.inference.torch_pose import TorchPoseModel

    shapes = r"keys 2 of another shape \(head.final_layer.weight \(17, 384, 7, 7\) vs \(133"
    with pytest.raises(ValueError, match=f"does not match config .*: {shapes}"):
        TorchPoseModel(tiny_model.config, _bad_checkpoint(tiny_model, tmp_path, "mismatch"))
    with pytest.raises(ValueError, match="distillation checkpoint .* pth_transfer.py"):
        TorchPoseModel(tiny_model.config, _bad_checkpoint(tiny_model, tmp_path, "distill"))
    with pytest.raises(FileNotFoundError, match="checkpoint .*nope.pth does not exist"):
        TorchPoseModel(tiny_model.config, tmp_path / "nope.pth")


def test_export_cli_rejects_bad_arguments(tmp_path, tiny_model, capsys):
    from dwpose.cli import main

    assert (
        main(["export", "onnx", str(tiny_model.config), str(tiny_model.checkpoint), str(tmp_path / "m.pt")])
        == 2
    )
    assert "must end in .onnx" in capsys.readouterr().err
    args = ["export", "onnx", str(tiny_model.config), str(tiny_model.checkpoint), str(tmp_path / "m.onnx")]
    assert main([*args, "--input-size", "288", "384"]) == 2  # the checkpoint was made for 192x256
    assert "does not match" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()


def _predict(*args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_predict_runs_the_exported_model_through_onnxruntime(tmp_path, tiny_model, weights_dir, photos):
    from dwpose.inference.detectors import load_onnx_detector

    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    proc = _predict(photos[-1], "--pose", tiny_model.onnx, "--det", det, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = np.load(tmp_path / f"{photos[-1].stem}.npz", allow_pickle=True)
    import cv2

    assert len(data.files) == len(load_onnx_detector(det)(cv2.imread(str(photos[-1])))) > 0


@pytest.mark.slow
def test_predict_with_mismatched_checkpoint_is_one_error_line(tmp_path, tiny_model, weights_dir, photos):
    bad = _bad_checkpoint(tiny_model, tmp_path, "mismatch")
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    proc = _predict(photos[0], "--pose", tiny_model.config, bad, "--det", det, "--out", tmp_path / "o")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("dwpose: error: checkpoint") and "does not match config" in lines[0]
