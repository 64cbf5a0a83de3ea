"""Fixtures of the reference tests: an RTMPose-t whose keypoints depend on the photo (see below)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import in_ci
from tests.inference.fakes import TINY_RTMPOSE_CONFIG
from tests.reference import controlnet_aux_ref as ref

INPUT_SIZE = (192, 256)  # (W, H) of TINY_RTMPOSE_CONFIG
RGB_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
RGB_STD = np.array([58.395, 57.12, 57.375], np.float32)
BN_GAIN = 0.9  # below 1 damps small input differences through the layers (see calibrated_rtmpose)
WINDOWS = ((0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.6, 1.0), (0.4, 0.0, 1.0, 1.0), (0.2, 0.1, 0.8, 0.9))


def calibration_batch(photos) -> np.ndarray:
    """``(4 * len(photos), 3, H, W)`` normalised RGB windows of the photos, made with plain cv2 / numpy
    (neither dwpose's nor mmpose's crop code, so the calibration favours neither side)."""
    import cv2

    batch = []
    for path in photos:
        image = cv2.imread(str(path))
        h, w = image.shape[:2]
        for x0, y0, x1, y1 in WINDOWS:
            window = image[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
            rgb = cv2.resize(window, INPUT_SIZE, interpolation=cv2.INTER_AREA)[..., ::-1]
            batch.append(((rgb.astype(np.float32) - RGB_MEAN) / RGB_STD).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(batch))


@pytest.fixture(scope="session")
def calibrated_rtmpose(tmp_path_factory, photos) -> SimpleNamespace:
    """RTMPose-t (random init, seed 0) with data-dependent BatchNorm statistics: ``config``,
    ``checkpoint`` (plain ``{"state_dict"}``) and ``onnx`` (exported by dwpose).

    Why not the plain random init: with BatchNorm's default statistics (mean 0, var 1) the random
    backbone's features are nearly constant, so only about 10 distinct SimCC peaks come out for 33
    people and a colour swap or a 3 px shift of the crop moves 1-3 % of them: a reference comparison
    would pass even with a wrong crop. So every BatchNorm's running mean / variance is set to those of
    real photo windows (one forward pass in train mode, cumulative averages), which keeps the weights
    random but makes the output depend on the crop; then the BatchNorm weights are scaled by
    ``BN_GAIN`` = 0.9. At 1.0 the net is chaotic: the one-grey-level pixel differences between
    mmpose's crop and ours (see test_pose_vs_mmpose.py) move its logits by up to 3e-3 and flip 10 % of
    the peaks. At 0.9 (measured on a crop of 000000000785.jpg) they move logits by ~3e-5, while a
    BGR/RGB swap still moves the scores by 0.03 and 5 % of the peaks, a 3 px shift 0.03 and 8 %, a 2 %
    contrast error 3e-3: all far over the test's 1e-3. The classifier weights are scaled by 0.01 so the
    SimCC maxima (the scores) are O(1) and positive, like a trained model's.
    """
    pytest.importorskip("mmpose")
    import torch
    from mmengine.config import Config
    from mmpose.apis import init_model

    from dwpose.export.onnx import export_model
    from dwpose.inference.torch_pose import TorchPoseModel

    folder = tmp_path_factory.mktemp("calibrated_rtmpose")
    paths = SimpleNamespace(config=folder / "rtmpose-t_tiny.py", checkpoint=folder / "rtmpose-t_tiny.pth",
                            onnx=folder / "rtmpose-t_tiny.onnx")  # fmt: skip
    paths.config.write_text(TINY_RTMPOSE_CONFIG)
    cfg = Config.fromfile(str(paths.config))
    cfg.model.backbone.init_cfg = None  # never download
    torch.manual_seed(0)
    model = init_model(cfg, None, device="cpu")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration pass
    model.train()
    with torch.no_grad():
        model.head(model.extract_feat(torch.from_numpy(calibration_batch(photos))))
        model.head.cls_x.weight.mul_(0.01)
        model.head.cls_y.weight.mul_(0.01)
        for bn in norms:
            bn.weight.mul_(BN_GAIN)
    model.eval()
    torch.save({"state_dict": model.state_dict()}, paths.checkpoint)
    export_model(TorchPoseModel(paths.config, paths.checkpoint), paths.onnx)
    return paths


@pytest.fixture(scope="session")
def mini_gt_path(coco_mini: Path) -> Path:
    return coco_mini / "coco_wholebody_mini.json"


@pytest.fixture(scope="session")
def mini_gt(mini_gt_path: Path) -> dict:
    import json

    return json.loads(mini_gt_path.read_text())


@pytest.fixture(scope="session")
def annotator():
    """controlnet_aux 0.0.10's DWPose annotator (tests/reference/controlnet_aux_ref.py)."""
    root = ref.installed_root()
    problem = None
    if root is None:
        problem = "controlnet_aux is not installed (tools/install_env.sh installs it for the tests)"
    elif ref.installed_version() != ref.VERSION:
        problem = f"controlnet_aux {ref.installed_version()} is installed, the reference is {ref.VERSION}"
    if problem:
        if in_ci():
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    pytest.importorskip("mmpose")  # wholebody.py imports mmcv / mmpose / mmdet
    return ref.load_annotator(root)


@pytest.fixture(scope="session")
def people(coco_mini) -> dict:
    """The shared COCO-WholeBody mini ground truth (controlnet_aux_ref.ground_truth_people)."""
    return ref.ground_truth_people(coco_mini)
