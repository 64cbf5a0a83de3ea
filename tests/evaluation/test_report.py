"""The README table: columns, number formatting, rows from metric keys, atomic saving."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dwpose.evaluation import report

HEADER = (
    "| Model | Body AP | Body AR | Foot AP | Foot AR | Face AP | Face AR | Hand AP | Hand AR "
    "| Whole AP | Whole AR |"
)


def _scores(base: float) -> dict:
    parts = report.REPORTED_PARTS
    return {p: {"AP": base + i / 100, "AR": base + i / 100 + 0.05} for i, p in enumerate(parts)}


def _metrics() -> dict:
    m = {"coco-wholebody/AP": 0.61, "coco-wholebody/AR": 0.7, "coco-wholebody/AP .5": 0.9}
    for part, s in _scores(0.5).items():
        m[f"coco-wholebody/{part}/AP"] = s["AP"]
        m[f"coco-wholebody/{part}/AR"] = s["AR"]
    for scene, base in (("Speech", 0.3), ("Fitness", 0.4)):
        for part, s in _scores(base).items():
            m[f"coco-wholebody/scene/{scene}/{part}/AP"] = s["AP"]
            m[f"coco-wholebody/scene/{scene}/{part}/AR"] = s["AR"]
    return m


def test_format_table_has_the_readme_columns_and_values():
    table = report.format_table({"DWPose-l": _scores(0.5)}).splitlines()
    assert table[0] == HEADER
    assert len(table) == 3
    cells = [c.strip() for c in table[2].strip("|").split("|")]
    # body 0.50/0.55, foot 0.51/0.56, face 0.52/0.57, hand (index 5) 0.55/0.60, wholebody 0.56/0.61
    assert cells == ["DWPose-l", "0.500", "0.550", "0.510", "0.560", "0.520", "0.570", "0.550", "0.600",
                     "0.560", "0.610"]  # fmt: skip


def test_format_table_marks_undefined_and_missing_numbers():
    row = report.format_table({"all": {"body": {"AP": -1.0, "AR": 0.25}}}).splitlines()[2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["n/a", "0.250"]
    assert cells[3:] == ["-"] * 8


def test_single_part_scores_are_one_row():
    assert report.format_table(_scores(0.5)) == report.format_table({"all": _scores(0.5)})


def test_metrics_to_rows_reads_overall_and_scene_keys():
    rows = report.metrics_to_rows(_metrics())
    assert list(rows) == ["all", "Fitness", "Speech"]
    assert rows["all"]["hand"] == pytest.approx(_scores(0.5)["hand"])
    assert rows["Speech"]["body"] == pytest.approx({"AP": 0.3, "AR": 0.35})


def test_metrics_of_plain_cocowholebody_metric_give_the_whole_column():
    rows = report.metrics_to_rows({"coco-wholebody/AP": 0.6, "coco-wholebody/AR": 0.7, "x/loss": 1.0})
    assert rows == {"all": {"wholebody": {"AP": 0.6, "AR": 0.7}}}
    assert report.metrics_to_rows({"coco/AP": 0.7}) == {}


def test_save_report_writes_md_and_json_atomically(tmp_path):
    work_dir = tmp_path / "work"
    table = report.save_report(_metrics(), str(work_dir), "dwpose-l")
    md = (work_dir / "dwpose-l_wholebody_table.md").read_text()
    data = json.loads((work_dir / "dwpose-l_wholebody_table.json").read_text())
    assert table in md
    assert list(data["rows"]) == ["dwpose-l", "Fitness", "Speech"]
    assert data["rows"]["Fitness"]["face"]["AR"] == pytest.approx(0.47)
    assert data["metrics"]["coco-wholebody/AP .5"] == 0.9
    assert "| dwpose-l | 0.500 |" in table
    assert sorted(os.listdir(work_dir)) == ["dwpose-l_wholebody_table.json", "dwpose-l_wholebody_table.md"]


def test_print_and_save_prints_every_row(tmp_path, capsys):
    report.print_and_save(_metrics(), str(tmp_path / "rtmpose-l_ubody"))
    out = capsys.readouterr().out
    assert "| rtmpose-l_ubody | 0.500 |" in out and "| Speech | 0.300 |" in out and "| Fitness |" in out
    assert (tmp_path / "rtmpose-l_ubody" / "rtmpose-l_ubody_wholebody_table.md").is_file()


def test_print_and_save_without_wholebody_metrics_writes_nothing(tmp_path, capsys):
    report.print_and_save({"PCK": 0.9}, str(tmp_path))
    assert "no COCO-WholeBody" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []


def test_report_and_package_import_no_heavy_module():
    code = (
        "import sys, dwpose.evaluation, dwpose.evaluation.report, dwpose.evaluation.cli\n"
        "heavy = [m for m in ('torch', 'mmengine', 'mmpose', 'mmcv', 'xtcocotools') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import dwpose.evaluation.wholebody\n"
        "heavy = [m for m in ('torch', 'mmengine', 'mmpose', 'mmcv') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
