"""Test models: hand-made SimCC ONNX files with known peaks, and a random-init RTMPose-t (exported)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Optional, Tuple, Union

import numpy as np

INPUT_SIZE = (192, 256)  # (W, H)
K = 133

# An RTMPose-t whole-body model, written here so tests never depend on the repository's configs. The
# backbone's init_cfg points at an address that cannot resolve: loading must never try to download.
TINY_RTMPOSE_CONFIG = """
default_scope = 'mmpose'
codec = dict(type='SimCCLabel', input_size=(192, 256), sigma=(4.9, 5.66), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(_scope_='mmdet', type='CSPNeXt', arch='P5', expand_ratio=0.5, deepen_factor=0.167,
                  widen_factor=0.375, out_indices=(4, ), channel_attention=True,
                  norm_cfg=dict(type='SyncBN'), act_cfg=dict(type='SiLU'),
                  init_cfg=dict(type='Pretrained', prefix='backbone.',
                                checkpoint='https://invalid.invalid/never-downloaded.pth')),
    head=dict(type='RTMCCHead', in_channels=384, out_channels=133, input_size=codec['input_size'],
              in_featuremap_size=(6, 8), simcc_split_ratio=2.0, final_layer_kernel_size=7,
              gau_cfg=dict(hidden_dims=256, s=128, expansion_factor=2, dropout_rate=0., drop_path=0.,
                           act_fn='SiLU', use_rel_bias=False, pos_enc=False),
              loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10., label_softmax=True),
              decoder=codec),
    test_cfg=dict(flip_test=True))
"""


def simcc_onnx(
    path: Path,
    peaks: Optional[np.ndarray] = None,
    batch: Union[int, str] = "B",
    input_size: Tuple[int, int] = INPUT_SIZE,
    peak_x: float = 0.9,
    peak_y: float = 0.8,
    input_gain: float = 0.0,
) -> np.ndarray:
    """Write an ONNX "pose model" with the DWPose I/O whose SimCC peaks are ``peaks`` ``(K, 2)`` bins
    (x bin, y bin) for every crop; ``input_gain * mean(crop)`` is added to all logits (0: the output
    ignores the input). Returns the peaks."""
    import onnx

    from dwpose.export.average_pose import constant_simcc_model

    w, h = input_size
    rng = np.random.default_rng(0)
    peaks = rng.integers(0, [2 * w, 2 * h], size=(K, 2)) if peaks is None else np.asarray(peaks)
    cx, cy = np.zeros((1, K, 2 * w), np.float32), np.zeros((1, K, 2 * h), np.float32)
    cx[0, np.arange(K), peaks[:, 0]] = peak_x
    cy[0, np.arange(K), peaks[:, 1]] = peak_y
    model = constant_simcc_model(cx, cy, input_size, batch=batch, input_gain=input_gain, name="simcc_peaks")
    onnx.save(model, str(path))
    return peaks


def tiny_rtmpose(folder: Path) -> SimpleNamespace:
    """A random-init (seed 0) RTMPose-t: ``config``, MMEngine-style ``checkpoint`` and exported ``onnx``.

    Built once per folder (the session fixtures share ``pytest``'s base temp folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = SimpleNamespace(
        config=folder / "rtmpose-t_tiny.py",
        checkpoint=folder / "rtmpose-t_tiny.pth",
        onnx=folder / "rtmpose-t_tiny.onnx",
    )
    if paths.onnx.is_file():
        return paths
    import torch

    from dwpose.export.onnx import export_model
    from dwpose.inference.torch_pose import TorchPoseModel

    paths.config.write_text(TINY_RTMPOSE_CONFIG)
    torch.manual_seed(0)
    model = TorchPoseModel(paths.config, None)
    with torch.no_grad():  # random init gives logits ~100; a trained RTMPose's are O(1) (they are the scores)
        model.model.head.cls_x.weight.mul_(0.01)
        model.model.head.cls_y.weight.mul_(0.01)
    meta = {"epoch": np.int64(3), "seed": np.int64(21), "note": "random init for tests"}
    torch.save({"state_dict": model.model.state_dict(), "meta": meta}, paths.checkpoint)
    export_model(model, paths.onnx)
    return paths


COG_PERSON_SHAPES = {"body": (18, 2), "face": (68, 2), "hands": (2, 21, 2)}


def assert_cog_people(data) -> None:
    """Every person of a Cog ``.npz`` has the Cog schema: normalised coordinates in [0, 1], -1 if unseen."""
    for name in data.files:
        person = data[name].item()
        assert {k: v.shape for k, v in person.items()} == COG_PERSON_SHAPES
        for arr in person.values():
            assert np.all(((arr >= 0) & (arr <= 1)) | (arr == -1))


def still_clip(path: Path, photo: Path, frames: int, size: Tuple[int, int] = (320, 212),
               fps: int = 10) -> Path:
    """An mp4 (mp4v) of ``frames`` copies of ``photo`` resized to ``size``; returns ``path``."""
    import cv2

    frame = cv2.resize(cv2.imread(str(photo)), size)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path
