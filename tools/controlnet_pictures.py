"""The pictures of docs/controlnet_drawing.md: real photos with their COCO-WholeBody annotated keypoints
drawn on the black canvas, as the annotator draws them and in the opt-in styles.

Writes ``controlnet_side_by_side.png`` (photo, the annotator's canvas, feet + SDXL sticks) and
``controlnet_styles.png`` (annotator, ``--draw-feet``, ``--stick-scale auto``, ``--hand-colors
left-right``, each cut to the people). Keypoints score 1 where annotated, 0 elsewhere.

Usage::

    python tools/controlnet_pictures.py ANN_JSON IMAGE_DIR OUT_DIR [--photo 000000000785.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from dwpose.errors import guarded
from dwpose.fileio import atomic_write_image, read_json
from dwpose.inference.controlnet_draw import ControlNetStyle
from dwpose.inference.draw import DEFAULT_PARTS, PARTS, draw_poses
from dwpose.keypoints import keypoints_from_annotation

LABEL_H = 28


def annotated(doc: dict, file_name: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(keypoints (N, 133, 2), scores (N, 133))`` of the people annotated in ``file_name``."""
    image_id = next(im["id"] for im in doc["images"] if im["file_name"] == file_name)
    anns = [a for a in doc["annotations"] if a["image_id"] == image_id and not a.get("iscrowd")]
    kps = np.stack([keypoints_from_annotation(a) for a in anns])
    return kps[..., :2].astype(np.float32), (kps[..., 2] > 0).astype(np.float32)


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` under a white strip with ``text``."""
    strip = np.full((LABEL_H, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, image])


def row(panels: List[np.ndarray], gap: int = 6) -> np.ndarray:
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis=1)


def people_crop(kps: np.ndarray, scores: np.ndarray, shape: Tuple[int, int], margin: int = 40) -> tuple:
    """The slice ``(rows, cols)`` around every annotated point (plus ``margin``)."""
    seen = kps[scores > 0]
    x1, y1 = np.maximum(seen.min(0).astype(int) - margin, 0)
    x2, y2 = np.minimum(seen.max(0).astype(int) + margin, [shape[1], shape[0]])
    return slice(y1, y2), slice(x1, x2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", type=Path)
    parser.add_argument("images", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--photo", default="000000000785.jpg")
    args = parser.parse_args(argv)
    doc = read_json(args.annotations, "annotation file")
    photo = cv2.imread(str(args.images / args.photo))
    if photo is None:
        raise FileNotFoundError(f"cannot read {args.images / args.photo}")
    kps, scores = annotated(doc, args.photo)
    every = tuple(PARTS)
    annotator = draw_poses(photo, kps, scores, 0.3, "black")
    sdxl = ControlNetStyle(stick_scale="auto")
    feet_sdxl = draw_poses(photo, kps, scores, 0.3, "black", every, sdxl)
    side = row([labelled(photo, "photo"), labelled(annotator, "--canvas black (the annotator's)"),
                labelled(feet_sdxl, "+ --draw-feet --stick-scale auto")])  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_image(args.out / "controlnet_side_by_side.png", side)
    crop = people_crop(kps, scores, photo.shape[:2])
    styles = [
        ("annotator (default)", DEFAULT_PARTS, ControlNetStyle()),
        ("--draw-feet", every, ControlNetStyle()),
        ("--stick-scale auto", DEFAULT_PARTS, sdxl),
        ("--hand-colors left-right", DEFAULT_PARTS, ControlNetStyle(hand_colors="left-right")),
    ]
    panels = [labelled(draw_poses(photo, kps, scores, 0.3, "black", parts, style)[crop], text)
              for text, parts, style in styles]  # fmt: skip
    atomic_write_image(args.out / "controlnet_styles.png", row(panels))
    print(f"wrote {args.out / 'controlnet_side_by_side.png'} and {args.out / 'controlnet_styles.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
