"""Turn every UBody video into PNG frames at 30 fps (OpenCV only; resumable; parallel).

    python video2image.py [--root data/UBody] [--fps 30] [--workers 4]

``<root>/videos/<scene>/.../<name>.mp4`` -> ``<root>/images/<scene>/.../<name>/000001.png, ...``.
A finished video is skipped on the next run; an interrupted one is redone. An unreadable video gets one
``error:`` line and the others go on; the exit status is then 3 (finished, some inputs skipped). A bad
argument or a missing ``videos/`` folder: one ``error:`` line, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from dwpose.datasets.ubody_video import VideoResult, summarize, video2image
from dwpose.errors import EXIT_PARTIAL, guarded

PROG = "video2image.py"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _print_failure(result: VideoResult) -> None:
    from tqdm import tqdm

    tqdm.write(f"{PROG}: error: {result.video}: {result.error}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default="data/UBody", help="UBody folder holding videos/ (default: data/UBody)"
    )
    parser.add_argument(
        "--fps", type=float, default=30.0, help="output frame rate (default: 30, as UBody's labels)"
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=min(8, os.cpu_count() or 1),
        help="parallel processes (default: cores, max 8)",
    )
    args = parser.parse_args(argv)

    def run() -> int:
        results = video2image(args.root, fps=args.fps, workers=args.workers, on_failure=_print_failure)
        print(summarize(results))
        return EXIT_PARTIAL if any(r.error for r in results) else 0

    return guarded(run, PROG)


if __name__ == "__main__":
    sys.exit(main())
