"""Mixed precision on CUDA and on CPUs with native bf16: ``--amp`` of ``tools/train.py``.

On CUDA ``--amp`` uses MMEngine's ``AmpOptimWrapper`` (float16 autocast, dynamic loss scaling).
MMEngine's wrapper refuses CPUs, so on a CPU with native bf16 instructions (AVX512-BF16 or AMX)
:class:`CPUBf16OptimWrapper` runs the forward and loss under ``torch.autocast('cpu', bfloat16)``;
bf16 has float32's exponent range, so no loss scaling is needed, and the weights, gradients and
optimizer state stay float32. On a CPU without those instructions PyTorch would emulate bf16 with
float32 arithmetic plus conversions (slower than float32), so ``--amp`` is refused there.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from typing import Any

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from dwpose.errors import UserError


@cache  # the teacher asks on every bf16 step; the CPU does not change
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic instructions (AVX512-BF16 or AMX-BF16; Linux flags)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@OPTIM_WRAPPERS.register_module()
class CPUBf16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` adds bf16 autocast on the CPU (float32 master weights)."""

    @contextmanager
    def optim_context(self, model: nn.Module):
        # the pose heads' outputs (SimCC logits) go to the losses and to mmpose's numpy accuracy
        # in float32: numpy has no bfloat16, and the KL loss over bins is better kept in float32.
        # Heads call self.forward() directly (no hooks run), so forward itself is wrapped.
        heads = _pose_heads(model)
        for head in heads:
            head.forward = _float32_outputs(head.forward)
        try:
            with super().optim_context(model), torch.autocast("cpu", dtype=torch.bfloat16):
                yield
        finally:
            for head in heads:
                del head.forward  # back to the class's method


def _pose_heads(model: nn.Module) -> list:
    from mmpose.models.heads.base_head import BaseHead

    return [m for m in model.modules() if isinstance(m, BaseHead) and "forward" not in vars(m)]


def _to_float32(output: Any) -> Any:
    if isinstance(output, torch.Tensor):
        return output.float()
    if isinstance(output, (tuple, list)):
        return type(output)(_to_float32(o) for o in output)
    return output


def _float32_outputs(forward):
    def wrapped(*args, **kwargs):
        return _to_float32(forward(*args, **kwargs))

    return wrapped


def configure_amp(cfg: Any) -> str:
    """Switch ``cfg.optim_wrapper`` to mixed precision for this machine; returns a log line.

    Raises:
        UserError: on a CPU without native bf16 (the reason is in the message).
    """
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        return "--amp: float16 autocast with dynamic loss scaling (CUDA)"
    if not cpu_has_native_bf16():
        raise UserError("--amp on a CPU needs native bf16 instructions (AVX512-BF16 or AMX), which "
                        "this CPU lacks: PyTorch would emulate bf16, slower than float32. Train "
                        "without --amp here")
    if cfg.optim_wrapper.get("type", "OptimWrapper") not in ("OptimWrapper", "mmengine.OptimWrapper"):
        raise UserError(f"--amp on a CPU replaces OptimWrapper, but this config uses "
                        f"{cfg.optim_wrapper.type!r}")
    cfg.optim_wrapper.type = "CPUBf16OptimWrapper"
    return "--amp: bfloat16 autocast on the CPU (native bf16), float32 weights and optimizer"
