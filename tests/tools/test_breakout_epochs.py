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


def test_two_stage_variants_read_their_stage_one_run(tmp_path):
    for variant, stage in (("s1_full", "s1"), ("plain", "train")):
        d = tmp_path / "runs" / variant / "seed1" / stage
        d.mkdir(parents=True)
        (d / "train_output.log").write_text("")
    tool = _tool()
    assert tool.first_run(tmp_path, "dwpose", 1) == tmp_path / "runs/s1_full/seed1/s1"
    assert tool.first_run(tmp_path, "plain", 1) == tmp_path / "runs/plain/seed1/train"
    assert tool.first_run(tmp_path, "plain", 2) is None


def test_a_resumed_run_is_read_from_every_start_log(tmp_path, capsys):
    # the first start broke out in epoch 2; the resumed start (epochs 3-4) overwrote
    # train_output.log, which alone would say epoch 3
    run = tmp_path / "runs" / "plain" / "seed7" / "train"
    for stamp, rows in (("20261201_100000", [(1, 5, 0.5, 0.5), (2, 5, 0.41, 0.41)]),
                        ("20261201_110000", [(3, 5, 0.3, 0.3), (4, 5, 0.2, 0.2)])):
        (run / stamp).mkdir(parents=True)
        (run / stamp / f"{stamp}.log").write_text(
            "\n".join(LINE.format(e=e, i=i, l=t, k=k) for e, i, t, k in rows) + "\n")
    (run / "train_output.log").write_text(LINE.format(e=3, i=5, l=0.3, k=0.3) + "\n")
    (tmp_path / "study.json").write_text(
        '{"variants": [{"name": "plain", "runs": [{"seed": 7, "ap": {"wholebody": 0.25}}]}]}')
    tool = _tool()
    import sys
    argv, sys.argv = sys.argv, ["breakout_epochs.py", str(tmp_path)]
    try:
        assert tool.main() == 0
    finally:
        sys.argv = argv
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| plain")]
    assert row == ["| plain | 2 (0.250) |"]
