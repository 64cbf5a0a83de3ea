"""onnxruntime sessions: one place for providers, threads and readable errors about bad model files."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from dwpose.errors import UserError, first_line
from dwpose.fileio import require_file

if TYPE_CHECKING:
    import onnxruntime

DEVICES = ("cpu", "cuda")
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
_shared_pool_threads: Optional[int] = None  # set by use_shared_thread_pool()
_warned: set = set()  # warning lines already printed by this process


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity / cgroup pinning where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_device(device: str) -> str:
    """Validate ``cpu`` / ``cuda`` / ``cuda:N`` (N a whole number); returns it unchanged."""
    from dwpose.inference.options import check_device as check

    return check(device)


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


def gpu_visible() -> Optional[bool]:
    """Whether an NVIDIA GPU is visible to this process: False when ``CUDA_VISIBLE_DEVICES`` hides every
    device or (Linux) no ``/dev/nvidia<N>`` exists, True when one exists, None where we cannot tell."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if not sys.platform.startswith("linux"):
        return None
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def cuda_unavailable_reason() -> Optional[str]:
    """Why onnxruntime's CUDA provider cannot run here, found without opening a session; None if it may."""
    import onnxruntime as ort

    if CUDA_PROVIDER not in ort.get_available_providers():
        return (
            "this onnxruntime has no CUDA provider (pip install onnxruntime-gpu in place of onnxruntime); "
            "it offers " + ", ".join(ort.get_available_providers())
        )
    if gpu_visible() is False:
        return "no GPU is visible (no /dev/nvidia* device, or CUDA_VISIBLE_DEVICES hides them all)"
    return None


def warn_once(message: str) -> None:
    """Print ``dwpose: warning: <message>`` on stderr, once per process for a given message."""
    if message not in _warned:
        _warned.add(message)
        print(f"dwpose: warning: {message}", file=sys.stderr, flush=True)


def _fallback_warning(device: str, why: str) -> None:
    warn_once(f"device {device} was asked for but {why}: running on {CPU_PROVIDER}")


def _providers(device: str) -> Tuple[List[Any], Optional[str]]:
    """onnxruntime providers for ``device``, and why CUDA cannot be used (None: nothing to say)."""
    if not device.startswith("cuda"):
        return [CPU_PROVIDER], None
    why = cuda_unavailable_reason()
    if why is not None:
        return [CPU_PROVIDER], why
    device_id = int(device.split(":")[1]) if ":" in device else 0
    return [(CUDA_PROVIDER, {"device_id": device_id}), CPU_PROVIDER], None


def session_provider(session: onnxruntime.InferenceSession) -> str:
    """The execution provider a session actually runs on (its first one, e.g. ``CPUExecutionProvider``)."""
    return session.get_providers()[0]


def describe_backend(model: Any) -> str:
    """What runs ``model`` (a pose model or detector): ``onnxruntime CPUExecutionProvider``,
    ``PyTorch cpu``, ..."""
    session = getattr(model, "session", None)
    if session is not None:
        return f"onnxruntime {session_provider(session)}"
    torch_module = getattr(model, "model", None)
    params = getattr(torch_module, "parameters", None)
    if params is not None:
        first = next(iter(params()), None)
        return f"PyTorch {first.device if first is not None else 'cpu'}"
    return type(model).__name__


def providers_line(**models: Any) -> str:
    """One line naming what runs each model: ``providers: pose model onnxruntime CPUExecutionProvider,
    detector onnxruntime CPUExecutionProvider`` (``None`` models are left out; ``_`` reads as a space)."""
    parts = [f"{name.replace('_', ' ')} {describe_backend(m)}" for name, m in models.items() if m is not None]
    return "providers: " + ", ".join(parts)


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
        An ``onnxruntime.InferenceSession`` (graph optimisations on, sequential execution). With
        ``device`` ``cuda`` it runs on ``CUDAExecutionProvider`` when onnxruntime-gpu and a GPU are
        there; otherwise one ``dwpose: warning:`` line on stderr says why, and it runs on the CPU.

    Raises:
        FileNotFoundError: the file is missing. UserError: it is not a readable ONNX model.
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
    providers, why = _providers(check_device(device))
    if why is not None:
        _fallback_warning(device, why)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        if len(providers) > 1:  # CUDA asked for and failed outright: the CPU alone, if the file is fine
            session = create_session(path, "cpu", threads, what)
            _fallback_warning(device, f"{CUDA_PROVIDER} failed to start ({first_line(exc)[:200]})")
            return session
        raise UserError(f"{what} {path} is not a readable ONNX model ({first_line(exc)[:200]})") from exc
    if len(providers) > 1 and session_provider(session) != CUDA_PROVIDER:
        _fallback_warning(
            device,
            f"{CUDA_PROVIDER} failed to load (CUDA / cuDNN libraries missing or not those this "
            "onnxruntime-gpu was built for; `dwpose doctor` shows what is found)",
        )
    return session

