"""A pose model from an mmpose config + checkpoint, run by PyTorch. Imports torch / mm* only when used.

The config never downloads anything (``model.backbone.init_cfg`` is cleared); the checkpoint is read
by :mod:`dwpose.engine.checkpoint` (safe unpickling unless trusted) and must match the config exactly:
a wrong checkpoint is an error, not a warning followed by random predictions.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.inference.pose_protocol import RGB_MEAN, RGB_STD

if TYPE_CHECKING:
    import torch


def load_config(config: str | Path, input_size: Optional[Tuple[int, int]] = None) -> Any:
    """Read an mmpose config with downloads disabled; ``input_size`` ``(W, H)`` overrides the codec's.

    Raises:
        FileNotFoundError: no such config. UserError: not a top-down model with a SimCC head.
    """
    from dwpose.engine.config import read_config

    config = Path(config)
    cfg = read_config(config)
    model = cfg.get("model")
    if not model or "backbone" not in model or "head" not in model or "input_size" not in model.head:
        raise UserError(
            f"config {config} does not describe a top-down pose model with a SimCC head "
            "(model.backbone, model.head.input_size)"
        )
    model.backbone.init_cfg = None
    model.pop("train_cfg", None)
    if input_size is not None:
        w, h = (int(v) for v in input_size)
        model.head.input_size = (w, h)
        if "in_featuremap_size" in model.head:
            model.head.in_featuremap_size = (w // 32, h // 32)
    return cfg


def build_model(cfg: Any, device: str = "cpu") -> torch.nn.Module:
    """Build the pose estimator of a config (random weights), eval mode, SyncBN turned into BN."""
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    init_default_scope(cfg.get("default_scope", "mmpose"))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    return model.to(device).eval()


def load_weights(model, checkpoint: str | Path, config_name: str = "the config",
                 trust: Optional[bool] = None) -> None:
    """Load a checkpoint into ``model`` by :mod:`dwpose.engine.checkpoint`'s rules (safe, strict).

    Raises:
        FileNotFoundError: no such file. UserError: unreadable or unsafe, a distillation checkpoint
        that needs converting, or keys / shapes that do not match the model built from ``config_name``.
    """
    from dwpose.engine.checkpoint import load_weights as load_checked

    load_checked(model, checkpoint, target=config_name, trust=trust)


class TorchPoseModel:
    """An mmpose top-down SimCC model (RTMPose / DWPose) run by PyTorch.

    A :class:`~dwpose.inference.pose_protocol.PoseModel`, like ``OnnxPoseModel``.
    """

    def __init__(
        self,
        config: str | Path,
        checkpoint: Optional[str | Path],
        device: str = "cpu",
        input_size: Optional[Tuple[int, int]] = None,
        trust: Optional[bool] = None,
    ) -> None:
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError("--device cuda was asked for but torch sees no CUDA device")
        self.cfg = load_config(config, input_size)
        self.model = build_model(self.cfg, device)
        if checkpoint is not None:
            load_weights(self.model, checkpoint, f"config {config}", trust)
        head = self.cfg.model.head
        self.input_size = tuple(int(v) for v in head.input_size)
        self.num_keypoints = int(head.out_channels)
        prep = self.cfg.model.get("data_preprocessor") or {}
        self.mean = tuple(prep.get("mean") or RGB_MEAN)
        self.std = tuple(prep.get("std") or RGB_STD)
        self.device = device

    def forward(self, batch: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Tensor ``(N, 3, H, W)`` -> ``(simcc_x, simcc_y)`` tensors (the graph that gets exported)."""
        return self.model.head.forward(self.model.extract_feat(batch))

    def __call__(self, batch: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, 3, H, W)`` float32 normalised RGB crops -> ``simcc_x (N, K, Wx)``, ``simcc_y (N, K, Wy)``."""
        import torch

        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # mmdet's CSPNeXt: torch.cuda.amp.autocast
            simcc_x, simcc_y = self.forward(torch.from_numpy(batch).to(self.device))
        return simcc_x.float().cpu().numpy(), simcc_y.float().cpu().numpy()
