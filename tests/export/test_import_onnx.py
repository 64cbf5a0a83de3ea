"""`dwpose import-onnx`: ONNX -> the config's PyTorch model -> the same keypoints; misfits refused.

Source models have random weights with non-trivial BatchNorm statistics (so folding is exercised)
and the SimCC classifiers scaled down to a trained model's logit size; the ONNX files are written by
`dwpose export onnx` (opset 17) and, as mmdeploy exports RTMPose, at opset 11 with constant folding
(BatchNorms folded into the convolutions either way).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("mmpose")
pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[2]
UBODY = REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
CFG = {(size, "256x192"): UBODY / f"rtmpose-{size}_8xb64-270e_coco-ubody-wholebody-256x192.py"
       for size in "tsml"}
CFG["l", "384x288"] = UBODY / "rtmpose-l_8xb32-270e_coco-ubody-wholebody-384x288.py"
BOXES = np.array([[139, 102, 361, 344], [287, 62, 362, 228]], np.float32)


def random_model(config: Path, seed: int = 0):
    """A TorchPoseModel of ``config``: random weights and BN statistics, logits of O(1)."""
    from dwpose.inference.torch_pose import TorchPoseModel
    from tests.distiller.helpers import randomize_bn_stats

    torch.manual_seed(seed)
    model = TorchPoseModel(config, None)
    with torch.no_grad():
        randomize_bn_stats(model.model, seed)
        model.model.head.cls_x.weight.mul_(0.01)
        model.model.head.cls_y.weight.mul_(0.01)
    return model


def crops(model, n: int = 2) -> np.ndarray:
    w, h = model.input_size
    return np.random.default_rng(7).standard_normal((n, 3, h, w)).astype(np.float32)


@pytest.fixture(scope="module")
def t_source(tmp_path_factory):
    """RTMPose-t 256x192: the source model, its checkpoint and `dwpose export onnx` of it."""
    from dwpose.cli import main

    folder = tmp_path_factory.mktemp("import_onnx")
    model = random_model(CFG["t", "256x192"])
    ckpt, onnx_path = folder / "t.pth", folder / "t.onnx"
    torch.save({"state_dict": model.model.state_dict()}, ckpt)
    assert main(["export", "onnx", str(CFG["t", "256x192"]), str(ckpt), str(onnx_path)]) == 0
    return dict(model=model, ckpt=ckpt, onnx=onnx_path, folder=folder)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_round_trip_gives_the_same_keypoints_on_a_photo(suffix, t_source, photos, tmp_path, capsys):
    import cv2

    from dwpose.cli import main
    from dwpose.inference.pipeline import TopDownPipeline
    from dwpose.inference.torch_pose import TorchPoseModel

    out = tmp_path / f"imported{suffix}"
    assert main(["import-onnx", str(t_source["onnx"]), str(CFG["t", "256x192"]), str(out)]) == 0
    assert "identity statistics" in capsys.readouterr().out
    imported = TorchPoseModel(CFG["t", "256x192"], out)  # through the one checkpoint reader
    image = cv2.imread(str(photos[-1]))
    a = TopDownPipeline(t_source["model"])(image, BOXES)
    b = TopDownPipeline(imported)(image, BOXES)
    close = np.all(np.abs(a.keypoints - b.keypoints) <= 0.5, axis=-1)
    assert close.mean() > 0.98  # an argmax between two near-equal bins may flip
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-3)
    # the folded BatchNorms carry identity statistics
    bn = imported.model.backbone.stem[0].bn
    assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)


@pytest.mark.parametrize("size, res, opset", [
    ("t", "256x192", 11),
    pytest.param("s", "256x192", 17, marks=pytest.mark.slow),
    pytest.param("m", "256x192", 17, marks=pytest.mark.slow),
    pytest.param("l", "256x192", 17, marks=pytest.mark.slow),
    pytest.param("l", "384x288", 11, marks=pytest.mark.slow),
])
def test_every_size_imports_exactly(size, res, opset, tmp_path):
    """opset 11 + constant folding is how mmdeploy exports RTMPose (the official DWPose files)."""
    from dwpose.export.onnx import export_model
    from dwpose.export.onnx_import import import_onnx

    source = random_model(CFG[size, res], seed=1)
    path = export_model(source, tmp_path / "m.onnx", opset)
    imported, diff, scale = import_onnx(path, CFG[size, res])
    assert diff <= 1e-4 * max(1.0, scale)
    x = crops(source)
    for got, want in zip(imported(x), source(x)):
        np.testing.assert_allclose(got, want, atol=1e-4 * max(1.0, float(np.abs(want).max())), rtol=0)


def test_mismatching_config_is_refused_with_one_line(t_source, tmp_path, capsys):
    from dwpose.cli import main

    out = tmp_path / "s.safetensors"
    code = main(["import-onnx", str(t_source["onnx"]), str(CFG["s", "256x192"]), str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert ("layer 'backbone.stem.0.conv.weight' is (16, 3, 3, 3) in the config but (12, 3, 3, 3) in "
            "the ONNX graph") in err[0]
    assert not out.exists()
    code = main(["import-onnx", str(t_source["onnx"]), str(CFG["l", "384x288"]), str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "its input is 192x256 (WxH), the config's 288x384" in err[0]


def test_not_a_pose_graph_is_refused(tmp_path, capsys):
    from dwpose.cli import main

    bogus = tmp_path / "x.onnx"
    bogus.write_bytes(b"not onnx at all")
    code = main(["import-onnx", str(bogus), str(CFG["t", "256x192"]), str(tmp_path / "o.pth")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is not an ONNX model" in err[0]


def test_imported_teacher_stays_bit_identical_and_the_model_fine_tunes(tmp_path):
    """An imported file as a stage-1 teacher (frozen through a real step), and as a model to train."""
    from mmengine.optim import build_optim_wrapper

    from dwpose.engine.safetensors_io import write_safetensors
    from dwpose.export.onnx import export_model
    from dwpose.export.onnx_import import import_onnx
    from tests.distiller.helpers import (
        TEACHER_CFG,
        build_distiller,
        collate,
        differing,
        make_samples,
        set_epoch,
        state_of,
    )

    source = random_model(Path(TEACHER_CFG), seed=2)
    path = export_model(source, tmp_path / "teacher.onnx")
    imported, _, _ = import_onnx(path, TEACHER_CFG)
    ckpt = tmp_path / "teacher.safetensors"
    write_safetensors(imported.model.state_dict(), ckpt)

    distiller = build_distiller(1, str(ckpt))
    teacher0, student0 = state_of(distiller.teacher), state_of(distiller.student)
    optim = build_optim_wrapper(distiller, dict(optimizer=dict(type="AdamW", lr=1e-3),
                                                clip_grad=dict(max_norm=1.0)))
    set_epoch(0, 10)
    distiller.train()
    log = distiller.train_step(collate(make_samples(4)), optim)
    assert all(math.isfinite(float(v)) for k, v in log.items() if k.startswith("loss"))
    assert differing(teacher0, state_of(distiller.teacher)) == []
    assert differing(student0, state_of(distiller.student))
    x = crops(source)
    for got, want in zip(source(x), distiller.teacher.head.forward(distiller.teacher.extract_feat(
            torch.from_numpy(x)))):
        np.testing.assert_allclose(got, want.detach().numpy(), atol=1e-4, rtol=0)

    model = imported.model.train()  # fine-tuning: BN statistics start from identity and move
    before = state_of(model)
    optim = build_optim_wrapper(model, dict(optimizer=dict(type="AdamW", lr=1e-3)))
    log = model.train_step(collate(make_samples(4, seed=1)), optim)
    assert math.isfinite(float(log["loss"]))
    changed = differing(before, state_of(model))
    assert "backbone.stem.0.conv.weight" in changed and "backbone.stem.0.bn.running_mean" in changed
