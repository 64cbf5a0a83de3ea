"""What the scripts of this folder share: this checkout on ``sys.path``, the default files, the machine
line, the random RTMPose-t exported to ONNX, best-of interleaved timing and the training-step helpers.

Every script here begins with ``import _bench``. A script run as ``python tools/analysis/X.py`` has its
own folder first on ``sys.path``, so that import always works; importing this module then puts the
checkout it belongs to first on ``sys.path``, so the script runs this checkout's ``dwpose`` (and its
configs) whether the package is installed, installed from another checkout, or not installed at all.
The subprocesses a script starts with ``python tools/analysis/Y.py`` get the same.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
COCO_MINI = SHARED / "data/coco-wholebody-mini"
DETECTOR = SHARED / "weights/rtmdet-nano_person_end2end.onnx"
RTMPOSE_T = (REPO / "configs/wholebody_2d_keypoint/rtmpose/coco-wholebody"
             / "rtmpose-t_8xb64-270e_coco-wholebody-256x192.py")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MODULE_OF = {"opencv": "cv2"}  # package name in the machine line -> module that holds __version__


# ---- the machine line ----------------------------------------------------------------------------------
def version(package: str) -> str:
    """``package``'s ``__version__`` (``opencv``: of ``cv2``), or ``"not installed"``."""
    try:
        return str(importlib.import_module(MODULE_OF.get(package, package)).__version__)
    except ImportError:
        return "not installed"


def gpu_name() -> str:
    """The first CUDA device and torch's CUDA version, ``"no CUDA device"`` or ``"torch not importable"``."""
    try:
        import torch
    except ImportError:
        return "torch not importable"
    if not torch.cuda.is_available():
        return "no CUDA device"
    return f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}"


def machine(packages: Sequence[str] = ("onnxruntime",), gpu: bool = False, note: str = "") -> str:
    """One line for a benchmark's report: CPU model, the cores this process may use, the GPU (``gpu``:
    :func:`gpu_name`; otherwise ``no GPU used``), then python's and ``packages``' versions.

    ``note`` follows the GPU part, e.g. ``" (labels timed on the CPU)"``. The CPU model and python come
    from :func:`dwpose.study.report.machine_description`, the project's one description of a machine.
    """
    from dwpose.inference.runtime import cpu_count
    from dwpose.study.report import machine_description

    info = machine_description()
    versions = [f"python {info['python']}"] + [f"{p} {version(p)}" for p in packages]
    where = gpu_name() if gpu else "no GPU used"
    return f"{info['cpu'] or 'unknown CPU'}, {cpu_count()} cores, {where}{note}; {', '.join(versions)}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``"0.52, 0.61, 0.70"``."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


# ---- inputs -----------------------------------------------------------------------------------------
def photos(folder: Path) -> List[Path]:
    """The JPEG / PNG files of ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


def random_pose_model(config: Path = RTMPOSE_T, checkpoint: Optional[Path] = None):
    """:class:`~dwpose.inference.torch_pose.TorchPoseModel` of ``config``: ``checkpoint``'s weights, or a
    random init from seed 0 (speed does not depend on the weights)."""
    import torch

    from dwpose.inference.torch_pose import TorchPoseModel

    torch.manual_seed(0)
    return TorchPoseModel(config, checkpoint)


def export_pose_onnx(path: Path, config: Path = RTMPOSE_T, model: Any = None) -> Path:
    """``model`` (default: :func:`random_pose_model` of ``config``) exported to ONNX at ``path``."""
    from dwpose.export.onnx import export_model

    return export_model(model if model is not None else random_pose_model(config), path)


# ---- timing -----------------------------------------------------------------------------------------
def interleaved_best(fns: Sequence[Callable[[], Any]], trials: int, warmup: bool = True
                     ) -> Tuple[List[float], List[Any]]:
    """Best wall time (s) of each function over ``trials`` trials in which they take turns, and what each
    returned in its last call. Load from other processes on a shared machine hits all of them alike; the
    best trial is the least disturbed. ``warmup`` calls each once, untimed, first."""
    if warmup:
        for fn in fns:
            fn()
    best, last = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(trials):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            last[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best, last


def sync(device: str) -> None:
    """Wait for the CUDA kernels queued so far (a no-op off CUDA), so that a timer sees them."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def adamw_wrapper(model, wrapper: str = "OptimWrapper"):
    """The RTMPose configs' optimizer (AdamW, lr 4e-3, decay 0.05, no decay on norms and biases,
    clip-grad 1.0) in the MMEngine optimizer wrapper ``wrapper`` (e.g. ``AmpOptimWrapper``)."""
    from mmengine.optim import build_optim_wrapper

    return build_optim_wrapper(model, dict(
        type=wrapper, optimizer=dict(type="AdamW", lr=4e-3, weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
        clip_grad=dict(max_norm=1.0, norm_type=2)))


def timed_steps(step: Callable[[], Any], device: str, warmup: int, iters: int) -> Tuple[List[float], list]:
    """``warmup`` untimed then ``iters`` timed calls of ``step`` (CUDA synchronised around each):
    ``(seconds of each timed call, what every call returned)``."""
    times, results = [], []
    for i in range(warmup + iters):
        sync(device)
        start = time.perf_counter()
        results.append(step())
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times, results
