"""``dwpose doctor``: what this environment has, and whether DWPose can run in it.

Prints, in one screen: package versions; onnxruntime's providers and whether ``--device cuda`` would
run on the GPU; CUDA / cuDNN as PyTorch sees them; whether mmcv's compiled ops load and run; the CPU
instruction sets behind the pinned training kernels (``dwpose/engine/numerics.py``); where data and
weights are expected and whether they are there.

Exit status: 0 when the environment works (every required package imports, mmcv's ops run); 1 with
a ``problems:`` line otherwise. A missing GPU, data set or weight file is a note, not a problem:
CPU inference and the tests run without them.

Example::

    dwpose doctor
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from dwpose.errors import first_line

# (import name, shown name, required): required packages must import for exit status 0
PACKAGES: Tuple[Tuple[str, str, bool], ...] = (
    ("numpy", "numpy", True),
    ("cv2", "opencv", True),
    ("onnxruntime", "onnxruntime", True),
    ("torch", "torch", True),
    ("torchvision", "torchvision", True),
    ("mmengine", "mmengine", True),
    ("mmcv", "mmcv", True),
    ("mmdet", "mmdet", True),
    ("mmpose", "mmpose", True),
    ("xtcocotools", "xtcocotools", True),
    ("onnx", "onnx", False),
    ("cog", "cog", False),
)
COG_WEIGHTS = ("ckpts/dw-ll_ucoco_384.onnx", "ckpts/yolox_l.onnx")  # predict.py's defaults


@dataclass
class Report:
    """Rows printed under section titles, and the problems that make the exit status 1."""

    lines: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)

    def section(self, title: str) -> None:
        self.lines.append(title)

    def row(self, name: str, value: str) -> None:
        self.lines.append(f"  {name:<24} {value}")

    def problem(self, name: str, value: str) -> None:
        self.row(name, f"PROBLEM: {value}")
        self.problems.append(name)


def _first_line(exc: BaseException) -> str:
    return first_line(exc)[:160]


def _version(name: str, shown: str, module: object) -> str:
    version = getattr(module, "__version__", None)
    if version is None:
        from importlib import metadata

        try:
            version = metadata.version(shown)
        except metadata.PackageNotFoundError:
            version = "?"
    return str(version)


def _versions(report: Report) -> Dict[str, object]:
    """Import each package, row ``name version``; returns the modules that imported."""
    report.section("versions")
    report.row("python", f"{platform.python_version()} ({sys.executable})")
    modules: Dict[str, object] = {}
    for name, shown, required in PACKAGES:
        try:
            modules[name] = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import failure is what the doctor reports
            (report.problem if required else report.row)(shown, f"cannot import ({_first_line(exc)})")
            continue
        report.row(shown, _version(name, shown, modules[name]))
    return modules


def _onnxruntime(report: Report, modules: Dict[str, object]) -> None:
    report.section("onnxruntime")
    if "onnxruntime" not in modules:
        report.row("providers", "onnxruntime is missing")
        return
    from dwpose.inference.runtime import cuda_unavailable_reason

    report.row("providers", ", ".join(modules["onnxruntime"].get_available_providers()))
    why = cuda_unavailable_reason()
    report.row("--device cuda", "may use CUDAExecutionProvider" if why is None else f"runs on the CPU: {why}")


def _cuda(report: Report, modules: Dict[str, object]) -> None:
    from dwpose.inference.runtime import gpu_visible

    report.section("CUDA")
    visible = gpu_visible()
    report.row("GPU device visible", {True: "yes", False: "no", None: "cannot tell here"}[visible])
    report.row("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"))
    torch = modules.get("torch")
    if torch is None:
        return
    build = torch.version.cuda or "none (CPU-only build)"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    if cudnn:  # 90100 -> 9.1.0 (cuDNN >= 9: major * 10000 + minor * 100 + patch; 8: x 1000, x 100)
        major = cudnn // 10000 if cudnn >= 90000 else cudnn // 1000
        rest = cudnn - major * (10000 if cudnn >= 90000 else 1000)
        cudnn = f"{major}.{rest // 100}.{rest % 100}"
    report.row("torch CUDA build", f"{build}; cuDNN {cudnn or 'not available'}")
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        report.row("torch sees", f"{len(names)} GPU(s): {', '.join(names)}")
    else:
        report.row("torch sees", "no GPU (training and PyTorch inference run on the CPU)")


def _mmcv_ops(report: Report, modules: Dict[str, object]) -> None:
    """mmpose imports ``mmcv.ops`` (compiled); run one op so a broken build shows here, not mid-training."""
    report.section("mmcv compiled ops")
    if "mmcv" not in modules or "torch" not in modules:
        report.problem("mmcv.ops", "mmcv or torch is missing")
        return
    torch = modules["torch"]
    try:
        from mmcv.ops import nms

        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
        _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    except Exception as exc:  # noqa: BLE001 - a missing or mismatched extension raises anything
        report.problem("mmcv.ops", f"cannot run ({_first_line(exc)}); mmcv-lite is not enough")
        return
    if sorted(keep.tolist()) != [0, 2]:
        report.problem("mmcv.ops.nms", f"wrong result {keep.tolist()} (expected [0, 2])")
        return
    report.row("mmcv.ops.nms", "ran on the CPU, right result")


def cpu_flags() -> Optional[set]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux), or None elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def _cpu(report: Report, modules: Dict[str, object]) -> None:
    from dwpose.engine.numerics import PINNED_KERNELS

    report.section("CPU (pinned training kernels: dwpose/engine/numerics.py)")
    report.row("machine", f"{platform.machine()}, {os.cpu_count()} cores")
    flags = cpu_flags()
    if flags is None:
        report.row("instruction sets", "unknown (no /proc/cpuinfo)")
    else:
        found = [
            f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags
        ]
        report.row("instruction sets", ", ".join(found) or "none of sse4_2/avx/avx2/avx512f")
        pinned_ok = "avx2" in flags and "fma" in flags
        report.row("pinned AVX2 kernels", "can run" if pinned_ok else "cannot run (no AVX2/FMA)")
    torch = modules.get("torch")
    if torch is not None:
        report.row("torch CPU capability", str(torch.backends.cpu.get_cpu_capability()))
    for name in PINNED_KERNELS:
        report.row(name, os.environ.get(name, f"(unset; training subprocesses pin {PINNED_KERNELS[name]})"))


def _presence(path: Path, check: Callable[[Path], bool] = Path.exists) -> str:
    if not check(path):
        return f"absent: {path}"
    if not os.access(path, os.R_OK):
        return f"present but unreadable: {path}"
    return f"present: {path}"


def _data_and_weights(report: Report) -> None:
    # relative to where the command runs (the checkout in the README's commands), like the configs'
    # data_root='data/'; the package does not look for its own checkout
    here = Path.cwd()
    report.section(f"data and weights (notes only; relative to {here})")
    data = here / "data"
    report.row("data/ (training)", _presence(data / "coco", Path.is_dir))
    report.row("  COCO-WholeBody val", _presence(data / "coco/annotations/coco_wholebody_val_v1.0.json"))
    report.row("  UBody", _presence(data / "UBody", Path.is_dir))
    shared = Path(os.environ.get("DWPOSE_SHARED_DIR", here.parent / "shared"))
    report.row("../shared (tests)", _presence(shared, Path.is_dir))
    mini = shared / "data/coco-wholebody-mini/coco_wholebody_mini.json"
    report.row("  coco-wholebody-mini", _presence(mini))
    weights = shared / "weights"
    onnx = sorted(p.name for p in weights.glob("*.onnx")) if weights.is_dir() else []
    report.row(
        "  weights", f"{len(onnx)} ONNX: {', '.join(onnx)}" if onnx else _presence(weights, Path.is_dir)
    )
    for rel in COG_WEIGHTS:
        report.row(f"Cog {Path(rel).name}", _presence(here / rel))


def collect() -> Report:
    """Run every check; the report says what was found."""
    report = Report()
    modules = _versions(report)
    for step in (_onnxruntime, _cuda, _mmcv_ops, _cpu):
        step(report, modules)
    _data_and_weights(report)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``dwpose doctor`` takes no arguments."""


def run(args: argparse.Namespace) -> int:
    """Print the report; 0 when the environment works, 1 when a required piece is broken."""
    report = collect()
    print("\n".join(report.lines))
    if report.problems:
        print(f"problems: {', '.join(report.problems)} (see the PROBLEM rows above)")
        return 1
    print("the environment works")
    return 0
