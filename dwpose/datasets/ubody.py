"""UBody preparation: the scene list, the COCO person category (``add_cat.py``) and JSON helpers.

UBody layout (``--root``, default ``data/UBody``)::

    videos/<scene>/.../<video>.mp4                  the downloaded videos
    images/<scene>/.../<video stem>/000001.png      frames at 30 fps   (video2image.py)
    annotations/<scene>/keypoint_annotation.json    COCO-WholeBody style; image file_names are relative
                                                    to images/<scene>/ and some start with '/'
    annotations/<scene>/{train,val}_annotations.json  (tools/dataset_converters/ubody_split.py)
    splits/{intra,inter}_scene_test_list.npy        the official test videos

Only numpy and the standard library here: these tools run without torch or mm*.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

from dwpose.fileio import atomic_open, require_file

UBODY_SCENES: Tuple[str, ...] = (
    "Magic_show", "Entertainment", "ConductMusic", "Online_class", "TalkShow", "Speech", "Fitness",
    "Interview", "Olympic", "TVShow", "Singing", "SignLanguage", "Movie", "LiveVlog", "VideoConference",
)  # fmt: skip

COCO_BODY_KEYPOINTS: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# COCO's 19 limbs, 1-based keypoint indices as in person_keypoints_*.json.
COCO_BODY_SKELETON: Tuple[Tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
    (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip


def person_category() -> Dict[str, Any]:
    """A fresh copy of the COCO ``person`` category (id 1, 17 keypoint names, 19-link skeleton)."""
    return {
        "supercategory": "person",
        "id": 1,
        "name": "person",
        "keypoints": list(COCO_BODY_KEYPOINTS),
        "skeleton": [list(link) for link in COCO_BODY_SKELETON],
    }


def check_coco_style(data: Any, source: str) -> None:
    """Raise ``ValueError`` unless ``data`` is a COCO-style dict with ``images`` and ``annotations`` lists."""
    if not isinstance(data, dict):
        raise ValueError(
            f"{source} is not COCO-style JSON (top level is {type(data).__name__}, not an object)"
        )
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"{source} is not COCO-style JSON (no '{key}' list)")
    if "categories" in data and not isinstance(data["categories"], list):
        raise ValueError(f"{source} is not COCO-style JSON ('categories' is not a list)")


def with_person_category(categories: List[dict] | None) -> Tuple[List[dict], str]:
    """Categories completed with the COCO person entry.

    A missing or empty list gets ``[person]``; an entry with id 1 gets the fields it lacks
    (``keypoints``, ``skeleton``, ...) and keeps the ones it has; without id 1, person is appended.

    Returns:
        ``(new categories, what changed)``; the text is empty when nothing changed.
    """
    categories = [dict(c) for c in categories or []]
    ours = person_category()
    for i, cat in enumerate(categories):
        if cat.get("id") == ours["id"]:
            missing = [k for k in ours if k not in cat]
            categories[i] = {**ours, **cat}
            return categories, (f"completed category 1 with {', '.join(missing)}" if missing else "")
    categories.append(ours)
    return categories, "added the COCO person category (id 1)"


def add_person_category_to_file(path: str | os.PathLike) -> str:
    """Add / complete the person category of one annotation file in place (atomically, idempotent).

    Returns:
        What changed (empty when the file already had it).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not COCO-style JSON.
    """
    data = read_json(path)
    check_coco_style(data, str(path))
    data["categories"], change = with_person_category(data.get("categories"))
    if change:
        write_json_atomic(path, data)
    return change


def find_scene_annotations(
    root: str | os.PathLike, file_name: str = "keypoint_annotation.json"
) -> List[Path]:
    """``<root>/annotations/<scene>/<file_name>`` for every scene folder that has one, sorted."""
    ann_dir = Path(root) / "annotations"
    if not ann_dir.is_dir():
        raise FileNotFoundError(f"{ann_dir} does not exist; is --root the UBody folder?")
    found = sorted(p for p in ann_dir.glob(f"*/{file_name}") if p.is_file())
    if not found:
        raise FileNotFoundError(f"no {ann_dir}/<scene>/{file_name} found")
    return found


def read_json(path: str | os.PathLike) -> Any:
    """Load JSON; a missing file is ``FileNotFoundError``, broken JSON a one-line ``ValueError``."""
    require_file(path, "JSON file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({str(exc).splitlines()[0]})") from exc


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON to ``path`` atomically (temporary file + rename, mode from the umask)."""
    with atomic_open(path, "w") as f:
        json.dump(data, f)


def add_person_category_to_scenes(
    root: str | os.PathLike, file_name: str = "keypoint_annotation.json"
) -> int:
    """``add_cat.py``: run :func:`add_person_category_to_file` on every scene, printing one line per file.

    A file that is not COCO-style JSON is refused with one ``error:`` line on stderr; the others go on.

    Returns:
        The number of refused files (0 when all went well).
    """
    refused = 0
    for path in find_scene_annotations(root, file_name):
        try:
            change = add_person_category_to_file(path)
        except ValueError as exc:
            print(f"add_cat.py: error: {exc}", file=sys.stderr)
            refused += 1
            continue
        print(f"{path}: {change}" if change else f"{path}: already has the person category, unchanged")
    return refused
