"""browse_dataset.py: drawing by part, sample spreading, and pictures of real COCO-WholeBody samples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "analysis" / "browse_dataset.py"
_spec = importlib.util.spec_from_file_location("browse_dataset_tool", _TOOL)
browse_dataset = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browse_dataset)


def test_part_of_follows_coco_wholebody_ranges():
    got = [browse_dataset.part_of(i) for i in (0, 16, 17, 22, 23, 90, 91, 111, 112, 132)]
    assert got == [
        "body",
        "body",
        "foot",
        "foot",
        "face",
        "face",
        "lefthand",
        "lefthand",
        "righthand",
        "righthand",
    ]


def test_draw_keypoints_colours_visible_points_and_links_only():
    image = np.zeros((60, 80, 3), np.uint8)
    kpts = np.zeros((133, 2))
    kpts[5] = (10, 10)  # body, visible
    kpts[7] = (10, 50)  # body, visible
    kpts[9] = (70, 50)  # body, invisible
    kpts[100] = (60, 10)  # left hand, visible
    visible = np.zeros(133)
    visible[[5, 7, 100]] = 1
    out = browse_dataset.draw_keypoints(image, kpts, visible, [(5, 7), (7, 9)])
    body, hand = browse_dataset.PART_COLORS["body"], browse_dataset.PART_COLORS["lefthand"]
    assert tuple(out[10, 10]) == body and tuple(out[50, 10]) == body
    assert tuple(out[30, 10]) == body  # the 5-7 link
    assert tuple(out[50, 70]) == (0, 0, 0) and tuple(out[50, 40]) == (
        0,
        0,
        0,
    )  # invisible end: no point, no link
    assert tuple(out[10, 60]) == hand
    assert image.max() == 0  # the input is not drawn on


def test_sample_indices_spread_over_each_dataset():
    assert browse_dataset.sample_indices([100], 5) == [0, 24, 49, 74, 99]
    assert browse_dataset.sample_indices([3, 10], 4) == [0, 3, 1, 6]  # round-robin over both sets
    assert browse_dataset.sample_indices([2], 5) == [0, 1]


def write_config(path: Path, coco_mini: Path) -> Path:
    dataset = (
        f"dict(type='CocoWholeBodyDataset', data_root='{coco_mini}/', ann_file='coco_wholebody_mini.json', "
        "data_prefix=dict(img='images/'), data_mode='topdown', pipeline={pipe})"
    )
    train = (
        "[dict(type='LoadImage'), dict(type='GetBBoxCenterScale', padding=1.25), "
        "dict(type='RandomFlip', direction='horizontal'), "
        "dict(type='RandomBBoxTransform', rotate_factor=30), "
        "dict(type='TopdownAffine', input_size=(96, 128)), "
        "dict(type='GenerateTarget', encoder=dict(type='SimCCLabel', input_size=(96, 128), sigma=(2.5, 2.8), "
        "simcc_split_ratio=2.0)), dict(type='PackPoseInputs')]"
    )
    val = (
        "[dict(type='LoadImage'), dict(type='GetBBoxCenterScale', padding=1.25), "
        "dict(type='TopdownAffine', input_size=(96, 128)), dict(type='PackPoseInputs')]"
    )
    path.write_text(
        "default_scope = 'mmpose'\n"
        f"train_dataloader = dict(dataset={dataset.format(pipe=train)})\n"
        f"val_dataloader = dict(dataset={dataset.format(pipe=val)})\n"
    )
    return path


@pytest.mark.parametrize("phase", ["train", "val"])
def test_pictures_of_real_samples(tmp_path, coco_mini, phase):
    pytest.importorskip("mmpose")
    config = write_config(tmp_path / "mini_config.py", coco_mini)
    out = tmp_path / "browse"
    assert browse_dataset.main([str(config), "--out", str(out), "-n", "4", "--phase", phase]) == 0
    pictures = sorted(out.glob("*.jpg"))
    assert len(pictures) == 4
    body = np.array(browse_dataset.PART_COLORS["body"])
    drawn = []
    for picture in pictures:
        img = cv2.imread(str(picture))
        assert img.shape == (256, 192, 3)  # 96x128 input, enlarged twice
        drawn.append(np.all(np.abs(img.astype(int) - body) < 40, axis=-1).sum())
    assert sum(d > 20 for d in drawn) >= 3, drawn  # the skeletons are there (one crop may lose its points)


def test_bad_phase_config_is_one_error_line(tmp_path, coco_mini, capsys):
    pytest.importorskip("mmpose")
    config = tmp_path / "no_val.py"
    config.write_text(
        "default_scope = 'mmpose'\ntrain_dataloader = dict(dataset=dict(type='X', pipeline=[]))\n"
    )
    assert browse_dataset.main([str(config), "--out", str(tmp_path / "o"), "--phase", "val"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no val_dataloader" in err[0]
