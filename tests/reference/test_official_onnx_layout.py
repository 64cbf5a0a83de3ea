"""The official DWPose ONNX layout at 384x288, exported by ``dwpose export onnx`` and run by
``dwpose predict`` and by the Cog predictor's Python API.

The official ``dw-ll_ucoco_384.onnx`` has input ``input`` ``1x3x384x288`` and outputs ``simcc_x``
``1x133x576``, ``simcc_y`` ``1x133x768`` (a fixed batch of 1). We export from the project's 384x288
recipe (configs/_base_/rtmpose_coco-wholebody_384x288.py) with the backbone shrunk to RTMPose-t's
depth and width so the test stays fast (input, head and outputs are the recipe's; ``init_cfg=None``:
nothing is downloaded), then also write a copy whose batch axis is fixed to 1, exactly the official
layout, and run both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("mmpose")
onnx = pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs" / "_base_" / "rtmpose_coco-wholebody_384x288.py"
OFFICIAL = {"input": [1, 3, 384, 288], "simcc_x": [1, 133, 576], "simcc_y": [1, 133, 768]}
CONFIG = f"""_base_ = [{str(RECIPE)!r}]
model = dict(backbone=dict(deepen_factor=0.167, widen_factor=0.375, init_cfg=None),
             head=dict(in_channels=384))
"""


def _dims(model_path: Path) -> dict:
    graph = onnx.load(str(model_path)).graph
    return {v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
            for v in [*graph.input, *graph.output]}  # fmt: skip


def _fix_batch(src: Path, dst: Path) -> None:
    """A copy of an exported model whose declared batch axis is 1 (the official file's layout)."""
    model = onnx.load(str(src))
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_value = 1
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> SimpleNamespace:
    import torch

    from dwpose.inference.torch_pose import TorchPoseModel

    folder = tmp_path_factory.mktemp("dwpose_384x288")
    paths = SimpleNamespace(config=folder / "rtmpose-t_384x288.py", checkpoint=folder / "random.pth",
                            onnx=folder / "dynamic.onnx",
                            official=folder / "dw-t_ucoco_384.onnx")  # fmt: skip
    paths.config.write_text(CONFIG)
    torch.manual_seed(0)
    torch.save({"state_dict": TorchPoseModel(paths.config, None).model.state_dict()}, paths.checkpoint)
    cmd = [sys.executable, "-m", "dwpose.cli", "export", "onnx", paths.config, paths.checkpoint, paths.onnx]
    proc = subprocess.run(
        list(map(str, cmd)), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "input 'input' (B, 3, 384, 288); outputs 'simcc_x', 'simcc_y'" in proc.stdout
    _fix_batch(paths.onnx, paths.official)
    return paths


def test_export_has_the_official_names_and_shapes(exported):
    """Names and input dims as declared; output shapes as onnxruntime computes them for one crop."""

    declared = _dims(exported.official)
    assert list(declared) == list(OFFICIAL) and declared["input"] == OFFICIAL["input"]
    from dwpose.inference.runtime import create_session

    # through our factory: an earlier test in this process may have switched onnxruntime to the
    # shared thread pool (the Cog predictor does), after which plain per-session pools are refused
    session = create_session(exported.official, "cpu")
    crop = np.random.default_rng(0).normal(size=OFFICIAL["input"]).astype(np.float32)
    simcc_x, simcc_y = session.run(["simcc_x", "simcc_y"], {"input": crop})
    assert [list(simcc_x.shape), list(simcc_y.shape)] == [OFFICIAL["simcc_x"], OFFICIAL["simcc_y"]]
    dynamic = _dims(exported.onnx)
    assert list(dynamic) == list(OFFICIAL) and dynamic["input"][1:] == OFFICIAL["input"][1:]
    assert all(isinstance(dims[0], str) for dims in dynamic.values())  # the batch axis is dynamic


def test_export_declares_the_official_output_dims(exported):
    declared = _dims(exported.official)
    assert declared["simcc_x"] == OFFICIAL["simcc_x"] and declared["simcc_y"] == OFFICIAL["simcc_y"]


COG_SCRIPT = """
import asyncio, shutil, sys, tempfile
import cog, numpy as np
from predict import Predictor
p = Predictor()
p.setup()
with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
    f.write(open(sys.argv[1], "rb").read())
npz, png = asyncio.run(p.predict(image=cog.Path(f.name), threshold=0.3))
shutil.copy(npz, sys.argv[2])
print("INPUT_SIZE", *p.pipeline.pose_model.input_size, "FIXED_BATCH", p.pipeline.pose_model.fixed_batch)
"""


@pytest.mark.slow
def test_official_layout_runs_in_dwpose_predict_and_the_cog_predictor(
    tmp_path, exported, weights_dir, coco_mini
):
    """Both read the 1x3x384x288 file (one crop per call); their poses equal those of the dynamic-batch
    export through the same pipeline (boxes from the real detector)."""
    pytest.importorskip("cog")
    from dwpose.inference.detectors import load_onnx_detector
    from dwpose.inference.pipeline import TopDownPipeline
    from dwpose.inference.pose_models import OnnxPoseModel
    from dwpose.inference.sources import read_image
    from tests.inference.fakes import assert_cog_people

    photo = coco_mini / "images" / "000000197388.jpg"
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    cog_env = dict(
        _env(), DWPOSE_POSE_MODEL=str(exported.official), DWPOSE_DET_MODEL=str(det), TMPDIR=str(tmp_path)
    )
    runs = [
        subprocess.Popen([sys.executable, "-m", "dwpose.cli", "predict", str(photo),
                          "--pose", str(exported.official), "--det", str(det),
                          "--out", str(tmp_path / "out")], cwd=REPO, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        subprocess.Popen([sys.executable, "-c", COG_SCRIPT, str(photo), str(tmp_path / "cog.npz")], cwd=REPO,
                         env=cog_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]  # fmt: skip
    try:
        (out, err), (cog_out, cog_err) = [proc.communicate(timeout=300) for proc in runs]
    finally:
        for proc in runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert runs[0].returncode == 0, err[-3000:]
    assert runs[1].returncode == 0, cog_err[-3000:]
    assert (
        "providers: pose model onnxruntime CPUExecutionProvider, detector onnxruntime CPUExecutionProvider"
        in out
    )
    assert "INPUT_SIZE 288 384 FIXED_BATCH 1" in cog_out

    pipeline = TopDownPipeline(OnnxPoseModel(exported.onnx), load_onnx_detector(det))
    expected = pipeline(read_image(photo))
    assert len(expected) >= 3
    ours = json.loads((tmp_path / "out" / f"{photo.stem}.json").read_text())["people"]
    assert len(ours) == len(expected)
    nose = np.array([p["pose_keypoints_2d"][:3] for p in ours])  # OpenPose slot 0 = COCO nose
    np.testing.assert_allclose(nose[:, :2], expected.keypoints[:, 0], atol=1e-2)
    np.testing.assert_allclose(nose[:, 2], expected.scores[:, 0], atol=1e-3)

    cog_people = np.load(tmp_path / "cog.npz", allow_pickle=True)
    assert sorted(cog_people.files) == sorted(f"person_{i}" for i in range(len(expected)))
    assert_cog_people(cog_people)
    width, height = expected.image_size
    for i in range(len(expected)):
        body = cog_people[f"person_{i}"].item()["body"]
        if expected.scores[i, 0] >= 0.3:
            np.testing.assert_allclose(body[0] * (width, height), expected.keypoints[i, 0], atol=1e-2)
