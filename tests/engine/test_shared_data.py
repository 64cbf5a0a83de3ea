"""Real COCO-WholeBody annotations (../shared, not written by us) through the training pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[2]
CONFIG = (REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
          / "rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py")
PARTS = {"foot": slice(17, 23), "face": slice(23, 91), "lefthand": slice(91, 112),
         "righthand": slice(112, 133)}


def _dataset(coco_mini: Path, pipeline, test_mode: bool = False):
    from mmpose.datasets import CocoWholeBodyDataset

    import dwpose.plugin  # noqa: F401

    init_default_scope("mmpose")
    return CocoWholeBodyDataset(data_root=str(coco_mini), data_mode="topdown",
                                ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                                pipeline=pipeline, test_mode=test_mode)


def test_annotations_load_with_visibility_and_parts(coco_mini):
    raw = json.loads((coco_mini / "coco_wholebody_mini.json").read_text())
    by_id = {a["id"]: a for a in raw["annotations"]}
    assert len(by_id) == 14
    # mmpose drops the two people with no labelled keypoint at all (nothing to learn from)
    ds = _dataset(coco_mini, pipeline=[])
    labelled = {a["id"] for a in raw["annotations"] if a["num_keypoints"] > 0}
    assert {ds.get_data_info(i)["id"] for i in range(len(ds))} == labelled
    n_valid = {p: sum(bool(a[f"{p}_valid"]) for a in raw["annotations"]) for p in PARTS}
    assert n_valid == {"foot": 10, "face": 4, "lefthand": 5, "righthand": 5}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kpts, vis = info["keypoints"], info["keypoints_visible"]
        assert kpts.shape == (1, 133, 2) and vis.shape == (1, 133)
        ann = by_id[info["id"]]
        flat = np.concatenate([ann[k] for k in ("keypoints", "foot_kpts", "face_kpts",
                                                 "lefthand_kpts", "righthand_kpts")]).reshape(133, 3)
        np.testing.assert_allclose(kpts[0], flat[:, :2])
        np.testing.assert_array_equal(vis[0] > 0, flat[:, 2] > 0)
        for part, sl in PARTS.items():
            if not ann[f"{part}_valid"]:  # an invalid part carries no labelled point
                assert not (vis[0, sl] > 0).any()


def test_training_pipeline_decodes_real_images(coco_mini):
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import MODELS

    cfg = Config.fromfile(str(CONFIG))
    ds = _dataset(coco_mini, pipeline=cfg.train_pipeline)
    batch = pseudo_collate([ds[i] for i in range(len(ds))])
    for img in batch["inputs"]:
        assert tuple(img.shape) == (3, 256, 192)
        assert img.float().std() > 5  # a decoded photo, not a blank canvas
    # the labels: made by the data preprocessor (targets_on_device) or packed by the pipeline
    data = MODELS.build(cfg.model.data_preprocessor)(batch, training=True)
    for sample in data["data_samples"]:
        labels = sample.gt_instance_labels
        assert tuple(labels.keypoint_x_labels.shape) == (1, 133, 384)
        assert tuple(labels.keypoint_y_labels.shape) == (1, 133, 512)
        assert tuple(labels.keypoint_weights.shape) == (1, 133)
