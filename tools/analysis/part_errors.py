"""Where a pose model's AP goes, part by part: keypoint error against the OKS tolerance, in input pixels.

For every visible ground-truth keypoint of a COCO-WholeBody annotation file, the model (run through
mmpose's own ``inference_topdown`` on the ground-truth person box, not our inference code) predicts a
position; this tool reports per part (body, foot, face, hands):

- the part's size in the network input (person box height for the body, the annotated face / hand box
  diagonal otherwise), in input pixels;
- the OKS tolerance: the distance at which one keypoint's OKS falls to 0.5,
  ``sqrt(2 ln 2) * 2 * sigma * sqrt(area)`` (COCO-WholeBody sigmas, the annotation's area), converted to
  input pixels, median over keypoints;
- each model's median error in input pixels and the share of keypoints within the tolerance;
- for the face and each hand, the error of the part's centre (mean of its visible keypoints): small
  centre errors with large keypoint errors mean the part is found but its detail is not resolved.

With ``--real`` it also compares the part sizes relative to the person box in the annotation file with
those of another (real) COCO-WholeBody file, e.g. ``../shared/data/coco-wholebody-mini``.

Usage::

    python tools/analysis/part_errors.py ANN_JSON IMAGE_DIR \
        --model teacher CONFIG CKPT [--model student CONFIG CKPT ...] \
        [--real ../shared/data/coco-wholebody-mini/coco_wholebody_mini.json]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from dwpose.errors import guarded
from dwpose.keypoints import (
    FACE,
    LEFT_HAND,
    PART_SLICES,
    RIGHT_HAND,
    WHOLEBODY_SIGMAS,
    keypoints_from_annotation,
)

PARTS: Dict[str, object] = {"body": PART_SLICES["body"], "foot": PART_SLICES["foot"], "face": FACE,
                            "hand": slice(LEFT_HAND.start, RIGHT_HAND.stop),
                            "wrists": [9, 10]}  # wrists: where the hands hang
# OKS = exp(-d^2 / (2 (2 sigma)^2 area)) = 0.5 at d = D50 * 2 sigma sqrt(area)
D50 = math.sqrt(2 * math.log(2))


def keypoints_133(ann: dict) -> np.ndarray:
    """``(133, 3)`` x, y, visibility of one COCO-WholeBody annotation."""
    return keypoints_from_annotation(ann)


def input_scale(bbox_xywh, input_wh: Tuple[int, int], padding: float = 1.25) -> float:
    """Input pixels per image pixel for mmpose's top-down crop (padded box, aspect fixed to the input)."""
    _, _, w, h = bbox_xywh
    in_w, in_h = input_wh
    w, h = w * padding, h * padding
    h = max(h, w * in_h / in_w)  # fix_aspect_ratio: the crop grows to the input's aspect
    return in_h / h


def part_sizes(ann: dict) -> Dict[str, float]:
    """Part size in image pixels: person box height (body, foot), face / hand box diagonal."""
    sizes = {"body": ann["bbox"][3], "foot": ann["bbox"][3], "wrists": ann["bbox"][3]}
    for part, key in (("face", "face_box"), ("hand", "lefthand_box"), ("hand_r", "righthand_box")):
        box = ann.get(key) or [0, 0, 0, 0]
        valid = ann.get(key.replace("_box", "_valid"), True)
        sizes[part] = math.hypot(box[2], box[3]) if valid and box[2] > 0 else float("nan")
    return sizes


def relative_sizes(anns: List[dict]) -> Dict[str, float]:
    """Median face / hand box diagonal over the person box height (valid parts only)."""
    out = {}
    for part in ("face", "hand"):
        vals = []
        for a in anns:
            s = part_sizes(a)
            for key in ((part,) if part == "face" else ("hand", "hand_r")):
                if not math.isnan(s[key]) and a["bbox"][3] > 0:
                    vals.append(s[key] / a["bbox"][3])
        out[part] = float(np.median(vals)) if vals else float("nan")
    return out


def predict(config: str, ckpt: str, anns: List[dict], images: Dict[int, Path]) -> Dict[int, np.ndarray]:
    """``{annotation id: (133, 2)}`` predicted by mmpose's ``inference_topdown`` on the GT boxes."""
    from mmpose.apis import inference_topdown, init_model

    import dwpose.plugin  # noqa: F401  (our registered modules, e.g. the metric named in the config)
    from dwpose.engine.config import read_config

    cfg = read_config(config)
    model = init_model(cfg, ckpt, device="cpu")  # SyncBN -> BN: mmpose's init_model reverts it
    out = {}
    for a in anns:
        x, y, w, h = a["bbox"]
        res = inference_topdown(model, str(images[a["image_id"]]), np.array([[x, y, x + w, y + h]]), "xyxy")
        out[a["id"]] = np.asarray(res[0].pred_instances.keypoints[0], dtype=np.float64)
    return out


def summarize(anns: List[dict], preds: Dict[str, Dict[int, np.ndarray]], input_wh) -> List[dict]:
    rows = []
    for part, sl in PARTS.items():
        sizes, tol, err = [], [], {name: [] for name in preds}
        for a in anns:
            kp = keypoints_133(a)[sl]
            vis = kp[:, 2] > 0
            if not vis.any():
                continue
            f = input_scale(a["bbox"], input_wh)
            s = part_sizes(a)
            for key in ((part,) if part != "hand" else ("hand", "hand_r")):
                if not math.isnan(s[key]):
                    sizes.append(s[key] * f)
            t = D50 * 2 * WHOLEBODY_SIGMAS[sl][vis] * math.sqrt(a["area"]) * f
            tol.append(t)
            for name, p in preds.items():
                d = np.linalg.norm(p[a["id"]][sl][vis] - kp[vis, :2], axis=1) * f
                err[name].append(np.stack([d, d <= t], axis=1))
        centre = {name: [] for name in preds}  # per hand / face: error of the mean visible keypoint
        if part in ("face", "hand"):
            for a in anns:
                kp = keypoints_133(a)
                f = input_scale(a["bbox"], input_wh)
                for s in ((PARTS["face"],) if part == "face" else (LEFT_HAND, RIGHT_HAND)):
                    vis = kp[s][:, 2] > 0
                    if vis.sum() < 3:
                        continue
                    for name, p in preds.items():
                        c = np.linalg.norm(p[a["id"]][s][vis].mean(0) - kp[s][vis, :2].mean(0)) * f
                        centre[name].append(c)
        tol_all = np.concatenate(tol)
        row = {"part": part, "keypoints": int(tol_all.size), "size_px": float(np.median(sizes)),
               "tolerance_px": float(np.median(tol_all))}
        for name, chunks in err.items():
            e = np.concatenate(chunks)
            row[f"{name}_median_px"] = float(np.median(e[:, 0]))
            row[f"{name}_within"] = float(e[:, 1].mean())
            row[f"{name}_centre_px"] = float(np.median(centre[name])) if centre[name] else float("nan")
        rows.append(row)
    return rows


def _main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ann", type=Path, help="COCO-WholeBody annotation json")
    p.add_argument("images", type=Path, help="folder of its images")
    p.add_argument("--model", nargs=3, action="append", metavar=("NAME", "CONFIG", "CKPT"), required=True)
    p.add_argument("--input-size", nargs=2, type=int, default=None, metavar=("W", "H"),
                   help="network input (default: the first model's codec input_size)")
    p.add_argument("--real", type=Path, help="a real COCO-WholeBody json to compare part sizes with")
    args = p.parse_args()

    gt = json.loads(args.ann.read_text())
    images = {im["id"]: args.images / im["file_name"] for im in gt["images"]}
    anns = [a for a in gt["annotations"] if a.get("num_keypoints", 1) > 0 and not a.get("iscrowd", 0)]
    if args.input_size:
        input_wh = tuple(args.input_size)
    else:
        from dwpose.engine.config import read_config

        input_wh = tuple(read_config(args.model[0][1]).codec["input_size"])
    preds = {name: predict(cfg, ckpt, anns, images) for name, cfg, ckpt in args.model}
    rows = summarize(anns, preds, input_wh)

    names = [m[0] for m in args.model]
    print(f"{len(anns)} people of {args.ann}, input {input_wh[0]}x{input_wh[1]}; errors in input pixels")
    head = ["part", "visible keypoints", "part size", "OKS-0.5 tolerance"]
    head += [f"{n} median error" for n in names] + [f"{n} within tolerance" for n in names]
    head += [f"{n} part-centre error" for n in names]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        cells = [r["part"], str(r["keypoints"]), f"{r['size_px']:.1f}", f"{r['tolerance_px']:.2f}"]
        cells += [f"{r[f'{n}_median_px']:.2f}" for n in names] + [f"{r[f'{n}_within']:.0%}" for n in names]
        cells += ["-" if math.isnan(r[f"{n}_centre_px"]) else f"{r[f'{n}_centre_px']:.2f}" for n in names]
        print("| " + " | ".join(cells) + " |")
    if args.real:
        real = [a for a in json.loads(args.real.read_text())["annotations"] if a.get("num_keypoints", 1) > 0]
        ours, theirs = relative_sizes(anns), relative_sizes(real)
        print(f"\npart box diagonal / person box height, median: this set vs {args.real.name} "
              f"({len(real)} people)")
        for part in ("face", "hand"):
            print(f"  {part}: {ours[part]:.3f} vs {theirs[part]:.3f}")
    return 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/part_errors.py")


if __name__ == "__main__":
    raise SystemExit(main())
