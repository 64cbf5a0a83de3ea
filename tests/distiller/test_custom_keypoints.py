"""The custom keypoint walk-through of docs/training.md (K = 21, one hand), step by step, on real photos.

The data set is generated from COCO-WholeBody mini (../shared): the left hands, 21 keypoints each
(``python -m dwpose.datasets.part_subset``). The configs are a copy of ``configs/custom/hand21`` with
``_base_/dataset.py`` edited to point at it, as docs/training.md tells a user to do. Every step runs through
the real entry points (tools/train.py's, pth_transfer.py's, ``dwpose predict`` / ``dwpose export``),
shortened by ``--cfg-options`` to one step of batch 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.distiller.helpers import REPO, differing

# three real training runs at the walk-through's 256x192 (teacher, stage 1, stage 2): about 50 s
pytestmark = pytest.mark.slow

K = 21
SHORT = ["train_cfg.max_epochs=1", "train_dataloader.batch_size=2", "train_dataloader.dataset.indices=2",
         "train_dataloader.num_workers=0",
         "train_dataloader.persistent_workers=False", "default_hooks.logger.interval=1"]


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory, coco_mini):
    from dwpose.datasets.part_subset import main as part_subset
    from dwpose.distiller.transfer import main as pth_transfer
    from dwpose.engine.train import main as train

    root = Path(tmp_path_factory.mktemp("hand21"))
    # 0. data: the left hands of COCO-WholeBody mini
    ann = root / "data/hand21/hand21_train.json"
    ann.parent.mkdir(parents=True)
    assert part_subset([str(coco_mini / "coco_wholebody_mini.json"), str(ann), "--part", "lefthand"]) == 0
    # 1. configs: a copy of configs/custom/hand21 (with the shared bases), dataset.py edited
    cfg_dir = root / "configs/custom/myset"
    shutil.copytree(REPO / "configs/_base_", root / "configs/_base_")
    shutil.copytree(REPO / "configs/custom/hand21", cfg_dir)
    dataset = cfg_dir / "_base_/dataset.py"
    text = dataset.read_text()
    for old, new in (("data_root='data/'", f"data_root='{root}/data/'"),
                     ("train_img='coco/train2017/'", f"train_img='{coco_mini}/images/'"),
                     ("val_img='coco/val2017/'", f"val_img='{coco_mini}/images/'"),
                     ("val_ann='hand21/hand21_val.json'", "val_ann='hand21/hand21_train.json'")):
        assert old in text
        text = text.replace(old, new)
    dataset.write_text(text)
    out = {"root": root, "cfg_dir": cfg_dir, "ann": ann}
    work = root / "work_dirs"
    # 2. teacher
    assert train([str(cfg_dir / "rtmpose-m_hand21-256x192.py"), "--work-dir", str(work / "teacher"),
                  "--cfg-options", *SHORT]) == 0
    # 3. stage 1 and its export
    assert train([str(cfg_dir / "dwpose_m_dis_t__hand21-256x192.py"), "--work-dir", str(work / "s1"),
                  "--cfg-options", f"model.teacher_ckpt={work / 'teacher/epoch_1.pth'}", *SHORT]) == 0
    out["s1_plain"] = root / "dwpose-t_hand21_stage1.pth"
    assert pth_transfer([str(work / "s1/epoch_1.pth"), str(out["s1_plain"])]) == 0
    # 4. stage 2 and its export
    assert train([str(cfg_dir / "dwpose_t-tt__hand21-256x192.py"), "--work-dir", str(work / "s2"),
                  "--cfg-options", f"model.teacher_ckpt={out['s1_plain']}", *SHORT]) == 0
    out["plain"] = root / "dwpose-t_hand21.pth"
    assert pth_transfer([str(work / "s2/epoch_1.pth"), str(out["plain"])]) == 0
    out["work"] = work
    return out


def test_generated_hand_set_loads_with_its_metainfo(walkthrough, coco_mini):
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoDataset

    raw = json.loads((coco_mini / "coco_wholebody_mini.json").read_text())
    hands = [a for a in raw["annotations"] if a["lefthand_valid"] and any(a["lefthand_kpts"][2::3])]
    init_default_scope("mmpose")
    ds = CocoDataset(data_root=str(walkthrough["root"] / "data"), ann_file="hand21/hand21_train.json",
                     data_prefix=dict(img=f"{coco_mini}/images/"), pipeline=[],
                     metainfo=dict(from_file=str(walkthrough["cfg_dir"] / "_base_/hand21_metainfo.py")))
    assert ds.metainfo["num_keypoints"] == K and len(ds) == len(hands) > 0
    for i, hand in enumerate(hands):
        info = ds.get_data_info(i)
        np.testing.assert_allclose(info["keypoints"][0], np.reshape(hand["lefthand_kpts"], (K, 3))[:, :2])
        np.testing.assert_allclose(info["bbox"][0], [hand["lefthand_box"][0], hand["lefthand_box"][1],
                                                     hand["lefthand_box"][0] + hand["lefthand_box"][2],
                                                     hand["lefthand_box"][1] + hand["lefthand_box"][3]])


def test_stage2_export_keeps_the_stage1_backbone(walkthrough):
    s1 = torch.load(walkthrough["s1_plain"], weights_only=True)["state_dict"]
    s2 = torch.load(walkthrough["plain"], weights_only=True)["state_dict"]
    backbone = lambda sd: {k: v for k, v in sd.items() if k.startswith("backbone.")}  # noqa: E731
    assert differing(backbone(s1), backbone(s2)) == []
    assert s2["head.final_layer.weight"].shape[0] == K  # one map per keypoint


def test_predict_and_onnx_export_with_21_keypoints(walkthrough, coco_mini, tmp_path, capsys):
    from dwpose.cli import main as dwpose

    student_cfg = str(walkthrough["cfg_dir"] / "rtmpose-t_hand21-256x192.py")
    hands = json.loads(walkthrough["ann"].read_text())
    image = next(im for im in hands["images"])
    boxes = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
             for a in hands["annotations"] if a["image_id"] == image["id"]]
    (tmp_path / "hands.json").write_text(json.dumps({image["file_name"]: boxes}))
    photo = str(coco_mini / "images" / image["file_name"])
    stem = Path(image["file_name"]).stem
    # 5. predict with the PyTorch model and with its ONNX export
    assert dwpose(["predict", photo, "--pose", student_cfg, str(walkthrough["plain"]),
                   "--boxes", str(tmp_path / "hands.json"), "--out", str(tmp_path / "torch")]) == 0
    assert "note: the pose model predicts 21 keypoints" in capsys.readouterr().out
    onnx_path = tmp_path / "dwpose-t_hand21.onnx"
    assert dwpose(["export", "onnx", student_cfg, str(walkthrough["plain"]), str(onnx_path), "--check"]) == 0
    assert dwpose(["predict", photo, "--pose", str(onnx_path), "--boxes", str(tmp_path / "hands.json"),
                   "--out", str(tmp_path / "onnx")]) == 0
    got = {name: np.load(tmp_path / name / f"{stem}.npz") for name in ("torch", "onnx")}
    assert got["torch"]["keypoints"].shape == (len(boxes), K, 2)
    assert got["torch"]["scores"].shape == (len(boxes), K)
    np.testing.assert_allclose(got["onnx"]["keypoints"], got["torch"]["keypoints"], atol=0.51)
    # plain arrays only: no Cog person dicts, no OpenPose JSON, a picture
    assert not (tmp_path / "torch" / f"{stem}.json").exists()
    assert (tmp_path / "torch" / f"{stem}.png").is_file()
