"""onnxruntime sessions: one place for providers, threads and readable errors about bad model files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from dwpose.fileio import require_file

if TYPE_CHECKING:
    import onnxruntime

DEVICES = ("cpu", "cuda")
_shared_pool_threads: Optional[int] = None  # set by use_shared_thread_pool()


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity / cgroup pinning where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_device(device: str) -> str:
    """Validate ``cpu`` / ``cuda`` / ``cuda:N``; returns it unchanged."""
    if device.split(":")[0] not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    return device


def use_shared_thread_pool(threads: Optional[int] = None) -> bool:
    """Make the sessions :func:`create_session` opens from now on share ONE onnxruntime thread pool.

    With a pool per session (onnxruntime's default), the detector's threads keep spinning while the pose
    model runs and the two fight over the cores: on 2 cores that made detector + pose 1.9x slower per
    image than with one shared pool. Side effect: onnxruntime then refuses sessions opened elsewhere in
    this process with per-session threads, so only processes we own call this (``dwpose predict``, the
    Cog predictor). Returns False where this onnxruntime cannot share pools (nothing changes).
    """
    global _shared_pool_threads
    if _shared_pool_threads is None:
        from onnxruntime.capi import _pybind_state

        setter = getattr(_pybind_state, "set_global_thread_pool_sizes", None)
        if setter is None:
            return False
        _shared_pool_threads = threads or cpu_count()
        setter(_shared_pool_threads, 1)
    return True


def _providers(device: str) -> Sequence[object]:
    import onnxruntime as ort

    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError(
                "--device cuda needs onnxruntime with CUDA (pip install onnxruntime-gpu); "
                "this onnxruntime only offers " + ", ".join(ort.get_available_providers())
            )
        device_id = int(device.split(":")[1]) if ":" in device else 0
        return [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def create_session(
    path: os.PathLike | str, device: str = "cpu", threads: Optional[int] = None, what: str = "model"
) -> onnxruntime.InferenceSession:
    """Open an ONNX file with onnxruntime.

    Args:
        path: the ``.onnx`` file.
        device: ``cpu`` or ``cuda[:N]``.
        threads: intra-op threads; default = the cores available to this process (ignored once
            :func:`use_shared_thread_pool` was called).
        what: how error messages name the file ("pose model", "detector").

    Returns:
        An ``onnxruntime.InferenceSession`` (graph optimisations on, sequential execution).

    Raises:
        FileNotFoundError: the file is missing. ValueError: it is not a readable ONNX model.
    """
    import onnxruntime as ort

    path = Path(path)
    require_file(path, what)
    opts = ort.SessionOptions()
    if _shared_pool_threads is not None:
        opts.use_per_session_threads = False
    else:
        opts.intra_op_num_threads = threads or cpu_count()
        opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=_providers(check_device(device)))
    except ValueError:
        raise
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{what} {path} is not a readable ONNX model ({first[:200]})") from exc
