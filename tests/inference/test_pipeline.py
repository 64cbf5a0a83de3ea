"""The top-down pipeline: geometry end to end, one batched pose call, colour order, ONNX pose models."""

from __future__ import annotations

import numpy as np
import pytest

from dwpose.inference.pipeline import TopDownPipeline, normalize_crops
from dwpose.inference.pose_models import RGB_MEAN, RGB_STD, OnnxPoseModel, load_pose_model
from tests.inference.fakes import simcc_onnx


class RecordingModel:
    """Wraps a pose model; records every batch it is called with."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []
        self.input_size, self.mean, self.std = inner.input_size, inner.mean, inner.std
        self.num_keypoints = inner.num_keypoints

    def __call__(self, batch):
        self.calls.append(batch.copy())
        return self.inner(batch)


def _expected(peaks_bins, box, input_size=(192, 256), padding=1.25):
    """Independent formula (MMPose's codec): crop point / input size * scale + center - scale / 2."""
    x1, y1, x2, y2 = box
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    aspect = input_size[0] / input_size[1]
    scale = np.array([w, w / aspect]) if w > h * aspect else np.array([h * aspect, h])
    crop_pts = peaks_bins / 2.0
    return crop_pts / np.array(input_size) * scale + center - scale / 2


def test_keypoints_land_where_the_simcc_peaks_say(peaks_onnx):
    pipe = TopDownPipeline(OnnxPoseModel(peaks_onnx.path))
    image = np.zeros((480, 640, 3), np.uint8)
    boxes = np.array([[100, 50, 300, 450, 0.9], [400, 300, 600, 360, 0.8]], np.float32)  # tall and wide
    result = pipe(image, boxes)
    assert result.keypoints.shape == (2, 133, 2) and result.scores.shape == (2, 133)
    for i, box in enumerate(boxes[:, :4]):
        np.testing.assert_allclose(result.keypoints[i], _expected(peaks_onnx.peaks, box), atol=1e-3)
    np.testing.assert_allclose(result.scores, 0.8)  # min(0.9, 0.8)
    np.testing.assert_allclose(result.box_scores, [0.9, 0.8])
    assert result.image_size == (640, 480)


def test_center_peak_maps_to_box_center(tmp_path):
    path = tmp_path / "center.onnx"
    simcc_onnx(path, peaks=np.tile([[192, 256]], (133, 1)))  # bin = 2 * crop center
    result = TopDownPipeline(OnnxPoseModel(path))(
        np.zeros((300, 300, 3), np.uint8), np.array([[10, 20, 110, 220]])
    )
    np.testing.assert_allclose(result.keypoints[0], np.tile([[60, 120]], (133, 1)), atol=1e-4)


def test_all_crops_of_an_image_and_of_several_frames_share_one_call(peaks_onnx):
    model = RecordingModel(OnnxPoseModel(peaks_onnx.path))
    pipe = TopDownPipeline(
        model,
        detector=lambda img: np.array(
            [[0, 0, 50, 80, 0.9], [60, 0, 90, 70, 0.7], [10, 10, 40, 40, 0.5]], np.float32
        ),
    )
    pipe(np.zeros((100, 100, 3), np.uint8))
    assert [len(b) for b in model.calls] == [3]
    results = pipe.predict_batch([np.zeros((100, 100, 3), np.uint8)] * 4)
    assert [len(b) for b in model.calls] == [3, 12] and [len(r) for r in results] == [3, 3, 3, 3]


def test_no_person_means_no_pose_call(peaks_onnx):
    model = RecordingModel(OnnxPoseModel(peaks_onnx.path))
    result = TopDownPipeline(model, detector=lambda img: np.zeros((0, 5), np.float32))(
        np.zeros((9, 9, 3), np.uint8)
    )
    assert len(result) == 0 and result.keypoints.shape == (0, 133, 2) and model.calls == []


def test_fixed_batch_one_model_loops_and_agrees(tmp_path):
    fixed_path, dynamic_path = tmp_path / "fixed.onnx", tmp_path / "dynamic.onnx"
    simcc_onnx(fixed_path, batch=1, input_gain=1.0)  # logits shift by each crop's mean: order matters
    simcc_onnx(dynamic_path, input_gain=1.0)
    fixed, dynamic = OnnxPoseModel(fixed_path), OnnxPoseModel(dynamic_path)
    assert fixed.fixed_batch == 1 and dynamic.fixed_batch is None
    crops = np.random.default_rng(3).standard_normal((5, 3, 256, 192)).astype(np.float32)
    crops += np.arange(5, dtype=np.float32)[:, None, None, None]
    for a, b, peak in zip(fixed(crops), dynamic(crops), (0.9, 0.8)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(a.max(axis=(1, 2)), peak + crops.mean(axis=(1, 2, 3)), rtol=1e-5)


def test_crops_are_rgb_before_the_rgb_mean_std(peaks_onnx):
    """Cog wrapper defect (docs/algorithm.md): it fed BGR pixels to a model normalised with RGB mean/std."""
    model = RecordingModel(OnnxPoseModel(peaks_onnx.path))
    image = np.zeros((200, 200, 3), np.uint8)
    image[..., 0] = 255  # pure blue in BGR
    TopDownPipeline(model)(image, np.array([[50, 50, 150, 150]]))
    batch = model.calls[0]
    center = batch[0, :, 128, 96]
    np.testing.assert_allclose(
        center,
        [(0 - RGB_MEAN[0]) / RGB_STD[0], (0 - RGB_MEAN[1]) / RGB_STD[1], (255 - RGB_MEAN[2]) / RGB_STD[2]],
        rtol=1e-5,
    )


def test_normalize_crops_layout():
    crops = np.random.default_rng(0).integers(0, 255, (2, 4, 3, 3), dtype=np.uint8)
    out = normalize_crops(crops, RGB_MEAN, RGB_STD)
    assert out.shape == (2, 3, 4, 3) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out[1, 0, 2, 1], (crops[1, 2, 1, 2] - RGB_MEAN[0]) / RGB_STD[0], rtol=1e-5)


def test_a_detector_is_not_a_pose_model(weights_dir):
    with pytest.raises(ValueError, match="is not a pose model"):
        load_pose_model([str(weights_dir / "yolox-nano_coco80.onnx")])


def test_pose_spec_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="pose model .* does not exist"):
        load_pose_model([str(tmp_path / "missing.onnx")])
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        load_pose_model([str(tmp_path / "junk.onnx")])
    with pytest.raises(ValueError, match="--pose takes MODEL.onnx or CONFIG CHECKPOINT"):
        load_pose_model(["a", "b", "c"])


def test_to_blob_raw_and_swapped():
    from dwpose.inference.preprocess import to_blob

    images = np.random.default_rng(2).integers(0, 255, (3, 5, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_blob(images), images.transpose(0, 3, 1, 2).astype(np.float32))
    swapped = to_blob(images, (1.0, 2.0, 3.0), (2.0, 4.0, 8.0), swap_rb=True)
    np.testing.assert_allclose(swapped[:, 0], (images[..., 2] - 1.0) / 2.0, rtol=1e-6)
    np.testing.assert_allclose(swapped[:, 2], (images[..., 0] - 3.0) / 8.0, rtol=1e-6)
