"""`dwpose demo` end to end, quick: one epoch per stage on a tiny generated data set, then again.

The first run must produce a results table with a row per model (as README's demo table has);
the second must skip every finished step (nothing retrained, re-scored or re-exported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROWS = ("untrained student", "teacher", "student (no distillation)", "student after stage 1",
        "student after stage 2 (DWPose)")
TRAINED = ("pretrain/teacher", "pretrain/student", "teacher", "student", "s1", "s2")


def _demo(work: Path) -> str:
    cmd = [sys.executable, "-m", "dwpose.cli", "demo", "--work-dir", str(work), "--epochs", "1",
           "--num-train", "16", "--num-val", "8", "--quiet"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_demo_runs_every_step_then_skips_them(tmp_path):
    work = tmp_path / "demo"
    first = _demo(work)
    table = (work / "results.md").read_text()
    scores, against = table.split("\n\n", 1)
    body = [line for line in scores.splitlines() if line.startswith("| ") and ":--" not in line][1:]
    assert [line.split("|")[1].strip() for line in body] == list(ROWS)
    whole = {}
    for line in body:  # 10 numbers per row (AP/AR of body, foot, face, hand, whole), all in [0, 1]
        values = [float(v) for v in line.split("|")[2:-1]]
        assert len(values) == 10 and all(0.0 <= v <= 1.0 for v in values)
        whole[line.split("|")[1].strip()] = values[8]
    # the distilled rows against the study: this run's gain over its plain student, then the study's
    gains = json.loads((REPO / "configs/demo/study/paired_gains.json").read_text())["gains"]
    rows = [line.split("|")[1:-1] for line in against.splitlines() if line.startswith("| student")]
    for (label, ours, study, _), variant in zip(rows, ("s1_full", "dwpose")):
        plain = whole["student (no distillation)"]
        assert float(ours) == pytest.approx(whole[label.strip()] - plain, abs=1.5e-3)
        assert study.strip().startswith(f"{gains[variant]['mean']:+.3f}")
    assert "demo finished" in first
    timings = first.split("time per step")[1].splitlines()[1:6]  # one line per step, in order
    assert [line.split(" s  ")[1] for line in timings][1:4] == [
        "body pre-training and teacher, the student lane beside them",
        "stage 1 (the teacher's evaluation beside it)", "stage 2"]
    assert (work / "predict").is_dir() and any((work / "predict").iterdir())

    products = [work / name / "final.pth" for name in TRAINED]
    products += [work / "s1_student.pth", work / "dwpose_student.pth", work / "untrained.pth"]
    products += sorted((work / "eval").glob("*/*_wholebody_table.json"))
    assert len(products) == 9 + len(ROWS)
    # every whole-body student and the teacher start from their body-pretrained backbones
    for run, body in (("teacher", "teacher"), ("student", "student"), ("s1", "student")):
        log = (work / run / "train_output.log").read_text()
        assert f"load backbone. in model from: {work / 'pretrain' / body / 'final.pth'}" in log
    stamps = {p: p.stat().st_mtime_ns for p in products}

    second = _demo(work)
    for name in TRAINED:
        assert f"[skip] {Path(name).name}: already trained ({work / name / 'final.pth'})" in second
    assert {p: p.stat().st_mtime_ns for p in products} == stamps  # nothing redone
    assert (work / "results.md").read_text() == table
