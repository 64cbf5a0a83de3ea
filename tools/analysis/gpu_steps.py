"""The measurements of ``tools/gpu_check.sh`` that no other benchmark script makes; one JSON line each.

Subcommands (each prints one JSON object as its last stdout line):

- ``train``: RTMPose training steps of one size (batch of synthetic uint8 crops + SimCC targets, as
  the data loader yields them): the first step's loss on the CPU and on ``--device`` from the same
  weights (fp32; their difference), then timed steps with ``OptimWrapper`` or, with ``--amp``,
  ``AmpOptimWrapper``: steps/s, samples/s, peak CUDA memory, every loss finite.
- ``feed``: the training data pipeline in a ``DataLoader`` with ``--workers`` processes, each batch
  moved to ``--device`` and run through a data preprocessor. Side ``fast``: the recipe's steps (fused
  decode + warp, labels made on the device by its preprocessor); ``mmpose``: mmpose's own steps and
  plain preprocessor, as in ``configs/_base_/rtmpose_coco-ubody-wholebody_256x192_mmpose-steps.py``.
- ``init``: random-init weights of one size, saved for ``dwpose export`` / ``predict``.
- ``predict``: a pose model (ONNX through onnxruntime, or CONFIG [CKPT] through PyTorch) on
  ``--device``: crops/s on batches of random crops and the provider onnxruntime chose.

``--iters 0`` (train), ``--batches 0`` (feed) and ``--repeat 0`` (predict) build everything and time
nothing: the argument and import plumbing of ``gpu_check.py --dry-run``.

    python tools/analysis/gpu_steps.py train --size t --batch 64 --device cuda --iters 10 [--amp]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import _bench

from dwpose.errors import guarded

REPO = _bench.REPO
MMPOSE_STEPS = "configs/_base_/rtmpose_coco-ubody-wholebody_256x192_mmpose-steps.py"
PLAIN = ("configs/wholebody_2d_keypoint/rtmpose/ubody/"
         "rtmpose-{}_8xb64-270e_coco-ubody-wholebody-256x192.py")
DEFAULT_DATA = _bench.COCO_MINI


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    t = sub.add_parser("train", help="RTMPose training steps")
    t.add_argument("--size", default="t", choices=list("tsml"))
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--iters", type=int, default=10, help="timed steps (0: build only)")
    t.add_argument("--warmup", type=int, default=2)
    t.add_argument("--amp", action="store_true", help="AmpOptimWrapper (fp16 autocast on CUDA)")
    t.add_argument("--device", default="cuda")
    f = sub.add_parser("feed", help="data pipeline feeding the device")
    f.add_argument("--side", default="fast", choices=("fast", "mmpose"))
    f.add_argument("--workers", type=int, default=4)
    f.add_argument("--batch", type=int, default=64)
    f.add_argument("--batches", type=int, default=20, help="timed batches (0: build only)")
    f.add_argument("--data", type=Path, default=DEFAULT_DATA, help="COCO-WholeBody mini folder")
    f.add_argument("--size", default="l", choices=list("tsml"))
    f.add_argument("--device", default="cuda")
    r = sub.add_parser("predict", help="pose model crops/s")
    r.add_argument("--pose", nargs="+", required=True, metavar="MODEL")
    r.add_argument("--batch", type=int, default=16)
    r.add_argument("--repeat", type=int, default=20, help="timed calls (0: build only)")
    r.add_argument("--device", default="cuda")
    i = sub.add_parser("init", help="save a random-init model's weights (for export / predict)")
    i.add_argument("--size", default="t", choices=list("tsml"))
    i.add_argument("out", type=Path, help="destination .pth")
    return p.parse_args(argv)


def _build_plain(size: str, device: str):
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmpose.registry import MODELS

    from dwpose.engine.config import read_config

    cfg = read_config(REPO / PLAIN.format(size))
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model.to(device).train()


def _first_loss(model, batch) -> float:
    """The loss of one forward pass in train mode (no update) on a copy of ``batch`` (the data
    preprocessor fills the batch's samples in place)."""
    import copy

    import torch

    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        losses = model(**data, mode="loss")
    return float(sum(v for k, v in losses.items() if "loss" in k))


def run_train(args: argparse.Namespace) -> Dict[str, object]:
    """First-step loss CPU vs device (fp32), then timed steps; see the module docstring."""
    import copy

    import torch
    from benchmark_distill import make_batch
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    import dwpose.plugin  # noqa: F401

    init_default_scope("mmpose")
    MessageHub.get_current_instance().update_info("epoch", 0)
    batch = make_batch(args.batch, "256x192")
    model = _build_plain(args.size, args.device)
    out: Dict[str, object] = dict(size=args.size, batch=args.batch, amp=args.amp, device=args.device)
    if args.iters == 0:
        return dict(out, built=True)
    if not args.amp:
        cpu = _build_plain(args.size, "cpu")
        cpu.load_state_dict(model.state_dict())
        out["loss_cpu"], out["loss_device"] = _first_loss(cpu, batch), _first_loss(model, batch)
        out["loss_diff"] = abs(out["loss_cpu"] - out["loss_device"])
        del cpu
    optim = _bench.adamw_wrapper(model, "AmpOptimWrapper" if args.amp else "OptimWrapper")
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    copies = iter([copy.deepcopy(batch) for _ in range(args.warmup + args.iters)])  # copied untimed
    times, logs = _bench.timed_steps(lambda: model.train_step(next(copies), optim), args.device,
                                     args.warmup, args.iters)
    losses = [float(log["loss"].detach()) for log in logs]
    best = min(times)
    out.update(steps_per_s=1 / best, samples_per_s=args.batch / best, losses=losses,
               loss_finite=all(math.isfinite(v) for v in losses))
    if args.device.startswith("cuda"):
        out["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


class _Repeat:
    """``dataset`` repeated so that a run of many workers has enough samples."""

    def __init__(self, dataset, times: int) -> None:
        self.dataset, self.times = dataset, times

    def __len__(self) -> int:
        return len(self.dataset) * self.times

    def __getitem__(self, i: int):
        return self.dataset[i % len(self.dataset)]


def run_feed(args: argparse.Namespace) -> Dict[str, object]:
    """Samples/s of ``--workers`` loader processes feeding ``--device`` (labels there on ``fast``)."""
    import torch
    from benchmark_pipeline_steps import side_pipeline
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoWholeBodyDataset
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.config import load_config

    init_default_scope("mmpose")
    cfg = load_config(str(REPO / PLAIN.format(args.size)))
    prep_cfg = cfg.model.data_preprocessor  # fast: the recipe's preprocessor makes the labels
    if args.side == "mmpose":  # mmpose's own steps: labels packed per sample, the plain preprocessor
        prep_cfg = load_config(str(REPO / MMPOSE_STEPS)).model.data_preprocessor
    dataset = CocoWholeBodyDataset(data_root=str(args.data), data_mode="topdown",
                                   ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                                   pipeline=side_pipeline(cfg, args.side))
    prep = MODELS.build(prep_cfg).to(args.device)
    need = max(args.batches, 1) * args.batch * 2 + args.workers * args.batch
    loader = torch.utils.data.DataLoader(
        _Repeat(dataset, -(-need // len(dataset))), batch_size=args.batch, num_workers=args.workers,
        collate_fn=pseudo_collate, persistent_workers=False, prefetch_factor=2 if args.workers else None)
    out: Dict[str, object] = dict(side=args.side, workers=args.workers, batch=args.batch)
    if args.batches == 0:
        return dict(out, built=True, preprocessor=type(prep).__name__)
    it = iter(loader)
    for _ in range(max(1, args.workers // 2)):  # warm-up: workers started, first batches out
        prep(next(it), True)
    _bench.sync(args.device)
    start = time.perf_counter()
    for _ in range(args.batches):
        prep(next(it), True)
    _bench.sync(args.device)
    rate = args.batches * args.batch / (time.perf_counter() - start)
    return dict(out, samples_per_s=rate, per_worker=rate / max(args.workers, 1),
                preprocessor=type(prep).__name__)


def run_predict(args: argparse.Namespace) -> Dict[str, object]:
    """Crops/s of ``--pose`` on ``--device`` (batches of random normalised crops)."""
    import numpy as np

    from dwpose.inference.pose_models import load_pose_model

    model = load_pose_model(args.pose, args.device)
    session = getattr(model, "session", None)
    out: Dict[str, object] = dict(pose=" ".join(args.pose), device=args.device,
                                  backend="onnxruntime" if session is not None else "pytorch",
                                  providers=session.get_providers() if session is not None else None)
    w, h = model.input_size
    crops = np.random.default_rng(0).standard_normal((args.batch, 3, h, w)).astype(np.float32)
    if args.repeat == 0:
        return dict(out, built=True)
    model(crops)  # warm-up
    start = time.perf_counter()
    for _ in range(args.repeat):
        model(crops)
    return dict(out, crops_per_s=args.repeat * args.batch / (time.perf_counter() - start))


def run_init(args: argparse.Namespace) -> Dict[str, object]:
    """Random-init weights of RTMPose-``--size`` saved as a bare state dict."""
    from mmengine.registry import init_default_scope

    import dwpose.plugin  # noqa: F401
    from dwpose.engine.checkpoint import atomic_save

    init_default_scope("mmpose")
    model = _build_plain(args.size, "cpu")
    atomic_save(dict(state_dict=model.state_dict()), args.out)
    return dict(size=args.size, out=str(args.out))


def _main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    run = {"train": run_train, "feed": run_feed, "predict": run_predict, "init": run_init}[args.step]
    result = run(args)
    print(json.dumps(result))
    return 0


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/gpu_steps.py")


if __name__ == "__main__":
    sys.exit(main())
