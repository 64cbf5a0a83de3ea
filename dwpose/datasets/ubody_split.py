"""UBody train / val annotation files from the official split lists (``ubody_split.py``).

For each scene, ``annotations/<scene>/keypoint_annotation.json`` becomes ``train_annotations.json`` and
``val_annotations.json`` next to it, and all scenes' val images are merged into
``annotations/val_annotations.json`` (ids renumbered 1.. so that they are unique across scenes).

- A video named in the split list(s) (``splits/intra_scene_test_list.npy`` and/or
  ``inter_scene_test_list.npy``) goes to val, every other one to train. List entries may be bare video
  names or paths, with or without a video extension; an image's video is the folder its frame sits in,
  matched with and without a ``_Trim...`` suffix (how UBody names trimmed clips).
- Image ``file_name``s become relative to ``images/``: ``'/vid/000001.png'`` in scene ``Fitness`` ->
  ``'Fitness/vid/000001.png'``. Every other field of images and annotations passes through unchanged,
  per-scene files keep UBody's ids, and ``categories`` gets the COCO person entry (see ``add_cat.py``).
- With ``check_images`` (the default), annotations whose frame is missing under ``images/`` are left out
  and counted (run ``video2image.py`` first).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from dwpose.datasets.ubody import check_coco_style, find_scene_annotations, with_person_category
from dwpose.errors import UserError
from dwpose.fileio import VIDEO_EXTENSIONS, atomic_write_json, read_json

SPLIT_LISTS: Dict[str, str] = {"intra": "intra_scene_test_list.npy", "inter": "inter_scene_test_list.npy"}


@dataclass
class SceneSplit:
    """Counts for one scene: images / annotations per split, annotations dropped for missing frames."""

    scene: str
    images: Dict[str, int] = field(default_factory=dict)
    annotations: Dict[str, int] = field(default_factory=dict)
    missing_frames: int = 0


def normalize_video_name(entry: str) -> str:
    """A split-list entry as a bare video name: no folders, no video extension (``'a/b.mp4'`` -> ``'b'``)."""
    name = str(entry).strip().replace("\\", "/").rstrip("/").split("/")[-1]
    stem, dot, ext = name.rpartition(".")
    return stem if dot and f".{ext.lower()}" in VIDEO_EXTENSIONS else name


def load_test_videos(root: Path, which: Sequence[str] = ("intra",)) -> Set[str]:
    """Video names of the official test split(s) ``which`` (``intra``, ``inter``), normalized."""
    names: Set[str] = set()
    for key in which:
        if key not in SPLIT_LISTS:
            raise UserError(f"unknown split list {key!r}; choose from {sorted(SPLIT_LISTS)}")
        path = root / "splits" / SPLIT_LISTS[key]
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist (UBody's splits/ folder)")
        try:
            entries = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise UserError(f"{path} is not a plain array of video names ({exc})") from exc
        names.update(normalize_video_name(e) for e in np.asarray(entries).reshape(-1).tolist())
    return names


def video_of(file_name: str) -> str:
    """The video of a frame: the folder it sits in (``'/vid_Trim1/000001.png'`` -> ``'vid_Trim1'``)."""
    parts = file_name.lstrip("/").split("/")
    return parts[-2] if len(parts) > 1 else ""


def in_test_split(file_name: str, test_videos: Set[str]) -> bool:
    """Whether the frame's video (or its name before ``_Trim``) is in the test list."""
    video = video_of(file_name)
    return video in test_videos or video.split("_Trim")[0] in test_videos


class _FrameIndex:
    """Existence checks for many frames, one directory listing per folder."""

    def __init__(self, images_dir: Path) -> None:
        self.images_dir = images_dir
        self._listing: Dict[str, Set[str]] = {}

    def exists(self, rel_path: str) -> bool:
        folder, _, name = rel_path.rpartition("/")
        if folder not in self._listing:
            try:
                self._listing[folder] = set(os.listdir(self.images_dir / folder))
            except OSError:
                self._listing[folder] = set()
        return name in self._listing[folder]


def split_scene(
    data: dict, scene: str, test_videos: Set[str], frames: Optional[_FrameIndex] = None
) -> Tuple[Dict[str, dict], SceneSplit]:
    """Split one scene's annotation dict into ``{"train": coco_dict, "val": coco_dict}``.

    Args:
        data: the scene's ``keypoint_annotation.json`` content.
        scene: the scene folder name (prefix of the new ``file_name``s).
        test_videos: names from :func:`load_test_videos`.
        frames: when given, annotations whose frame is missing are dropped.
    """
    categories, _ = with_person_category(data.get("categories"))
    out = {s: {"images": [], "annotations": [], "categories": categories} for s in ("train", "val")}
    stats = SceneSplit(scene)
    split_of: Dict[object, str] = {}
    for img in data["images"]:
        rel = f"{scene}/{img['file_name'].lstrip('/')}"
        if frames is not None and not frames.exists(rel):
            split_of[img["id"]] = "missing"
            continue
        split = "val" if in_test_split(img["file_name"], test_videos) else "train"
        split_of[img["id"]] = split
        out[split]["images"].append({**img, "file_name": rel})
    for ann in data["annotations"]:
        split = split_of.get(ann["image_id"], "missing")
        if split == "missing":
            stats.missing_frames += 1
            continue
        out[split]["annotations"].append(ann)
    for split, coco in out.items():
        stats.images[split] = len(coco["images"])
        stats.annotations[split] = len(coco["annotations"])
    return out, stats


def merge_renumbered(parts: Iterable[dict]) -> dict:
    """Merge COCO dicts into one, renumbering image and annotation ids 1.. (in order) to keep them unique."""
    merged: dict = {"images": [], "annotations": [], "categories": None}
    for coco in parts:
        merged["categories"] = merged["categories"] or coco["categories"]
        new_img_id = {}
        for img in coco["images"]:
            new_img_id[img["id"]] = len(merged["images"]) + 1
            merged["images"].append({**img, "id": new_img_id[img["id"]]})
        for ann in coco["annotations"]:
            new_id = len(merged["annotations"]) + 1
            merged["annotations"].append({**ann, "id": new_id, "image_id": new_img_id[ann["image_id"]]})
    merged["categories"] = merged["categories"] or with_person_category(None)[0]
    return merged


def split_ubody(
    root: str | os.PathLike = "data/UBody", which: Sequence[str] = ("intra",), check_images: bool = True
) -> List[SceneSplit]:
    """Write every scene's ``train_annotations.json`` / ``val_annotations.json`` and the merged val file.

    Returns:
        One :class:`SceneSplit` per scene, in scene-name order.
    """
    root = Path(root)
    test_videos = load_test_videos(root, which)
    frames = None
    if check_images:
        if not (root / "images").is_dir():
            raise FileNotFoundError(
                f"{root / 'images'} does not exist: run video2image.py first, or --no-image-check"
            )
        frames = _FrameIndex(root / "images")
    summary, val_parts = [], []
    for ann_path in find_scene_annotations(root):
        scene = ann_path.parent.name
        data = read_json(ann_path)
        check_coco_style(data, str(ann_path))
        splits, stats = split_scene(data, scene, test_videos, frames)
        for split, coco in splits.items():
            atomic_write_json(ann_path.parent / f"{split}_annotations.json", coco)
        val_parts.append(splits["val"])
        summary.append(stats)
    atomic_write_json(root / "annotations" / "val_annotations.json", merge_renumbered(val_parts))
    return summary
