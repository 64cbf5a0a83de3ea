"""safetensors through every checkpoint reader, written by `dwpose export safetensors` and
`pth_transfer.py --format safetensors`; renamed pickles and wrong shapes refused.

The models are the demo student (128x96) with random weights; each loaded model must give the SimCC
outputs of the in-memory model the file was written from.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import torch

from tests.checkpoint.formats import STUDENT_CFG, RunsCode, fixed_input, simcc

pytest.importorskip("mmpose")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A random-init demo student saved as an MMEngine-style .pth (numpy meta), its outputs, and
    the .safetensors `dwpose export safetensors` makes of it."""
    from dwpose.cli import main
    from dwpose.inference.torch_pose import TorchPoseModel

    folder = tmp_path_factory.mktemp("safetensors")
    torch.manual_seed(3)
    model = TorchPoseModel(STUDENT_CFG, None).model
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.uniform_(-0.3, 0.3)
                mod.running_var.uniform_(0.5, 2.0)
    pth, st = folder / "student.pth", folder / "student.safetensors"
    torch.save({"state_dict": model.state_dict(), "meta": {"epoch": np.int64(4)}}, pth)
    assert main(["export", "safetensors", str(STUDENT_CFG), str(pth), str(st)]) == 0
    x = fixed_input()
    return dict(folder=folder, pth=pth, st=st, x=x, ref=simcc(model, x), model=model)


def _same(model, ref, x, atol=1e-6):
    for got, want in zip(simcc(model, x), ref):
        torch.testing.assert_close(got, want, atol=atol, rtol=0)


def _header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def test_export_writes_plain_safetensors_with_metadata(source):
    from dwpose.engine.safetensors_io import sha256_of

    header = _header(source["st"])
    meta = header.pop("__metadata__")
    assert meta["config"] == STUDENT_CFG.name
    assert meta["input_size"] == "96x128" and meta["num_keypoints"] == "133"
    assert meta["source_sha256"] == sha256_of(source["pth"])
    assert set(header) == set(source["model"].state_dict())  # backbone.*, head.*; nothing pickled


def test_predict_and_export_onnx_read_it(source, tmp_path):
    """`dwpose predict CONFIG X.safetensors` (TorchPoseModel) and `dwpose export onnx` from it."""
    from dwpose.cli import main
    from dwpose.inference.pose_models import OnnxPoseModel, load_pose_model

    _same(load_pose_model([STUDENT_CFG, source["st"]]).model, source["ref"], source["x"])
    out = tmp_path / "m.onnx"
    assert main(["export", "onnx", str(STUDENT_CFG), str(source["st"]), str(out)]) == 0
    got = OnnxPoseModel(out)(source["x"].numpy())
    for g, r in zip(got, source["ref"]):
        np.testing.assert_allclose(g, r.numpy(), atol=1e-4 * max(1.0, float(r.abs().max())), rtol=0)


def test_teacher_load_from_and_pretrained_init_read_it(source):
    """The distiller's teacher, and MMEngine's own loaders (load_from, init_cfg Pretrained)."""
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.runner.checkpoint import load_checkpoint

    import dwpose.plugin  # noqa: F401  registers the safetensors-aware local loader
    from dwpose.distiller.model import TwoStageDistiller
    from dwpose.inference.torch_pose import TorchPoseModel

    teacher = TwoStageDistiller(str(STUDENT_CFG), str(STUDENT_CFG), str(source["st"]), stage=1,
                                feature_alpha=0.0, logit_weight=0.1).teacher
    _same(teacher, source["ref"], source["x"])
    for load in (lambda m: load_checkpoint(m, str(source["st"]), map_location="cpu", strict=True),
                 lambda m: PretrainedInit(checkpoint=str(source["st"]))(m)):
        torch.manual_seed(11)
        fresh = TorchPoseModel(STUDENT_CFG, None).model
        load(fresh)
        _same(fresh, source["ref"], source["x"])


def test_pth_transfer_reads_and_writes_safetensors(source, tmp_path, capsys):
    """A distiller state dict as safetensors in, `--format safetensors` out, the student's outputs."""
    from dwpose.distiller.model import TwoStageDistiller
    from dwpose.distiller.transfer import main
    from dwpose.engine.safetensors_io import write_safetensors
    from dwpose.inference.torch_pose import TorchPoseModel

    torch.manual_seed(5)
    distiller = TwoStageDistiller(str(STUDENT_CFG), str(STUDENT_CFG), None, stage=1,
                                  feature_alpha=0.0, logit_weight=0.1)
    src, out = tmp_path / "dis.safetensors", tmp_path / "plain.bin"
    write_safetensors(distiller.state_dict(), src)
    assert main([str(src), str(out), "--format", "safetensors"]) == 0, capsys.readouterr().err
    assert _header(out)["__metadata__"]["stage"] == "1"
    ref = simcc(distiller.student, source["x"])
    _same(TorchPoseModel(STUDENT_CFG, out).model, ref, source["x"])


def test_app_model_picker_lists_safetensors(source):
    import shutil

    from dwpose.app.catalog import find_models

    folder = source["folder"] / "models"
    folder.mkdir(exist_ok=True)
    shutil.copy(STUDENT_CFG, folder / "student.py")
    shutil.copy(source["st"], folder / "student.safetensors")
    paths = [entry.spec for entry in find_models(folder)]
    assert (str(folder / "student.py"), str(folder / "student.safetensors")) in paths


def test_wrong_shape_is_refused_naming_the_layer(source, tmp_path):
    from dwpose.engine.safetensors_io import write_safetensors
    from dwpose.inference.torch_pose import TorchPoseModel

    state = dict(source["model"].state_dict())
    state["head.final_layer.weight"] = state["head.final_layer.weight"][:17].clone()
    bad = tmp_path / "bad.safetensors"
    write_safetensors(state, bad)
    with pytest.raises(ValueError, match=r"layer 'head.final_layer.weight' has shape \(17, .*\) in the "
                                         r"checkpoint but \(133, .*\) in the model"):
        TorchPoseModel(STUDENT_CFG, bad)


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_renamed_pickle_is_refused_unread(how, tmp_path, capsys, photos):
    """A code-running pickle named .safetensors: refused by the reader, by `dwpose predict` (one
    line) and by MMEngine's loader, and never unpickled (trusting or not)."""
    import pickle

    from mmengine.runner.checkpoint import load_checkpoint

    import dwpose.plugin  # noqa: F401
    from dwpose.cli import main
    from dwpose.engine.checkpoint import read_checkpoint

    marker = tmp_path / "ran"
    evil = tmp_path / "weights.safetensors"
    payload = {"state_dict": {"w": torch.zeros(1)}, "x": RunsCode(marker)}
    if how == "torch.save":
        torch.save(payload, evil)
    else:
        evil.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match=r"named \.safetensors but holds .*not unpickled"):
        read_checkpoint(evil, trust=True)
    with pytest.raises(ValueError, match="not unpickled"):
        load_checkpoint(torch.nn.Linear(1, 1), str(evil))
    boxes = tmp_path / "boxes.json"
    boxes.write_text("[[10, 10, 120, 200]]")
    code = main(["predict", str(photos[0]), "--pose", str(STUDENT_CFG), str(evil), "--boxes", str(boxes),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("dwpose"), err
    assert not marker.exists()


def test_damaged_safetensors_is_one_line(source, tmp_path):
    from dwpose.engine.checkpoint import read_checkpoint

    cut = tmp_path / "cut.safetensors"
    data = source["st"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged safetensors file") as err:
        read_checkpoint(cut)
    assert "\n" not in str(err.value)


def test_header_not_name_decides(source, tmp_path):
    """A safetensors file named .pth is read as safetensors (no unpickling of it is tried)."""
    from dwpose.engine.safetensors_io import sniff
    from dwpose.inference.torch_pose import TorchPoseModel

    named_pth = tmp_path / "actually_safetensors.pth"
    os.link(source["st"], named_pth)
    assert sniff(named_pth) == "safetensors" and sniff(source["pth"]) == "zip"
    _same(TorchPoseModel(STUDENT_CFG, named_pth).model, source["ref"], source["x"])


def test_resume_refuses_safetensors_with_the_load_from_hint(source, tmp_path, capsys):
    from dwpose.engine import train

    code = train.main([str(STUDENT_CFG), "--resume", str(source["st"]), "--work-dir", str(tmp_path / "w")],
                      "tools/train.py")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no training state" in err[0] and "load_from=" in err[0]
