"""Add the COCO person category (17 keypoints, 19 limbs) to UBody's per-scene annotation files.

The COCO evaluator needs ``categories``; UBody's ``annotations/<scene>/keypoint_annotation.json`` has
none. Idempotent (a second run changes nothing) and atomic (temp file + rename).

    python add_cat.py [--root data/UBody] [--file-name keypoint_annotation.json]

Exit status: 0 when every file is fine, 3 when a file was refused (not COCO-style JSON; the others are
done), 2 when no annotation file was found.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from dwpose.datasets.ubody import add_person_category_to_scenes
from dwpose.errors import EXIT_PARTIAL, guarded

PROG = "add_cat.py"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/UBody", help="UBody folder (default: data/UBody)")
    parser.add_argument(
        "--file-name", default="keypoint_annotation.json", help="file to fix in each annotations/<scene>/"
    )
    args = parser.parse_args(argv)

    def run() -> int:
        refused = 0
        for path, change, error in add_person_category_to_scenes(args.root, args.file_name):
            if error is not None:
                print(f"{PROG}: error: {error}", file=sys.stderr)
                refused += 1
            elif change:
                print(f"{path}: {change}")
            else:
                print(f"{path}: already has the person category, unchanged")
        return EXIT_PARTIAL if refused else 0

    return guarded(run, PROG)


if __name__ == "__main__":
    sys.exit(main())
