"""Check a plain-student schedule on tuning seeds: does every run converge?

Trains the config set's plain student (from its body-pretrained backbone, as the study does) on each
tuning seed with validation after every epoch, and applies the study's convergence rule:

1. every run leaves the average pose (first epoch with ``loss_kpt`` < 0.42) in the first quarter
   of its epochs;
2. over the last 20 % of the epochs, each run's validation Whole AP moves (max - min) by less than
   the seed spread (sample std of the final Whole AP over the tuning seeds).

Usage::

    python tools/analysis/tune_schedule.py --work-dir work_dirs/study_pt --seeds 100,101,102 --epochs 25 \
        [--lr 2e-3]

Runs go to ``WORK/tuning/plain_e<E>/seed<S>`` (``plain_e<E>_lr<LR>`` with ``--lr``; resumable: a
finished run is skipped); the verdict and every epoch's AP are written to ``tuning.json`` there and
printed. ``--lr`` replaces the student config's AdamW rate (the schedule's floor follows it).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from pathlib import Path
from typing import Dict, List

from dwpose.errors import UserError, guarded

VAL_LINE = re.compile(r"Epoch\(val\)\s+\[(\d+)\]\[\s*\d+/\d+\].*?coco-wholebody/AP: ([0-9.\-]+)")


def val_curve(logs: List[Path]) -> Dict[int, float]:
    """``{epoch: validation Whole AP}`` from a run's training logs with per-epoch validation (every
    start of a resumed run, oldest first)."""
    return {int(m.group(1)): float(m.group(2))
            for log in logs for m in VAL_LINE.finditer(log.read_text(errors="replace"))}


def verdict(curves: Dict[int, Dict[int, float]], breakouts: Dict[int, object], epochs: int) -> dict:
    """The rule of the module docstring over ``{seed: {epoch: AP}}`` and ``{seed: break-out epoch}``."""
    finals = [curve[epochs] for curve in curves.values()]
    spread = statistics.stdev(finals) if len(finals) > 1 else math.nan
    tail_from = epochs - max(1, round(0.2 * epochs)) + 1
    tail = range(tail_from, epochs + 1)
    moves = {s: max(c[e] for e in tail) - min(c[e] for e in tail) for s, c in curves.items()}
    quarter = epochs / 4
    early = {s: (b is not None and b <= quarter) for s, b in breakouts.items()}
    return {"epochs": epochs, "final_whole_ap": dict(zip(curves, finals)), "seed_std": spread,
            "tail_epochs": [tail_from, epochs], "tail_moves": moves, "breakout_epochs": breakouts,
            "breakout_limit": quarter, "breakout_ok": all(early.values()),
            "tail_ok": all(m < spread for m in moves.values()),
            "converged": all(early.values()) and all(m < spread for m in moves.values())}


def run(args: argparse.Namespace) -> int:
    from dwpose.fileio import atomic_write_text
    from dwpose.study.aggregate import breakout_epoch, run_logs
    from dwpose.study.config_set import load_config_set
    from dwpose.study.plan import pretrain_step
    from dwpose.workflow import RunOptions, Training, pretrained_options, train

    cs = load_config_set(args.config_set)
    work = Path(args.work_dir).resolve()
    seeds: List[int] = [int(s) for s in args.seeds.split(",")]
    if not cs.has_pretrain:
        raise UserError(f"config set {cs.name!r} has no body pre-training configs")
    pre = pretrain_step(cs, "student", work)
    data = work / "data"
    opts = RunOptions(data=data, quiet=True, cwd=Path(__file__).resolve().parents[2])
    if not pre.output.is_file():
        train(Training(pre.config, pre.work_dir, pre.options), opts)
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise UserError(f"--lr must be a positive number, got {args.lr}")
    out = work / "tuning" / (f"plain_e{args.epochs}" + (f"_lr{args.lr:g}" if args.lr else ""))
    curves, breakouts = {}, {}
    for seed in seeds:
        run_dir = out / f"seed{seed}"
        extra = (f"randomness.seed={seed}", f"train_cfg.max_epochs={args.epochs}",
                 *pretrained_options(pre.output), "train_cfg.val_interval=1",
                 *((f"optim_wrapper.optimizer.lr={args.lr!r}",) if args.lr else ()))
        train(Training(cs.student, run_dir, extra), opts)
        logs = run_logs(run_dir)
        curves[seed], breakouts[seed] = val_curve(logs), breakout_epoch(logs)
        final = curves[seed][args.epochs]
        print(f"seed {seed}: break-out epoch {breakouts[seed]}, final Whole AP {final:.3f}", flush=True)
    result = verdict(curves, breakouts, args.epochs)
    result["lr"] = args.lr
    result["curves"] = curves
    atomic_write_text(out / "tuning.json", json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "curves"}, indent=2))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config-set", default="demo")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--seeds", default="100,101,102")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--lr", type=float, default=None, help="AdamW rate (default: the config's)")
    args = p.parse_args()
    return guarded(lambda: run(args), prog="tune_schedule.py")


if __name__ == "__main__":
    sys.exit(main())
