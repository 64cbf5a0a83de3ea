"""Tests of the synthetic COCO-WholeBody demo data set (dwpose/datasets/synthetic.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from dwpose.datasets import synthetic  # noqa: E402
from dwpose.datasets._synthetic_draw import face_landmarks_local  # noqa: E402
from dwpose.datasets.synthetic import build_annotation, generate_demo_dataset, render_sample  # noqa: E402
from dwpose.keypoints import PART_FIELDS, PART_SLICES  # noqa: E402

NUM_TRAIN, NUM_VAL, SIZE = 12, 4, (192, 256)
# iBUG-68 mirror map (the face part of COCO-WholeBody's flip indices).
FACE_FLIP = (
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]
)  # fmt: skip


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "demo"
    generate_demo_dataset(root, num_train=NUM_TRAIN, num_val=NUM_VAL, seed=3, image_size=SIZE)
    return root


def _load(root: Path, split: str = "train") -> dict:
    return json.loads((root / "annotations" / f"demo_wholebody_{split}.json").read_text())


def _triples(ann: dict) -> np.ndarray:
    """(133, 3) keypoints of one annotation in COCO-WholeBody order."""
    return np.concatenate([np.reshape(ann[f], (-1, 3)) for f in PART_FIELDS.values()])


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_layout_and_counts(demo_root: Path) -> None:
    for split, n in (("train", NUM_TRAIN), ("val", NUM_VAL)):
        data = _load(demo_root, split)
        assert len(data["images"]) == len(data["annotations"]) == n
        names = sorted(p.name for p in (demo_root / "images" / split).glob("*.jpg"))
        assert names == [f"{i:06d}.jpg" for i in range(1, n + 1)]
        assert [im["file_name"] for im in data["images"]] == names
        img = cv2.imread(str(demo_root / "images" / split / names[0]))
        assert img.shape == (SIZE[1], SIZE[0], 3)
        assert all((im["width"], im["height"]) == SIZE for im in data["images"])
    cat = _load(demo_root)["categories"]
    assert len(cat) == 1 and cat[0]["id"] == 1 and len(cat[0]["keypoints"]) == 17
    assert len(cat[0]["skeleton"]) == 19 and cat[0]["keypoints"][9] == "left_wrist"


def test_deterministic(demo_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    generate_demo_dataset(other, num_train=NUM_TRAIN, num_val=NUM_VAL, seed=3, image_size=SIZE)
    files = [p.relative_to(demo_root) for p in _all_files(demo_root)]
    assert files == [p.relative_to(other) for p in _all_files(other)]
    for rel in files:
        if rel.suffix == ".json":
            assert (demo_root / rel).read_bytes() == (other / rel).read_bytes(), rel
        elif rel.suffix == ".jpg":
            np.testing.assert_array_equal(cv2.imread(str(demo_root / rel)), cv2.imread(str(other / rel)))
    different = tmp_path / "seed4"
    generate_demo_dataset(different, num_train=NUM_TRAIN, num_val=NUM_VAL, seed=4, image_size=SIZE)
    assert _load(different)["annotations"] != _load(demo_root)["annotations"]


def test_second_call_reuses_without_rewriting(demo_root: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in _all_files(demo_root)}
    start = time.perf_counter()
    info = generate_demo_dataset(demo_root, num_train=NUM_TRAIN, num_val=NUM_VAL, seed=3, image_size=SIZE)
    assert time.perf_counter() - start < 1.0
    assert info["reused"] is True and info["num_train"] == NUM_TRAIN
    assert {p: p.stat().st_mtime_ns for p in _all_files(demo_root)} == before
    assert Path(info["train_ann_file"]).is_file() and Path(info["val_img_dir"]).is_dir()


def test_changed_arguments_replace_the_data_set(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()  # an existing empty folder is accepted
    assert generate_demo_dataset(root, num_train=2, num_val=1)["reused"] is False
    assert len(list((root / "images" / "train").glob("*.jpg"))) == 2
    info = generate_demo_dataset(root, num_train=3, num_val=1)
    assert info["reused"] is False
    assert len(list((root / "images" / "train").glob("*.jpg"))) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no temporary folders left behind


def test_refuses_foreign_folder_and_bad_arguments(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a dwpose demo data set"):
        generate_demo_dataset(foreign, num_train=1, num_val=1)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="counts must be >= 0"):
        generate_demo_dataset(tmp_path / "x", num_train=-1)
    with pytest.raises(ValueError, match="image_size"):
        generate_demo_dataset(tmp_path / "x", image_size=(32, 256))


def test_labelled_points_inside_and_unlabelled_zero(demo_root: Path) -> None:
    for ann in _load(demo_root)["annotations"] + _load(demo_root, "val")["annotations"]:
        kpts = _triples(ann)
        assert kpts.shape == (133, 3) and set(np.unique(kpts[:, 2])) <= {0, 1, 2}
        lab = kpts[kpts[:, 2] > 0]
        assert (lab[:, :2] >= 0).all() and (lab[:, :2] <= np.array(SIZE) - 1).all()
        assert (kpts[kpts[:, 2] == 0, :2] == 0).all()


def test_part_flags_boxes_and_bbox_match_points(demo_root: Path) -> None:
    for ann in _load(demo_root)["annotations"]:
        kpts = _triples(ann)
        for part in ("face", "lefthand", "righthand"):
            part_kpts = kpts[PART_SLICES[part]]
            lab = part_kpts[part_kpts[:, 2] > 0, :2]
            assert ann[f"{part}_valid"] == (len(lab) > 0)
            want = [*lab.min(0), *(lab.max(0) - lab.min(0))] if len(lab) else [0, 0, 0, 0]
            np.testing.assert_allclose(ann[f"{part}_box"], want, atol=0.011)
        assert ann["foot_valid"] == bool((kpts[17:23, 2] > 0).any())
        assert ann["num_keypoints"] == int((kpts[:17, 2] > 0).sum()) > 0
        x, y, w, h = ann["bbox"]
        lab = kpts[kpts[:, 2] > 0, :2]
        assert x <= lab[:, 0].min() and y <= lab[:, 1].min()
        assert x + w >= lab[:, 0].max() and y + h >= lab[:, 1].max()
        assert x >= 0 and y >= 0 and x + w <= SIZE[0] + 0.01 and y + h <= SIZE[1] + 0.01
        assert ann["area"] == pytest.approx(w * h, abs=0.01)
        assert ann["iscrowd"] == 0 and ann["category_id"] == 1 and ann["image_id"] == ann["id"]


def test_build_annotation_flags_and_padding() -> None:
    kpts = np.full((133, 2), 50.0)
    kpts[0] = [10.0, 20.0]
    kpts[1] = [110.0, 220.0]
    vis = np.full(133, 2)
    vis[23:91] = 0  # no face
    vis[17:23] = 1  # feet occluded
    ann = build_annotation(kpts, vis, 112, 225, ann_id=7)
    assert ann["face_valid"] is False and ann["face_box"] == [0.0, 0.0, 0.0, 0.0]
    assert ann["face_kpts"] == [0.0] * 204
    assert ann["foot_valid"] is True and ann["foot_kpts"][2::3] == [1.0] * 6
    assert ann["bbox"] == [5.0, 10.0, 107.0, 215.0]  # 5% padding, clipped at the right and bottom edge
    assert ann["area"] == pytest.approx(107.0 * 215.0)


def test_visibility_follows_image_border_and_occluder() -> None:
    pts = np.array([[0, 0], [191, 255], [191.5, 10], [-0.5, 10], [50, 50], [60, 60], [70, 70]], float)
    vis = synthetic._visibility(pts, 192, 256, np.array([45.0, 45.0, 61.0, 61.0]))
    assert vis.tolist() == [2, 2, 0, 0, 1, 1, 2]


def test_rendered_samples_have_real_visibility() -> None:
    seen = {0: 0, 1: 0}
    for i in range(1, 61):
        _, kpts, vis = render_sample(0, "train", i, SIZE)
        for v in (0, 1):
            seen[v] += int((vis == v).any())
        if (vis == 1).any():  # the occluder is a rectangle: no visible point inside the box of occluded ones
            occ = kpts[vis == 1]
            lo, hi = occ.min(0), occ.max(0)
            inside = (kpts >= lo).all(1) & (kpts <= hi).all(1)
            assert not (inside & (vis == 2)).any(), i
    assert seen[0] >= 3 and seen[1] >= 6, seen


def test_left_limbs_blue_right_limbs_red_and_left_on_image_right() -> None:
    left_blue, right_red, n = [], [], 0
    for i in range(1, 41):
        img, kpts, vis = render_sample(1, "val", i, SIZE)
        px = lambda j: img[int(round(kpts[j, 1])), int(round(kpts[j, 0]))].astype(int)  # noqa: B023
        if vis[9] == 2:
            left_blue.append(px(9)[0] - px(9)[2] > 60)
        if vis[10] == 2:
            right_red.append(px(10)[2] - px(10)[0] > 60)
        if (vis[[5, 6, 11, 12]] > 0).all():  # facing the camera: their left side is on the image right
            n += 1
            assert kpts[5, 0] > kpts[6, 0] and kpts[11, 0] > kpts[12, 0], i
    assert len(left_blue) > 25 and np.mean(left_blue) >= 0.9
    assert len(right_red) > 25 and np.mean(right_red) >= 0.9
    assert n > 25


def test_face_landmarks_follow_ibug_mirror_pairs() -> None:
    local = face_landmarks_local(np.random.default_rng(0))
    mirrored = local[FACE_FLIP]
    jaw = slice(0, 17)
    np.testing.assert_allclose(local[jaw, 0], -mirrored[jaw, 0], atol=1e-9)
    shift = local[17:, 0].mean()  # the features share one small horizontal (yaw) shift
    np.testing.assert_allclose(local[17:, 0] - shift, -(mirrored[17:, 0] - shift), atol=1e-9)
    np.testing.assert_allclose(local[:, 1], mirrored[:, 1], atol=1e-9)
    # iBUG runs from the image left: jaw, brows, eyes (outer, inner | inner, outer), nostrils, mouth
    for chain in ([0, 8, 16], [17, 21, 22, 26], [36, 39, 42, 45], [31, 33, 35], [48, 51, 54], [60, 62, 64]):
        assert (np.diff(local[chain, 0]) > 0).all(), chain


def test_face_flip_map_matches_mmpose() -> None:
    pytest.importorskip("mmpose")
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    meta = parse_pose_metainfo(dict(from_file="configs/_base_/datasets/coco_wholebody.py"))
    flip = meta["flip_indices"]
    assert [flip[23 + i] - 23 for i in range(68)] == FACE_FLIP
    assert [flip[91 + i] for i in range(21)] == list(range(112, 133))
    assert flip[17:23] == [20, 21, 22, 17, 18, 19]


def test_loads_with_coco_api(demo_root: Path) -> None:
    try:
        from xtcocotools.coco import COCO
    except ImportError:
        COCO = pytest.importorskip("pycocotools.coco").COCO
    coco = COCO(str(demo_root / "annotations" / "demo_wholebody_train.json"))
    assert len(coco.getImgIds()) == NUM_TRAIN
    assert len(coco.getAnnIds(catIds=[1], iscrowd=False)) == NUM_TRAIN
    assert coco.loadCats(1)[0]["keypoints"][0] == "nose"


def _wholebody_ap(root: Path, tmp_path: Path, shift: float) -> float:
    """Whole-body AP of the ground truth used as detections, every point moved by ``shift`` pixels."""
    coco_mod = pytest.importorskip("xtcocotools.coco")
    from xtcocotools.cocoeval import COCOeval

    gt = coco_mod.COCO(str(root / "annotations" / "demo_wholebody_train.json"))
    results = []
    for ann in gt.dataset["annotations"]:
        res = {"image_id": ann["image_id"], "category_id": 1, "score": 1.0}
        for field in PART_FIELDS.values():
            kpts = np.reshape(ann[field], (-1, 3)) + [shift, shift, 0]
            kpts[:, 2] = 1.0
            res[field] = kpts.reshape(-1).tolist()
        results.append(res)
    res_file = tmp_path / "res.json"
    res_file.write_text(json.dumps(results))
    ev = COCOeval(gt, gt.loadRes(str(res_file)), "keypoints_wholebody", np.full(133, 0.05), use_area=True)
    ev.params.useSegm = None
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


def test_ground_truth_scores_perfect_wholebody_ap(demo_root: Path, tmp_path: Path) -> None:
    assert _wholebody_ap(demo_root, tmp_path, 0.0) == pytest.approx(1.0)
    assert _wholebody_ap(demo_root, tmp_path, 20.0) < 0.5


def test_loads_as_mmpose_coco_wholebody_dataset(demo_root: Path) -> None:
    datasets = pytest.importorskip("mmpose.datasets")
    ds = datasets.CocoWholeBodyDataset(
        ann_file=str(demo_root / "annotations" / "demo_wholebody_train.json"),
        data_root="",
        data_prefix=dict(img=str(demo_root / "images" / "train") + "/"),
        data_mode="topdown",
        pipeline=[],
    )
    assert len(ds) == NUM_TRAIN
    info = ds[0]
    assert info["keypoints"].shape == (1, 133, 2) and info["keypoints_visible"].shape == (1, 133)
    assert Path(info["img_path"]).is_file()
    assert info["keypoints_visible"].sum() > 17


def test_cli_writes_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from dwpose import cli

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    out = tmp_path / "cli"
    assert cli.main(["demo-data", str(out), "--num-train", "2", "--num-val", "1", "--seed", "5"]) == 0
    assert "2 train + 1 val" in capsys.readouterr().out
    assert len(_load(out)["images"]) == 2 and len(_load(out, "val")["images"]) == 1
    assert cli.main(["demo-data", str(tmp_path / "bad"), "--num-train", "-1"]) == 2
    assert "error: image counts must be >= 0" in capsys.readouterr().err
