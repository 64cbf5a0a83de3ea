"""``pth_transfer.py``: key mapping, stage detection, refusals, atomic output, the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dwpose.distiller.transfer import (
    convert_checkpoint,
    convert_state_dict,
    detect_stage,
    main,
    transfer_checkpoint,
)
from tests.distiller.helpers import REPO

T = torch.zeros(1)
STAGE1 = {"teacher.backbone.a": T, "teacher.head.b": T, "student.backbone.a": T + 1,
          "student.head.b": T + 2, "align.weight": T, "align.bias": T}
STAGE2 = {"teacher.backbone.a": T + 3, "teacher.head.b": T, "student.head.b": T + 4}


def test_stage1_keeps_the_student_only():
    out = convert_state_dict(STAGE1, 1)
    assert list(out) == ["backbone.a", "head.b"]
    assert out["backbone.a"].item() == 1 and out["head.b"].item() == 2


def test_stage2_is_teacher_backbone_plus_student_head():
    out = convert_state_dict({**STAGE2, "teacher.neck.c": T + 5}, 2)
    assert {k: v.item() for k, v in out.items()} == {"backbone.a": 3, "neck.c": 5, "head.b": 4}


def test_prefixes_are_matched_by_name():
    out = convert_state_dict({"student.head.x": T, "students.head.y": T, "student_extra.z": T,
                              "teacher.x": T}, 1)
    assert list(out) == ["head.x"]


def test_stage_detection():
    assert detect_stage(STAGE1) == 1
    assert detect_stage(STAGE2) == 2
    ref = {"teacher.backbone.a": T, "student.backbone.a": T, "student.head.b": T,
           "distill_losses.loss_fea.align.weight": T}  # mmpose's DWPoseDistiller
    assert detect_stage(ref, {"cfg": "model = dict(type='DWPoseDistiller', two_dis=True)"}) == 2
    assert detect_stage(ref, {"cfg": "model = dict(two_dis=False)"}) == 1
    # mmpose's stage-1 configs do not write two_dis: DWPoseDistiller's default (False) holds
    assert detect_stage(ref, {"cfg": "model = dict(type='DWPoseDistiller', teacher_cfg='t.py')"}) == 1
    with pytest.raises(ValueError, match="pass two_dis explicitly"):
        detect_stage(ref, {})
    # without its config text, the flag decides
    assert convert_checkpoint({"state_dict": ref}, two_dis=True)[1] == 2
    assert convert_checkpoint({"state_dict": ref}, two_dis=False)[1] == 1
    assert list(convert_checkpoint({"state_dict": ref}, two_dis=True)[0]["state_dict"]) == [
        "backbone.a", "head.b"]
    with pytest.raises(ValueError, match="not a distiller checkpoint"):
        detect_stage({"backbone.a": T, "head.b": T})


def test_contradicting_flag_is_refused():
    with pytest.raises(ValueError, match="stage-1 distiller checkpoint"):
        convert_checkpoint({"state_dict": STAGE1}, two_dis=True)
    with pytest.raises(ValueError, match="stage-2 distiller checkpoint"):
        convert_checkpoint({"state_dict": STAGE2}, two_dis=False)
    assert convert_checkpoint({"state_dict": STAGE2}, two_dis=True)[1] == 2


def test_output_holds_meta_and_state_dict_as_plain_python():
    ckpt = {"state_dict": STAGE1, "optimizer": {}, "message_hub": {}, "ema_state_dict": {},
            "meta": {"epoch": np.int64(3), "dataset_meta": {"sigmas": np.array([0.1, 0.2])}}}
    out, stage = convert_checkpoint(ckpt)
    assert stage == 1 and set(out) == {"meta", "state_dict"}
    assert out["meta"]["epoch"] == 3 and type(out["meta"]["epoch"]) is int
    assert out["meta"]["dataset_meta"]["sigmas"] == [0.1, 0.2]
    assert out["meta"]["dwpose_transfer"] == {"stage": 1}


def test_file_round_trip_is_weights_only_and_atomic(tmp_path):
    src, dst = tmp_path / "dis.pth", tmp_path / "out" / "plain.pth"
    torch.save({"state_dict": STAGE2, "meta": {"sigmas": np.ones(2)}}, src)
    assert transfer_checkpoint(str(src), str(dst)) == "stage2"
    loaded = torch.load(dst, weights_only=True)
    assert list(loaded["state_dict"]) == ["backbone.a", "head.b"]
    assert [p.name for p in dst.parent.iterdir()] == ["plain.pth"]  # no temporary file left


@pytest.mark.parametrize("case,match", [
    ("truncated", "cannot read checkpoint"),
    ("plain", "not a distiller checkpoint"),
    ("missing", "does not exist"),
])
def test_cli_refuses_bad_input_with_one_line(tmp_path, capsys, case, match):
    src, dst = tmp_path / "in.pth", tmp_path / "out.pth"
    if case == "truncated":
        torch.save({"state_dict": STAGE1}, src)
        src.write_bytes(src.read_bytes()[:100])
    elif case == "plain":
        torch.save({"state_dict": {"backbone.a": T, "head.b": T}}, src)
    assert main([str(src), str(dst)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pth_transfer.py: error: ") and match in err and "\n" not in err
    assert not dst.exists()


def test_cli_flag_contradiction(tmp_path, capsys):
    src = tmp_path / "in.pth"
    torch.save({"state_dict": STAGE1}, src)
    assert main([str(src), str(tmp_path / "out.pth"), "--two_dis"]) == 2
    assert "stage-1 distiller checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_entry_point_script(tmp_path):
    """The real ``pth_transfer.py``, run from another directory; the output loads in bare torch."""
    src, dst = tmp_path / "dis.pth", tmp_path / "plain.pth"
    torch.save({"state_dict": STAGE1, "meta": {"a": np.arange(3)}}, src)
    run = subprocess.run([sys.executable, str(REPO / "pth_transfer.py"), str(src), str(dst)],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "stage1" in run.stdout
    check = subprocess.run([sys.executable, "-c", "import sys, torch; "
                            "c = torch.load(sys.argv[1], weights_only=True); print(sorted(c['state_dict']))",
                            str(dst)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "['backbone.a', 'head.b']"
    assert Path(dst).is_file()


def _mmengine_style_checkpoint(path: Path, extra=None) -> None:
    """What a plain MMEngine runner writes: message hub with HistoryBuffers, numpy meta."""
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance("transfer-test")
    hub.update_scalar("train/loss", 1.0)
    torch.save({"meta": {"epoch": 1, "sigmas": np.ones(3)}, "state_dict": STAGE1,
                "message_hub": hub.state_dict(), "optimizer": {}, **(extra or {})}, path)


def test_reads_plain_mmengine_checkpoints_safely(tmp_path):
    """mmpose's own pth_transfer cannot read these under torch >= 2.6 (docs/algorithm.md)."""
    src = tmp_path / "mmengine.pth"
    _mmengine_style_checkpoint(src)
    with pytest.raises(Exception, match="HistoryBuffer"):
        torch.load(src, weights_only=True)
    assert transfer_checkpoint(str(src), str(tmp_path / "plain.pth")) == "stage1"
    assert list(torch.load(tmp_path / "plain.pth", weights_only=True)["state_dict"]) == [
        "backbone.a", "head.b"]


class _GetattrPayload:
    def __reduce__(self):
        return (getattr, (np.ones(1), "sum"))


def test_getattr_on_anything_else_is_refused(tmp_path):
    src = tmp_path / "evil.pth"
    _mmengine_style_checkpoint(src, extra={"payload": _GetattrPayload()})
    with pytest.raises(ValueError, match="cannot read checkpoint") as err:
        transfer_checkpoint(str(src), str(tmp_path / "out.pth"))
    assert "getattr(ndarray, 'sum')" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out.pth").exists()
