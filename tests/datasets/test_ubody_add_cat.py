"""add_cat.py: adds the COCO person category once, atomically, and refuses non-COCO files clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import add_cat  # the repo-root entry point
from dwpose import fileio
from dwpose.datasets import ubody


def write_scene(root: Path, scene: str, data) -> Path:
    path = root / "annotations" / scene / "keypoint_annotation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def ubody_like(extra=None) -> dict:
    data = {
        "images": [{"id": 1, "file_name": "/clip/000001.png", "width": 64, "height": 48}],
        "annotations": [{"id": 7, "image_id": 1, "bbox": [1, 2, 3, 4], "lefthand_valid": True}],
    }
    data.update(extra or {})
    return data


def test_adds_the_person_category_to_every_scene(tmp_path, capsys):
    paths = [write_scene(tmp_path, s, ubody_like()) for s in ("Fitness", "Speech")]
    assert add_cat.main(["--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for path in paths:
        data = json.loads(path.read_text())
        (cat,) = data["categories"]
        assert cat["id"] == 1 and cat["name"] == "person"
        assert cat["keypoints"][0] == "nose" and cat["keypoints"][-1] == "right_ankle"
        assert len(cat["keypoints"]) == 17 and len(cat["skeleton"]) == 19
        assert all(1 <= i <= 17 for link in cat["skeleton"] for i in link)
        assert data["annotations"][0]["lefthand_valid"] is True  # other fields untouched
        assert f"{path}: added the COCO person category" in out


def test_second_run_changes_nothing(tmp_path, capsys):
    path = write_scene(tmp_path, "Movie", ubody_like())
    assert add_cat.main(["--root", str(tmp_path)]) == 0
    first = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    capsys.readouterr()
    assert add_cat.main(["--root", str(tmp_path)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert path.read_bytes() == first and path.stat().st_mtime_ns == mtime


def test_a_bare_person_category_is_completed_and_others_kept(tmp_path):
    bare = {"supercategory": "person", "id": 1, "name": "person", "note": "mine"}
    other = {"id": 2, "name": "ball"}
    path = write_scene(tmp_path, "Olympic", ubody_like({"categories": [bare, other]}))
    assert add_cat.main(["--root", str(tmp_path)]) == 0
    cats = json.loads(path.read_text())["categories"]
    assert cats[1] == other
    assert cats[0]["note"] == "mine" and len(cats[0]["keypoints"]) == 17


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[1, 2, 3]", "top level is list"),
        ('{"images": []}', "no 'annotations' list"),
        ("{broken", "not valid JSON"),
    ],
)
def test_non_coco_file_is_refused_with_one_line(tmp_path, capsys, content, reason):
    good = write_scene(tmp_path, "Fitness", ubody_like())
    bad = tmp_path / "annotations/Speech/keypoint_annotation.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    assert add_cat.main(["--root", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and err[0].startswith("add_cat.py: error: ") and str(bad) in err[0] and reason in err[0]
    )
    assert bad.read_text() == content  # refused, untouched
    assert "categories" in json.loads(good.read_text())  # the good scene still done


def test_no_annotations_found(tmp_path, capsys):
    assert add_cat.main(["--root", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_failed_write_leaves_the_original(tmp_path, monkeypatch):
    path = write_scene(tmp_path, "Fitness", ubody_like())
    before = path.read_bytes()

    def broken_sync(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fileio, "_fsync_file", broken_sync)  # fails after the temporary file is written
    with pytest.raises(OSError, match="disk full"):
        ubody.add_person_category_to_file(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["keypoint_annotation.json"]  # no temp file left
