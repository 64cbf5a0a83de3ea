"""UBodyWholeBodyDataset and the UBody test config: image paths, scene filter, metric wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mmpose")

from dwpose.datasets.ubody_dataset import UBodyWholeBodyDataset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = (
    REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody/rtmpose-l_8xb64-270e_ubody-wholebody-256x192.py"
)


def person(ann_id: int, img_id: int, complete: bool) -> dict:
    kpts = lambda n: [10.0, 20.0, 2.0] * n  # noqa: E731
    ann = {
        "id": ann_id, "image_id": img_id, "category_id": 1, "bbox": [5, 5, 30, 30], "area": 500.0,
        "keypoints": kpts(17), "foot_kpts": kpts(6), "face_kpts": kpts(68), "lefthand_kpts": kpts(21),
        "righthand_kpts": kpts(21),
    }  # fmt: skip
    if complete:  # what mmpose's CocoWholeBodyDataset requires; some UBody files lack them
        ann.update(iscrowd=0, num_keypoints=133, segmentation=[])
    return ann


def write_ann(path: Path, file_names: list, complete: bool = False) -> Path:
    images = [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(file_names)]
    anns = [person(100 + i, i + 1, complete) for i in range(len(file_names))]
    cats = [{"id": 1, "name": "person", "supercategory": "person"}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


SPLIT_NAMES = ["Fitness/gym_a/000001.png", "Speech/talk/000001.png", "Fitness/gym_b/000002.png"]


def build(tmp_path: Path, names=SPLIT_NAMES, dataset_type=UBodyWholeBodyDataset, complete=False, **kwargs):
    write_ann(tmp_path / "annotations/val_annotations.json", names, complete)
    kwargs.setdefault("data_prefix", dict(img="images/"))
    return dataset_type(
        data_root=str(tmp_path),
        ann_file="annotations/val_annotations.json",
        test_mode=True,
        pipeline=[],
        **kwargs,
    )


def test_paths_and_filled_in_fields(tmp_path):
    ds = build(tmp_path)
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert info["img_path"] == str(tmp_path / "images/Fitness/gym_a/000001.png")
    assert info["num_keypoints"] == 17  # as COCO(-WholeBody): labelled body points
    assert info["iscrowd"] == 0 and info["keypoints"].shape == (1, 133, 2)


def test_scene_filter(tmp_path):
    ds = build(tmp_path, scenes="Fitness")
    assert sorted(ds.get_data_info(i)["img_path"].split("/")[-2] for i in range(len(ds))) == [
        "gym_a",
        "gym_b",
    ]
    assert len(build(tmp_path, scenes=["Speech", "Fitness"])) == 3


def test_unknown_scene_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown UBody scene.*Fitnes"):
        build(tmp_path, scenes="Fitnes")


def test_mmpose_ubody2d_reads_split_output_but_not_leading_slashes(tmp_path):
    from mmpose.datasets import UBody2dDataset

    ours = build(tmp_path, complete=True)
    theirs = build(tmp_path, dataset_type=UBody2dDataset, complete=True)
    assert [ours.get_data_info(i)["img_path"] for i in range(3)] == [
        theirs.get_data_info(i)["img_path"] for i in range(3)
    ]
    raw = ["/gym_a/000001.png"]  # a raw UBody file, relative to images/<scene>/
    prefix = dict(img="images/Fitness/")
    assert build(tmp_path, raw, data_prefix=prefix).get_data_info(0)["img_path"] == str(
        tmp_path / "images/Fitness/gym_a/000001.png"
    )
    wrong = build(tmp_path, raw, UBody2dDataset, complete=True, data_prefix=prefix).get_data_info(0)[
        "img_path"
    ]
    assert wrong == "/gym_a/000001.png"  # os.path.join dropped the prefix


def test_ubody_test_config_builds_dataset_and_metric(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS, METRICS

    import dwpose.evaluation.metric  # noqa: F401  registers WholeBodyTableMetric

    cfg = Config.fromfile(str(TEST_CONFIG))
    assert cfg.test_dataloader.dataset.pipeline == cfg.val_pipeline
    assert cfg.test_evaluator.scene_from_path and cfg.test_evaluator.seen_images_only
    assert cfg.val_evaluator.ann_file.endswith("coco_wholebody_val_v1.0.json")  # validation stays on COCO
    write_ann(tmp_path / "UBody/annotations/val_annotations.json", SPLIT_NAMES)
    cfg.merge_from_dict({
        "test_dataloader.dataset.data_root": str(tmp_path),
        "test_dataloader.dataset.scenes": "Speech",
        "test_evaluator.ann_file": str(tmp_path / "UBody/annotations/val_annotations.json"),
    })  # fmt: skip
    init_default_scope("mmpose")
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 1
    assert dataset.get_data_info(0)["img_path"] == str(tmp_path / "UBody/images/Speech/talk/000001.png")
    metric = METRICS.build(cfg.test_evaluator)
    assert type(metric).__name__ == "WholeBodyTableMetric" and len(metric.coco.getImgIds()) == 3
