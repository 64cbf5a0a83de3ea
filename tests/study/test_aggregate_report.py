"""Mean / std over seeds on hand-made numbers, reading tools/test.py's tables, and the study.md table."""

from __future__ import annotations

import math

import pytest

from dwpose.evaluation.report import save_report
from dwpose.study.aggregate import PARTS, breakout_epoch, mean_std, paired_difference, read_ap, summarize
from dwpose.study.report import format_markdown, format_table, seed_ranges


def test_mean_and_sample_std_over_seeds():
    mean, std = mean_std([0.2, 0.4, 0.9])
    assert mean == pytest.approx(0.5)
    assert std == pytest.approx(math.sqrt((0.3**2 + 0.1**2 + 0.4**2) / 2))  # n - 1, not n
    assert mean_std([0.25]) == (0.25, None)  # one seed: no spread, not a spread of 0
    assert mean_std([0.1, None]) == (None, None)  # an undefined AP poisons the mean
    assert mean_std([]) == (None, None)


def test_summarize_keeps_parts_apart():
    per_seed = {
        2: {"body": 0.8, "foot": 0.5, "face": 0.3, "hand": 0.10, "wholebody": 0.20},
        0: {"body": 0.6, "foot": 0.7, "face": 0.3, "hand": 0.05, "wholebody": 0.30},
    }
    s = summarize(per_seed)
    assert s["n"] == 2 and s["seeds"] == [0, 2]
    assert s["mean"] == pytest.approx({"body": 0.7, "foot": 0.6, "face": 0.3, "hand": 0.075,
                                       "wholebody": 0.25})
    assert s["std"]["body"] == pytest.approx(math.sqrt(0.02))
    assert s["std"]["face"] == pytest.approx(0.0)
    assert s["std"]["hand"] == pytest.approx(0.05 / math.sqrt(2))


def test_read_ap_reads_the_table_tools_test_writes(tmp_path):
    metrics = {f"coco-wholebody/{p}/AP": v for p, v in
               zip(("body", "foot", "face", "lefthand", "righthand", "hand", "wholebody"),
                   (0.71, 0.62, 0.53, 0.1, 0.2, 0.44, -1.0))}
    metrics.update({k.replace("/AP", "/AR"): 0.9 for k in list(metrics)})
    save_report(metrics, str(tmp_path), "plain_seed3")
    got = read_ap(tmp_path / "plain_seed3_wholebody_table.json", "plain_seed3")
    assert got == {"body": 0.71, "foot": 0.62, "face": 0.53, "hand": 0.44, "wholebody": None}
    with pytest.raises(ValueError, match="no row 'other'"):
        read_ap(tmp_path / "plain_seed3_wholebody_table.json", "other")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_ap(tmp_path / "missing.json", "x")


def _study(variants):
    return {
        "study": "unit", "command": "python tools/analysis/distill_study.py x", "finished": "now",
        "machine": {"system": "Linux", "cpu": "cpu", "cpu_count": 2, "python": "3.11", "torch": "t",
                    "mmengine": "e", "mmpose": "p", "gpu": None},
        "settings": {"seeds": [0, 1], "epochs": {"teacher": 4, "s1": 3, "s2": 2}, "teacher_seed": 21,
                     "data": "d", "common_options": ["data_root=/d/"]},
        "teacher": {"seed": 21, "ap": dict(zip(PARTS, (0.9, 0.8, 0.7, 0.6, 0.5))), "result": "r",
                    "steps": []},
        "variants": variants,
    }


def test_table_rows_put_each_part_in_its_column():
    runs = [{"seed": 0, "ap": dict(zip(PARTS, (0.1, 0.2, 0.3, 0.4, 0.5))), "result": "a", "steps": ["x"],
             "breakout_epoch": 3},
            {"seed": 1, "ap": dict(zip(PARTS, (0.3, 0.2, 0.5, 0.4, 0.7))), "result": "b", "steps": ["y"],
             "breakout_epoch": None}]
    v = {"name": "plain", "label": "plain student", "what": "w", "runs": runs,
         **summarize({r["seed"]: r["ap"] for r in runs})}
    one = {"name": "s1_full", "label": "stage 1", "what": "w", "runs": runs[:1],
           **summarize({0: runs[0]["ap"]})}
    table = format_table(_study([v, one])).splitlines()
    assert table[0] == "| Variant | Seeds | Body AP | Foot AP | Face AP | Hand AP | Whole AP |"
    assert table[2] == "| teacher (one run, seed 21, shared) | 1 | 0.900 | 0.800 | 0.700 | 0.600 | 0.500 |"
    assert table[3] == ("| plain student | 2 | 0.200 ± 0.141 | 0.200 ± 0.000 | 0.400 ± 0.141 | "
                        "0.400 ± 0.000 | 0.600 ± 0.141 |")
    assert table[4] == "| stage 1 | 1 | 0.100 | 0.200 | 0.300 | 0.400 | 0.500 |"
    md = format_markdown(_study([v, one]))
    assert "| plain student | 0.500 (3) | 0.700 (-) |" in md  # Whole AP per seed (break-out epoch)
    assert "| stage 1 | 0.500 (3) | - |" in md  # a seed without a run shows '-', not a number


def test_paired_difference_and_its_t_interval_by_hand():
    a = {0: dict.fromkeys(PARTS, 0.30), 1: dict.fromkeys(PARTS, 0.34), 2: dict.fromkeys(PARTS, 0.29),
         7: dict.fromkeys(PARTS, 0.9)}  # seed 7 has no partner: left out
    b = {0: dict.fromkeys(PARTS, 0.28), 1: dict.fromkeys(PARTS, 0.30), 2: dict.fromkeys(PARTS, 0.30)}
    d = paired_difference(a, b)
    diffs = [0.02, 0.04, -0.01]
    mean = sum(diffs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 degrees of freedom), from a table
    assert d["seeds"] == [0, 1, 2] and d["n"] == 3
    assert d["mean"]["wholebody"] == pytest.approx(mean)
    assert d["half_width"]["body"] == pytest.approx(half)
    assert d["ci"]["face"] == pytest.approx([mean - half, mean + half])
    one = paired_difference({0: a[0]}, {0: b[0]})
    assert one["mean"]["hand"] == pytest.approx(0.02) and one["ci"]["hand"] is None  # no interval from 1 seed


def test_breakout_epoch_reads_the_first_epoch_below_the_level(tmp_path):
    log = tmp_path / "train_output.log"
    line = ("12/07 - mmengine - INFO - Epoch(train)  [{e}][{i:>2}/20]  lr: 1e-3  loss: {v}  loss_kpt: {v}  "
            "acc_pose: 0.1")
    rows = [(1, 10, 0.55), (1, 20, 0.50), (2, 10, 0.44), (2, 20, 0.43), (3, 5, 0.45), (3, 10, 0.419)]
    log.write_text("\n".join(line.format(e=e, i=i, v=v) for e, i, v in rows) + "\n")
    assert breakout_epoch(log) == 3
    assert breakout_epoch(log, level=0.3) is None
    assert breakout_epoch(log, level=0.5) == 2  # 0.50 is not below 0.5; epoch 2's 0.44 is


def test_breakout_of_a_resumed_run_reads_every_start(tmp_path):
    """A resumed run: the first start's MMEngine log holds epochs 1-5 (break-out at 3), the second
    start's epochs 6-25, and train_output.log only the second start's lines."""
    from dwpose.study.aggregate import run_logs

    line = "12/07 - mmengine - INFO - Epoch(train)  [{e}][20/20]  lr: 1e-3  loss: {v}  loss_kpt: {v}"
    first = tmp_path / "20261207_132730" / "20261207_132730.log"
    second = tmp_path / "20261207_140914" / "20261207_140914.log"
    for log, epochs in ((first, range(1, 6)), (second, range(6, 26))):
        log.parent.mkdir()
        log.write_text("\n".join(line.format(e=e, v=0.5 if e < 3 else 0.3) for e in epochs) + "\n")
    (tmp_path / "20261207_140914" / "vis_data").mkdir()  # other files of a run folder are not logs
    (tmp_path / "train_output.log").write_text(second.read_text())
    assert run_logs(tmp_path) == [first, second]
    assert breakout_epoch(run_logs(tmp_path)) == 3
    assert breakout_epoch(tmp_path / "train_output.log") == 6  # what the resumed tool log alone says


def test_seed_ranges_shorten_runs_of_consecutive_seeds():
    assert seed_ranges([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"
    assert seed_ranges([3]) == "3"
    assert seed_ranges(range(200, 215)) == "200-214"
    assert seed_ranges([1, 3]) == "1, 3"
