"""Building the distiller's teacher and student from their own config files, and loading the teacher.

- Config paths are absolute (distiller configs write ``'{{fileDirname}}/...'``, which MMEngine
  expands to the directory of the config file being parsed) or ``'mmpose::...'`` package paths;
  they are read by :func:`dwpose.engine.config.load_model_config`.
- The teacher checkpoint is read and loaded by :mod:`dwpose.engine.checkpoint` (safe unpickling,
  strict fit, a mismatch names the offending layer).
"""

from __future__ import annotations

import copy
from typing import Mapping

from mmengine.model.utils import revert_sync_batchnorm
from torch import nn

from dwpose.engine.checkpoint import load_weights
from dwpose.engine.config import load_model_config  # noqa: F401  (re-exported for the distiller)


def build_pose_model(model_cfg: Mapping, use_sync_bn: bool) -> nn.Module:
    """Build a pose estimator from its ``model`` config in the mmpose scope.

    Args:
        model_cfg: the ``model`` entry of a pose config.
        use_sync_bn: keep ``SyncBN`` layers; ``False`` turns them into plain BatchNorm (MMEngine's
            ``revert_sync_batchnorm``: frozen teachers, machines without CUDA, where SyncBN cannot run).
    """
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS

    with DefaultScope.overwrite_default_scope("mmpose"):
        model = MODELS.build(copy.deepcopy(dict(model_cfg)))
    return model if use_sync_bn else revert_sync_batchnorm(model)


def load_weights_strict(model: nn.Module, ckpt_path: str, cfg_path: str) -> None:
    """Load a plain pose-model checkpoint into ``model`` by :mod:`dwpose.engine.checkpoint`'s rules.

    Raises:
        FileNotFoundError: ``ckpt_path`` does not exist.
        ValueError: unreadable or unsafe file, or keys / shapes that do not match ``model`` (the
            message names the first mismatched layer and counts the rest).
    """
    load_weights(model, ckpt_path, target=f"config {cfg_path}")
