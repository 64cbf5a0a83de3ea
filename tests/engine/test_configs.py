"""Every config loads and builds its model on CPU, and none of them can download anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.py") if "_base_" not in p.parts)


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _strings(v)


def test_expected_model_configs_exist():
    names = {p.name for p in CONFIGS}
    for size in "tsmlx":
        assert f"rtmpose-{size}_8xb64-270e_coco-ubody-wholebody-256x192.py" in names
        assert f"rtmpose-{size}_8xb64-270e_coco-wholebody-256x192.py" in names
    for size in "lx":
        assert f"rtmpose-{size}_8xb32-270e_coco-ubody-wholebody-384x288.py" in names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_config_builds_offline(path, monkeypatch):
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401

    cfg = Config.fromfile(str(path))
    urls = [s for s in _strings(cfg._cfg_dict.to_dict()) if s.startswith(("http://", "https://"))]
    assert not urls, f"{path.name} would download {urls}"
    assert cfg.custom_imports["imports"] == ["dwpose.plugin"]
    init_default_scope("mmpose")
    if "teacher_ckpt" in cfg.model:  # distillers: the teacher's weights are a run-time input
        cfg.model.teacher_ckpt = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params > 1e5
    head = getattr(model, "head", None) or getattr(getattr(model, "student", None), "head", None)
    if head is not None and hasattr(head, "out_channels"):
        assert head.out_channels == _expected_keypoints(path)


def _expected_keypoints(path: Path) -> int:
    """COCO-WholeBody (133) unless the config lives under a body-only ``coco/``, ``mpii/`` or the custom
    one-hand ``hand21/`` folder, or is a body pre-training (``*_body-pretrain_*``: the 17 COCO points)."""
    folders = path.relative_to(REPO / "configs").parts
    if "_body-pretrain_" in path.name:
        return 17
    return 21 if "hand21" in folders else 16 if "mpii" in folders else 17 if "coco" in folders else 133


@pytest.mark.parametrize("size,channels", [("t", 384), ("s", 512), ("m", 768), ("l", 1024), ("x", 1280)])
def test_size_configs_match_spec(size, channels):
    cfg = Config.fromfile(str(REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                                 f"/rtmpose-{size}_8xb64-270e_coco-ubody-wholebody-256x192.py"))
    assert cfg.model.head.in_channels == channels
    assert cfg.model.head.in_featuremap_size == (6, 8)
    assert cfg.codec.sigma == (4.9, 5.66)
    assert len(cfg.train_dataloader.dataset.datasets) == 16  # COCO-WholeBody + 15 UBody scenes
    assert cfg.val_evaluator.type == "WholeBodyTableMetric"
    assert cfg.train_dataloader.batch_size == 64


def test_384_config_geometry():
    cfg = Config.fromfile(str(REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                                 "/rtmpose-l_8xb32-270e_coco-ubody-wholebody-384x288.py"))
    assert cfg.model.head.input_size == (288, 384)
    assert cfg.model.head.in_featuremap_size == (9, 12)
    assert cfg.codec.sigma == (6.0, 6.93)
    affine = [t for t in cfg.train_pipeline if t["type"] in ("TopdownAffine", "DecodeWarpTopdownAffine")][0]
    assert affine["input_size"] == (288, 384)
    assert cfg.train_dataloader.batch_size == 32


def test_student_forward_shapes_at_256x192():
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401

    cfg = Config.fromfile(str(REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                                 "/rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py"))
    init_default_scope("mmpose")
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():
        x, y = model(torch.zeros(2, 3, 256, 192), None, mode="tensor")
    assert tuple(x.shape) == (2, 133, 384) and tuple(y.shape) == (2, 133, 512)
