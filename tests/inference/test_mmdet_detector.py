"""The mmdet detector path: an mmdet config + checkpoint (random RTMDet-tiny: the code path, not accuracy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
mmdet = pytest.importorskip("mmdet")


@pytest.fixture(scope="module")
def rtmdet_tiny(tmp_path_factory):
    config = Path(mmdet.__file__).parent / ".mim" / "configs" / "rtmdet" / "rtmdet_tiny_8xb32-300e_coco.py"
    if not config.is_file():
        pytest.skip(f"mmdet's config {config} is not installed")
    from mmdet.apis import init_detector
    from mmengine.config import Config

    cfg = Config.fromfile(str(config))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    state = init_detector(cfg, None, device="cpu").state_dict()
    ckpt = tmp_path_factory.mktemp("rtmdet") / "rtmdet_tiny_random.pth"
    torch.save({"state_dict": state, "meta": {"epoch": np.int64(1)}}, ckpt)
    return config, ckpt


def test_mmdet_detector_gives_sorted_person_boxes(rtmdet_tiny):
    from dwpose.inference.detectors import MMDetDetector, load_detector

    detector = load_detector([str(p) for p in rtmdet_tiny], score_threshold=0.0)
    assert isinstance(detector, MMDetDetector)
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes = detector(image)
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert np.all(np.diff(boxes[:, 4]) <= 0)


def test_mmdet_detector_rejects_a_pose_checkpoint(rtmdet_tiny, tmp_path):
    from dwpose.inference.detectors import MMDetDetector

    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"backbone.stem.0.conv.weight": torch.zeros(3)}}, other)
    with pytest.raises(ValueError, match="does not match detector config"):
        MMDetDetector(str(rtmdet_tiny[0]), str(other))
