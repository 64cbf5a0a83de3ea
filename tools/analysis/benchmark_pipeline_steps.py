"""The steps of ``benchmark_pipeline.py``'s sides: building one side, timing each transform, and
where ``LoadImage`` / ``TopdownAffine`` (and the fast side's steps) spend their time.

Imported by ``tools/analysis/benchmark_pipeline.py`` and ``gpu_steps.py`` (this folder is on ``sys.path``
when they run).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections import defaultdict
from typing import Dict, List

from _bench import interleaved_best

PACKERS = ("GenerateTarget", "PackPoseInputs", "LeanPackPoseInputs")
# the fast side's transforms, reported on the rows of the mmpose steps they stand for
AS_MMPOSE = {"LoadEncodedImage": "LoadImage", "DeferredRandomFlip": "RandomFlip",
             "DecodeWarpTopdownAffine": "TopdownAffine"}


# ---- one side: its pipeline, each step timed ------------------------------------------------------
class Timed:
    """A pipeline step that adds its wall time to ``totals[name]`` (and counts decode reductions)."""

    def __init__(self, transform, totals: Dict[str, float], reductions: Dict[int, int]) -> None:
        self.transform, self.totals, self.reductions = transform, totals, reductions
        self.name = AS_MMPOSE.get(type(transform).__name__, type(transform).__name__)

    def __call__(self, results: dict):
        from dwpose.datasets.decode_warp import REDUCTION_KEY

        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] += time.perf_counter() - start
        if self.name == "TopdownAffine" and REDUCTION_KEY in out:
            self.reductions[out[REDUCTION_KEY]] += 1
        return out


def side_pipeline(cfg, side: str) -> List[dict]:
    """The config's augmentations (mmpose's or the fast load / flip / warp), then this side's packing."""
    from dwpose.datasets.decode_warp import fast_decode_warp_pipeline

    augment = fast_decode_warp_pipeline([t for t in cfg.train_pipeline if t["type"] not in PACKERS],
                                        on=side == "fast")
    if side != "mmpose":
        return augment + [dict(type="LeanPackPoseInputs")]
    generate = dict(type="GenerateTarget", encoder=cfg.model.head.decoder)
    return augment + [generate, dict(type="PackPoseInputs")]


def build_side(args: argparse.Namespace):
    """``(dataset with timed steps, step totals, reductions, preprocessor or None)`` for ``args.worker``."""
    import cv2
    import torch
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoWholeBodyDataset
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.config import read_config

    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    init_default_scope("mmpose")
    cfg = read_config(args.config)
    dataset = CocoWholeBodyDataset(data_root=str(args.data), data_mode="topdown",
                                   ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                                   pipeline=side_pipeline(cfg, args.worker))
    totals: Dict[str, float] = defaultdict(float)
    reductions: Dict[int, int] = defaultdict(int)
    dataset.pipeline.transforms = [Timed(t, totals, reductions) for t in dataset.pipeline.transforms]
    prep = None
    if args.worker != "mmpose":
        prep = MODELS.build(dict(type="SimCCTargetPreprocessor", codec=cfg.model.head.decoder))
    return dataset, totals, reductions, prep


# ---- where LoadImage and TopdownAffine spend their time ---------------------------------------------
def _fast_states(args: argparse.Namespace, dataset) -> tuple:
    """The fast side's LoadEncodedImage, DecodeWarpTopdownAffine and the states before the latter."""
    import numpy as np

    args.worker = "fast"
    with contextlib.redirect_stdout(sys.stderr):
        steps = [t.transform for t in build_side(args)[0].pipeline.transforms]
    names = [type(t).__name__ for t in steps]
    np.random.seed(args.seed)
    random.seed(args.seed)
    states = []
    for i in range(len(dataset)):
        results = dict(dataset.get_data_info(i))
        for step in steps[: names.index("DecodeWarpTopdownAffine")]:
            results = step(results)
        states.append(results)
    return steps[names.index("LoadEncodedImage")], steps[names.index("DecodeWarpTopdownAffine")], states


def breakdown(args: argparse.Namespace) -> Dict[str, object]:
    """Best ms per sample of LoadImage / TopdownAffine and of their parts, on the real samples.

    TopdownAffine gets the states the config's augmentations leave before it (its real boxes,
    scales and rotations); the parts are timed on the same inputs, taking turns ``args.repeats`` times.
    """
    import cv2
    import mmcv
    import numpy as np
    from mmengine import fileio
    from mmpose.structures.bbox import get_warp_matrix

    args.worker = "ours"
    with contextlib.redirect_stdout(sys.stderr):  # pycocotools prints its progress to stdout
        dataset = build_side(args)[0]
    steps = [t.transform for t in dataset.pipeline.transforms]
    names = [type(t).__name__ for t in steps]
    load, affine = steps[names.index("LoadImage")], steps[names.index("TopdownAffine")]
    fast_load, fast_affine, fast_before = _fast_states(args, dataset)
    np.random.seed(args.seed)
    random.seed(args.seed)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    raw = [fileio.get(info["img_path"]) for info in infos]
    before_affine = []
    for info in infos:
        results = dict(info)
        for step in steps[: names.index("TopdownAffine")]:
            results = step(results)
        before_affine.append(results)
    (w, h), mats = affine.input_size, []
    for r in before_affine:
        scale = affine._fix_aspect_ratio(r["bbox_scale"], aspect_ratio=w / h)[0]
        mats.append(get_warp_matrix(r["bbox_center"][0], scale, r["bbox_rotation"][0], output_size=(w, h)))
    contiguous = [np.ascontiguousarray(r["img"]) for r in before_affine]
    parts = {
        "LoadImage (the transform)": lambda: [load(dict(info)) for info in infos],
        "LoadImage: read the file": lambda: [fileio.get(info["img_path"]) for info in infos],
        "LoadImage: JPEG decode (cv2.imdecode)": lambda: [mmcv.imfrombytes(b, flag="color", backend="cv2")
                                                          for b in raw],
        "TopdownAffine (the transform)": lambda: [affine(dict(r)) for r in before_affine],
        "TopdownAffine: warp matrix": lambda: [
            get_warp_matrix(r["bbox_center"][0], r["bbox_scale"][0], r["bbox_rotation"][0],
                            output_size=(w, h)) for r in before_affine],
        f"TopdownAffine: cv2.warpAffine to {w}x{h}, images as RandomFlip leaves them": lambda: [
            cv2.warpAffine(r["img"], m, (w, h), flags=cv2.INTER_LINEAR) for r, m in zip(before_affine, mats)],
        f"TopdownAffine: cv2.warpAffine to {w}x{h}, the same images C-contiguous": lambda: [
            cv2.warpAffine(c, m, (w, h), flags=cv2.INTER_LINEAR) for c, m in zip(contiguous, mats)],
        "copying RandomFlip's flipped views to C order (np.ascontiguousarray)": lambda: [
            np.ascontiguousarray(r["img"]) for r in before_affine],
        "TopdownAffine: keypoints (cv2.transform)": lambda: [
            cv2.transform(r["keypoints"], m) for r, m in zip(before_affine, mats)],
        "fast: LoadEncodedImage (read the file, JPEG header, no decode)": lambda: [
            fast_load(dict(info)) for info in infos],
        "fast: DecodeWarpTopdownAffine (decode, reduced where it shrinks, one warp)": lambda: [
            fast_affine(dict(r)) for r in fast_before],
        **{f"JPEG decode at 1/{k} (cv2.IMREAD_REDUCED_COLOR_{k})": (lambda k=k: [
            cv2.imdecode(np.frombuffer(b, np.uint8), getattr(cv2, f"IMREAD_REDUCED_COLOR_{k}")) for b in raw])
           for k in (2, 4, 8)},
    }
    times, _ = interleaved_best(list(parts.values()), args.repeats)
    best: Dict[str, object] = {name: 1000 * t / len(infos) for name, t in zip(parts, times)}
    best["repeats"] = args.repeats
    best["image sizes"] = sorted({f"{r['img'].shape[1]}x{r['img'].shape[0]}" for r in before_affine})
    best["flipped"] = f"{sum(not r['img'].flags['C_CONTIGUOUS'] for r in before_affine)}/{len(infos)}"
    return best


def breakdown_table(parts: Dict[str, float]) -> str:
    lines = [f"| step or part (best of {parts['repeats']} repeats, ms per sample) | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in parts.items() if isinstance(v, float)]
    return "\n".join(lines) + (f"\n\nPhoto sizes: {', '.join(parts['image sizes'])}; samples whose image "
                               f"RandomFlip left as a negative-stride view: {parts['flipped']}.")
