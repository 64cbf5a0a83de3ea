"""dwpose.engine.checkpoint: safe reading with an allow-list, normalising, strict fit, atomic saving."""

from __future__ import annotations

import os
import pathlib
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging.history_buffer import HistoryBuffer

from dwpose.engine.checkpoint import (
    atomic_save,
    buffers_to_plain,
    check_fits,
    check_resumable,
    find_resumable_checkpoint,
    load_state_dict_strict,
    plain_to_buffers,
    read_checkpoint,
    select_state_dict,
    trusting,
)


def _mmengine_like_checkpoint(raw_buffers: bool = False) -> dict:
    logs = {"train/loss": HistoryBuffer([1.0, 0.5], [1, 1])}
    hub = {"log_scalars": logs if raw_buffers else buffers_to_plain(logs),
           "runtime_info": {"iter": np.int64(7), "dataset_meta": {"sigmas": np.ones(133, np.float32)}}}
    return {"meta": {"epoch": 1, "iter": 7, "dataset_meta": {"flip": np.arange(133)},
                     "cfg": ConfigDict(model=dict(type="X", depth=np.float32(0.5)))},
            "state_dict": {"w": torch.ones(3)}, "message_hub": hub,
            "optimizer": {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 0.1}]}}


@pytest.mark.parametrize("raw_buffers", [False, True], ids=["plain-buffers", "stock-HistoryBuffer"])
def test_mmengine_checkpoints_load_safely(tmp_path, raw_buffers):
    path = tmp_path / "epoch_1.pth"
    atomic_save(_mmengine_like_checkpoint(raw_buffers), path)
    ckpt = read_checkpoint(path)
    assert ckpt["meta"]["iter"] == 7 and ckpt["meta"]["cfg"].model.depth == np.float32(0.5)
    buf = plain_to_buffers(ckpt["message_hub"]["log_scalars"])["train/loss"]
    assert isinstance(buf, HistoryBuffer)
    # a stock buffer comes back with working statistics methods (rebuilt through the guarded getattr)
    assert buf.mean() == pytest.approx(0.75) and buf.statistics("current") == pytest.approx(0.5)
    np.testing.assert_array_equal(ckpt["meta"]["dataset_meta"]["flip"], np.arange(133))


def test_numpy1_module_names_are_accepted(tmp_path):
    # a checkpoint pickled under numpy 1 names numpy.core.multiarray; the legacy (non-zip) format
    # lets the test rename the module inside the pickle stream
    path = tmp_path / "np1.pth"
    meta = {"a": np.arange(4), "s": np.float64(2.5)}
    torch.save({"meta": meta}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b"numpy._core.multiarray" in data
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    meta = read_checkpoint(path)["meta"]
    np.testing.assert_array_equal(meta["a"], np.arange(4))
    assert meta["s"] == 2.5


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Touch:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


class _GetattrChain:
    def __reduce__(self):  # getattr(HistoryBuffer, '__init__'): the first step towards __globals__
        return (getattr, (HistoryBuffer, "__init__"))


@pytest.mark.parametrize("evil, named", [(_System, "posix.system"), (_Touch, "pathlib.Path"),
                                         (_GetattrChain, "getattr(HistoryBuffer, '__init__')")])
def test_code_in_a_pickle_is_refused_without_running(tmp_path, evil, named):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    obj = evil(marker) if evil is not _GetattrChain else evil()
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": obj}, path, pickle_module=pickle)
    with pytest.raises(ValueError) as err:
        read_checkpoint(path)
    msg = str(err.value)
    assert "\n" not in msg and named in msg and "--trust-checkpoint" in msg
    assert not marker.exists()


def test_trusting_runs_the_pickle_and_warns_then_ends(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"x": _Touch(marker)}, path)
    with trusting(prog="t"):
        read_checkpoint(path)
        assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") == "1"  # MMEngine's loads too
    assert marker.exists()
    assert "t: warning: --trust-checkpoint" in capsys.readouterr().err
    marker.unlink()
    with pytest.raises(ValueError, match="pathlib.Path"):  # the trust ended with the block
        read_checkpoint(path)
    assert not marker.exists() and "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ


def test_select_state_dict_normalises():
    a, b, c = torch.zeros(1), torch.ones(1), torch.full((1,), 2.0)
    assert select_state_dict({"x.w": a}) == {"x.w": a}  # a bare state dict
    assert select_state_dict({"state_dict": {"module.x.w": a, "module.y": b}}) == {"x.w": a, "y": b}
    dis = {"state_dict": {"student.x.w": a, "teacher.x.w": b, "align.w": c}}
    assert select_state_dict(dis, prefix="teacher.") == {"x.w": b}
    with pytest.raises(ValueError, match="no neck.. weights"):
        select_state_dict(dis, prefix="neck.")
    mmcv1 = {"state_dict": {"x.w": a, "ema_x_w": b}}  # mmcv 1.x EMA: averaged copies beside
    assert select_state_dict(mmcv1) == {"x.w": b}
    assert select_state_dict(mmcv1, ema=False) == {"x.w": a}
    with pytest.raises(ValueError, match="holds no state_dict .*meta"):
        select_state_dict({"meta": {"epoch": 1}}, source="checkpoint c.pth")


def test_strict_fit_names_the_first_mismatch():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    good = {k: v.clone() + 1 for k, v in model.state_dict().items() if "num_batches" not in k}
    load_state_dict_strict(model, good)  # missing BN counters are fine
    assert torch.equal(model[0].weight, good["0.weight"])
    bad = {**good, "0.weight": torch.zeros(5, 3, 3, 3), "extra": torch.zeros(1)}
    del bad["1.bias"]
    with pytest.raises(ValueError) as err:
        check_fits(model, bad, source="checkpoint c.pth", target="config m.py")
    msg = str(err.value)
    assert msg.startswith("checkpoint c.pth does not match config m.py: layer '0.weight' has shape "
                          "(5, 3, 3, 3) in the checkpoint but (4, 3, 3, 3) in the model")
    assert "1 missing (1.bias)" in msg and "1 unexpected (extra)" in msg and "\n" not in msg
    with pytest.raises(ValueError, match="distillation checkpoint .* pth_transfer.py"):
        check_fits(model, {f"student.{k}": v for k, v in good.items()})


def test_resume_needs_training_state():
    check_resumable(_mmengine_like_checkpoint(), "a.pth")
    with pytest.raises(ValueError, match="no training state .*load_from=b.pth"):
        check_resumable({"state_dict": {"w": torch.ones(1)}}, "b.pth")


def test_truncated_checkpoint_is_a_clear_error_and_skipped_for_resume(tmp_path):
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_1.pth")
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_2.pth")
    data = (tmp_path / "epoch_2.pth").read_bytes()
    (tmp_path / "epoch_2.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    with pytest.raises(ValueError, match="truncated"):
        read_checkpoint(tmp_path / "epoch_2.pth")
    # last_checkpoint names the truncated one: no silent rewind
    with pytest.raises(ValueError, match=f"last_checkpoint names {tmp_path / 'epoch_2.pth'}, which "
                                         r"does not load \(.*truncated.*\); resuming would rewind to "
                                         f"the older {tmp_path / 'epoch_1.pth'}: rerun with --resume-older"):
        find_resumable_checkpoint(tmp_path)
    skipped: list = []
    found = find_resumable_checkpoint(tmp_path, allow_older=True, skipped=skipped)
    assert found == str(tmp_path / "epoch_1.pth")
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped {tmp_path / 'epoch_2.pth'}: ")
    assert "truncated" in skipped[0]
    # without last_checkpoint (nothing named), the newest that loads, the skip said
    (tmp_path / "last_checkpoint").unlink()
    skipped.clear()
    assert find_resumable_checkpoint(tmp_path, skipped=skipped) == str(tmp_path / "epoch_1.pth")
    assert len(skipped) == 1 and "epoch_2.pth" in skipped[0]
    assert find_resumable_checkpoint(tmp_path / "nothing-here") is None


def test_resume_never_rewinds_to_nothing_without_asking(tmp_path):
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_1.pth")
    (tmp_path / "epoch_1.pth").write_bytes(b"not a checkpoint")
    (tmp_path / "last_checkpoint").write_text("/elsewhere/epoch_1.pth")  # a moved work dir
    with pytest.raises(ValueError, match="no older checkpoint loads: rerun with --resume-older"):
        find_resumable_checkpoint(tmp_path)
    assert find_resumable_checkpoint(tmp_path, allow_older=True) is None


def test_last_checkpoint_of_a_moved_work_dir_is_found_beside_it(tmp_path):
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_1.pth")
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_3.pth")
    (tmp_path / "last_checkpoint").write_text("/old/place/epoch_1.pth")
    assert find_resumable_checkpoint(tmp_path) == str(tmp_path / "epoch_1.pth")  # named beats newest


def test_atomic_save_leaves_no_partial_file_on_failure(tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_save({"x": Unpicklable()}, tmp_path / "a.pth")
    assert list(tmp_path.iterdir()) == []


def test_train_resume_says_what_it_skipped_and_needs_resume_older_to_rewind(tmp_path, capsys):
    from dwpose.engine.train import parse_args, prepare_train_cfg

    cfg = pathlib.Path(__file__).resolve().parents[2] / "configs/demo/rtmpose-student_demo.py"
    atomic_save(_mmengine_like_checkpoint(), tmp_path / "epoch_1.pth")
    (tmp_path / "epoch_2.pth").write_bytes(b"cut short")
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    with pytest.raises(ValueError, match="rerun with --resume-older"):
        prepare_train_cfg(parse_args([str(cfg), "--work-dir", str(tmp_path), "--resume"]))
    capsys.readouterr()
    got = prepare_train_cfg(parse_args([str(cfg), "--work-dir", str(tmp_path), "--resume-older"]))
    assert got.resume and got.load_from == str(tmp_path / "epoch_1.pth")
    lines = capsys.readouterr().out.splitlines()
    skipped = [line for line in lines if line.startswith("resume: skipped")]
    assert len(skipped) == 1 and skipped[0].startswith(f"resume: skipped {tmp_path / 'epoch_2.pth'}: ")
    assert f"resume: {tmp_path / 'epoch_1.pth'}" in lines
