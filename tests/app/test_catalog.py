"""The picker's models: what a folder offers, loading on demand, switching, and models that do not load."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from dwpose.app.catalog import ModelCatalog, entry_for, find_models
from dwpose.inference.pose_models import load_pose_model


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_find_models_lists_onnx_files_and_config_checkpoint_pairs(tmp_path):
    det = _touch(tmp_path / "yolox_l.onnx")
    _touch(tmp_path / "dw-ll_ucoco_384.onnx")
    _touch(tmp_path / "rtmpose-t.py")
    _touch(tmp_path / "rtmpose-t.pth")  # same stem as its config
    _touch(tmp_path / "lonely.pth")  # two configs here and none of its stem: left out
    _touch(tmp_path / "other.py")
    work = tmp_path / "work_dirs" / "run1"  # deeper than one level: not scanned
    _touch(work / "cfg.py")
    _touch(work / "best.pth")
    run2 = tmp_path / "run2"  # a work dir: one config, several checkpoints
    _touch(run2 / "rtmpose-s.py")
    _touch(run2 / "epoch_1.pth")
    _touch(run2 / "epoch_2.pth")
    _touch(tmp_path / ".hidden" / "x.onnx")

    entries = find_models(tmp_path, exclude=[det])

    assert [e.label for e in entries] == [
        "dw-ll_ucoco_384.onnx",
        "rtmpose-t.pth (rtmpose-t.py)",
        "run2/epoch_1.pth (rtmpose-s.py)",
        "run2/epoch_2.pth (rtmpose-s.py)",
    ]
    assert entries[0].spec == (str(tmp_path / "dw-ll_ucoco_384.onnx"),)
    assert entries[2].spec == (str(run2 / "rtmpose-s.py"), str(run2 / "epoch_1.pth"))


def test_find_models_refuses_a_file_or_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="--models folder .* does not exist"):
        find_models(tmp_path / "nope")
    with pytest.raises(NotADirectoryError, match="is a file; give the folder"):
        find_models(_touch(tmp_path / "model.onnx"))


def test_catalog_switches_models_without_reloading_the_detector(app_models, detector, photos):
    calls = []

    def loader(spec, device):
        calls.append(spec)
        return load_pose_model(spec, device)

    entries = [entry_for([app_models.a], app_models.folder), entry_for([app_models.b], app_models.folder)]
    catalog = ModelCatalog(entries, [detector], keep=1, pose_loader=loader)
    image = cv2.imread(str(photos[0]))

    first = catalog.pipeline("a.onnx")(image)
    second = catalog.pipeline("b.onnx")(image)

    assert catalog.labels == ["a.onnx", "b.onnx"]
    assert len(first) == len(second) >= 1
    np.testing.assert_array_equal(first.boxes, second.boxes)  # one detector for both
    assert not np.allclose(first.keypoints, second.keypoints)  # the other model's peaks
    assert catalog.pipeline("b.onnx").detector is catalog.pipeline("a.onnx").detector
    assert len(calls) == 3  # keep=1: "a" was dropped when "b" loaded, so "a" loaded again
    assert "a.onnx on cpu: pose model onnxruntime CPUExecutionProvider" in catalog.describe("a.onnx")
    assert catalog.describe("a.onnx").endswith("detector onnxruntime CPUExecutionProvider")


def test_catalog_loads_a_model_once_under_concurrent_requests(app_models, detector):
    calls = []

    def loader(spec, device):
        calls.append(spec)
        return load_pose_model(spec, device)

    catalog = ModelCatalog([entry_for([app_models.a])], [detector], pose_loader=loader)
    got = []
    threads = [threading.Thread(target=lambda: got.append(catalog.pipeline("a.onnx"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(p) for p in got}) == 1


def test_catalog_reports_models_that_do_not_load(app_models, detector, tmp_path):
    entries = [entry_for([app_models.a]), entry_for([detector]), entry_for([tmp_path / "gone.onnx"])]
    catalog = ModelCatalog(entries, [detector])
    with pytest.raises(ValueError, match="yolox-nano_coco80.onnx is not a pose model"):
        catalog.pipeline("yolox-nano_coco80.onnx")
    with pytest.raises(FileNotFoundError, match="gone.onnx does not exist"):
        catalog.pipeline("gone.onnx")
    with pytest.raises(ValueError, match="unknown model 'c.onnx'; choose one of: a.onnx, yolox"):
        catalog.pipeline("c.onnx")
    assert len(catalog.pipeline("a.onnx")(np.zeros((64, 64, 3), np.uint8))) == 0  # still serving
    with pytest.raises(ValueError, match="no pose models to offer"):
        ModelCatalog([], [detector])
