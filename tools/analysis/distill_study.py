"""Distillation study: every variant (plain student, stage-1 ablations, the two-stage recipe, mmpose's
DWPoseDistiller) x every seed on one config set, with mean and standard deviation over seeds.

    python tools/analysis/distill_study.py demo --work-dir work_dirs/study [--seeds N | --seed-list 0,1,2]
        [--epochs N | --epochs teacher=40,s1=25,s2=15] [--variants plain s1_full ...] [--dry-run]

Writes DIR/study.md, DIR/study.json and DIR/study.png; every run keeps its config, seed and logs under
DIR/runs/<variant>/seed<S>/. Logic: dwpose/study/.
"""

import sys

import _bench  # noqa: F401  (puts this checkout first on sys.path)

from dwpose.study.cli import main

if __name__ == "__main__":
    sys.exit(main())
