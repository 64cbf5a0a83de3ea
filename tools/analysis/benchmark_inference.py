"""Inference speed on this machine: end-to-end images/s and pose-stage crops/s.

Compares, on the same ONNX files and the same person boxes: our batched pipeline, the bare
onnxruntime call it wraps, one crop at a time, rtmlib (``RTMDet`` + ``RTMPose``, local files,
backend onnxruntime) and PyTorch. Prints a markdown table.

Usage::

    python tools/analysis/benchmark_inference.py \
        [--pose MODEL.onnx | --config CONFIG.py [--checkpoint CKPT]] \
        [--det ../shared/weights/rtmdet-nano_person_end2end.onnx] \
        [--images ../shared/data/coco-wholebody-mini/images] [--repeat 5] [--trials 3] [--no-torch]

Without ``--pose``, the RTMPose-t config is built with random weights and exported to a temporary
ONNX (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np
import onnxruntime as ort

from dwpose.inference.detectors import load_onnx_detector
from dwpose.inference.geometry import bbox_xyxy_to_center_scale, fix_aspect_ratio, warp_crops
from dwpose.inference.pipeline import TopDownPipeline, normalize_crops
from dwpose.inference.pose_models import OnnxPoseModel
from dwpose.inference.runtime import cpu_count

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DEFAULT_CONFIG = (
    REPO
    / "configs/wholebody_2d_keypoint/rtmpose/coco-wholebody/rtmpose-t_8xb64-270e_coco-wholebody-256x192.py"
)
BARE = "bare onnxruntime, all crops of an image per call"
BATCHED = "dwpose (crop + normalise + ORT + decode), batched"
RTMLIB_POSE = "rtmlib RTMPose (1 crop per call, its design)"
E2E_OURS = "dwpose (ONNX detector + ONNX pose)"
E2E_RTMLIB = "rtmlib RTMDet + RTMPose (same ONNX files)"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pose", type=Path, help="pose ONNX (DWPose I/O); default: export --config")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="mmpose config used without --pose")
    p.add_argument("--checkpoint", type=Path, help="weights for --config (default: random init)")
    p.add_argument("--det", type=Path, default=SHARED / "weights/rtmdet-nano_person_end2end.onnx")
    p.add_argument("--images", type=Path, default=SHARED / "data/coco-wholebody-mini/images")
    p.add_argument("--repeat", type=int, default=5, help="passes over the images per trial")
    p.add_argument("--trials", type=int, default=3, help="trials per measurement; the best is kept")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    return p.parse_args()


def interleaved_best(cases: List[tuple], trials: int) -> List[float]:
    """Best wall time of each ``(stage, name, fn, count)`` case; the cases take turns in every trial, so a
    busy neighbour on a shared machine slows them all alike, and the minimum filters such bursts."""
    for case in cases:
        case[2]()  # warm-up
    best = [float("inf")] * len(cases)
    for _ in range(trials):
        for i, (_, _, fn, _) in enumerate(cases):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def export_default(config: Path, checkpoint: Optional[Path], folder: Path):
    import torch

    from dwpose.export.onnx import export_model
    from dwpose.inference.torch_pose import TorchPoseModel

    torch.manual_seed(0)
    model = TorchPoseModel(config, checkpoint)
    return model, export_model(model, folder / "pose.onnx")


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    versions = f"onnxruntime {ort.__version__}, python {platform.python_version()}"
    return f"{cpu}, {cpu_count()} cores, no GPU used; {versions}"


class Bench:
    """The workload: decoded images (repeated), their person boxes, and the models under test."""

    def __init__(self, args: argparse.Namespace, pose_onnx: Path, torch_model=None) -> None:
        photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        self.images = [cv2.imread(str(p)) for p in photos] * args.repeat
        self.args, self.pose_onnx, self.torch_model = args, pose_onnx, torch_model
        self.detector = load_onnx_detector(args.det)
        self.pose = OnnxPoseModel(pose_onnx)
        self.boxes = [self.detector(img) for img in self.images]
        self.crops = sum(len(b) for b in self.boxes)

    def _batches(self) -> List[np.ndarray]:
        """Per image, its normalised crops ``(N, 3, H, W)`` (the bare model's input)."""
        size, batches = self.pose.input_size, []
        for img, b in zip(self.images, self.boxes):
            c, s = bbox_xyxy_to_center_scale(b[:, :4])
            crops = warp_crops(img, c, fix_aspect_ratio(s, size[0] / size[1]), size)
            batches.append(normalize_crops(crops, self.pose.mean, self.pose.std))
        return batches

    def pose_cases(self) -> List[tuple]:
        """Pose stage on the same boxes: ours batched / per crop, the bare ORT call, rtmlib."""
        from rtmlib import RTMPose

        pipe, pose, batches = TopDownPipeline(self.pose), self.pose, self._batches()
        rtm = RTMPose(
            str(self.pose_onnx), model_input_size=pose.input_size, backend="onnxruntime", device="cpu"
        )
        pairs = list(zip(self.images, self.boxes))
        runs = {
            BARE: lambda: [pose(x) for x in batches],
            "bare onnxruntime, 1 crop per call": lambda: [
                pose(x[i : i + 1]) for x in batches for i in range(len(x))
            ],
            BATCHED: lambda: [pipe(i, b) for i, b in pairs],
            "dwpose, 1 crop per call": lambda: [
                pipe(i, b[k : k + 1]) for i, b in pairs for k in range(len(b))
            ],
            RTMLIB_POSE: lambda: [rtm(i, bboxes=b[:, :4].tolist()) for i, b in pairs],
        }
        return [("pose", name, fn, self.crops) for name, fn in runs.items()]

    def torch_cases(self) -> List[tuple]:
        """PyTorch on the crops of the first pass over the photos (it is slow)."""
        if self.torch_model is None:
            return []
        model, batches = self.torch_model, self._batches()[: len(self.images) // self.args.repeat]
        crops = sum(len(x) for x in batches)
        return [
            (
                "pose",
                "PyTorch (bare model), all crops of an image per call",
                lambda: [model(x) for x in batches],
                crops,
            ),
            (
                "pose",
                "PyTorch (bare model), 1 crop per call",
                lambda: [model(x[i : i + 1]) for x in batches for i in range(len(x))],
                crops,
            ),
        ]

    def end_to_end_cases(self) -> List[tuple]:
        """Detector + pose on whole images, ours vs rtmlib, same ONNX files."""
        from rtmlib import RTMDet, RTMPose

        ours = TopDownPipeline(self.pose, self.detector)
        det = RTMDet(str(self.args.det), model_input_size=(320, 320), backend="onnxruntime", device="cpu")
        pose = RTMPose(
            str(self.pose_onnx), model_input_size=self.pose.input_size, backend="onnxruntime", device="cpu"
        )
        n = len(self.images)
        return [
            ("end to end", E2E_OURS, lambda: [ours(i) for i in self.images], n),
            ("end to end", E2E_RTMLIB, lambda: [pose(i, bboxes=det(i).tolist()) for i in self.images], n),
        ]


def table(rows: List[tuple]) -> str:
    """Markdown table of ``(stage, implementation, items per second)`` rows."""
    lines = ["| stage | implementation | throughput | ms per item |", "|---|---|---|---|"]
    for stage, name, rate in rows:
        unit = "images/s" if stage == "end to end" else "crops/s"
        lines.append(f"| {stage} | {name} | {rate:.1f} {unit} | {1000 / rate:.2f} |")
    return "\n".join(lines)


def summary(rows: List[tuple]) -> str:
    """The three targets, as measured."""
    r = {name: rate for _, name, rate in rows}
    ours, bare = r[BATCHED], r[BARE]
    vs_rtmlib, e2e = ours / r[RTMLIB_POSE], r[E2E_OURS] / r[E2E_RTMLIB]
    return "\n".join(
        [
            f"- pose stage time per crop over bare onnxruntime (batched): {100 * (bare / ours - 1):+.1f}%"
            " (target <= 15%)",
            f"- pose stage vs rtmlib: {vs_rtmlib:.2f}x crops/s (target >= 1.35x)",
            f"- end to end vs rtmlib: {e2e:.2f}x images/s (target >= 1.3x)",
        ]
    )


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        torch_model, pose_onnx = None, args.pose
        if pose_onnx is None:
            torch_model, pose_onnx = export_default(args.config, args.checkpoint, Path(tmp))
        elif not args.no_torch and args.checkpoint is not None:
            from dwpose.inference.torch_pose import TorchPoseModel

            torch_model = TorchPoseModel(args.config, args.checkpoint)
        if args.no_torch:
            torch_model = None
        bench = Bench(args, pose_onnx, torch_model)
        cases = bench.pose_cases() + bench.torch_cases() + bench.end_to_end_cases()
        times = interleaved_best(cases, args.trials)
        rows = [(stage, name, count / t) for (stage, name, _, count), t in zip(cases, times)]
    print(f"machine: {machine()}")
    print(
        f"workload: {len(bench.images)} images ({len(bench.images) // args.repeat} photos x {args.repeat}), "
        f"{bench.crops} person crops, pose input {bench.pose.input_size[0]}x{bench.pose.input_size[1]}, "
        f"detector {args.det.name}; best of {args.trials} interleaved trials\n"
    )
    print(table(rows))
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
