"""Every checkpoint format through every entry point that reads checkpoints.

Each cell either gives the SimCC outputs of the model the checkpoint came from (same fixed input) or
is refused with one line; the pickle that runs code never runs. Formats: tests/checkpoint/formats.py.
"""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import torch

from tests.checkpoint.formats import STUDENT_CFG, simcc

OK = "ok"
# expected outcome per (entry point, format): OK, or a pattern of the one refusal line
NOT_DISTILLER = "not a distiller checkpoint"
CONVERT_FIRST = "distillation checkpoint .* pth_transfer.py"
UNSAFE = "it pickles posix.system, .* --trust-checkpoint"
NO_STATE = "no training state"
EXPECTED = {
    "teacher": {"stock": OK, "distiller": CONVERT_FIRST, "dwpose_transfer": OK, "ddp": OK, "bare": OK,
                "evil": UNSAFE},
    "pth_transfer": {"stock": NOT_DISTILLER, "distiller": OK, "dwpose_transfer": NOT_DISTILLER,
                     "ddp": NOT_DISTILLER, "bare": NOT_DISTILLER, "evil": UNSAFE},
    "predict": {"stock": OK, "distiller": CONVERT_FIRST, "dwpose_transfer": OK, "ddp": OK, "bare": OK,
                "evil": UNSAFE},
    "export": {"stock": OK, "distiller": CONVERT_FIRST, "dwpose_transfer": OK, "ddp": OK, "bare": OK,
               "evil": UNSAFE},
    # a re-saved deployment file (dwpose_transfer) is not a run to resume: not in the matrix
    "resume": {"stock": OK, "distiller": CONVERT_FIRST, "ddp": NO_STATE, "bare": NO_STATE,
               "evil": UNSAFE},
}
CASES = [(entry, fmt) for entry, row in EXPECTED.items() for fmt in row]


def _teacher(path, tmp_path, capsys):
    from dwpose.distiller.model import TwoStageDistiller

    distiller = TwoStageDistiller(str(STUDENT_CFG), str(STUDENT_CFG), str(path), stage=1,
                                  feature_alpha=0.0, logit_weight=0.1)
    return distiller.teacher


def _pth_transfer(path, tmp_path, capsys):
    from dwpose.distiller.transfer import main
    from dwpose.inference.torch_pose import TorchPoseModel

    out = tmp_path / "plain.pth"
    _cli(main, [str(path), str(out)], capsys)
    return TorchPoseModel(STUDENT_CFG, out).model


def _predict(path, tmp_path, capsys):
    from dwpose.inference.torch_pose import TorchPoseModel  # what `dwpose predict CONFIG CKPT` builds

    return TorchPoseModel(STUDENT_CFG, path).model


def _export(path, tmp_path, capsys):
    from dwpose.cli import main
    from dwpose.inference.pose_models import OnnxPoseModel

    out = tmp_path / "m.onnx"
    _cli(main, ["export", "onnx", str(STUDENT_CFG), str(path), str(out)], capsys)
    return OnnxPoseModel(out)


def _cli(main, argv, capsys):
    """Run a CLI in-process; a refusal becomes ValueError(its one stderr line)."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    if code != 0:
        lines = err.splitlines()
        assert code == 2 and len(lines) == 1, err
        raise ValueError(lines[0])


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", STUDENT_CFG.parents[2] / f"tools/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_argv(work_dir, data, *extra):
    from tests.conftest import demo_cfg_options

    opts = demo_cfg_options(data, **{"train_dataloader.batch_size": 2, "train_dataloader.dataset.indices": 2,
                                     "train_cfg.max_epochs": 2, "val_cfg": None, "val_dataloader": None,
                                     "val_evaluator": None, "visualizer.vis_backends": "[]"})
    return [str(STUDENT_CFG), "--work-dir", str(work_dir), *extra, "--cfg-options", *opts]


ENTRY = {"teacher": _teacher, "pth_transfer": _pth_transfer, "predict": _predict, "export": _export}


def _outputs(model, x):
    if isinstance(model, torch.nn.Module):
        return tuple(t.numpy() for t in simcc(model, x))
    return model(x.numpy())


@pytest.mark.parametrize("entry, fmt", [c for c in CASES if c[0] != "resume"])
def test_each_format_through_each_loader(entry, fmt, formats, tmp_path, capsys):
    expected = EXPECTED[entry][fmt]
    path = formats.paths[fmt]
    if expected != OK:
        with pytest.raises(ValueError) as err:
            ENTRY[entry](path, tmp_path, capsys)
        msg = str(err.value)
        assert "\n" not in msg
        assert __import__("re").search(expected, msg), msg
        assert not formats.marker.exists()
        return
    got = _outputs(ENTRY[entry](path, tmp_path, capsys), formats.x)
    ref = [t.numpy() for t in formats.refs[fmt]]
    tol = 1e-4 * max(1.0, float(np.abs(ref[0]).max())) if entry == "export" else 1e-5
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=tol, rtol=0)


@pytest.mark.parametrize("fmt", [f for f in EXPECTED["resume"] if EXPECTED["resume"][f] != OK])
def test_resume_refuses_what_is_not_a_run(fmt, formats, demo_data, tmp_path, capsys):
    train = _tool("train")
    argv = _train_argv(tmp_path / "work", demo_data, "--resume", str(formats.paths[fmt]))
    code = train.main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert __import__("re").search(EXPECTED["resume"][fmt], lines[0]), lines[0]
    assert not formats.marker.exists() and not (tmp_path / "work" / "epoch_2.pth").exists()


def test_stock_mmengine_work_dir_resumes(formats, demo_data, tmp_path):
    """``tools/train.py --resume`` on a work dir of MMEngine's stock Runner continues its run."""
    from dwpose.engine.checkpoint import plain_to_buffers, read_checkpoint
    from tests.distiller.helpers import single_thread

    work = tmp_path / "work"
    shutil.copytree(formats.stock_work_dir, work)
    before = read_checkpoint(work / "epoch_1.pth")
    with single_thread():
        train = _tool("train")
        assert train.main(_train_argv(work, demo_data, "--resume")) == 0
    after = read_checkpoint(work / "epoch_2.pth")
    assert (after["meta"]["epoch"], after["meta"]["iter"]) == (2, 2)  # one more iteration, not two
    old = before["message_hub"]["log_scalars"]["train/loss"].data[0]
    new = plain_to_buffers(after["message_hub"]["log_scalars"])["train/loss"].data[0]
    assert len(new) == len(old) + 1 and new[0] == old[0]  # the stock run's log goes on
