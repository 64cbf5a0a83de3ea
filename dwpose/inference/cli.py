"""``dwpose predict``: whole-body keypoints for an image, a folder, a video or a webcam.

Examples::

    dwpose predict photo.jpg --pose dw-ll_ucoco_384.onnx --det yolox_l.onnx --out out/
    dwpose predict images/ --pose CONFIG.py CHECKPOINT.pth --det rtmdet_end2end.onnx --out out/
    dwpose predict clip.mp4 --pose model.onnx --det det.onnx --out out/ --canvas black
    dwpose predict clip.mp4 --pose model.onnx --det det.onnx --out out/ --track --smooth
    dwpose predict images/ --pose model.onnx --boxes person_detections.json --out out/
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Optional, Union

from dwpose.errors import EXIT_PARTIAL, UserError
from dwpose.inference.boxes import BOXES_HELP, BoxTable, load_boxes
from dwpose.inference.canvas_options import (
    add_canvas_arguments,
    add_rule_arguments,
    canvas_style,
    parts_with_feet,
    rule_options,
)
from dwpose.inference.detectors import load_detector
from dwpose.inference.draw import DEFAULT_PARTS, PARTS, check_parts
from dwpose.inference.options import parse_parts, positive_int, unit_float
from dwpose.inference.out_dir import OutputFolder
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.predict_io import (
    PredictOptions,
    predict_folder,
    predict_image,
    predict_video,
    results_file_name,
)
from dwpose.inference.runtime import check_device, providers_line, use_shared_thread_pool
from dwpose.inference.sources import TruncatedVideo, classify_input, silence_opencv_logging
from dwpose.inference.video import VideoOptions, add_video_arguments, video_options
from dwpose.keypoints import NUM_KEYPOINTS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose predict``."""
    parser.add_argument(
        "input", metavar="INPUT", help="an image, a folder of images, a video, or a webcam index"
    )
    parser.add_argument(
        "--pose",
        nargs="+",
        required=True,
        metavar="MODEL",
        help="pose model: MODEL.onnx (DWPose/RTMPose ONNX I/O) or CONFIG CHECKPOINT (mmpose)",
    )
    parser.add_argument(
        "--det",
        nargs="+",
        metavar="DETECTOR",
        help="person detector: DET.onnx (MMDeploy end2end or raw YOLOX) or CONFIG CHECKPOINT "
        "(mmdet); optional with --boxes",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--threshold",
        type=unit_float,
        default=0.3,
        help="keypoint score threshold for the .npz (-1 below it) and the drawing (default 0.3)",
    )
    parser.add_argument(
        "--det-threshold",
        type=unit_float,
        default=0.3,
        help="person box score threshold, for detectors and scored --boxes (default 0.3)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu or cuda[:N] (default cpu); cuda needs onnxruntime-gpu and a GPU, else one warning "
        "line and the CPU",
    )
    parser.add_argument(
        "--canvas",
        choices=("image", "black"),
        default="image",
        help="draw over the image, or on black (ControlNet style)",
    )
    parser.add_argument(
        "--parts",
        type=parts_list,
        default=DEFAULT_PARTS,
        metavar="PARTS",
        help=f"what the pictures draw, comma-separated from {','.join(PARTS)} (default "
        f"{','.join(DEFAULT_PARTS)}, as ControlNet's DWPose annotator)",
    )
    add_canvas_arguments(parser)
    add_rule_arguments(parser)
    parser.add_argument("--boxes", type=Path, metavar="BOXES.json", help=BOXES_HELP)
    parser.add_argument(
        "--batch-frames",
        type=positive_int,
        default=8,
        help="video frames whose crops share one pose-model call (default 8)",
    )
    parser.add_argument(
        "--max-frames", type=positive_int, default=None, help="stop a video / webcam after N frames"
    )
    add_video_arguments(parser)
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="unpickle CONFIG CHECKPOINT models' .pth files without restriction (it can run code: only "
        "for files from a source you trust)",
    )


def parts_list(text: str) -> tuple:
    """``"body,feet"`` -> ``("body", "feet")`` (argparse type of ``--parts``)."""
    try:
        return check_parts(parse_parts(text, PARTS))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _trusting(enabled: bool) -> contextlib.AbstractContextManager:
    """``--trust-checkpoint`` while the models load (torch is imported only when it is given)."""
    if not enabled:
        return contextlib.nullcontext()
    from dwpose.engine.checkpoint import trusting

    return trusting(prog="dwpose predict")


def run(args: argparse.Namespace) -> int:
    """Run ``dwpose predict``; returns 0, or 3 when a folder had images that were skipped or a video
    was truncated (the frames before the damage are written).

    User mistakes raise UserError / FileNotFoundError (one error line, exit 2).
    """
    silence_opencv_logging()
    kind, source = classify_input(args.input)
    check_device(args.device)
    if args.det is None and args.boxes is None:
        raise UserError("give a person detector with --det DETECTOR, or boxes with --boxes BOXES.json")
    if args.boxes is not None and kind in ("video", "webcam"):
        raise UserError("--boxes applies to images and folders; use --det for videos and webcams")
    video = video_options(args, kind)
    boxes = load_boxes(args.boxes) if args.boxes is not None else None
    out = OutputFolder(args.out)  # made and checked before any model loads; removed if a failure leaves
    with out:  # it empty
        code = _predict(args, kind, source, video, boxes)
        if code != 0:
            out.failed()
    return code


def _predict(
    args: argparse.Namespace,
    kind: str,
    source: Union[Path, int],
    video: VideoOptions,
    boxes: Optional[BoxTable],
) -> int:
    """The part of :func:`run` after the checks: load the models, predict, write into ``args.out``."""
    use_shared_thread_pool()
    with _trusting(args.trust_checkpoint):
        pose_model = load_pose_model(args.pose, args.device)
        detector = load_detector(args.det, args.device, args.det_threshold) if args.det else None
    print(providers_line(pose_model=pose_model, detector=detector))
    if pose_model.num_keypoints != NUM_KEYPOINTS:
        print(f"note: the pose model predicts {pose_model.num_keypoints} keypoints, not COCO-WholeBody's "
              f"{NUM_KEYPOINTS}: the Cog .npz and OpenPose .json need that layout, so each <stem>.npz "
              "holds plain arrays instead (keypoints (N, K, 2) pixels, scores (N, K)) and no .json is "
              "written")
    pipeline = TopDownPipeline(pose_model, detector)
    opts = PredictOptions(
        args.out, args.threshold, args.canvas, boxes, args.det_threshold, args.batch_frames, args.max_frames
    )
    opts.video = video
    opts.parts = parts_with_feet(args.parts, args.draw_feet)
    opts.style = canvas_style(args)
    opts.rules = rule_options(args)
    if kind == "image":
        result = predict_image(pipeline, source, opts)
        print(f"{source.name}: {len(result)} person(s) -> {args.out}")
    elif kind == "folder":
        summary = predict_folder(pipeline, source, opts)
        results = args.out / results_file_name(pose_model.num_keypoints)
        print(f"{summary.done} image(s) -> {args.out} (COCO results: {results})")
        if summary.skipped:
            print(f"dwpose predict: {summary.skipped_line()}", file=sys.stderr)
            return EXIT_PARTIAL
    else:
        try:
            frames = predict_video(pipeline, source, opts)
        except TruncatedVideo as exc:  # the frames before the damage are written: exit 3, not 2
            print(f"dwpose: error: {exc}", file=sys.stderr)
            return EXIT_PARTIAL
        print(f"{frames} frame(s) -> {args.out}")
    return 0
