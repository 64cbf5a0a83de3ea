"""Video speed and smoothness: frames/s with the detector on every frame vs every N-th, and jitter.

Speed: the real PoseTrack18 clip (5 frames, played forwards and backwards to ``--frames``), the real
RTMDet-nano person detector and an RTMPose-t exported with random weights (speed does not depend on
the weights), through :class:`dwpose.inference.video.VideoPoseEstimator` (``--det-every`` 1 and N, with
tracking), and rtmlib's ``PoseTracker`` on the same two ONNX files (``det_frequency`` 1 and N) as a
reference. The cases take turns in every trial; the best trial counts.

Smoothness: real COCO-WholeBody people moved along smooth paths at 30 fps with Gaussian keypoint noise
(a fraction of the person's size); jitter (mean |second difference|) and error to the clean path, raw
and One-Euro filtered; ``--sweep`` adds the table the smoothing defaults were chosen from.

Usage::

    python tools/analysis/benchmark_video.py [--frames 60] [--det-every 5] [--trials 3] [--sweep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List

import _bench
import cv2
import numpy as np

from dwpose.errors import guarded
from dwpose.inference.detectors import load_onnx_detector
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import OnnxPoseModel
from dwpose.inference.runtime import use_shared_thread_pool
from dwpose.inference.smoothing import DEFAULT_BETA, DEFAULT_MIN_CUTOFF, OneEuroFilter
from dwpose.inference.trajectories import (
    jitter,
    load_wholebody_people,
    mean_error,
    moving_person,
    person_size,
    smooth_path,
)
from dwpose.inference.video import VideoOptions, VideoPoseEstimator

FPS = 30.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--clip", type=Path, default=_bench.SHARED / "data/video-mini/posetrack18_000001_mpiinew_test.mp4"
    )
    p.add_argument("--det", type=Path, default=_bench.DETECTOR)
    p.add_argument("--pose", type=Path, help="pose ONNX; default: RTMPose-t with random weights")
    p.add_argument("--config", type=Path, default=_bench.RTMPOSE_T)
    p.add_argument("--annotations", type=Path, default=_bench.COCO_MINI / "coco_wholebody_mini.json")
    p.add_argument("--frames", type=int, default=60, help="frames per pass (the clip played back and forth)")
    p.add_argument("--det-every", type=int, default=5)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--no-rtmlib", action="store_true")
    p.add_argument("--sweep", action="store_true", help="also the min_cutoff x beta table")
    p.add_argument("--no-speed", action="store_true", help="only the smoothing tables")
    p.add_argument("--stand-in", action="store_true",
                   help="pose model: RTMPose-t's random graph answering the average pose (stable boxes, "
                        "so --det-every's schedule runs as with a trained model)")
    return p.parse_args()


def average_pose_at_rtmpose_cost(random_onnx: Path, annotations: Path, folder: Path) -> Path:
    """RTMPose-t's whole graph, but answering the average pose of ``annotations`` for every crop.

    With random weights RTMPose-t's poses collapse, so ``--det-every N`` judges them lost and re-runs
    the detector: the schedule is never exercised. This graph keeps every operation of the random
    RTMPose-t (its outputs enter as ``0 * simcc``, which onnxruntime does not fold away) and adds the
    one-hot SimCC logits of :func:`dwpose.export.average_pose.write_average_pose_onnx`: the cost of
    RTMPose-t with a plausible figure placed in each person box, as a trained model would give.
    """
    import onnx
    from onnx import helper, numpy_helper

    from dwpose.export.average_pose import write_average_pose_onnx

    write_average_pose_onnx(folder / "average.onnx", annotations)
    stand_in = onnx.load(str(folder / "average.onnx"))
    constants = {t.name: t for t in stand_in.graph.initializer if t.name in ("cx", "cy")}
    model = onnx.load(str(random_onnx))
    graph = model.graph
    for node in graph.node:  # RTMPose-t's own outputs become internal tensors
        node.output[:] = [{"simcc_x": "raw_x", "simcc_y": "raw_y"}.get(o, o) for o in node.output]
    graph.initializer.extend([constants["cx"], constants["cy"],
                              numpy_helper.from_array(np.zeros((1,), np.float32), "zero_w")])
    graph.node.extend([
        helper.make_node("Mul", ["raw_x", "zero_w"], ["zx"]),
        helper.make_node("Mul", ["raw_y", "zero_w"], ["zy"]),
        helper.make_node("Add", ["zx", "cx"], ["simcc_x"]),
        helper.make_node("Add", ["zy", "cy"], ["simcc_y"]),
    ])
    path = folder / "rtmpose-t_cost_average_pose.onnx"
    onnx.save(model, str(path))
    return path


def load_frames(clip: Path, count: int) -> List[np.ndarray]:
    """``count`` frames: the clip forwards, backwards, forwards... (continuous motion, no jump)."""
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(count)]


def ours(pipe: TopDownPipeline, frames: List[np.ndarray], det_every: int, redetect_lost: bool = True):
    def run() -> int:
        options = VideoOptions(track=True, det_every=det_every)
        est = VideoPoseEstimator(pipe, options, FPS, redetect_lost=redetect_lost)
        for start in range(0, len(frames), 8):
            est.process(list(enumerate(frames[start : start + 8], start)))
        return est.detector_calls

    return run


def rtmlib_tracker(det: Path, pose: Path, det_every: int):
    from functools import partial

    from rtmlib import Custom, PoseTracker

    solution = partial(
        Custom,
        det_class="RTMDet",
        det=str(det),
        det_input_size=(320, 320),
        pose_class="RTMPose",
        pose=str(pose),
        pose_input_size=(192, 256),
    )
    return PoseTracker(solution, det_frequency=det_every, tracking=True, backend="onnxruntime", device="cpu")


def speed_rows(args: argparse.Namespace, pose_onnx: Path) -> List[tuple]:
    frames = load_frames(args.clip, args.frames)
    reference = []
    if not args.no_rtmlib:  # rtmlib's sessions first: after use_shared_thread_pool() ORT refuses own pools
        for n in (1, args.det_every):
            tracker = rtmlib_tracker(args.det, pose_onnx, n)

            def run(tracker=tracker) -> str:
                tracker.reset()
                for f in frames:
                    tracker(f)
                return "?"

            reference.append((f"rtmlib PoseTracker, det_frequency={n}", run))
    use_shared_thread_pool()
    pipe = TopDownPipeline(OnnxPoseModel(pose_onnx), load_onnx_detector(args.det))
    n = args.det_every
    cases = [
        ("dwpose --track --det-every 1", ours(pipe, frames, 1)),
        (f"dwpose --track --det-every {n}", ours(pipe, frames, n)),
        (f"dwpose --track --det-every {n}, lost-pose re-detection off", ours(pipe, frames, n, False)),
    ] + reference
    best, calls = _bench.interleaved_best([fn for _, fn in cases], args.trials)
    rows = [(name, len(frames) / t, c, len(frames)) for (name, _), t, c in zip(cases, best, calls)]
    return rows, stage_costs(pipe, frames, args.trials)


def stage_costs(pipe: TopDownPipeline, frames: List[np.ndarray], trials: int) -> str:
    """Best-of-``trials`` detector ms per frame and pose ms per crop (all crops of a frame per call)."""
    boxes = [pipe.detect(f) for f in frames]
    (det, pose), _ = _bench.interleaved_best([
        lambda: [pipe.detect(f) for f in frames],
        lambda: [pipe.predict_batch([f], [b]) for f, b in zip(frames, boxes)],
    ], trials, warmup=False)
    crops = sum(len(b) for b in boxes)
    return (
        f"stage costs: detector {1000 * det / len(frames):.1f} ms per frame; "
        f"pose {1000 * pose / crops:.1f} ms per crop, {crops / len(frames):.1f} people per frame"
    )


def smoothing_trial(people, min_cutoff: float, beta: float, noise: float, seed: int = 0, frames: int = 120):
    """Mean over the people of (jitter, error) filtered and raw, noise ``noise`` x person size."""
    rng = np.random.default_rng(seed)
    out = []
    for k, (kpts, visible) in enumerate(people):
        size = person_size(kpts, visible)
        path = smooth_path(frames, (300, 300), (rng.uniform(-1, 1) * 0.01 * size, 0), 0.1 * size, 60, k)
        clean = moving_person(kpts, path, visible)
        noisy = clean + rng.normal(0, noise * size, clean.shape)
        f = OneEuroFilter(min_cutoff, beta)
        smooth = np.stack([f(t / FPS, noisy[t], visible, size) for t in range(frames)])
        out.append(
            [
                jitter(smooth, visible),
                jitter(noisy, visible),
                mean_error(smooth, clean, visible),
                mean_error(noisy, clean, visible),
                size,
            ]
        )
    return np.mean(out, axis=0)


def smoothing_table(people) -> str:
    lines = [
        "| keypoint noise (x person size) | jitter raw -> smoothed (px) "
        "| error to clean path raw -> smoothed (px) |",
        "|---|---|---|",
    ]
    for noise in (0.005, 0.01, 0.02):
        js, jr, es, er, _ = smoothing_trial(people, DEFAULT_MIN_CUTOFF, DEFAULT_BETA, noise)
        jit = f"{jr:.2f} -> {js:.2f} ({js / jr - 1:+.0%})"
        lines.append(f"| {noise:.3f} | {jit} | {er:.2f} -> {es:.2f} ({es / er - 1:+.0%}) |")
    return "\n".join(lines)


def sweep_table(people) -> str:
    lines = [
        "| min_cutoff | beta | jitter ratio at noise 0.5% / 1% / 2% | error ratio at 0.5% / 1% / 2% |",
        "|---|---|---|---|",
    ]
    for mc in (0.5, 1.0, 2.0):
        for beta in (3.0, 10.0, 20.0, 100.0):
            r = [smoothing_trial(people, mc, beta, n) for n in (0.005, 0.01, 0.02)]
            jit = " / ".join(f"{x[0] / x[1]:.2f}" for x in r)
            err = " / ".join(f"{x[2] / x[3]:.2f}" for x in r)
            lines.append(f"| {mc} | {beta:g} | {jit} | {err} |")
    return "\n".join(lines)


def _main() -> None:
    args = parse_args()
    print(f"machine: {_bench.machine()}\n")
    if not args.no_speed:
        with tempfile.TemporaryDirectory() as tmp:
            pose = args.pose or _bench.export_pose_onnx(Path(tmp) / "rtmpose-t_random.onnx", args.config)
            if args.stand_in:
                pose = average_pose_at_rtmpose_cost(pose, args.annotations, Path(tmp))
            rows, costs = speed_rows(args, pose)
        print(
            f"clip {args.clip.name} (1280x720), {args.frames} frames per pass, best of {args.trials} trials\n"
        )
        print("| pipeline | frames/s | ms per frame | detector calls per pass |\n|---|---|---|---|")
        for name, rate, calls, n in rows:
            print(f"| {name} | {rate:.1f} | {1000 / rate:.1f} | {calls if calls != '?' else 'n/a'} / {n} |")
        print(f"\n{costs}")
    people = load_wholebody_people(args.annotations)
    print(
        f"\nOne-Euro defaults (min_cutoff {DEFAULT_MIN_CUTOFF}, beta {DEFAULT_BETA}) on {len(people)} real "
        f"COCO-WholeBody people, 120 frames at {FPS:g} fps:\n"
    )
    print(smoothing_table(people))
    if args.sweep:
        print("\nsweep (ratios smoothed / raw; < 1 is better):\n")
        print(sweep_table(people))


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/benchmark_video.py")


if __name__ == "__main__":
    sys.exit(main())
