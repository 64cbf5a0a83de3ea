"""Write UBody's per-scene train / val annotation files from the official split lists.

    python tools/dataset_converters/ubody_split.py [--root data/UBody] [--split intra|inter|both]
                                                   [--no-image-check]

Writes ``annotations/<scene>/{train,val}_annotations.json`` (file_names relative to ``images/``) and the
all-scene ``annotations/val_annotations.json``. See :mod:`dwpose.datasets.ubody_split` for the rules.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from dwpose.datasets.ubody_split import split_ubody
from dwpose.errors import guarded

SPLIT_CHOICES = {"intra": ("intra",), "inter": ("inter",), "both": ("intra", "inter")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ubody_split.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/UBody", help="UBody folder (default: data/UBody)")
    parser.add_argument(
        "--split",
        choices=sorted(SPLIT_CHOICES),
        default="intra",
        help="test list(s) that define val: intra_scene (default, as DWPose / mmpose), inter_scene, or both",
    )
    parser.add_argument(
        "--no-image-check",
        action="store_true",
        help="keep annotations whose frame PNG is missing under images/",
    )
    args = parser.parse_args(argv)

    def run() -> int:
        summary = split_ubody(args.root, SPLIT_CHOICES[args.split], check_images=not args.no_image_check)
        for s in summary:
            line = (
                f"{s.scene}: train {s.images['train']} images / {s.annotations['train']} people, "
                f"val {s.images['val']} images / {s.annotations['val']} people"
            )
            missing = f", {s.missing_frames} people without a frame left out" if s.missing_frames else ""
            print(line + missing)
        return 0

    return guarded(run, "ubody_split.py")


if __name__ == "__main__":
    sys.exit(main())
