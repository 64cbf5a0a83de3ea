"""The error policy (dwpose/errors.py): a user mistake is one ``PROG: error:`` line and exit status 2;
anything else, a plain ``ValueError`` from numpy or from this project's internals included, is a bug:
its traceback and exit status 1.

The bug is made by hand where no real one exists: the per-part sigmas ``dwpose eval`` hands to
xtcocotools are cut to the wrong length, and numpy fails deep inside COCOeval with its own ValueError.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dwpose import errors
from dwpose.errors import UserError, guarded, user_error_message
from tests.conftest import require_shared
from tests.evaluation.helpers import perturbed_results

REPO = Path(__file__).resolve().parents[1]
STUDENT = REPO / "configs/demo/rtmpose-student_demo.py"
BROADCAST = "operands could not be broadcast together"

# Run in a fresh interpreter: break the sigmas, then `dwpose eval GT RESULTS` through the real entry point.
BROKEN_EVAL = """
import sys
import dwpose.evaluation.wholebody as wb
real = wb.part_sigmas
wb.part_sigmas = lambda sigmas=None: {p: s[:2] for p, s in real(sigmas).items()}
from dwpose.cli import main
sys.exit(main(["eval", sys.argv[1], sys.argv[2]]))
"""


@pytest.fixture()
def gt_and_results(coco_mini: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The real COCO-WholeBody mini ground truth and a results file scored against it."""
    gt = coco_mini / "coco_wholebody_mini.json"
    results = tmp_path / "results.json"
    results.write_text(json.dumps(perturbed_results(json.loads(gt.read_text()))))
    return gt, results


def _break_sigmas(monkeypatch) -> None:
    import dwpose.evaluation.wholebody as wb

    real = wb.part_sigmas
    monkeypatch.setattr(wb, "part_sigmas", lambda sigmas=None: {p: s[:2] for p, s in real(sigmas).items()})


def test_a_plain_value_error_is_not_a_user_mistake():
    assert ValueError not in errors.USER_ERRORS
    assert user_error_message(ValueError("could not convert string to float: 'x'")) is None
    assert issubclass(UserError, ValueError)  # callers that catch bad values keep working
    assert user_error_message(UserError("--opset must be between 7 and 20\nmore")) == (
        "--opset must be between 7 and 20"
    )


def test_guarded_lets_an_internal_value_error_through(capsys):
    def bug() -> int:
        raise ValueError("math domain error")

    with pytest.raises(ValueError, match="math domain error"):
        guarded(bug, prog="p")
    assert capsys.readouterr().err == ""  # no "p: error:" line on the way

    def mistake() -> int:
        raise UserError("--seeds must be >= 1")

    assert guarded(mistake, prog="p") == 2
    assert capsys.readouterr().err == "p: error: --seeds must be >= 1\n"


def test_numpy_value_error_inside_a_command_is_raised(monkeypatch, capsys, gt_and_results):
    from dwpose.cli import main

    gt, results = gt_and_results
    assert main(["eval", str(gt), str(results), "--json"]) == 0  # the command works unbroken
    capsys.readouterr()
    _break_sigmas(monkeypatch)
    with pytest.raises(ValueError, match=BROADCAST):
        main(["eval", str(gt), str(results)])
    assert "error:" not in capsys.readouterr().err


@pytest.mark.slow
def test_numpy_value_error_inside_a_command_exits_1_with_its_traceback(gt_and_results):
    gt, results = gt_and_results
    proc = subprocess.run([sys.executable, "-c", BROKEN_EVAL, str(gt), str(results)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):", proc.stderr[-2000:]
    assert lines[-1].startswith(f"ValueError: {BROADCAST}")
    assert "xtcocotools" in proc.stderr  # raised where numpy met the bad shapes, not re-worded
    assert "dwpose: error:" not in proc.stderr


def _cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "dwpose.cli", *map(str, args)]


def _script(path: str, *args: object) -> list[str]:
    return [sys.executable, str(REPO / path), *map(str, args)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "prog", "needle"),
    [
        ("eval_broken_results", "dwpose", "is not valid JSON"),
        ("eval_mpii_per_scene", "dwpose", "--per-scene applies to COCO-WholeBody"),
        ("transfer_same_path", "pth_transfer.py", "output path equals the input path"),
        ("test_missing_checkpoint", "tools/test.py", "does not exist"),
        ("export_bad_opset", "dwpose", "--opset must be between"),
        ("predict_no_detector", "dwpose", "give a person detector with --det"),
    ],
)
def test_user_mistakes_are_one_error_line_and_exit_2(case, prog, needle, tmp_path, shared_dir, coco_mini,
                                                     photos):
    gt = coco_mini / "coco_wholebody_mini.json"
    mpii = require_shared(shared_dir / "data/mpii-mini/test_mpii.json", "MPII mini annotations", kind="file")
    broken = tmp_path / "results.json"
    broken.write_text('[{"image_id": 1, ')
    ckpt = tmp_path / "dis.pth"
    ckpt.write_bytes(b"\0" * 16)
    cmd = {
        "eval_broken_results": _cli("eval", gt, broken),
        "eval_mpii_per_scene": _cli("eval", mpii, broken, "--per-scene"),
        "transfer_same_path": _script("pth_transfer.py", ckpt, ckpt),
        "test_missing_checkpoint": _script("tools/test.py", STUDENT, tmp_path / "missing.pth",
                                           "--work-dir", tmp_path / "w"),
        "export_bad_opset": _cli("export", "onnx", STUDENT, ckpt, tmp_path / "m.onnx", "--opset", 999),
        "predict_no_detector": _cli("predict", photos[0], "--pose", tmp_path / "m.onnx", "--out", tmp_path),
    }[case]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert [ln for ln in lines if "error:" in ln] == lines[-1:], proc.stderr[-2000:]
    assert lines[-1].startswith(f"{prog}: error: ") and needle in lines[-1], lines[-1]
