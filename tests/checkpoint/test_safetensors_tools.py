"""A `.safetensors` pose checkpoint through `tools/test.py` and the Cog predictor: the same results as
the `.pth` it was written from by `dwpose export safetensors`.

The model is the demo student (128x96) with random weights and non-trivial BatchNorm statistics;
`tools/test.py` runs on a tiny generated data set, the Cog predictor on a real COCO photo with the
real person detector.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.checkpoint.formats import STUDENT_CFG
from tests.checkpoint.test_entry_points import _tool
from tests.distiller.helpers import randomize_bn_stats, single_thread

pytest.importorskip("mmpose")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """``pth``: a random demo student; ``st``: what `dwpose export safetensors` makes of it."""
    from dwpose.cli import main
    from dwpose.inference.torch_pose import TorchPoseModel

    folder = tmp_path_factory.mktemp("safetensors_tools")
    torch.manual_seed(8)
    model = TorchPoseModel(STUDENT_CFG, None).model
    with torch.no_grad():
        randomize_bn_stats(model, 8)
    pth, st = folder / "student.pth", folder / "student.safetensors"
    torch.save({"state_dict": model.state_dict(), "meta": {"epoch": 3}}, pth)
    assert main(["export", "safetensors", str(STUDENT_CFG), str(pth), str(st)]) == 0
    assert st.read_bytes()[8:9] == b"{"  # a real safetensors header, not a renamed pickle
    return dict(folder=folder, pth=pth, st=st)


def _tools_test(ckpt, data_root, work_dir, capsys):
    """`tools/test.py CONFIG CKPT` on ``data_root``: (printed table, saved table, predictions)."""
    from tests.conftest import demo_cfg_options

    prefix = work_dir / "results"
    opts = demo_cfg_options(data_root, **{"test_dataloader.batch_size": 4,
                                          "test_evaluator.outfile_prefix": str(prefix)})
    capsys.readouterr()
    with single_thread():
        code = _tool("test").main([str(STUDENT_CFG), str(ckpt), "--work-dir", str(work_dir),
                                   "--cfg-options", *opts])
    out = capsys.readouterr()
    assert code == 0, out.err
    table = next(work_dir.glob("*_wholebody_table.md")).read_text()
    printed = [line for line in out.out.splitlines() if line.startswith("|")]
    preds = json.loads((work_dir / "results.keypoints.json").read_text())
    return printed, table, preds


def test_tools_test_gives_the_same_table_from_safetensors(pair, tmp_path, capsys):
    from dwpose.datasets.synthetic import generate_demo_dataset

    data = tmp_path / "data"
    generate_demo_dataset(data, num_train=4, num_val=4, seed=0)
    printed_pth, table_pth, preds_pth = _tools_test(pair["pth"], data, tmp_path / "pth" / "run", capsys)
    printed_st, table_st, preds_st = _tools_test(pair["st"], data, tmp_path / "st" / "run", capsys)
    assert printed_pth and any("Body AP" in line for line in printed_pth)
    assert printed_st == printed_pth and table_st == table_pth  # the row is named after the work dir
    # the table of a random model is mostly zeros: the per-person predictions behind it must match too
    assert len(preds_pth) == 4 and len({json.dumps(p["keypoints"][:6]) for p in preds_pth}) == 4
    for a, b in zip(preds_pth, preds_st):
        assert a["image_id"] == b["image_id"]
        np.testing.assert_allclose(a["keypoints"], b["keypoints"], atol=1e-4, rtol=0)
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)


def _cog_keypoints(spec, photo, monkeypatch):
    """The Cog predictor set up with ``DWPOSE_POSE_MODEL=spec``, run on a copy of ``photo``."""
    import cog

    import predict
    from tests.inference.fakes import assert_cog_people

    # setup() makes every later onnxruntime session of this process share one thread pool, which
    # the other tests (per-session pools) cannot live with: keep the pools per session here
    monkeypatch.setattr(predict, "use_shared_thread_pool", lambda *a, **k: False)
    monkeypatch.setenv("DWPOSE_POSE_MODEL", spec)
    predictor = predict.Predictor()
    predictor.setup()
    upload = Path(tempfile.gettempdir()) / "unset"
    try:
        # an upload as Cog stores it (a tmp* file in the temp folder); any other path is refused
        with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
            upload = Path(f.name)
        shutil.copy(photo, upload)
        npz, _png = asyncio.run(predictor.predict(image=cog.Path(upload), threshold=0.0))
        with np.load(npz, allow_pickle=True) as data:  # our own file: person_i dicts
            assert_cog_people(data)
            people = {name: data[name].item() for name in data.files}
        return people, predictor.pipeline.pose_model
    finally:
        predictor.inference.shutdown()
        upload.unlink(missing_ok=True)


def test_cog_predictor_gives_the_same_keypoints_from_safetensors(pair, photos, weights_dir, monkeypatch):
    pytest.importorskip("cog")
    from dwpose.inference.torch_pose import TorchPoseModel

    monkeypatch.setenv("DWPOSE_DET_MODEL", str(weights_dir / "rtmdet-nano_person_end2end.onnx"))
    photo = photos[0]
    with single_thread():
        from_pth, model_pth = _cog_keypoints(f"{STUDENT_CFG}::{pair['pth']}", photo, monkeypatch)
        from_st, model_st = _cog_keypoints(f"{STUDENT_CFG}::{pair['st']}", photo, monkeypatch)
    assert isinstance(model_st, TorchPoseModel)  # the PyTorch path read the .safetensors
    assert len(from_pth) >= 1 and set(from_st) == set(from_pth)
    for name, person in from_pth.items():
        for part, points in person.items():
            np.testing.assert_allclose(from_st[name][part], points, atol=1e-6, rtol=0, err_msg=part)
    body = np.stack([person["body"] for person in from_st.values()])
    assert np.all(body >= 0) and np.ptp(body) > 0.05  # threshold 0: every point given, not one spot
    sd_pth, sd_st = model_pth.model.state_dict(), model_st.model.state_dict()
    assert all(torch.equal(sd_pth[k], sd_st[k]) for k in sd_pth)
