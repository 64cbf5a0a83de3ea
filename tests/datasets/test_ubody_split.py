"""ubody_split.py on a tiny fake UBody tree: split by the official lists, file names, merged val file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from dwpose.datasets.ubody_split import in_test_split, normalize_video_name

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "dataset_converters" / "ubody_split.py"
_spec = importlib.util.spec_from_file_location("ubody_split_tool", _TOOL)
ubody_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ubody_split)

# scene -> videos (the folder each frame sits in, as UBody's file_names give it)
VIDEOS = {"Fitness": ["gym_a", "gym_b_Trim2", "gym.c"], "Speech": ["talk_a", "talk_b"]}


def make_tree(root: Path, test_list, inter_list=None, frames=True) -> None:
    """Two images per video (the second with a leading '/'), one person per image, ids 1.. per scene."""
    for scene, videos in VIDEOS.items():
        images, anns = [], []
        for v in videos:
            for f in (1, 2):
                img_id = len(images) + 1
                name = f"{'/' if f == 2 else ''}{v}/{f:06d}.png"
                images.append({"id": img_id, "file_name": name, "width": 64, "height": 48, "extra": v})
                anns.append({"id": 100 + img_id, "image_id": img_id, "bbox": [0, 0, 9, 9], "smplx": [f]})
                if frames:
                    png = root / "images" / scene / v / f"{f:06d}.png"
                    png.parent.mkdir(parents=True, exist_ok=True)
                    png.write_bytes(b"png")
        path = root / "annotations" / scene / "keypoint_annotation.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"images": images, "annotations": anns}))
    (root / "splits").mkdir(parents=True, exist_ok=True)
    np.save(root / "splits/intra_scene_test_list.npy", np.array(test_list))
    np.save(root / "splits/inter_scene_test_list.npy", np.array(inter_list or ["nothing"]))


def load(root: Path, rel: str) -> dict:
    return json.loads((root / "annotations" / rel).read_text())


def videos_in(coco: dict) -> set:
    return {im["file_name"].split("/")[1] for im in coco["images"]}


def test_split_by_the_intra_scene_list(tmp_path, capsys):
    # entries as the lists may hold them: bare names, paths, extensions, trimmed clip names
    make_tree(tmp_path, ["gym_b", "Speech/talk_a.mp4", "gym.c"])
    assert ubody_split.main(["--root", str(tmp_path)]) == 0
    fit_train, fit_val = (
        load(tmp_path, "Fitness/train_annotations.json"),
        load(tmp_path, "Fitness/val_annotations.json"),
    )
    assert videos_in(fit_train) == {"gym_a"}
    assert videos_in(fit_val) == {"gym_b_Trim2", "gym.c"}
    assert videos_in(load(tmp_path, "Speech/val_annotations.json")) == {"talk_a"}
    assert videos_in(load(tmp_path, "Speech/train_annotations.json")) == {"talk_b"}
    assert "Fitness: train 2 images / 2 people, val 4 images / 4 people" in capsys.readouterr().out


def test_file_names_relative_to_images_and_fields_kept(tmp_path):
    make_tree(tmp_path, ["gym_b"])
    assert ubody_split.main(["--root", str(tmp_path)]) == 0
    train = load(tmp_path, "Fitness/train_annotations.json")
    names = [im["file_name"] for im in train["images"]]
    assert "Fitness/gym_a/000001.png" in names and "Fitness/gym_a/000002.png" in names
    assert all(not n.startswith("/") and (tmp_path / "images" / n).is_file() for n in names)
    assert train["images"][0]["extra"] == "gym_a" and train["annotations"][0]["smplx"] == [1]
    assert [a["id"] for a in train["annotations"]] == [101, 102, 105, 106]  # UBody's ids kept (gym_a, gym.c)
    assert len(train["categories"][0]["keypoints"]) == 17


def test_every_annotation_lands_in_exactly_one_split(tmp_path):
    make_tree(tmp_path, ["gym_a", "talk_b"])
    assert ubody_split.main(["--root", str(tmp_path)]) == 0
    for scene in VIDEOS:
        original = load(tmp_path, f"{scene}/keypoint_annotation.json")
        parts = [load(tmp_path, f"{scene}/{s}_annotations.json") for s in ("train", "val")]
        ann_ids = sorted(a["id"] for p in parts for a in p["annotations"])
        assert ann_ids == sorted(a["id"] for a in original["annotations"])
        for p in parts:
            assert {a["image_id"] for a in p["annotations"]} == {im["id"] for im in p["images"]}


def test_merged_val_file_has_unique_ids_and_all_scenes(tmp_path):
    make_tree(tmp_path, ["gym_a", "talk_a"])
    assert ubody_split.main(["--root", str(tmp_path)]) == 0
    merged = load(tmp_path, "val_annotations.json")
    img_ids = [im["id"] for im in merged["images"]]
    assert len(set(img_ids)) == len(img_ids) == 4  # both scenes used ids 1..n
    by_id = {im["id"]: im for im in merged["images"]}
    for ann in merged["annotations"]:  # each person still points at its own frame
        image = by_id[ann["image_id"]]
        assert (
            image["file_name"]
            == f"{image['file_name'].split('/')[0]}/{image['extra']}/{ann['smplx'][0]:06d}.png"
        )
    assert {im["file_name"].split("/")[0] for im in by_id.values()} == {"Fitness", "Speech"}


def test_inter_and_both_lists(tmp_path):
    make_tree(tmp_path, ["gym_a"], inter_list=["talk_b"])
    assert ubody_split.main(["--root", str(tmp_path), "--split", "inter"]) == 0
    assert videos_in(load(tmp_path, "Speech/val_annotations.json")) == {"talk_b"}
    assert videos_in(load(tmp_path, "Fitness/val_annotations.json")) == set()
    assert ubody_split.main(["--root", str(tmp_path), "--split", "both"]) == 0
    assert videos_in(load(tmp_path, "Fitness/val_annotations.json")) == {"gym_a"}


def test_missing_frames_are_left_out_unless_asked(tmp_path, capsys):
    make_tree(tmp_path, ["gym_a"])
    (tmp_path / "images/Fitness/gym_b_Trim2/000002.png").unlink()
    assert ubody_split.main(["--root", str(tmp_path)]) == 0
    assert "1 people without a frame left out" in capsys.readouterr().out
    assert len(load(tmp_path, "Fitness/train_annotations.json")["images"]) == 3
    assert ubody_split.main(["--root", str(tmp_path), "--no-image-check"]) == 0
    assert len(load(tmp_path, "Fitness/train_annotations.json")["images"]) == 4


def test_no_images_folder_points_to_video2image(tmp_path, capsys):
    make_tree(tmp_path, ["gym_a"], frames=False)
    assert ubody_split.main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "video2image.py" in err[0]


def test_missing_split_list(tmp_path, capsys):
    make_tree(tmp_path, ["gym_a"])
    (tmp_path / "splits/intra_scene_test_list.npy").unlink()
    assert ubody_split.main(["--root", str(tmp_path)]) == 2
    assert "intra_scene_test_list.npy does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entry", "name"),
    [("clip", "clip"), ("Fitness/clip.mp4", "clip"), ("/a/b/clip.MKV", "clip"), ("clip.v2", "clip.v2")],
)
def test_normalize_video_name(entry, name):
    assert normalize_video_name(entry) == name


def test_trimmed_clips_follow_their_video():
    assert in_test_split("/vid_Trim3/000001.png", {"vid"})
    assert not in_test_split("/vid2_Trim3/000001.png", {"vid"})
    assert in_test_split("vid_Trim3/000001.png", {"vid_Trim3"})
