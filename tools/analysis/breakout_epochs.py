"""When did each run of a distillation study leave the average pose? One table, variant x seed.

A from-scratch SimCC model first learns the average pose (on the demo data: ground-truth loss about
0.45, Whole AP about 0) and only later starts to localise; when that happens varies with the seed and
decides most of a short run's final AP. This tool reads every training log of a study work dir
(``runs/<variant>/seed<S>/<stage>/train_output.log``, written by ``tools/analysis/distill_study.py``)
and prints, per run, the first epoch in which a logged ground-truth loss (``loss_kpt``) fell below
``--level`` (default 0.42, the demo's), next to the run's Whole AP from ``study.json``.

Usage::

    python tools/analysis/breakout_epochs.py work_dirs/study [--level 0.42]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path
from typing import Dict, Optional

from dwpose.errors import guarded

LINE = re.compile(r"Epoch\(train\)\s+\[(\d+)\]\[\s*\d+/\d+\].*?\bloss_kpt: ([0-9.]+)")


def breakout_epoch(log: Path, level: float) -> Optional[int]:
    """First epoch with a logged ``loss_kpt`` below ``level``; None if the run never got there."""
    per_epoch: Dict[int, float] = collections.defaultdict(lambda: float("inf"))
    for line in log.read_text(errors="replace").splitlines():
        m = LINE.search(line)
        if m:
            per_epoch[int(m.group(1))] = min(per_epoch[int(m.group(1))], float(m.group(2)))
    return next((e for e in sorted(per_epoch) if per_epoch[e] < level), None)


def _main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work_dir", type=Path, help="a distill_study work dir")
    p.add_argument("--level", type=float, default=0.42, help="ground-truth loss that counts as left")
    args = p.parse_args()
    study = json.loads((args.work_dir / "study.json").read_text())
    print(f"first epoch with loss_kpt < {args.level} (stage 1 / plain run; '-' never), and Whole AP")
    print("| variant | " + " | ".join(f"seed {r['seed']}" for r in study["variants"][0]["runs"]) + " |")
    print("|---" * (1 + len(study["variants"][0]["runs"])) + "|")
    for v in study["variants"]:
        cells = []
        for r in v["runs"]:
            log = first_log(args.work_dir, v["name"], r["seed"])
            epoch = breakout_epoch(log, args.level) if log else None
            cells.append(f"{epoch if epoch is not None else '-'} ({r['ap']['wholebody']:.3f})")
        print(f"| {v['name']} | " + " | ".join(cells) + " |")
    return 0


def first_log(work: Path, variant: str, seed: int) -> Optional[Path]:
    """The from-scratch training log of a run: the plain or stage-1 run's own, or for a two-stage
    variant that of the stage-1 run it continues."""
    source = {"dwpose": "s1_full", "mmpose_dwpose": "mmpose_s1"}.get(variant, variant)
    for stage in ("train", "s1"):
        log = work / "runs" / source / f"seed{seed}" / stage / "train_output.log"
        if log.is_file():
            return log
    return None


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/breakout_epochs.py")


if __name__ == "__main__":
    raise SystemExit(main())
