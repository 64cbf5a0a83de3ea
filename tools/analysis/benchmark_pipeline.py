"""Training data pipeline per core: ours (lean packing, SimCC labels in the preprocessor) vs mmpose's.

Both sides run the augmentations of one training config (default: RTMPose-l, COCO-WholeBody + UBody,
256x192) on the same real photos with the same seeds, then pack: mmpose's side with
``GenerateTarget`` + ``PackPoseInputs`` (labels made per sample in the worker), ours with
``LeanPackPoseInputs``, whose labels ``SimCCTargetPreprocessor`` makes for a whole batch: that cost
is timed too (on the CPU, batches of ``--batch``) and added to ours, so the total is honest.

Each side runs in its own process, single-threaded as a DataLoader worker is (one torch thread,
OpenCV threading off as ``env_cfg.mp_cfg.opencv_num_threads=0``), so samples/s are per core. The
two processes take turns trial by trial; every trial replays the same random seed. Prints a
Markdown table of ms per sample per transform (best and median trial), samples/s per core, the
bytes each packed sample carries to the main process, and where LoadImage / TopdownAffine spend
their time.

    python tools/analysis/benchmark_pipeline.py [--config CFG] [--data DIR] [--passes 10] \
        [--trials 5] [--batch 64] [--out docs/benchmark_pipeline_section.md]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from dwpose.errors import guarded  # noqa: E402

SHARED = REPO.parent / "shared"
DEFAULT_CONFIG = (REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                  / "rtmpose-l_8xb64-270e_coco-ubody-wholebody-256x192.py")
PACKERS = ("GenerateTarget", "PackPoseInputs", "LeanPackPoseInputs")
SIDES = {"mmpose": "mmpose: GenerateTarget + PackPoseInputs in the worker",
         "ours": "ours: LeanPackPoseInputs, labels in SimCCTargetPreprocessor"}
TARGETS = "SimCC labels in the preprocessor"
OTHER = "rest: dataset item copy, Compose, Python GC"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config (train_pipeline)")
    p.add_argument("--data", type=Path, default=SHARED / "data/coco-wholebody-mini",
                   help="COCO-WholeBody folder: coco_wholebody_mini.json + images/")
    p.add_argument("--passes", type=int, default=10, help="passes over the people of --data per trial")
    p.add_argument("--trials", type=int, default=5, help="interleaved trials per side")
    p.add_argument("--batch", type=int, default=64, help="batch size for the preprocessor's labels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the Markdown section here")
    p.add_argument("--worker", choices=sorted(SIDES), help=argparse.SUPPRESS)  # internal: one side
    return p.parse_args(argv)


# ---- one side, in its own process ----------------------------------------------------------------
class Timed:
    """A pipeline step that adds its wall time to ``totals[name]``."""

    def __init__(self, transform, totals: Dict[str, float]) -> None:
        self.transform, self.totals, self.name = transform, totals, type(transform).__name__

    def __call__(self, results: dict):
        start = time.perf_counter()
        out = self.transform(results)
        self.totals[self.name] += time.perf_counter() - start
        return out


def side_pipeline(cfg, side: str) -> List[dict]:
    """The config's augmentations followed by this side's packing."""
    augment = [t for t in cfg.train_pipeline if t["type"] not in PACKERS]
    if side == "ours":
        return augment + [dict(type="LeanPackPoseInputs")]
    generate = dict(type="GenerateTarget", encoder=cfg.model.head.decoder)
    return augment + [generate, dict(type="PackPoseInputs")]


def build_side(args: argparse.Namespace):
    """``(dataset whose steps are timed, step totals, preprocessor or None)`` for ``args.worker``."""
    import cv2
    import torch
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoWholeBodyDataset
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.config import read_config

    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    init_default_scope("mmpose")
    cfg = read_config(args.config)
    dataset = CocoWholeBodyDataset(data_root=str(args.data), data_mode="topdown",
                                   ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                                   pipeline=side_pipeline(cfg, args.worker))
    totals: Dict[str, float] = defaultdict(float)
    dataset.pipeline.transforms = [Timed(t, totals) for t in dataset.pipeline.transforms]
    prep = None
    if args.worker == "ours":
        prep = MODELS.build(dict(type="SimCCTargetPreprocessor", codec=cfg.model.head.decoder))
    return dataset, totals, prep


def run_trial(args: argparse.Namespace, dataset, totals: Dict[str, float], prep) -> dict:
    """One trial: ``--passes`` over the data set from the same seed; ms per sample per step."""
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate

    totals.clear()
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
    return dict(ms=ms, n=n, bytes=packed_bytes)


def worker(args: argparse.Namespace) -> None:
    """Serve trials: one JSON line on stdout per ``trial`` line on stdin (all else goes to stderr)."""
    out, sys.stdout = sys.stdout, sys.stderr  # pycocotools prints its progress to stdout
    dataset, totals, prep = build_side(args)
    run_trial(args, dataset, totals, prep)  # warm-up: file cache, lazy imports
    print(json.dumps(dict(ready=True)), file=out, flush=True)
    for line in sys.stdin:
        if line.strip() != "trial":
            break
        print(json.dumps(run_trial(args, dataset, totals, prep)), file=out, flush=True)


# ---- where LoadImage and TopdownAffine spend their time ---------------------------------------------
def breakdown(args: argparse.Namespace, repeat: int = 20) -> Dict[str, object]:
    """Best ms per sample of LoadImage / TopdownAffine and of their parts, on the real samples.

    TopdownAffine gets the states the config's augmentations leave before it (its real boxes,
    scales and rotations); the parts are timed on the same inputs, one after the other.
    """
    import cv2
    import mmcv
    import numpy as np
    from mmengine import fileio
    from mmpose.structures.bbox import get_warp_matrix

    args.worker = "ours"
    with contextlib.redirect_stdout(sys.stderr):  # pycocotools prints its progress to stdout
        dataset, _, _ = build_side(args)
    steps = [t.transform for t in dataset.pipeline.transforms]
    names = [type(t).__name__ for t in steps]
    load, affine = steps[names.index("LoadImage")], steps[names.index("TopdownAffine")]
    np.random.seed(args.seed)
    random.seed(args.seed)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    raw = [fileio.get(info["img_path"]) for info in infos]
    before_affine = []
    for info in infos:
        results = dict(info)
        for step in steps[: names.index("TopdownAffine")]:
            results = step(results)
        before_affine.append(results)
    (w, h), mats = affine.input_size, []
    for r in before_affine:
        scale = affine._fix_aspect_ratio(r["bbox_scale"], aspect_ratio=w / h)[0]
        mats.append(get_warp_matrix(r["bbox_center"][0], scale, r["bbox_rotation"][0], output_size=(w, h)))
    contiguous = [np.ascontiguousarray(r["img"]) for r in before_affine]
    parts = {
        "LoadImage (the transform)": lambda: [load(dict(info)) for info in infos],
        "LoadImage: read the file": lambda: [fileio.get(info["img_path"]) for info in infos],
        "LoadImage: JPEG decode (cv2.imdecode)": lambda: [mmcv.imfrombytes(b, flag="color", backend="cv2")
                                                          for b in raw],
        "TopdownAffine (the transform)": lambda: [affine(dict(r)) for r in before_affine],
        "TopdownAffine: warp matrix": lambda: [
            get_warp_matrix(r["bbox_center"][0], r["bbox_scale"][0], r["bbox_rotation"][0],
                            output_size=(w, h)) for r in before_affine],
        f"TopdownAffine: cv2.warpAffine to {w}x{h}, images as RandomFlip leaves them": lambda: [
            cv2.warpAffine(r["img"], m, (w, h), flags=cv2.INTER_LINEAR) for r, m in zip(before_affine, mats)],
        f"TopdownAffine: cv2.warpAffine to {w}x{h}, the same images C-contiguous": lambda: [
            cv2.warpAffine(c, m, (w, h), flags=cv2.INTER_LINEAR) for c, m in zip(contiguous, mats)],
        "copying RandomFlip's flipped views to C order (np.ascontiguousarray)": lambda: [
            np.ascontiguousarray(r["img"]) for r in before_affine],
        "TopdownAffine: keypoints (cv2.transform)": lambda: [
            cv2.transform(r["keypoints"], m) for r, m in zip(before_affine, mats)],
    }
    best: Dict[str, object] = {}
    for name, fn in parts.items():
        fn()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        best[name] = 1000 * min(times) / len(infos)
    best["image sizes"] = sorted({f"{r['img'].shape[1]}x{r['img'].shape[0]}" for r in before_affine})
    best["flipped"] = f"{sum(not r['img'].flags['C_CONTIGUOUS'] for r in before_affine)}/{len(infos)}"
    return best


# ---- the parent: interleave the two sides, report ----------------------------------------------------
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
    import cv2
    import mmpose
    import torch

    cpu = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, no GPU used (labels timed on the CPU); python "
            f"{platform.python_version()}, torch {torch.__version__}, mmpose {mmpose.__version__}, "
            f"opencv {cv2.__version__}; load average at the end {load}")


def table(trials: Dict[str, List[dict]], args: argparse.Namespace) -> str:
    steps = list(dict.fromkeys(k for side in SIDES for t in trials[side] for k in t["ms"]))
    steps = [s for s in steps if s not in (OTHER, TARGETS)] + [OTHER, TARGETS]
    cell = lambda side, key: ("-" if key is not None and all(key not in t["ms"] for t in trials[side])
                              else "{:.2f} / {:.2f}".format(*_stats(trials[side], key)))
    lines = ["| step (ms per sample, best / median trial) | " + " | ".join(SIDES.values()) + " |",
             "|---|---|---|"]
    lines += [f"| {s} | {cell('mmpose', s)} | {cell('ours', s)} |" for s in steps]
    lines.append(f"| **total per sample** | {cell('mmpose', None)} | {cell('ours', None)} |")
    step_best = {side: sum(min(t["ms"].get(k, 0.0) for t in trials[side]) for k in steps) for side in SIDES}
    lines.append(f"| sum of the steps' best trials (least disturbed) | {step_best['mmpose']:.2f} "
                 f"| {step_best['ours']:.2f} |")
    best = {side: _stats(trials[side], None)[0] for side in SIDES}
    med = {side: _stats(trials[side], None)[1] for side in SIDES}
    lines.append(f"| **samples/s per core** (best / median) | {1000 / best['mmpose']:.1f} / "
                 f"{1000 / med['mmpose']:.1f} | {1000 / best['ours']:.1f} / {1000 / med['ours']:.1f} |")
    kib = {side: trials[side][0]["bytes"] / 1024 for side in SIDES}
    lines.append(f"| packed sample sent to the main process (pickled) | {kib['mmpose']:.0f} KiB "
                 f"| {kib['ours']:.0f} KiB |")
    speedup = [best["mmpose"] / best["ours"], med["mmpose"] / med["ours"],
               step_best["mmpose"] / step_best["ours"]]
    return "\n".join(lines) + ("\n\nSpeed-up per core, ours vs mmpose: {:.2f}x best trial, {:.2f}x median "
                               "trial, {:.2f}x on the sums of the steps' best.".format(*speedup))


def breakdown_table(parts: Dict[str, float]) -> str:
    lines = ["| step or part (best of 20 repeats, ms per sample) | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in parts.items() if isinstance(v, float)]
    return "\n".join(lines) + (f"\n\nPhoto sizes: {', '.join(parts['image sizes'])}; samples whose image "
                               f"RandomFlip left as a negative-stride view: {parts['flipped']}.")


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    side_argv = ["--config", str(args.config), "--data", str(args.data), "--passes", str(args.passes),
                 "--batch", str(args.batch), "--seed", str(args.seed)]
    trials = interleaved(args, side_argv)
    parts = breakdown(args)
    n = trials["ours"][0]["n"]
    text = "\n".join([
        "Command: `python tools/analysis/benchmark_pipeline.py "
        + " ".join(argv if argv is not None else sys.argv[1:]) + "`",
        f"Config: `{os.path.relpath(args.config, REPO)}`; data: `{args.data}` ({n} samples per trial, "
        f"{args.passes} passes); {args.trials} interleaved trials, same seed each; labels in batches of "
        f"{args.batch}.",
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
