"""Kernel-robustness comparison of two studies, and the kernel setting a study work dir remembers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from dwpose.study import cli as study_cli
from dwpose.study.compare import compare, format_comparison

REPO = Path(__file__).resolve().parents[2]


def _study(values: dict) -> dict:
    """A study.json-shaped dict: {variant: {seed: whole AP}}."""
    return {"variants": [{"name": name, "runs": [{"seed": s, "ap": {"wholebody": ap}}
                                                 for s, ap in runs.items()]}
                         for name, runs in values.items()]}


PINNED = _study({"plain": {200: 0.30, 201: 0.23, 202: 0.24, 203: 0.9},
                 "s1_full": {200: 0.32, 201: 0.33, 202: 0.29}})
NATIVE = _study({"plain": {200: 0.28, 201: 0.25, 202: 0.22},
                 "s1_full": {200: 0.27, 201: 0.20, 202: 0.21, 204: 0.5}})


def test_each_setting_gets_scipys_paired_t_interval_on_the_common_seeds():
    c = compare(PINNED, NATIVE, "pinned", "native")
    assert c["seeds"] == [200, 201, 202]  # 203 has no s1_full run, 204 no plain run
    for setting, study in zip(c["settings"], (PINNED, NATIVE)):
        by = {v["name"]: {r["seed"]: r["ap"]["wholebody"] for r in v["runs"]} for v in study["variants"]}
        a = [by["s1_full"][s] for s in c["seeds"]]
        b = [by["plain"][s] for s in c["seeds"]]
        ref = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert setting["ci"] == pytest.approx([ref.low, ref.high], abs=1e-12)
        assert setting["mean"] == pytest.approx(sum(a) / 3 - sum(b) / 3)
    # pinned: +0.057 with an interval including 0; native: -0.023, also including 0
    assert c["settings"][0]["verdict"] == "gain, interval includes 0"
    assert c["settings"][1]["verdict"] == "loss, interval includes 0"
    assert c["same_conclusion"] is False
    assert c["movement"]["plain"][200] == pytest.approx(0.28 - 0.30)
    text = format_comparison(c)
    assert "the conclusion differs between the settings" in text
    assert "| `s1_full` | -0.050 | -0.130 | -0.080 | 0.087 |" in text


def test_same_verdict_when_only_the_size_moves():
    shifted = _study({"plain": {1: 0.2, 2: 0.21, 3: 0.22}, "s1_full": {1: 0.3, 2: 0.32, 3: 0.31}})
    moved = _study({"plain": {1: 0.21, 2: 0.2, 3: 0.22}, "s1_full": {1: 0.33, 2: 0.3, 3: 0.32}})
    c = compare(shifted, moved, "a", "b")
    assert [s["verdict"] for s in c["settings"]] == ["gain, interval excludes 0"] * 2
    assert c["same_conclusion"] is True


def test_kernel_setting_is_recorded_only_when_not_pinned(monkeypatch, tmp_path):
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert study_cli.kernel_setting() == {}
    base = {"epochs": {"s1": 1}, **study_cli.kernel_setting()}
    study_cli.check_settings(tmp_path, base)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx512")
    native = {"epochs": {"s1": 1}, **study_cli.kernel_setting()}
    assert native["kernels"]["ATEN_CPU_CAPABILITY"] == "avx512"
    assert native["kernels"]["OMP_NUM_THREADS"] == "2"
    with pytest.raises(ValueError, match="kernels differ"):  # a pinned work dir refuses native runs
        study_cli.check_settings(tmp_path, native)


def test_cli_writes_the_table_and_refuses_a_missing_study(tmp_path):
    for name, study in (("a", PINNED), ("b", NATIVE)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.json").write_text(json.dumps(study))
    tool = [sys.executable, str(REPO / "tools/analysis/kernel_robustness.py")]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = tmp_path / "kernels.md"
    done = subprocess.run([*tool, str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == done.stdout and "| pinned kernels | +0.057 |" in done.stdout
    bad = subprocess.run([*tool, str(tmp_path / "a"), str(tmp_path / "nothing")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "error:" in bad.stderr
