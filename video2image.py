"""Turn every UBody video into PNG frames at 30 fps (OpenCV only; resumable; parallel).

    python video2image.py [--root data/UBody] [--fps 30] [--workers 4]

``<root>/videos/<scene>/.../<name>.mp4`` -> ``<root>/images/<scene>/.../<name>/000001.png, ...``.
A finished video is skipped on the next run; an interrupted one is redone. An unreadable video gets one
``error:`` line and the others go on; the exit status is 1 if any video failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from dwpose.datasets.ubody_video import summarize, video2image


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="video2image.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default="data/UBody", help="UBody folder holding videos/ (default: data/UBody)"
    )
    parser.add_argument(
        "--fps", type=float, default=30.0, help="output frame rate (default: 30, as UBody's labels)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help="parallel processes (default: cores, max 8)",
    )
    args = parser.parse_args(argv)
    try:
        results = video2image(args.root, fps=args.fps, workers=args.workers)
    except (FileNotFoundError, ValueError) as exc:
        print(f"video2image.py: error: {exc}", file=sys.stderr)
        return 2
    print(summarize(results))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
