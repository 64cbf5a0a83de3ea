"""The project's deterministic synthetic COCO-WholeBody data set (what ``make demo`` trains on).

Each picture shows one front-facing stick person on a smooth, noisy background with distractor
shapes; some pictures get an occluding rectangle. All 133 COCO-WholeBody keypoints sit on drawn
structure: body joints on limb ends and joint dots, 6 foot points on the drawn feet, 68 iBUG face
landmarks on the drawn jaw, brows, nose, eyes and mouth, 21 points per hand on a fan of coloured
fingers. The person's left limbs are blue-dominant and their right limbs red-dominant (BGR), and, as
in COCO, their left side appears on the image right.

Layout written by :func:`generate_demo_dataset`::

    ROOT/images/train/000001.jpg ...        ROOT/annotations/demo_wholebody_train.json
    ROOT/images/val/000001.jpg ...          ROOT/annotations/demo_wholebody_val.json

Example:
    >>> info = generate_demo_dataset("data/demo", num_train=320, num_val=64)
    >>> info["train_ann_file"], info["train_img_dir"]  # mmpose: ann_file=..., data_prefix=dict(img=...)

Command line: ``dwpose demo-data OUT [--num-train N] [--num-val N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import cv2
import numpy as np

from dwpose.datasets._synthetic_draw import (
    Figure,
    draw_figure,
    draw_occluder,
    render_background,
    sample_figure,
)
from dwpose.errors import UserError
from dwpose.fileio import current_umask
from dwpose.keypoints import PART_FIELDS, PART_SLICES, person_category

GENERATOR_VERSION = 2  # bump whenever the pictures or the annotations change (invalidates stamps)
STAMP_NAME = ".dwpose-demo-data.json"
JPEG_QUALITY = 95
SPLITS = ("train", "val")
OCCLUDER_P = 0.3
TRUNCATE_P = 0.15

def _place(fig: Figure, rng: np.random.Generator, width: int, height: int) -> Figure:
    """Scale the canonical figure to 55-90% of the image height and position it; sometimes cut it off."""
    fig = fig.transformed(1.0, float(np.clip(rng.normal(0, 0.08), -0.2, 0.2)), (0.0, 0.0))
    x0, y0, x1, y1 = fig.extent()
    scale = min(rng.uniform(0.55, 0.9) * height / (y1 - y0), 0.95 * width / (x1 - x0))
    bw, bh = (x1 - x0) * scale, (y1 - y0) * scale
    ox, oy = rng.uniform(0, width - bw), rng.uniform(0, max(height - bh, 0.0))
    if rng.random() < TRUNCATE_P:  # push the figure partly out of the picture
        side = rng.choice(4, p=[0.2, 0.2, 0.15, 0.45])
        cut = rng.uniform(0.05, 0.15) if side == 2 else rng.uniform(0.08, 0.3)
        ox = (-cut * bw, width - (1 - cut) * bw, ox, ox)[side]
        oy = (oy, oy, -cut * bh, height - (1 - cut) * bh)[side]
    return fig.transformed(scale, 0.0, (ox - x0 * scale, oy - y0 * scale))


def _visibility(pts: np.ndarray, width: int, height: int, occluder: Optional[np.ndarray]) -> np.ndarray:
    """Return (133,) flags: 0 outside the image, 1 inside but under ``occluder`` (xyxy), 2 otherwise."""
    inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] <= width - 1) & (pts[:, 1] <= height - 1)
    vis = np.where(inside, 2, 0)
    if occluder is not None:
        x0, y0, x1, y1 = occluder
        under = (pts[:, 0] >= x0) & (pts[:, 0] < x1) & (pts[:, 1] >= y0) & (pts[:, 1] < y1)
        vis[inside & under] = 1
    return vis


def _xywh(pts: np.ndarray) -> list[float]:
    """Tight xywh box of (N, 2) points, ``[0, 0, 0, 0]`` when there are none."""
    if len(pts) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = pts.min(0), pts.max(0)
    return [round(float(v), 2) for v in (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])]


def _person_bbox(pts: np.ndarray, width: int, height: int) -> list[float]:
    """xywh box of the labelled points padded by 5% of its size on each side, clipped to the image."""
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.05 * (hi - lo)
    lo = np.maximum(lo - pad, 0.0)
    hi = np.minimum(hi + pad, [width, height])
    return [round(float(v), 2) for v in (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])]


def _box_polygon(xywh: list[float]) -> list[float]:
    x, y, w, h = xywh
    return [x, y, round(x + w, 2), y, round(x + w, 2), round(y + h, 2), x, round(y + h, 2)]


def build_annotation(
    keypoints: np.ndarray, vis: np.ndarray, width: int, height: int, ann_id: int
) -> dict[str, Any]:
    """Return the COCO-WholeBody v1.0 annotation of one person.

    Args:
        keypoints: (133, 2) pixel coordinates (body, foot, face, left hand, right hand).
        vis: (133,) flags in {0, 1, 2}; points with 0 are written as (0, 0, 0).
        width: Image width.
        height: Image height.
        ann_id: Used as both the annotation id and the image id.
    """
    pts = np.where(vis[:, None] > 0, keypoints, 0.0)
    labelled = vis > 0
    bbox = _person_bbox(pts[labelled], width, height)
    ann: dict[str, Any] = {
        "id": ann_id,
        "image_id": ann_id,
        "category_id": 1,
        "iscrowd": 0,
        "bbox": bbox,
        "area": round(bbox[2] * bbox[3], 2),
        "segmentation": [_box_polygon(bbox)],  # mmpose reads the field; a box is all there is
        "num_keypoints": int(labelled[:17].sum()),
    }
    for part, field in PART_FIELDS.items():
        s = PART_SLICES[part]
        flat = np.concatenate([pts[s], vis[s, None]], 1).reshape(-1)
        ann[field] = [round(float(v), 2) for v in flat]
        if part != "body":
            ann[f"{part}_valid"] = bool(labelled[s].any())
    for part in ("face", "lefthand", "righthand"):
        s = PART_SLICES[part]
        ann[f"{part}_box"] = _xywh(pts[s][labelled[s]])
    return ann


def render_sample(
    seed: int, split: str, index: int, image_size: tuple[int, int] = (192, 256)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one picture; the same arguments always give the same result.

    Args:
        seed: Data set seed.
        split: ``"train"`` or ``"val"`` (the splits use disjoint random streams).
        index: Picture index within the split.
        image_size: ``(w, h)``.

    Returns:
        ``(image, keypoints, vis)``: BGR uint8 (h, w, 3), (133, 2) float pixel coordinates rounded to
        0.01, (133,) int visibility in {0, 1, 2}.
    """
    width, height = image_size
    rng = np.random.default_rng([seed, SPLITS.index(split), index, GENERATOR_VERSION])
    img = render_background(rng, width, height)
    while True:  # redraw the rare placement that leaves fewer than 5 body points in the picture
        fig = _place(sample_figure(rng), rng, width, height)
        kpts = np.round(fig.keypoints(), 2)
        if (_visibility(kpts, width, height, None)[:17] > 0).sum() >= 5:
            break
    draw_figure(img, fig)
    occluder = None
    if rng.random() < OCCLUDER_P:
        occluder = draw_occluder(img, rng, fig.extent())
    return img, kpts, _visibility(kpts, width, height, occluder)


def _write_split(tmp: Path, split: str, count: int, seed: int, image_size: tuple[int, int]) -> None:
    img_dir = tmp / "images" / split
    img_dir.mkdir(parents=True)
    width, height = image_size
    images, annotations = [], []
    for i in range(1, count + 1):
        img, kpts, vis = render_sample(seed, split, i, image_size)
        name = f"{i:06d}.jpg"
        if not cv2.imwrite(str(img_dir / name), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"could not write {img_dir / name}")
        images.append({"id": i, "file_name": name, "width": width, "height": height})
        annotations.append(build_annotation(kpts, vis, width, height, i))
    data = {
        "info": {
            "description": f"DWPose synthetic demo data ({split}, seed {seed})",
            "version": "1.0",
            "generator_version": GENERATOR_VERSION,
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [person_category()],
    }
    ann_file = tmp / "annotations" / f"demo_wholebody_{split}.json"
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(data, separators=(",", ":")) + "\n")


def _stamp(num_train: int, num_val: int, seed: int, image_size: tuple[int, int]) -> str:
    args = {
        "num_train": num_train,
        "num_val": num_val,
        "seed": seed,
        "image_size": list(image_size),
        "generator_version": GENERATOR_VERSION,
    }
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()
    return json.dumps({"hash": digest, **args}, sort_keys=True) + "\n"


def _read_stamp(root: Path) -> Optional[str]:
    try:
        return (root / STAMP_NAME).read_text()
    except OSError:
        return None


def _swap_in(tmp: Path, root: Path, stamp: str) -> None:
    """Move the finished ``tmp`` folder to ``root``, replacing a stale demo data set there."""
    trash = None
    if root.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        os.replace(root, trash / "data")
    try:
        os.rename(tmp, root)
    except OSError:
        if _read_stamp(root) != stamp:  # lost a race against another writer of the same folder
            raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def _summary(
    root: Path, num_train: int, num_val: int, seed: int, image_size: tuple[int, int], reused: bool
) -> dict[str, Any]:
    return {
        "root": str(root),
        "train_ann_file": str(root / "annotations" / "demo_wholebody_train.json"),
        "val_ann_file": str(root / "annotations" / "demo_wholebody_val.json"),
        "train_img_dir": str(root / "images" / "train"),
        "val_img_dir": str(root / "images" / "val"),
        "num_train": num_train,
        "num_val": num_val,
        "seed": seed,
        "image_size": list(image_size),
        "reused": reused,
    }


def _check_args(num_train: int, num_val: int, seed: int, image_size: tuple[int, int]) -> None:
    if seed < 0:
        raise UserError(f"seed must be >= 0, got {seed}")
    if num_train < 0 or num_val < 0:
        raise UserError(f"image counts must be >= 0, got num_train={num_train}, num_val={num_val}")
    if len(image_size) != 2 or min(image_size) < 64:
        raise UserError(f"image_size must be (w, h) with both >= 64, got {tuple(image_size)}")


def generate_demo_dataset(
    root: Union[str, Path],
    num_train: int = 320,
    num_val: int = 64,
    seed: int = 0,
    image_size: tuple[int, int] = (192, 256),
) -> dict[str, Any]:
    """Write the synthetic COCO-WholeBody demo data set to ``root`` (once).

    Deterministic (same arguments -> byte-identical JSON and identical pictures), atomic (built in a
    temporary folder next to ``root``, then renamed) and idempotent (a stamp holding the hash of the
    arguments and :data:`GENERATOR_VERSION`; when it matches, nothing is rewritten).

    Args:
        root: Output folder. It must be new, empty, or an earlier demo data set (which is replaced).
        num_train: Training pictures (one person each).
        num_val: Validation pictures.
        seed: Data set seed.
        image_size: Picture size ``(w, h)``.

    Returns:
        ``root``, ``train_ann_file``, ``val_ann_file``, ``train_img_dir``, ``val_img_dir`` (str paths),
        ``num_train``, ``num_val``, ``seed``, ``image_size`` and ``reused`` (True when the stamp matched).

    Raises:
        UserError: Bad counts or size, or ``root`` holds something other than a demo data set.
    """
    image_size = (int(image_size[0]), int(image_size[1]))
    _check_args(num_train, num_val, seed, image_size)
    root = Path(root).absolute()
    stamp = _stamp(num_train, num_val, seed, image_size)
    summary = lambda reused: _summary(root, num_train, num_val, seed, image_size, reused)
    if _read_stamp(root) == stamp:
        return summary(True)
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and _read_stamp(root) is None)):
        raise UserError(f"{root} exists and is not a dwpose demo data set; pass a new or empty folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the data set follows the umask
    try:
        for split, count in zip(SPLITS, (num_train, num_val)):
            _write_split(tmp, split, count, seed, image_size)
        (tmp / STAMP_NAME).write_text(stamp)
        _swap_in(tmp, root, stamp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary(False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose demo-data``."""
    parser.add_argument("out", metavar="OUT", help="output folder (new, empty, or an earlier demo data set)")
    parser.add_argument("--num-train", type=int, default=320, help="training pictures (default 320)")
    parser.add_argument("--num-val", type=int, default=64, help="validation pictures (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    parser.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        default=(192, 256),
        metavar=("W", "H"),
        help="picture size (default 192 256)",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the data set described by ``args``, print the summary, return 0."""
    info = generate_demo_dataset(args.out, args.num_train, args.num_val, args.seed, tuple(args.image_size))
    state = "already up to date" if info["reused"] else "written"
    print(
        f"demo data set {state}: {info['num_train']} train + {info['num_val']} val pictures "
        f"({info['image_size'][0]}x{info['image_size'][1]}) in {info['root']}"
    )
    for key in ("train_ann_file", "train_img_dir", "val_ann_file", "val_img_dir"):
        print(f"  {key}: {info[key]}")
    return 0


if __name__ == "__main__":
    from dwpose.cli import guarded

    _prog = "python -m dwpose.datasets.synthetic"
    _parser = argparse.ArgumentParser(prog=_prog, description=__doc__.split("\n")[0])
    add_arguments(_parser)
    _args = _parser.parse_args()
    sys.exit(guarded(lambda: run(_args), prog=_parser.prog))
