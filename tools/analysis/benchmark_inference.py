"""Inference speed on this machine: end-to-end images/s and pose-stage crops/s.

Compares, on the same ONNX files and the same person boxes: our pipeline (all crops of an image in
one call, sessions sharing one thread pool), the bare onnxruntime call it wraps, one crop at a time,
rtmlib (``RTMDet`` + ``RTMPose``: local files, backend onnxruntime, its default session options),
and PyTorch. The cases take turns in every trial and the best trial counts, so load from other
processes on a shared machine hits them alike. Prints a markdown table.

Usage::

    python tools/analysis/benchmark_inference.py \
        [--pose MODEL.onnx | --config CONFIG.py [--checkpoint CKPT]] \
        [--det ../shared/weights/rtmdet-nano_person_end2end.onnx] \
        [--images ../shared/data/coco-wholebody-mini/images] [--repeat 5] [--trials 5] [--no-torch]

Without ``--pose``, the RTMPose-t config is built with random weights and exported to a temporary
ONNX (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import _bench
import cv2
import numpy as np

from dwpose.errors import guarded
from dwpose.inference.detectors import load_onnx_detector
from dwpose.inference.geometry import bbox_xyxy_to_center_scale, fix_aspect_ratio, warp_crops
from dwpose.inference.pipeline import TopDownPipeline, normalize_crops
from dwpose.inference.pose_models import OnnxPoseModel
from dwpose.inference.runtime import use_shared_thread_pool

BARE = "bare onnxruntime session.run, all crops of an image per call"
BATCHED = "dwpose (crop + normalise + ORT + decode), all crops of an image per call"
RTMLIB_POSE = "rtmlib RTMPose (1 crop per call, its design)"
E2E_OURS = "dwpose (ONNX detector + ONNX pose, shared thread pool)"
E2E_RTMLIB = "rtmlib RTMDet + RTMPose (same ONNX files)"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pose", type=Path, help="pose ONNX (DWPose I/O); default: export --config")
    p.add_argument("--config", type=Path, default=_bench.RTMPOSE_T, help="mmpose config used without --pose")
    p.add_argument("--checkpoint", type=Path, help="weights for --config (default: random init)")
    p.add_argument("--det", type=Path, default=_bench.DETECTOR)
    p.add_argument("--images", type=Path, default=_bench.COCO_MINI / "images")
    p.add_argument("--repeat", type=int, default=5, help="passes over the images per trial")
    p.add_argument("--trials", type=int, default=5, help="interleaved trials; the best of each case counts")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    return p.parse_args()


def torch_model_and_onnx(args: argparse.Namespace, folder: Path):
    """``(TorchPoseModel or None, pose ONNX path)``: exports ``--config`` when no ``--pose`` is given."""
    if args.pose is not None and (args.no_torch or args.checkpoint is None):
        return None, args.pose
    model = _bench.random_pose_model(args.config, args.checkpoint)
    onnx_path = args.pose or _bench.export_pose_onnx(folder / "pose.onnx", model=model)
    return (None if args.no_torch else model), onnx_path


class Bench:
    """The workload (decoded images, repeated; their person boxes) and the cases to time."""

    def __init__(self, args: argparse.Namespace, pose_onnx: Path, torch_model=None) -> None:
        from rtmlib import RTMDet, RTMPose

        self.images = [cv2.imread(str(p)) for p in _bench.photos(args.images)] * args.repeat
        self.args, self.torch_model = args, torch_model
        # rtmlib's sessions and ours with per-session pools first: after use_shared_thread_pool()
        # onnxruntime refuses per-session pools in this process.
        self.rtm_det = RTMDet(str(args.det), model_input_size=(320, 320), backend="onnxruntime", device="cpu")
        self.per_session = TopDownPipeline(OnnxPoseModel(pose_onnx), load_onnx_detector(args.det))
        size = self.per_session.pose_model.input_size
        self.rtm_pose = RTMPose(str(pose_onnx), model_input_size=size, backend="onnxruntime", device="cpu")
        use_shared_thread_pool()
        self.pipe = TopDownPipeline(OnnxPoseModel(pose_onnx), load_onnx_detector(args.det))
        self.boxes = [self.pipe.detect(img) for img in self.images]
        self.crops = sum(len(b) for b in self.boxes)

    def batches(self) -> List[np.ndarray]:
        """Per image, its normalised crops ``(N, 3, H, W)`` (the bare model's input)."""
        pose, out = self.pipe.pose_model, []
        for img, b in zip(self.images, self.boxes):
            c, s = bbox_xyxy_to_center_scale(b[:, :4])
            crops = warp_crops(
                img, c, fix_aspect_ratio(s, pose.input_size[0] / pose.input_size[1]), pose.input_size
            )
            out.append(normalize_crops(crops, pose.mean, pose.std))
        return out

    def pose_cases(self) -> List[tuple]:
        """Pose stage on the same boxes: the bare ORT call, ours batched / per crop, rtmlib."""
        pose, pipe, rtm, batches = self.pipe.pose_model, self.pipe, self.rtm_pose, self.batches()
        bare = lambda x: pose.session.run(None, {pose.input_name: x})
        pairs = list(zip(self.images, self.boxes))
        runs = {
            BARE: lambda: [bare(x) for x in batches],
            "bare onnxruntime session.run, 1 crop per call": lambda: [
                bare(x[i : i + 1]) for x in batches for i in range(len(x))
            ],
            BATCHED: lambda: [pipe(i, b) for i, b in pairs],
            "dwpose, 1 crop per call": lambda: [
                pipe(i, b[k : k + 1]) for i, b in pairs for k in range(len(b))
            ],
            RTMLIB_POSE: lambda: [rtm(i, bboxes=b[:, :4].tolist()) for i, b in pairs],
        }
        return [("pose", label, fn, self.crops) for label, fn in runs.items()]

    def torch_cases(self) -> List[tuple]:
        """PyTorch (bare model, batched and per crop) on the crops of one pass over the photos."""
        if self.torch_model is None:
            return []
        model, batches = self.torch_model, self.batches()[: len(self.images) // self.args.repeat]
        n = sum(len(x) for x in batches)
        batched = lambda: [model(x) for x in batches]
        single = lambda: [model(x[i : i + 1]) for x in batches for i in range(len(x))]
        return [("pose", "PyTorch (bare model), all crops of an image per call", batched, n),
                ("pose", "PyTorch (bare model), 1 crop per call", single, n)]  # fmt: skip

    def end_to_end_cases(self) -> List[tuple]:
        """Detector + pose on whole images: ours (shared / per-session pools) and rtmlib."""
        n, ours, per_session = len(self.images), self.pipe, self.per_session
        rtm = lambda: [self.rtm_pose(i, bboxes=self.rtm_det(i).tolist()) for i in self.images]
        return [("end to end", E2E_OURS, lambda: [ours(i) for i in self.images], n),
                ("end to end", "dwpose, one thread pool per session (onnxruntime's default)",
                 lambda: [per_session(i) for i in self.images], n),
                ("end to end", E2E_RTMLIB, rtm, n)]  # fmt: skip


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
    overhead = 100 * (r[BARE] / r[BATCHED] - 1)
    return "\n".join([
        f"- pose stage time per crop over the bare onnxruntime call: {overhead:+.1f}% (target <= +15%)",
        f"- pose stage vs rtmlib: {r[BATCHED] / r[RTMLIB_POSE]:.2f}x crops/s (target >= 1.35x)",
        f"- end to end vs rtmlib: {r[E2E_OURS] / r[E2E_RTMLIB]:.2f}x images/s (target >= 1.3x)",
    ])  # fmt: skip


def _main(args: Optional[argparse.Namespace] = None) -> None:
    args = args or parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        torch_model, pose_onnx = torch_model_and_onnx(args, Path(tmp))
        bench = Bench(args, pose_onnx, torch_model)
        cases = bench.pose_cases() + bench.torch_cases() + bench.end_to_end_cases()
        times, _ = _bench.interleaved_best([fn for _, _, fn, _ in cases], args.trials)
    rows = [(stage, name, count / t) for (stage, name, _, count), t in zip(cases, times)]
    w, h = bench.pipe.pose_model.input_size
    print(f"machine: {_bench.machine()}")
    n = len(bench.images)
    print(
        f"workload: {n} images ({n // args.repeat} photos x {args.repeat}), {bench.crops} person crops, "
        f"pose input {w}x{h}, detector {args.det.name}; best of {args.trials} interleaved trials\n"
    )
    print(table(rows) + "\n\n" + summary(rows))


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/benchmark_inference.py")


if __name__ == "__main__":
    sys.exit(main())
