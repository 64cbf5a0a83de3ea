"""Checkpoint I/O that is safe under ``torch.load(weights_only=True)`` and atomic on disk.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the few non-tensor objects
MMEngine pickles into its checkpoints: numpy arrays and scalars in ``meta``, and the message hub's
``HistoryBuffer`` objects (whose pickle even calls ``getattr``). Instead of an unrestricted unpickler
(which would run arbitrary code from a downloaded file) we
- allow-list numpy's array/scalar/dtype reconstructors (importing this module registers them), and
- store ``HistoryBuffer`` objects as plain dicts of arrays (:class:`WeightsOnlyCheckpointHook`, which
  ``DWPoseRunner`` installs) and turn them back into buffers when a run resumes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from dwpose.fileio import atomic_open, require_file


def _numpy_safe_globals() -> list:
    """Types numpy needs to rebuild arrays and scalars inside a weights-only pickle."""
    core = getattr(np, "_core", None) or np.core
    safe = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype]
    safe += [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                         np.int32, np.int64, np.uint8, np.bool_, np.str_, np.object_)]
    return safe


SAFE_GLOBALS: list = _numpy_safe_globals()
torch.serialization.add_safe_globals(SAFE_GLOBALS)


_BUFFER_TAG = "__history_buffer__"


def buffers_to_plain(log_scalars: dict) -> dict:
    """``{name: HistoryBuffer}`` -> ``{name: {tag, log, count, max_length}}`` (weights-only loadable)."""
    out = {}
    for name, buf in log_scalars.items():
        if isinstance(buf, HistoryBuffer):
            log, count = buf.data
            out[name] = {_BUFFER_TAG: True, "log": np.asarray(log), "count": np.asarray(count),
                         "max_length": int(buf.max_length)}
        else:
            out[name] = buf
    return out


def plain_to_buffers(log_scalars: dict) -> dict:
    """Inverse of :func:`buffers_to_plain`."""
    out = {}
    for name, item in log_scalars.items():
        if isinstance(item, dict) and item.get(_BUFFER_TAG):
            out[name] = HistoryBuffer(list(item["log"]), list(item["count"]), item["max_length"])
        else:
            out[name] = item
    return out


def load_checkpoint_file(path: str | os.PathLike, map_location: str = "cpu") -> dict:
    """Load a checkpoint with the weights-only unpickler (plus the allow-list above).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is truncated, not a torch checkpoint, or holds disallowed objects.
    """
    path = Path(path)
    require_file(path, "checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / unsafe files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        unsafe = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", str(exc), re.IGNORECASE)
        if unsafe:  # torch's first line would advise weights_only=False, i.e. running the pickle
            first = f"it pickles {unsafe.group(1)}, which the weights-only loader refuses"
        raise ValueError(f"cannot read checkpoint {path} (truncated or not a safe torch "
                         f"checkpoint): {first}") from exc
    if not isinstance(ckpt, dict):
        raise ValueError(f"checkpoint {path} holds a {type(ckpt).__name__}, expected a dict")
    return ckpt


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` into a temporary file beside ``path``, then rename it into place (umask mode)."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


_CKPT_RE = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


def find_resumable_checkpoint(work_dir: str | os.PathLike) -> Optional[str]:
    """The newest checkpoint in ``work_dir`` that actually loads, or ``None``.

    ``last_checkpoint`` is preferred when it names a readable file; otherwise ``epoch_*.pth`` /
    ``iter_*.pth`` are tried newest first, so a checkpoint cut short by a kill is skipped.
    """
    work_dir = Path(work_dir)
    candidates: list[Path] = []
    marker = work_dir / "last_checkpoint"
    if marker.is_file():
        named = Path(marker.read_text().strip())
        if named.name:
            candidates.append(named if named.is_absolute() else work_dir / named.name)
    found = [(int(m.group(2)), p) for p in work_dir.glob("*.pth") if (m := _CKPT_RE.match(p.name))]
    candidates += [p for _, p in sorted(found, reverse=True)]
    for cand in candidates:
        try:
            load_checkpoint_file(cand)
        except (OSError, ValueError):  # missing, a folder, truncated, unsafe
            continue
        return str(cand)
    return None


def _register_hook() -> None:
    from mmengine.hooks import Hook
    from mmpose.registry import HOOKS

    @HOOKS.register_module()
    class WeightsOnlyCheckpointHook(Hook):
        """Keeps MMEngine checkpoints loadable with ``torch.load(weights_only=True)``."""

        priority = "LOWEST"  # after EMAHook and friends have filled the checkpoint

        def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
            hub = checkpoint.get("message_hub")
            if isinstance(hub, dict) and "log_scalars" in hub:
                hub["log_scalars"] = buffers_to_plain(hub["log_scalars"])

        def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
            hub = checkpoint.get("message_hub")
            if isinstance(hub, dict) and "log_scalars" in hub:
                hub["log_scalars"] = plain_to_buffers(hub["log_scalars"])


_register_hook()
