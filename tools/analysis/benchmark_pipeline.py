"""Training data pipeline per core: mmpose's, ours (lean packing), ours with fast_decode_warp.

The three sides run the augmentations of one training config (default: RTMPose-l, COCO-WholeBody +
UBody, 256x192) on the same real photos with the same seeds, then pack: mmpose's side with
``GenerateTarget`` + ``PackPoseInputs`` (labels made per sample in the worker), ours with
``LeanPackPoseInputs``, whose labels ``SimCCTargetPreprocessor`` makes for a whole batch: that cost
is timed too (on the CPU, batches of ``--batch``) and added to ours, so the total is honest. mmpose's
side and "ours" load, flip and warp with mmpose's ``LoadImage`` / ``RandomFlip`` / ``TopdownAffine``;
"fast" with ``LoadEncodedImage`` / ``DeferredRandomFlip`` / ``DecodeWarpTopdownAffine``
(``fast_decode_warp``: decode in the warp step, at reduced size where the crop shrinks the photo, the
flip folded into the warp). The table names those rows by mmpose's steps.

Each side runs in its own process, single-threaded as a DataLoader worker is (one torch thread,
OpenCV threading off as ``env_cfg.mp_cfg.opencv_num_threads=0``), so samples/s are per core. The
processes take turns trial by trial; every trial replays the same random seed. Prints a Markdown
table of ms per sample per transform (best and median trial), samples/s per core, the bytes each
packed sample carries to the main process, how often the fast side decoded at 1/2, 1/4, 1/8, and
where LoadImage / TopdownAffine spend their time (building a side and the per-step and per-part
timing: ``benchmark_pipeline_steps.py`` next to this file).

    python tools/analysis/benchmark_pipeline.py [--config CFG] [--data DIR] [--passes 10] \
        [--trials 5] [--batch 64] [--upscale 3] [--repeats 20] [--out docs/benchmark_pipeline_section.md]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import _bench
from benchmark_pipeline_steps import breakdown, breakdown_table, build_side

from dwpose.errors import guarded

REPO = _bench.REPO
DEFAULT_CONFIG = (REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                  / "rtmpose-l_8xb64-270e_coco-ubody-wholebody-256x192.py")
SIDES = {"mmpose": "mmpose: GenerateTarget + PackPoseInputs in the worker",
         "ours": "ours: LeanPackPoseInputs, labels in SimCCTargetPreprocessor",
         "fast": "ours + fast_decode_warp: decode in the warp, reduced where it shrinks, flip in the matrix"}
TARGETS = "SimCC labels in the preprocessor"
OTHER = "rest: dataset item copy, Compose, Python GC"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config (train_pipeline)")
    p.add_argument("--data", type=Path, default=_bench.COCO_MINI,
                   help="COCO-WholeBody folder: coco_wholebody_mini.json + images/")
    p.add_argument("--passes", type=int, default=10, help="passes over the people of --data per trial")
    p.add_argument("--trials", type=int, default=5, help="interleaved trials per side")
    p.add_argument("--batch", type=int, default=64, help="batch size for the preprocessor's labels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--upscale", type=float, default=1.0,
                   help="resize the photos (and annotations) this many times first: larger frames")
    p.add_argument("--repeats", type=int, default=20,
                   help="interleaved repeats of each LoadImage / TopdownAffine part (their best counts)")
    p.add_argument("--out", type=Path, help="also write the Markdown section here")
    p.add_argument("--worker", choices=sorted(SIDES), help=argparse.SUPPRESS)  # internal: one side
    return p.parse_args(argv)


# ---- one side, in its own process ----------------------------------------------------------------
def run_trial(args: argparse.Namespace, dataset, totals: Dict[str, float], reductions: Dict[int, int],
              prep) -> dict:
    """One trial: ``--passes`` over the data set from the same seed; ms per sample per step."""
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate

    totals.clear()
    reductions.clear()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    samples, start = [], time.perf_counter()
    for _ in range(args.passes):
        samples += [dataset[i] for i in range(len(dataset))]
    wall = time.perf_counter() - start
    n, packed_bytes = len(samples), len(pickle.dumps(samples[0]))  # before the labels are added
    ms = {name: 1000 * t / n for name, t in totals.items()}
    ms[OTHER] = 1000 * (wall - sum(totals.values())) / n
    if prep is not None:
        spent, counted, size = 0.0, 0, min(args.batch, n)
        for b in range(0, n - size + 1, size):
            batch = pseudo_collate(samples[b:b + size])["data_samples"]
            start = time.perf_counter()
            prep.add_targets(batch, torch.device("cpu"))
            spent, counted = spent + time.perf_counter() - start, counted + len(batch)
        ms[TARGETS] = 1000 * spent / max(counted, 1)
    return dict(ms=ms, n=n, bytes=packed_bytes, reductions={str(r): c for r, c in sorted(reductions.items())})


def worker(args: argparse.Namespace) -> None:
    """Serve trials: one JSON line on stdout per ``trial`` line on stdin (all else goes to stderr)."""
    out, sys.stdout = sys.stdout, sys.stderr  # pycocotools prints its progress to stdout
    side = build_side(args)
    run_trial(args, *side)  # warm-up: file cache, lazy imports
    print(json.dumps(dict(ready=True)), file=out, flush=True)
    for line in sys.stdin:
        if line.strip() != "trial":
            break
        print(json.dumps(run_trial(args, *side)), file=out, flush=True)


# ---- the parent: interleave the sides, report ----------------------------------------------------
def start_side(side: str, argv: List[str]) -> subprocess.Popen:
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--worker", side]
    log = tempfile.TemporaryFile("w+")  # the worker's warnings; shown if it dies
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                            cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    proc.log = log
    if "ready" not in _reply(proc, side):
        raise RuntimeError(f"{side} did not start")
    return proc


def _reply(proc: subprocess.Popen, side: str) -> dict:
    line = proc.stdout.readline()
    if not line:
        code = proc.wait()
        proc.log.seek(0)
        raise RuntimeError(f"the {side} worker died (exit {code}):\n{proc.log.read()[-3000:]}")
    return json.loads(line)


def interleaved(args: argparse.Namespace, argv: List[str]) -> Dict[str, List[dict]]:
    procs = {side: start_side(side, argv) for side in SIDES}
    trials: Dict[str, List[dict]] = {side: [] for side in SIDES}
    try:
        for t in range(args.trials):
            for side, proc in procs.items():
                proc.stdin.write("trial\n")
                proc.stdin.flush()
                trials[side].append(_reply(proc, side))
                total = sum(trials[side][-1]["ms"].values())
                print(f"trial {t + 1}/{args.trials} {side}: {total:.2f} ms/sample", file=sys.stderr,
                      flush=True)
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()
    return trials


def _stats(trials: List[dict], key: Optional[str]) -> tuple:
    """(best, median) ms per sample of one step (``None``: the total) over the trials."""
    vals = [sum(t["ms"].values()) if key is None else t["ms"].get(key, 0.0) for t in trials]
    return min(vals), statistics.median(vals)


def machine() -> str:
    return _bench.machine(("torch", "mmpose", "opencv"), note=" (labels timed on the CPU)") + \
        f"; load average at the end {_bench.load_average()}"


def table(trials: Dict[str, List[dict]], args: argparse.Namespace) -> str:
    steps = list(dict.fromkeys(k for side in SIDES for t in trials[side] for k in t["ms"]))
    steps = [s for s in steps if s not in (OTHER, TARGETS)] + [OTHER, TARGETS]
    cell = lambda side, key: ("-" if key is not None and all(key not in t["ms"] for t in trials[side])
                              else "{:.2f} / {:.2f}".format(*_stats(trials[side], key)))
    row = lambda label, value: f"| {label} | " + " | ".join(value(side) for side in SIDES) + " |"
    lines = ["| step (ms per sample, best / median trial) | " + " | ".join(SIDES.values()) + " |",
             "|---" * (len(SIDES) + 1) + "|"]
    lines += [row(s, lambda side, s=s: cell(side, s)) for s in steps]
    lines.append(row("**total per sample**", lambda side: cell(side, None)))
    step_best = {side: sum(min(t["ms"].get(k, 0.0) for t in trials[side]) for k in steps) for side in SIDES}
    lines.append(row("sum of the steps' best trials (least disturbed)",
                     lambda side: f"{step_best[side]:.2f}"))
    best = {side: _stats(trials[side], None)[0] for side in SIDES}
    med = {side: _stats(trials[side], None)[1] for side in SIDES}
    lines.append(row("**samples/s per core** (best / median)",
                     lambda side: f"{1000 / best[side]:.1f} / {1000 / med[side]:.1f}"))
    lines.append(row("**vs mmpose** (best / median / sums of steps' best)",
                     lambda side: f"{best['mmpose'] / best[side]:.2f}x / {med['mmpose'] / med[side]:.2f}x / "
                                  f"{step_best['mmpose'] / step_best[side]:.2f}x"))
    lines.append(row("packed sample sent to the main process (pickled)",
                     lambda side: f"{trials[side][0]['bytes'] / 1024:.0f} KiB"))
    fired = trials["fast"][0]["reductions"]
    total = sum(fired.values())
    return "\n".join(lines) + (
        "\n\nDecode size on the fast side (one trial, same draws each trial): "
        + ", ".join(f"1/{r}: {c} of {total} samples ({100 * c / max(total, 1):.0f}%)"
                    for r, c in fired.items())
        + ".")


def upscaled_copy(data: Path, factor: float, out: Path) -> Path:
    """``data`` with every photo resized ``factor`` times (bicubic, JPEG quality 95) and its annotations
    scaled to match: larger frames (UBody's video frames are 1920x1080) from the same real people."""
    import cv2

    ann = json.loads((data / "coco_wholebody_mini.json").read_text())
    (out / "images").mkdir(parents=True, exist_ok=True)
    for image in ann["images"]:
        img = cv2.imread(str(data / "images" / image["file_name"]))
        img = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(out / "images" / image["file_name"]), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        image["height"], image["width"] = img.shape[:2]
    for a in ann["annotations"]:
        for key in ("bbox", "face_box", "lefthand_box", "righthand_box"):
            if key in a:
                a[key] = [v * factor for v in a[key]]
        for key in ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts"):
            if key in a:  # (x, y, visibility) triples
                a[key] = [v * factor if i % 3 < 2 else v for i, v in enumerate(a[key])]
        a["area"] = a["area"] * factor ** 2
        if isinstance(a.get("segmentation"), list):
            a["segmentation"] = [[v * factor for v in poly] for poly in a["segmentation"]]
    (out / "coco_wholebody_mini.json").write_text(json.dumps(ann))
    return out


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    with tempfile.TemporaryDirectory(prefix="benchmark_pipeline_") as tmp:
        data = args.data if args.upscale == 1 else upscaled_copy(args.data, args.upscale, Path(tmp))
        args.data = data
        side_argv = ["--config", str(args.config), "--data", str(data), "--passes", str(args.passes),
                     "--batch", str(args.batch), "--seed", str(args.seed)]
        trials = interleaved(args, side_argv)
        parts = breakdown(args)
    n = trials["ours"][0]["n"]
    scaled = (f", photos and annotations scaled {args.upscale:g}x (bicubic, JPEG q95)"
              if args.upscale != 1 else "")
    text = "\n".join([
        "Command: `python tools/analysis/benchmark_pipeline.py "
        + " ".join(argv if argv is not None else sys.argv[1:]) + "`",
        f"Config: `{os.path.relpath(args.config, REPO)}`; data: `{args.data}`{scaled} ({n} samples per "
        f"trial, {args.passes} passes); {args.trials} interleaved trials, same seed each; labels in batches "
        f"of {args.batch}.",
        f"Machine: {machine()}.",
        "",
        table(trials, args),
        "",
        breakdown_table(parts),
    ])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/benchmark_pipeline.py")


if __name__ == "__main__":
    sys.exit(main())
