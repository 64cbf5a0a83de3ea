"""Where a demo training step's time goes, part by part, next to its FLOPs and this CPU's matmul peak.

One training step of a config (default: the demo student) is cut into the parts MMEngine's
``train_step`` runs, each timed on its own in the same iteration, with the pinned kernels and
thread count of the demo (``dwpose.engine.numerics``):

- data: waiting for the next batch from the DataLoader worker;
- SimCC labels and normalisation (the data preprocessor);
- backbone forward, head forward (the GAU and the two SimCC classifiers);
- the KL loss, mmpose's accuracy (``simcc_pck_accuracy``, numpy; logged, not trained on);
- backward, gradient clipping + AdamW, the EMA update.

The same number of whole MMEngine steps (``model.train_step`` + the EMA update) is timed in turns
with the cut-up ones, so the sum of the parts is checked against the real step. The loss of the
cut-up step is checked against ``head.loss`` of the same batch (the parts are mmpose's own
computation, not an approximation). FLOPs of one forward + backward come from
``torch.utils.flop_counter``; the peak is a 2048^3 float32 matmul with the same threads. The data
pipeline's own CPU time (one batch, in this process) is printed beside: in training it runs in the
worker process on the same cores.

Usage::

    python tools/analysis/step_breakdown.py [--config configs/demo/rtmpose-student_demo.py]
        [--data work_dirs/demo/data] [--iters 20] [--warmup 3]

Without ``--data`` (or when it does not exist) a demo data set is generated into a temporary folder.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import _bench

from dwpose.engine.numerics import PINNED_KERNELS
from dwpose.errors import UserError, guarded

for _key, _value in {**PINNED_KERNELS, "OMP_WAIT_POLICY": "PASSIVE"}.items():
    os.environ.setdefault(_key, _value)  # before torch is imported: the kernels are chosen then

PARTS = ("data wait", "SimCC labels + normalise", "backbone forward", "head forward", "KL loss",
         "accuracy (numpy, logged only)", "backward", "clip + AdamW", "EMA update")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(_bench.REPO / "configs/demo/rtmpose-student_demo.py"))
    p.add_argument("--data", default=None, help="demo data root (default: generated into a temp dir)")
    p.add_argument("--iters", type=int, default=20, help="timed steps of each kind")
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)
    if args.iters < 2 or args.warmup < 0:
        raise UserError("--iters must be >= 2 and --warmup >= 0")
    return args


def build(config: str, data: Path, work: Path):
    """Model, train loader, optimizer wrapper and EMA model, as the DWPoseRunner builds them."""
    from mmdet.models.layers import ExpMomentumEMA

    from dwpose.engine.config import load_config
    from dwpose.engine.runner import DWPoseRunner

    cfg = load_config(config, {"data_root": f"{data}/"})
    cfg.work_dir = str(work)
    cfg.launcher = "none"
    cfg.log_level = "WARNING"
    runner = DWPoseRunner.from_cfg(cfg)
    model = runner.model
    model.train()
    loader = runner.build_dataloader(runner._train_dataloader, seed=0)
    optim = runner.build_optim_wrapper(runner.optim_wrapper)
    ema_cfg = next(h for h in cfg.custom_hooks if h["type"] == "EMAHook")
    ema = ExpMomentumEMA(model, momentum=ema_cfg["momentum"], update_buffers=ema_cfg["update_buffers"])
    return model, loader, optim, ema


class Clock:
    """``clock(name)`` adds the time since the last call (or :meth:`restart`) to ``parts[name]``."""

    def __init__(self, parts: Dict[str, List[float]], timed: bool) -> None:
        self.parts, self.timed = parts, timed
        self.last = time.perf_counter()

    def restart(self) -> None:
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.timed:
            self.parts[name].append(now - self.last)
        self.last = now


def batches(loader):
    while True:
        yield from loader


def cut_step(model, data, optim, ema, clock) -> float:
    """One training step in the parts of ``PARTS[1:]``; returns the ground-truth loss."""
    import torch
    from mmpose.evaluation.functional import simcc_pck_accuracy

    data = model.data_preprocessor(data, True)
    clock("SimCC labels + normalise")
    inputs, samples = data["inputs"], data["data_samples"]
    feats = model.extract_feat(inputs)
    clock("backbone forward")
    head = model.head
    pred_x, pred_y = head.forward(feats)
    clock("head forward")
    gt_x = torch.cat([d.gt_instance_labels.keypoint_x_labels for d in samples], dim=0)
    gt_y = torch.cat([d.gt_instance_labels.keypoint_y_labels for d in samples], dim=0)
    weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in samples], dim=0)
    loss = head.loss_module((pred_x, pred_y), (gt_x, gt_y), weights)
    clock("KL loss")
    simcc_pck_accuracy(output=(pred_x.detach().numpy(), pred_y.detach().numpy()),
                       target=(gt_x.numpy(), gt_y.numpy()), simcc_split_ratio=head.simcc_split_ratio,
                       mask=weights.numpy() > 0)
    clock("accuracy (numpy, logged only)")
    optim.backward(loss)
    clock("backward")
    optim.step()
    optim.zero_grad()
    clock("clip + AdamW")
    ema.update_parameters(model)
    clock("EMA update")
    return float(loss)


def step_flops(model, data) -> float:
    """FLOPs of one forward + backward of the training loss (torch's own counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    data = model.data_preprocessor(data, True)
    counter = FlopCounterMode(display=False)
    with counter:
        losses = model(**data, mode="loss")
        sum(v for k, v in losses.items() if k.startswith("loss")).backward()
    model.zero_grad()
    return float(counter.get_total_flops())


def matmul_peak(n: int = 2048, trials: int = 5) -> float:
    """GFLOP/s of an n^3 float32 matmul with the current threads (best of ``trials``)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    best, _ = _bench.interleaved_best([lambda: a @ b], trials)
    return 2 * n ** 3 / best[0] / 1e9


def run(args: argparse.Namespace) -> int:
    import torch

    tmp = tempfile.TemporaryDirectory(prefix="step_breakdown_")
    data = Path(args.data) if args.data and Path(args.data).is_dir() else Path(tmp.name) / "data"
    if not data.is_dir():
        from dwpose.datasets.synthetic import generate_demo_dataset

        generate_demo_dataset(data)
    model, loader, optim, ema = build(args.config, data, Path(tmp.name) / "work")
    stream = batches(loader)

    flops = step_flops(model, copy.deepcopy(next(stream)))
    worst = 0.0  # largest relative difference between a cut-up step's loss and mmpose's head.loss

    parts: Dict[str, List[float]] = {p: [] for p in PARTS}
    whole: List[float] = []
    for i in range(args.warmup + args.iters):
        timed = i >= args.warmup
        # a cut-up step ...
        clock = Clock(parts, timed)

        batch = next(stream)
        clock("data wait")
        with torch.no_grad():  # the loss check: same batch through mmpose's head.loss, before training on it
            prep = model.data_preprocessor(copy.deepcopy(batch), True)
            ref = float(model.head.loss(model.extract_feat(prep["inputs"]), prep["data_samples"])["loss_kpt"])
        clock.restart()  # the check is not part of the step
        loss = cut_step(model, batch, optim, ema, clock)
        worst = max(worst, abs(loss - ref) / max(1e-12, abs(ref)))
        if worst > 1e-5:
            raise RuntimeError(f"cut-up loss {loss} differs from head.loss {ref}")
        # ... then a whole MMEngine step, in turns
        t0 = time.perf_counter()
        batch = next(stream)
        model.train_step(batch, optim)
        ema.update_parameters(model)
        if timed:
            whole.append(time.perf_counter() - t0)

    pipeline = loader.dataset
    idx = list(range(loader.batch_size))
    t0 = time.perf_counter()
    for j in idx:
        pipeline[j]
    pipeline_s = time.perf_counter() - t0
    peak = matmul_peak()

    print(_bench.machine(packages=("torch", "mmengine", "mmpose"))
          + f"; load average at the end {_bench.load_average()}")
    print(f"config: {os.path.relpath(args.config, _bench.REPO)}; batch {loader.batch_size}; "
          f"{args.iters} steps of each kind after {args.warmup} warm-up; kernels: "
          + " ".join(f"{k}={os.environ[k]}" for k in PINNED_KERNELS))
    print(f"loss check: every cut-up step's loss = mmpose's head.loss of the same batch "
          f"(largest relative difference {worst:.1e})\n")
    median = {p: statistics.median(v) for p, v in parts.items()}
    total = sum(median.values())
    print("| part of a training step | median ms | share |")
    print("| :-- | --: | --: |")
    for p in PARTS:
        print(f"| {p} | {1e3 * median[p]:.1f} | {100 * median[p] / total:.0f} % |")
    print(f"| **sum of the parts** | **{1e3 * total:.1f}** | 100 % |")
    print(f"| whole MMEngine step + EMA, timed in turns | {1e3 * statistics.median(whole):.1f} | "
          f"{100 * statistics.median(whole) / total:.0f} % |")
    fwd_bwd = median["backbone forward"] + median["head forward"] + median["KL loss"] + median["backward"]
    print()
    print(f"FLOPs of one forward + backward: {flops / 1e9:.2f} GFLOP")
    print(f"matmul peak, 2048^3 float32, {torch.get_num_threads()} threads: {peak:.0f} GFLOP/s "
          f"-> {1e3 * flops / peak / 1e9:.1f} ms for the step's FLOPs at that rate")
    print(f"achieved in forward + loss + backward: {flops / fwd_bwd / 1e9:.1f} GFLOP/s "
          f"({100 * flops / fwd_bwd / 1e9 / peak:.0f} % of the matmul peak)")
    print(f"data pipeline, one batch of {loader.batch_size} in this process: {1e3 * pipeline_s:.0f} ms "
          f"(in training: the DataLoader worker, on the same cores)")
    tmp.cleanup()
    return 0


def main(argv=None) -> int:
    return guarded(lambda: run(parse_args(argv)), prog="tools/analysis/step_breakdown.py")


if __name__ == "__main__":
    sys.exit(main())
