"""Building the distiller's teacher and student from their own config files.

- Config paths are absolute (distiller configs write ``'{{fileDirname}}/...'``, which MMEngine
  expands to the directory of the config file being parsed) or ``'mmpose::...'`` package paths;
  a relative path is refused rather than resolved against the working directory.
- The teacher checkpoint is read and loaded by :mod:`dwpose.engine.checkpoint` (safe unpickling,
  strict fit, a mismatch names the offending layer).
- :func:`fast_frozen_copy` gives an inference-only copy of a frozen pose model: every conv ->
  BatchNorm pair of MMCV's ``ConvModule`` merged into the conv, the backbone optionally in
  channels-last layout (oneDNN, PyTorch's CPU convolution library, runs NHWC convolutions without
  reordering each input).
"""

from __future__ import annotations

import copy
import os.path as osp
from typing import Mapping

import torch
from mmcv.cnn import ConvModule
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

from dwpose.engine.checkpoint import load_weights
from dwpose.engine.device import replace_norm_type
from dwpose.fileio import require_file


def load_model_config(path: str) -> Config:
    """Load a pose-model config given by an absolute path or an ``mmpose::`` package path.

    Args:
        path: ``/abs/path/cfg.py`` (configs write ``'{{fileDirname}}/../x.py'``) or
            ``'mmpose::wholebody_2d_keypoint/rtmpose/.../x.py'``.

    Returns:
        The parsed config; its ``custom_imports`` have been imported.
    """
    if "::" in path:
        from mmengine.hub import get_config

        cfg = get_config(path)
    else:
        if not osp.isabs(path):
            raise ValueError(f"config path {path!r} is relative; write it relative to the distiller "
                             "config as '{{fileDirname}}/...', or give an absolute or 'mmpose::' path")
        require_file(path, "config")
        cfg = Config.fromfile(path)
    if "model" not in cfg:
        raise ValueError(f"config {path} has no `model`")
    imports = cfg.get("custom_imports", {}).get("imports", [])
    if imports:
        import_modules_from_strings(imports)
    return cfg


def build_pose_model(model_cfg: Mapping, use_sync_bn: bool) -> nn.Module:
    """Build a pose estimator from its ``model`` config in the mmpose scope.

    Args:
        model_cfg: the ``model`` entry of a pose config.
        use_sync_bn: keep ``SyncBN`` layers; ``False`` builds plain BN instead (frozen teachers,
            machines without CUDA, where SyncBN cannot run).
    """
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS

    model_cfg = copy.deepcopy(dict(model_cfg))
    if not use_sync_bn:
        replace_norm_type(model_cfg, "SyncBN", "BN")
    with DefaultScope.overwrite_default_scope("mmpose"):
        return MODELS.build(model_cfg)


def load_weights_strict(model: nn.Module, ckpt_path: str, cfg_path: str) -> None:
    """Load a plain pose-model checkpoint into ``model`` by :mod:`dwpose.engine.checkpoint`'s rules.

    Raises:
        FileNotFoundError: ``ckpt_path`` does not exist.
        ValueError: unreadable or unsafe file, or keys / shapes that do not match ``model`` (the
            message names the first mismatched layer and counts the rest).
    """
    load_weights(model, ckpt_path, target=f"config {cfg_path}")


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` with BatchNorm folded into the preceding conv.

    Every MMCV ``ConvModule`` whose order runs conv before norm and whose norm is a BatchNorm gets
    ``conv.weight * gamma / sqrt(var + eps)`` and a matching bias; its norm becomes ``Identity``.
    Outputs equal ``module.eval()``'s up to float rounding. ``module`` itself is not changed.

    Returns:
        The folded copy, in eval mode, without gradients.
    """
    folded = copy.deepcopy(module).eval().requires_grad_(False)
    for m in folded.modules():
        if not (isinstance(m, ConvModule) and m.with_norm and isinstance(m.norm, _BatchNorm)):
            continue
        if m.order.index("conv") > m.order.index("norm") or not isinstance(m.conv, nn.Conv2d):
            continue
        m.conv = fuse_conv_bn_eval(m.conv, m.norm)
        setattr(m, m.norm_name, nn.Identity())
    return folded


def fast_frozen_copy(model: nn.Module, channels_last: bool) -> nn.Module:
    """:func:`fold_batchnorm` of a pose model, its backbone in channels-last layout when asked.

    The head stays in the default layout: on its small (h, w) maps NCHW is the faster one.
    """
    folded = fold_batchnorm(model)
    if channels_last:
        folded.backbone.to(memory_format=torch.channels_last)
    return folded


class FastFrozenCopy:
    """Cache of :func:`fast_frozen_copy` of a frozen module, rebuilt when the module's tensors change.

    The cache key is each parameter's and buffer's storage address and in-place version counter
    (plus the layout), so loading a checkpoint (``copy_``) or moving the module (``.to``)
    invalidates it. The cache is neither copied (EMA's ``deepcopy``) nor pickled.
    """

    def __init__(self) -> None:
        self._key: tuple = ()
        self._module: nn.Module | None = None

    @staticmethod
    def _fingerprint(module: nn.Module, channels_last: bool) -> tuple:
        tensors = [*module.parameters(), *module.buffers()]
        return (channels_last, *((t.data_ptr(), t._version) for t in tensors))

    def get(self, module: nn.Module, channels_last: bool) -> nn.Module:
        """The fast copy of ``module`` as it is now."""
        key = self._fingerprint(module, channels_last)
        if self._module is None or key != self._key:
            self._module, self._key = fast_frozen_copy(module, channels_last), key
        return self._module

    def __deepcopy__(self, memo: dict) -> FastFrozenCopy:
        return FastFrozenCopy()

    def __getstate__(self) -> dict:
        return {"_key": (), "_module": None}
