"""The study command end to end, quick: 1 seed, 1 epoch, 2 variants on a tiny generated data set.

Checks study.md against study.json and study.json against the per-run AP tables tools/test.py wrote,
that every run keeps its config, seed and log, and that a second invocation trains nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dwpose.study.aggregate import PARTS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo"
TOOL = REPO / "tools" / "analysis" / "distill_study.py"
LOADER_OPTS = [f"{split}_dataloader.{key}" for split in ("train", "val", "test")
               for key in ("num_workers=0", "persistent_workers=False")]


def _study(set_file: Path, work: Path, *extra: str, seeds: str = "0") -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(TOOL), str(set_file), "--work-dir", str(work), "--seed-list", seeds,
           "--epochs", "1", "--variants", "plain", "s1_full", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=900)


def _md_rows(md: str) -> dict:
    """First-table rows of study.md: label -> [cells after the label]."""
    table = md.split("\n\n| Variant | Seeds |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def _fmt(mean, std):
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


@pytest.mark.slow
def test_quick_study_tables_agree_and_rerun_skips(tmp_path):
    set_file = tmp_path / "tiny.yaml"
    set_file.write_text(json.dumps({
        "name": "tiny", "teacher": str(DEMO / "rtmpose-teacher_demo.py"),
        "student": str(DEMO / "rtmpose-student_demo.py"), "s1": str(DEMO / "dwpose_s1_demo.py"),
        "s2": str(DEMO / "dwpose_s2_demo.py"), "demo_data": {"num_train": 16, "num_val": 8, "seed": 0},
        "student_pretrain": str(DEMO / "rtmpose-student_body-pretrain_demo.py"),
        "teacher_pretrain": str(DEMO / "rtmpose-teacher_body-pretrain_demo.py"),
        "cfg_options": LOADER_OPTS, "teacher_seed": 21}))  # JSON is YAML
    work = tmp_path / "study"
    first = _study(set_file, work)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "3 runs trained, 0 skipped" in first.stdout

    study = json.loads((work / "study.json").read_text())
    assert study["settings"]["seeds"] == [0]
    assert study["settings"]["epochs"] == {"teacher": 1, "s1": 1, "s2": 1, "pretrain": 1}
    # the body pre-training ran once per backbone, and every whole-body run loaded it
    for who, logs in (("student", ["runs/plain/seed0/train", "runs/s1_full/seed0/s1"]),
                      ("teacher", ["teacher/train"])):
        body = work / "pretrain" / who / "final.pth"
        assert body.is_file()
        for log in logs:
            text = (work / log / "train_output.log").read_text()
            assert f"load backbone. in model from: {body}" in text
    assert [v["name"] for v in study["variants"]] == ["plain", "s1_full"]
    # study.json against the per-run AP tables written by tools/test.py
    for v in study["variants"]:
        (run,) = v["runs"]
        table = json.loads((work / run["result"]).read_text())["rows"][f"{v['name']}_seed0"]
        assert run["ap"] == {p: table[p]["AP"] for p in PARTS}
        assert v["n"] == 1 and v["mean"] == run["ap"] and v["std"] == dict.fromkeys(PARTS)
        assert "breakout_epoch" in run  # an int, or None for a run that never left the average pose
    (paired,) = [d for d in study["paired"] if (d["variant"], d["baseline"]) == ("s1_full", "plain")]
    ap = {v["name"]: v["runs"][0]["ap"] for v in study["variants"]}
    assert paired["mean"]["wholebody"] == pytest.approx(ap["s1_full"]["wholebody"] - ap["plain"]["wholebody"])
    assert paired["n"] == 1 and paired["ci"]["wholebody"] is None
    assert f"| `s1_full` - `plain` | 1 | {paired['mean']['body']:+.3f} |" in (work / "study.md").read_text()
    teacher_table = json.loads((work / study["teacher"]["result"]).read_text())["rows"]["teacher"]
    assert study["teacher"]["ap"] == {p: teacher_table[p]["AP"] for p in PARTS}
    # study.md against study.json
    rows = _md_rows((work / "study.md").read_text())
    for v in study["variants"]:
        assert rows[v["label"]] == ["1"] + [_fmt(v["mean"][p], v["std"][p]) for p in PARTS]
    assert (work / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # every run keeps its seed, cfg-options, config dump and logs
    for name, train_dir in (("plain", "train"), ("s1_full", "s1")):
        run_dir = work / "runs" / name / "seed0"
        record = json.loads((run_dir / "run.json").read_text())
        assert record["seed"] == 0 and record["status"] == "finished"
        assert any("randomness.seed=0 train_cfg.max_epochs=1" in step for step in record["steps"])
        assert (run_dir / train_dir / "train_output.log").is_file()
        assert list((run_dir / train_dir).glob("*.py")), "MMEngine's config dump is missing"
        assert list((run_dir / train_dir).rglob("*.log"))
    s1_log = (work / "runs/s1_full/seed0/s1/train_output.log").read_text()
    assert "TwoStageDistiller: stage 1" in s1_log

    # results written by hand into a per-run table reach the report without retraining
    plain_result = work / study["variants"][0]["runs"][0]["result"]
    fake = json.loads(plain_result.read_text())
    for part, value in zip(("body", "foot", "face", "hand", "wholebody"), (0.61, 0.52, 0.43, 0.34, 0.25)):
        fake["rows"]["plain_seed0"][part]["AP"] = value
    plain_result.write_text(json.dumps(fake))
    outputs = sorted(work.rglob("*_wholebody_table.json")) + sorted(work.rglob("final.pth"))
    mtimes = {p: p.stat().st_mtime_ns for p in outputs}

    second = _study(set_file, work)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "0 runs trained, 3 skipped" in second.stdout
    assert len(re.findall(r": skipped, finished earlier", second.stdout)) == 3
    assert {p: p.stat().st_mtime_ns for p in outputs} == mtimes
    rows = _md_rows((work / "study.md").read_text())
    assert rows["plain student (no distillation)"] == ["1", "0.610", "0.520", "0.430", "0.340", "0.250"]

    # a report of a study under way: what finished, and what is missing, without training
    partial = _study(set_file, work, "--report-only", seeds="0,1")
    assert partial.returncode == 0, partial.stdout[-3000:] + partial.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in outputs} == mtimes
    assert not (work / "runs" / "plain" / "seed1").exists()
    report = json.loads((work / "study.json").read_text())
    assert report["missing"] == [{"variant": "plain", "seed": 1}, {"variant": "s1_full", "seed": 1}]
    assert "**Incomplete study**: 2 planned runs" in (work / "study.md").read_text()

    # a work dir never mixes settings
    third = _study(set_file, work, "--epochs", "2")
    assert third.returncode == 2 and "holds a study with other settings (epochs differ" in third.stderr
