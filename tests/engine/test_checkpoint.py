"""Weights-only checkpoint loading with an allow-list, atomic saving, finding a resumable file."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from dwpose.engine.checkpoint import (
    atomic_save,
    buffers_to_plain,
    find_resumable_checkpoint,
    load_checkpoint_file,
    plain_to_buffers,
)


def _mmengine_like_checkpoint() -> dict:
    hub = {"log_scalars": buffers_to_plain({"train/loss": HistoryBuffer([1.0, 0.5], [1, 1])}),
           "runtime_info": {"iter": np.int64(7), "dataset_meta": {"sigmas": np.ones(133, np.float32)}}}
    return {"meta": {"epoch": 1, "iter": 7, "dataset_meta": {"flip": np.arange(133)}},
            "state_dict": {"w": torch.ones(3)}, "message_hub": hub,
            "optimizer": {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 0.1}]}}


def test_mmengine_style_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / "epoch_1.pth"
    atomic_save(_mmengine_like_checkpoint(), path)
    ckpt = load_checkpoint_file(path)
    assert ckpt["meta"]["iter"] == 7
    buf = plain_to_buffers(ckpt["message_hub"]["log_scalars"])["train/loss"]
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(0.75) and buf.current() == pytest.approx(0.5)
    np.testing.assert_array_equal(ckpt["meta"]["dataset_meta"]["flip"], np.arange(133))


def test_raw_history_buffer_is_not_loadable_weights_only(tmp_path):
    # the reason for the conversion: MMEngine's own pickle of a buffer needs `getattr`
    torch.save({"b": HistoryBuffer([1.0], [1])}, tmp_path / "raw.pth")
    with pytest.raises(ValueError, match="not a safe torch checkpoint"):
        load_checkpoint_file(tmp_path / "raw.pth")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_arbitrary_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        torch.save({"x": _Evil()}, f, pickle_module=pickle)
    with pytest.raises(ValueError, match="not a safe torch checkpoint"):
        load_checkpoint_file(path)


def test_truncated_checkpoint_is_a_clear_error_and_skipped_for_resume(tmp_path):
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_1.pth")
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_2.pth")
    data = (tmp_path / "epoch_2.pth").read_bytes()
    (tmp_path / "epoch_2.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    with pytest.raises(ValueError, match="truncated"):
        load_checkpoint_file(tmp_path / "epoch_2.pth")
    assert find_resumable_checkpoint(tmp_path) == str(tmp_path / "epoch_1.pth")
    assert find_resumable_checkpoint(tmp_path / "nothing-here") is None


def test_atomic_save_leaves_no_partial_file_on_failure(tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_save({"x": Unpicklable()}, tmp_path / "a.pth")
    assert list(tmp_path.iterdir()) == []
