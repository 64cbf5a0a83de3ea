"""UBody preparation: the scene list and adding the COCO person category (``add_cat.py``).

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

import os
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

from dwpose.errors import UserError
from dwpose.fileio import atomic_write_json, read_json
from dwpose.keypoints import person_category

UBODY_SCENES: Tuple[str, ...] = (
    "Magic_show", "Entertainment", "ConductMusic", "Online_class", "TalkShow", "Speech", "Fitness",
    "Interview", "Olympic", "TVShow", "Singing", "SignLanguage", "Movie", "LiveVlog", "VideoConference",
)  # fmt: skip

def check_coco_style(data: Any, source: str) -> None:
    """Raise :class:`UserError` unless ``data`` is a COCO-style dict with ``images`` and ``annotations``
    lists."""
    if not isinstance(data, dict):
        raise UserError(
            f"{source} is not COCO-style JSON (top level is {type(data).__name__}, not an object)"
        )
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise UserError(f"{source} is not COCO-style JSON (no '{key}' list)")
    if "categories" in data and not isinstance(data["categories"], list):
        raise UserError(f"{source} is not COCO-style JSON ('categories' is not a list)")


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
        UserError: the file is not COCO-style JSON.
    """
    data = read_json(path)
    check_coco_style(data, str(path))
    data["categories"], change = with_person_category(data.get("categories"))
    if change:
        atomic_write_json(path, data)
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


def add_person_category_to_scenes(
    root: str | os.PathLike, file_name: str = "keypoint_annotation.json"
) -> Iterator[Tuple[Path, str, Optional[UserError]]]:
    """``add_cat.py``: run :func:`add_person_category_to_file` on every scene.

    A file that is not COCO-style JSON is left untouched and reported; the others go on.

    Yields:
        ``(path, what changed, None)`` per done file (empty text: unchanged), ``(path, "", error)`` per
        refused one.

    Raises:
        FileNotFoundError: no ``<root>/annotations/<scene>/<file_name>`` (before anything is done).
    """
    for path in find_scene_annotations(root, file_name):
        try:
            yield path, add_person_category_to_file(path), None
        except UserError as exc:
            yield path, "", exc
