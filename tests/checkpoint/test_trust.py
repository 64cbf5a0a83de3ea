"""The command lines: an unsafe checkpoint is one ``error:`` line everywhere; ``--trust-checkpoint``
loads it (running its pickle, as asked) after a warning, for that command only."""

from __future__ import annotations

import json
import pickle

import cv2
import numpy as np
import pytest
import torch

from tests.checkpoint.formats import STUDENT_CFG, RunsCode
from tests.checkpoint.test_entry_points import _tool


def _evil_copy(formats, tmp_path):
    """The stock weights plus a pickle that touches ``tmp_path/ran`` when unpickled."""
    state = torch.load(formats.paths["bare"], weights_only=True)
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": state, "meta": {"x": RunsCode(marker)}}, path, pickle_module=pickle)
    return path, marker


def _one_error_line(capsys, prog):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: cannot read checkpoint"), lines
    assert "posix.system" in lines[0] and "--trust-checkpoint" in lines[0]


def test_predict_and_test_refuse_an_unsafe_checkpoint(formats, tmp_path, capsys, demo_data):
    from dwpose.cli import main

    path, marker = _evil_copy(formats, tmp_path)
    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), np.zeros((64, 48, 3), np.uint8))
    (tmp_path / "boxes.json").write_text(json.dumps([[0, 0, 48, 64]]))
    argv = ["predict", str(image), "--pose", str(STUDENT_CFG), str(path), "--boxes",
            str(tmp_path / "boxes.json"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    _one_error_line(capsys, "dwpose")
    test = _tool("test")
    assert test.main([str(STUDENT_CFG), str(path), "--work-dir", str(tmp_path / "w")]) == 2
    _one_error_line(capsys, "tools/test.py")
    assert not marker.exists()


def test_trust_checkpoint_loads_it_with_a_warning_for_that_command_only(formats, tmp_path, capsys):
    from dwpose.cli import main
    from dwpose.engine.checkpoint import read_checkpoint
    from dwpose.inference.pose_models import OnnxPoseModel

    path, marker = _evil_copy(formats, tmp_path)
    out = tmp_path / "m.onnx"
    assert main(["export", "onnx", str(STUDENT_CFG), str(path), str(out), "--trust-checkpoint"]) == 0
    assert marker.exists()  # trusted means unpickled without restriction: the file's code ran
    err = capsys.readouterr().err
    assert "dwpose export: warning: --trust-checkpoint" in err
    got = OnnxPoseModel(out)(formats.x.numpy())
    np.testing.assert_allclose(got[0], formats.refs["bare"][0].numpy(), atol=1e-4)
    marker.unlink()
    with pytest.raises(ValueError, match="posix.system"):  # the trust ended with the command
        read_checkpoint(path)
    assert not marker.exists()
