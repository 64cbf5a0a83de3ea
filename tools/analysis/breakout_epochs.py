"""When did each run of a distillation study leave the average pose? One table, variant x seed.

A from-scratch SimCC model first learns the average pose (on the demo data: ground-truth loss about
0.45, Whole AP about 0) and only later starts to localise; when that happens varies with the seed and
decides most of a short run's final AP. This tool reads every training log of a study work dir
(every start's log under ``runs/<variant>/seed<S>/<stage>/``, written by
``tools/analysis/distill_study.py``)
and prints, per run, the first epoch in which a logged ground-truth loss (``loss_kpt``) fell below
``--level`` (default 0.42, the demo's), next to the run's Whole AP from ``study.json``.

Usage::

    python tools/analysis/breakout_epochs.py work_dirs/study [--level 0.42]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

from dwpose.errors import guarded
from dwpose.study.aggregate import BREAKOUT_LEVEL, breakout_epoch, run_logs


def _main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work_dir", type=Path, help="a distill_study work dir")
    p.add_argument("--level", type=float, default=BREAKOUT_LEVEL,
                   help="ground-truth loss that counts as left")
    args = p.parse_args()
    study = json.loads((args.work_dir / "study.json").read_text())
    print(f"first epoch with loss_kpt < {args.level} (stage 1 / plain run; '-' never), and Whole AP")
    print("| variant | " + " | ".join(f"seed {r['seed']}" for r in study["variants"][0]["runs"]) + " |")
    print("|---" * (1 + len(study["variants"][0]["runs"])) + "|")
    for v in study["variants"]:
        cells = []
        for r in v["runs"]:
            run = first_run(args.work_dir, v["name"], r["seed"])
            logs = run_logs(run) if run else []
            epoch = breakout_epoch(logs, args.level) if logs else None
            cells.append(f"{epoch if epoch is not None else '-'} ({r['ap']['wholebody']:.3f})")
        print(f"| {v['name']} | " + " | ".join(cells) + " |")
    return 0


def first_run(work: Path, variant: str, seed: int) -> Optional[Path]:
    """The training folder whose logs decide the break-out: the plain or stage-1 run's own, or for
    a two-stage variant that of the stage-1 run it continues. Every start's log of an interrupted
    and resumed run is read (:func:`dwpose.study.aggregate.run_logs`)."""
    source = {"dwpose": "s1_full", "mmpose_dwpose": "mmpose_s1"}.get(variant, variant)
    for stage in ("train", "s1"):
        run = work / "runs" / source / f"seed{seed}" / stage
        if run_logs(run):
            return run
    return None


def main(*args, **kwargs) -> int:
    """:func:`_main` through :func:`dwpose.errors.guarded` (a user mistake: one ``error:`` line, status 2)."""
    return guarded(lambda: _main(*args, **kwargs), prog="tools/analysis/breakout_epochs.py")


if __name__ == "__main__":
    raise SystemExit(main())
