"""Result files: the Cog ``.npz``, OpenPose JSON, COCO-WholeBody results, pictures, all written atomically.

Every writer renders into memory first and writes the finished file with
:func:`dwpose.fileio.atomic_write_bytes` (temporary file + rename, mode from the umask), so a crash or
Ctrl-C never leaves a half-written result behind. The ``*_bytes`` renderers let a caller write several
files as one set (:func:`dwpose.fileio.atomic_write_many`).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Collection, Optional, Sequence, Tuple, Union

import numpy as np

from dwpose.fileio import atomic_write_bytes, atomic_write_image, atomic_write_json
from dwpose.inference.formats import ALL_PARTS, cog_person, openpose_json_person

PathLike = Union[str, os.PathLike]
OPENPOSE_JSON_VERSION = 1.3


def cog_npz_bytes(
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: Tuple[int, int],
    threshold: float,
    ids: Optional[Sequence[int]] = None,
    parts: Collection[str] = ALL_PARTS,
) -> bytes:
    """The Cog wrapper's ``.npz``: ``person_i`` -> pickled ``{"body", "face", "hands"}`` dict.

    Args:
        keypoints: ``(N, 133, 2)`` image pixels; ``scores``: ``(N, 133)``.
        image_size: ``(width, height)``; coordinates are divided by it.
        threshold: points below it (or off the image) become -1.
        ids: ``(N,)`` track IDs (``dwpose predict --track``): the keys become ``person_<id>``, the same
            for one person in every frame of a video; default: ``person_0 ... person_<N-1>`` in frame order.
        parts: the parts kept (``--parts``); the points of the others are -1.

    Returns:
        The bytes of an ``.npz`` to read with ``np.load(f, allow_pickle=True)["person_0"].item()``.
    """
    people = {}
    names = range(len(keypoints)) if ids is None else [int(i) for i in ids]
    if len(set(names)) != len(keypoints):
        raise ValueError(f"need one distinct id per person, got {list(names)} for {len(keypoints)} people")
    for i, name in enumerate(names):
        person = np.empty((), dtype=object)
        person[()] = cog_person(keypoints[i], scores[i], image_size, threshold, parts)
        people[f"person_{name}"] = person
    buf = io.BytesIO()
    np.savez(buf, **people)
    return buf.getvalue()


def write_cog_npz(
    path: PathLike,
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: Tuple[int, int],
    threshold: float,
    ids: Optional[Sequence[int]] = None,
    parts: Collection[str] = ALL_PARTS,
) -> Path:
    """Write :func:`cog_npz_bytes` to ``path`` atomically."""
    return atomic_write_bytes(path, cog_npz_bytes(keypoints, scores, image_size, threshold, ids, parts))


def keypoint_arrays_npz_bytes(
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: Tuple[int, int],
    ids: Optional[Sequence[int]] = None,
) -> bytes:
    """Any keypoint set as plain arrays: the ``.npz`` of a model whose keypoints are not COCO-WholeBody's.

    Args:
        keypoints: ``(N, K, 2)`` image pixels; ``scores``: ``(N, K)``.
        image_size: ``(width, height)`` of the image.
        ids: ``(N,)`` track IDs, stored as ``person_ids`` when given.

    Returns:
        The bytes of an ``.npz`` with ``keypoints`` ``(N, K, 2)`` float32 pixels, ``scores`` ``(N, K)``
        float32 and ``image_size`` ``(2,)`` (plus ``person_ids`` ``(N,)``), read with ``np.load(f)`` (no
        pickles).
    """
    arrays = {"keypoints": np.asarray(keypoints, np.float32), "scores": np.asarray(scores, np.float32),
              "image_size": np.asarray(image_size, np.int64)}
    if ids is not None:
        arrays["person_ids"] = np.asarray(ids, np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def openpose_json(
    keypoints: np.ndarray,
    scores: np.ndarray,
    ids: Optional[Sequence[int]] = None,
    parts: Collection[str] = ALL_PARTS,
) -> dict:
    """OpenPose ``{"version": 1.3, "people": [...]}`` from ``(N, 133, 2)`` pixels, ``(N, 133)`` scores.

    With track ``ids`` ``(N,)`` every person also gets OpenPose's ``"person_id": [id]`` field; the
    fields of a part not in ``parts`` (``--parts``) are empty lists.
    """
    people = [openpose_json_person(k, s, parts) for k, s in zip(keypoints, scores)]
    if ids is not None:
        people = [{"person_id": [int(i)], **p} for i, p in zip(ids, people)]
    return {"version": OPENPOSE_JSON_VERSION, "people": people}


def openpose_json_bytes(
    keypoints: np.ndarray,
    scores: np.ndarray,
    ids: Optional[Sequence[int]] = None,
    parts: Collection[str] = ALL_PARTS,
) -> bytes:
    """:func:`openpose_json` as the UTF-8 bytes :func:`write_openpose_json` writes."""
    return json.dumps(openpose_json(keypoints, scores, ids, parts)).encode("utf-8")


def write_openpose_json(
    path: PathLike,
    keypoints: np.ndarray,
    scores: np.ndarray,
    ids: Optional[Sequence[int]] = None,
    parts: Collection[str] = ALL_PARTS,
) -> Path:
    """Write :func:`openpose_json` to ``path`` atomically."""
    return atomic_write_json(path, openpose_json(keypoints, scores, ids, parts))


def encode_image(image: np.ndarray, suffix: str = ".png") -> bytes:
    """A BGR uint8 ``(H, W, 3)`` image encoded as ``suffix`` says (OpenCV); ValueError if it cannot be."""
    import cv2

    ok, encoded = cv2.imencode(suffix, image)
    if not ok:
        raise ValueError(f"cannot encode an image as {suffix!r}")
    return encoded.tobytes()


def write_image(path: PathLike, image: np.ndarray) -> Path:
    """Encode a BGR uint8 ``(H, W, 3)`` image by the extension of ``path`` and write it atomically."""
    return atomic_write_image(path, image)
