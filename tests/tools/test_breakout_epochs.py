"""tools/analysis/breakout_epochs.py reads MMEngine training logs as they are written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINE = ("12/02 17:23:00 - mmengine - INFO - Epoch(train) [{e}][{i:>2}/20]  base_lr: 9.97e-04 lr: 9.97e-04  "
        "eta: 0:04:42  time: 1.027330  data_time: 0.137847  grad_norm: 0.528707  loss: {l:.6f}  "
        "loss_kpt: {k:.6f}  acc_pose: 0.105201")


def _tool():
    spec = importlib.util.spec_from_file_location("breakout", REPO / "tools/analysis/breakout_epochs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_first_epoch_whose_gt_loss_dips_below_the_level(tmp_path):
    # the total loss (with distillation terms) dips early; only loss_kpt counts
    rows = [(1, 5, 0.30, 0.55), (1, 10, 0.31, 0.50), (2, 5, 0.40, 0.45), (3, 5, 0.40, 0.43),
            (3, 10, 0.40, 0.419), (4, 5, 0.40, 0.41)]
    log = tmp_path / "train_output.log"
    log.write_text("\n".join(LINE.format(e=e, i=i, l=total, k=kpt) for e, i, total, kpt in rows) + "\n")
    tool = _tool()
    assert tool.breakout_epoch(log, 0.42) == 3
    assert tool.breakout_epoch(log, 0.40) is None
    assert tool.breakout_epoch(log, 0.60) == 1


def test_two_stage_variants_read_their_stage_one_log(tmp_path):
    for variant, stage in (("s1_full", "s1"), ("plain", "train")):
        d = tmp_path / "runs" / variant / "seed1" / stage
        d.mkdir(parents=True)
        (d / "train_output.log").write_text("")
    tool = _tool()
    assert tool.first_log(tmp_path, "dwpose", 1) == tmp_path / "runs/s1_full/seed1/s1/train_output.log"
    assert tool.first_log(tmp_path, "plain", 1) == tmp_path / "runs/plain/seed1/train/train_output.log"
    assert tool.first_log(tmp_path, "plain", 2) is None
