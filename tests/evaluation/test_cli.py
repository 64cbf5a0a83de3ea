"""``dwpose eval``: the same numbers as the scoring core; user mistakes are one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dwpose.evaluation.wholebody import evaluate_wholebody, load_gt
from tests.evaluation.helpers import perturbed_results

pytestmark = pytest.mark.slow  # subprocesses


def dwpose_eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dwpose.cli", "eval", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def results_file(tmp_path, mini_gt):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(perturbed_results(mini_gt)))
    return path


def test_json_output_equals_the_scoring_core(mini_gt, mini_gt_path, results_file):
    proc = dwpose_eval(mini_gt_path, results_file, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # nothing but JSON on stdout
    expected = evaluate_wholebody(load_gt(mini_gt), perturbed_results(mini_gt))
    assert set(out) == {"body", "foot", "face", "lefthand", "righthand", "hand", "wholebody"}
    for part, stats in out.items():
        assert stats == pytest.approx({"AP": expected[part]["AP"], "AR": expected[part]["AR"]}, abs=1e-12)


def test_table_output(mini_gt_path, results_file):
    proc = dwpose_eval(mini_gt_path, results_file)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("| Results | Body AP | Body AR |") and lines[0].endswith(
        "| Whole AP | Whole AR |"
    )
    assert lines[2].startswith("| all | ")


def _one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dwpose: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_missing_gt_file(tmp_path, results_file):
    _one_error_line(
        dwpose_eval(tmp_path / "missing_gt.json", results_file), "missing_gt.json", "does not exist"
    )


def test_empty_results(tmp_path, mini_gt_path):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    _one_error_line(dwpose_eval(mini_gt_path, empty), "no detections")


def test_unknown_image_id(tmp_path, mini_gt, mini_gt_path):
    results = perturbed_results(mini_gt)
    results[-1]["image_id"] = 42
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(results))
    _one_error_line(dwpose_eval(mini_gt_path, path), "image_id 42")


def test_body_only_gt(tmp_path, mini_gt, results_file):
    body_only = {k: v for k, v in mini_gt.items()}
    body_only["annotations"] = [
        {k: v for k, v in a.items() if not k.endswith("_kpts")} for a in mini_gt["annotations"]
    ]
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(body_only))
    _one_error_line(dwpose_eval(path, results_file), "COCO-WholeBody")
