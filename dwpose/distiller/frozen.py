"""The frozen teacher's fast inference copy: BatchNorm folded into the convs, an optional NHWC backbone.

- :func:`fold_batchnorm`: every conv -> BatchNorm pair of MMCV's ``ConvModule`` merged into the conv.
- :func:`fast_frozen_copy`: that, with the backbone optionally in channels-last layout (oneDNN,
  PyTorch's CPU convolution library, runs NHWC convolutions without reordering each input).
- :class:`FastFrozenCopy`: a cache of the copy, rebuilt when the frozen module's tensors change.
"""

from __future__ import annotations

import copy

import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval


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
    invalidates it. The version counter is ``Tensor._version``, the one autograd itself checks to
    detect in-place changes; PyTorch has no public name for it, and the alternatives (hooks on
    ``load_state_dict``, checksums of every weight) miss direct ``copy_`` calls or cost a pass over
    the teacher's weights per step. The cache is neither copied (EMA's ``deepcopy``) nor pickled.
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
