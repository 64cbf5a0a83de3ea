"""A COCO keypoint data set of one COCO-WholeBody part (a hand: K = 21, the face: 68, the feet: 6, ...).

Each annotation whose part is valid and has a labelled point becomes one instance of a plain COCO
keypoint file: ``keypoints`` = that part's ``3 * K`` numbers, ``num_keypoints`` its labelled count,
``bbox`` the part's box (``<part>_box``; the body box for ``body`` and ``foot``), ``area`` the box
area. Images without such an instance are dropped; ``categories`` holds one category with the part's
K keypoint names. mmpose's ``CocoDataset`` reads the result with a metainfo file of K keypoints
(``configs/custom/hand21/`` walks through it).

    python -m dwpose.datasets.part_subset coco_wholebody_train_v1.0.json hand21_train.json --part lefthand
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional, Sequence

from dwpose.errors import UserError
from dwpose.fileio import atomic_write_json, read_json
from dwpose.keypoints import PART_FIELDS, PART_SIZES

BOX_FIELDS = {"face": "face_box", "lefthand": "lefthand_box", "righthand": "righthand_box"}


def part_subset(wholebody: Dict[str, Any], part: str,
                names: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The COCO keypoint data set of ``part`` from a loaded COCO-WholeBody annotation dict.

    Args:
        wholebody: ``{"images", "annotations", "categories"}`` of COCO-WholeBody.
        part: ``body``, ``foot``, ``face``, ``lefthand`` or ``righthand``.
        names: the K keypoint names for ``categories`` (default ``<part>_0`` ... ``<part>_<K-1>``).

    Raises:
        UserError: unknown part, or ``names`` of the wrong length.
    """
    if part not in PART_SIZES:
        raise UserError(f"part must be one of {', '.join(PART_SIZES)}, got {part!r}")
    k = PART_SIZES[part]
    names = list(names) if names is not None else [f"{part}_{i}" for i in range(k)]
    if len(names) != k:
        raise UserError(f"{part} has {k} keypoints but {len(names)} names were given")
    anns: List[dict] = []
    for ann in wholebody["annotations"]:
        kpts = ann.get(PART_FIELDS[part]) or []
        valid = ann.get(f"{part}_valid", True) if part != "body" else True
        labelled = sum(1 for v in kpts[2::3] if v > 0)
        if not valid or len(kpts) != 3 * k or labelled == 0:
            continue
        box = list(ann.get(BOX_FIELDS.get(part, "bbox")) or ann["bbox"])
        anns.append({"id": ann["id"], "image_id": ann["image_id"], "category_id": 1, "iscrowd": 0,
                     "keypoints": list(kpts), "num_keypoints": labelled, "bbox": box,
                     "area": float(box[2] * box[3])})
    kept = {a["image_id"] for a in anns}
    return {"images": [im for im in wholebody["images"] if im["id"] in kept], "annotations": anns,
            "categories": [{"id": 1, "name": part, "supercategory": "person", "keypoints": names,
                            "skeleton": []}]}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m dwpose.datasets.part_subset WHOLEBODY_JSON OUT_JSON --part PART``."""
    parser = argparse.ArgumentParser(prog="python -m dwpose.datasets.part_subset",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("wholebody_json", help="COCO-WholeBody annotations")
    parser.add_argument("out_json", help="where to write the part's COCO keypoint annotations")
    parser.add_argument("--part", required=True, choices=sorted(PART_SIZES))
    args = parser.parse_args(argv)
    from dwpose.errors import guarded

    def run() -> int:
        out = part_subset(read_json(args.wholebody_json), args.part)
        atomic_write_json(args.out_json, out)
        print(f"{args.out_json}: {len(out['annotations'])} {args.part} instance(s) of "
              f"{PART_SIZES[args.part]} keypoints in {len(out['images'])} image(s)")
        return 0

    return guarded(run, prog="python -m dwpose.datasets.part_subset")


if __name__ == "__main__":
    raise SystemExit(main())
