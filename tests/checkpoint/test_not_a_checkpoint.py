"""Files passed as a checkpoint by mistake are named for what they are, in one line."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
import torch

from dwpose.engine.checkpoint import read_checkpoint


@pytest.mark.parametrize("kind", ["png", "jpeg", "pickle"])
def test_an_image_or_a_plain_pickle_is_named(tmp_path, kind):
    path = tmp_path / "model.pth"
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"state_dict": {"w": [1.0]}}, protocol=4))
    else:
        ok, data = cv2.imencode(f".{kind}", np.zeros((8, 8, 3), np.uint8))
        path.write_bytes(data.tobytes())
    with pytest.raises(ValueError) as info:
        read_checkpoint(path)
    expected = {"png": "a PNG image", "jpeg": "a JPEG image", "pickle": "a plain pickle"}[kind]
    assert f"the file is {expected}" in str(info.value) and "\n" not in str(info.value)
    assert "Unsupported operand" not in str(info.value)


def test_torch_legacy_and_zip_checkpoints_are_not_misnamed(tmp_path):
    for legacy in (False, True):
        path = tmp_path / f"ok{legacy}.pth"
        torch.save({"state_dict": {"w": torch.ones(2)}}, path, _use_new_zipfile_serialization=not legacy)
        assert torch.equal(read_checkpoint(path)["state_dict"]["w"], torch.ones(2))
