"""Write pictures of data set samples after a config's pipeline, with their keypoints drawn.

    python tools/analysis/browse_dataset.py CONFIG --out DIR [-n 16] [--phase train|val] [--scale 2]
                                            [--seed 0] [--cfg-options KEY=VALUE ...]

Each picture is the network input crop (after flips, rotations, colour and blur augmentations of the
``train`` pipeline, or the plain ``val`` crop) with the visible keypoints and their skeleton drawn, one
colour per part: body green, feet orange, face white, left hand blue, right hand red. Samples are spread
evenly over the data set (over each data set of a ``CombinedDataset``). Use it to check a data set or a
pipeline by eye before training.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from dwpose.errors import UserError, guarded
from dwpose.keypoints import part_of

# The BGR colour of each COCO-WholeBody part (dwpose.keypoints.PART_SLICES).
PART_COLORS: Dict[str, Tuple[int, int, int]] = {
    "body": (0, 200, 0),
    "foot": (0, 140, 255),
    "face": (255, 255, 255),
    "lefthand": (255, 100, 0),
    "righthand": (0, 0, 255),
}


def draw_keypoints(
    image: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, links: Sequence[Tuple[int, int]]
) -> np.ndarray:
    """Draw one person's skeleton and points on a copy of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 BGR picture.
        keypoints: ``(K, 2)`` pixel coordinates in ``image``.
        visible: ``(K,)`` flags or weights; points with ``> 0`` inside the picture are drawn.
        links: ``(i, j)`` keypoint index pairs; drawn when both ends are, in the colour of the part of
            the later index (so the wrist-to-hand link is a hand link).

    Returns:
        ``(H, W, 3)`` uint8 BGR picture.
    """
    out = image.copy()
    pts = np.round(np.asarray(keypoints, dtype=np.float64)).astype(int)
    show = np.asarray(visible).reshape(-1) > 0
    show &= (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] < out.shape[1]) & (pts[:, 1] < out.shape[0])
    for i, j in links:
        if i < len(pts) and j < len(pts) and show[i] and show[j]:
            color = PART_COLORS[part_of(max(i, j))]
            cv2.line(out, tuple(map(int, pts[i])), tuple(map(int, pts[j])), color, 2, cv2.LINE_AA)
    for k in np.flatnonzero(show):
        radius = 2 if part_of(int(k)) in ("face", "lefthand", "righthand") else 3
        cv2.circle(out, tuple(map(int, pts[k])), radius, PART_COLORS[part_of(int(k))], -1, cv2.LINE_AA)
    return out


def sample_indices(lengths: Sequence[int], n: int) -> List[int]:
    """``n`` global indices spread evenly over the concatenated data sets of ``lengths`` (round-robin)."""
    starts = np.cumsum([0, *lengths[:-1]])
    per_set = [list(np.linspace(0, ln - 1, num=min(ln, n), dtype=int)) for ln in lengths]
    picked: List[int] = []
    for rank in range(max((len(p) for p in per_set), default=0)):
        for start, idx in zip(starts, per_set):
            if rank < len(idx) and len(picked) < n:
                picked.append(int(start + idx[rank]))
    return picked


def sample_picture(item: dict, links: Sequence[Tuple[int, int]], scale: float = 1.0) -> np.ndarray:
    """The drawn picture of one packed sample (``PackPoseInputs(pack_transformed=True)`` output).

    Visibility is the sample's ``keypoint_weights`` when the pipeline generated targets (points the
    augmentations pushed out of the crop have weight 0), else its ``keypoints_visible``.

    Returns:
        ``(round(H * scale), round(W * scale), 3)`` uint8 BGR picture of the ``(3, H, W)`` input.
    """
    image = item["inputs"].permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    h, w = image.shape[:2]
    image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    gt = item["data_samples"].gt_instances
    keypoints = np.asarray(gt.get("transformed_keypoints", gt.get("keypoints")), dtype=np.float64)
    labels = item["data_samples"].get("gt_instance_labels")
    if labels is not None and "keypoint_weights" in labels:
        visible = np.asarray(labels.keypoint_weights)
    else:
        visible = np.asarray(gt.keypoints_visible)
    visible = visible[..., 0] if visible.ndim == 3 else visible
    for person_kpts, person_vis in zip(keypoints, visible):
        image = draw_keypoints(image, person_kpts * scale, person_vis, links)
    return image


def build_dataset(config: str, phase: str, cfg_options: Optional[dict] = None):
    """Build the ``<phase>_dataloader`` data set of ``config`` with transformed keypoints packed."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from dwpose.engine.config import read_config

    cfg = read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get("default_scope", "mmpose"))
    key = f"{phase}_dataloader"
    if key not in cfg:
        raise UserError(f"{config} has no {key}")
    dataset_cfg = cfg[key].dataset
    pipeline = dataset_cfg.get("pipeline") or []
    last = pipeline[-1].get("type") if pipeline else None
    if last not in ("PackPoseInputs", "LeanPackPoseInputs"):
        raise UserError(f"the {phase} pipeline of {config} does not end with PackPoseInputs")
    if last == "PackPoseInputs":  # LeanPackPoseInputs (targets made on the device) always packs them
        pipeline[-1]["pack_transformed"] = True
    return DATASETS.build(dataset_cfg)


def browse(config: str, out_dir: str, n: int = 16, phase: str = "train", scale: float = 2.0,
           seed: int = 0, cfg_options: Optional[dict] = None) -> List[str]:  # fmt: skip
    """Write ``n`` drawn samples of ``config``'s ``phase`` data set into ``out_dir``; return their paths."""
    from tqdm import tqdm

    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    random.seed(seed)
    np.random.seed(seed)
    dataset = build_dataset(config, phase, cfg_options)
    links = [tuple(link) for link in dataset.metainfo.get("skeleton_links", [])]
    lengths = list(getattr(dataset, "lens", [len(dataset)]))
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for rank, idx in enumerate(tqdm(sample_indices(lengths, n), desc="samples", unit="img")):
        item = dataset[idx]
        name = os.path.splitext(os.path.basename(item["data_samples"].img_path))[0]
        path = os.path.join(out_dir, f"{rank:04d}_{name}.jpg")
        if not cv2.imwrite(path, sample_picture(item, links, scale)):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    from dwpose.engine.preflight import DictAction

    parser = argparse.ArgumentParser(prog="browse_dataset.py", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument("--out", required=True, help="folder for the pictures")
    parser.add_argument("-n", type=int, default=16, help="number of samples (default 16)")
    parser.add_argument("--phase", choices=["train", "val", "test"], default="train")
    parser.add_argument("--scale", type=float, default=2.0, help="enlarge the crops (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random augmentations")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config settings")
    args = parser.parse_args(argv)

    def run() -> int:
        paths = browse(args.config, args.out, args.n, args.phase, args.scale, args.seed, args.cfg_options)
        print(f"wrote {len(paths)} pictures to {args.out}")
        return 0

    return guarded(run, prog="browse_dataset.py")


if __name__ == "__main__":
    sys.exit(main())
