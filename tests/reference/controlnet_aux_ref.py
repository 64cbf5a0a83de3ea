"""ControlNet's DWPose annotator (``controlnet_aux`` 0.0.10, a test-only install) run on given keypoints.

The package's ``__init__`` imports every annotator it ships (and their heavy dependencies), so it is not
imported: its files are loaded from the installed folder under a private package name
(``importlib.util.spec_from_file_location``): ``util.py`` (``HWC3``, ``resize_image``; imports torch),
``dwpose/__init__.py`` (``DWposeDetector``, ``draw_pose``; torch, PIL), ``dwpose/util.py`` (the drawing;
matplotlib inside ``draw_handpose``) and ``dwpose/wholebody.py`` (``Wholebody.__call__``: the neck and
the OpenPose-18 reordering; mmcv / mmpose / mmdet at import).

Only the networks are replaced: the stand-ins for ``inference_detector``, ``nms``, ``inference_topdown``
and ``merge_data_samples`` hand ``Wholebody.__call__`` the given keypoints, scaled to the image it was
given (the annotator resizes the photo to the detect resolution first), as float32 like mmpose's
predictions. Everything else - the resize rule, thresholds, normalisation, drawing, dimming and the final
resize - is the installed annotator's own code.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np

PACKAGE = "_controlnet_aux_reference"
VERSION = "0.0.10"


def installed_root() -> Optional[Path]:
    """The installed ``controlnet_aux`` folder (found without running its ``__init__``), or None."""
    spec = importlib.util.find_spec("controlnet_aux")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def installed_version() -> Optional[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("controlnet_aux")
    except PackageNotFoundError:
        return None


def _load(name: str, path: Path, package_dir: Optional[Path] = None) -> types.ModuleType:
    full = f"{PACKAGE}.{name}" if name else PACKAGE
    if full in sys.modules:
        return sys.modules[full]
    locations = [str(package_dir)] if package_dir is not None else None
    spec = importlib.util.spec_from_file_location(full, path, submodule_search_locations=locations)
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


def load_annotator(root: Path) -> SimpleNamespace:
    """The annotator's modules: ``util``, ``dwpose``, ``dwpose_util``, ``wholebody``."""
    if PACKAGE not in sys.modules:
        package = types.ModuleType(PACKAGE)  # the package, without running controlnet_aux/__init__.py
        package.__path__ = [str(root)]
        sys.modules[PACKAGE] = package
    util = _load("util", root / "util.py")
    dwpose_util = _load("dwpose.util", root / "dwpose" / "util.py")
    dwpose = _load("dwpose", root / "dwpose" / "__init__.py", root / "dwpose")
    wholebody = _load("dwpose.wholebody", root / "dwpose" / "wholebody.py")
    return SimpleNamespace(util=util, dwpose=dwpose, dwpose_util=dwpose_util, wholebody=wholebody)


class _Instances(dict):
    """mmengine ``InstanceData`` as ``Wholebody.__call__`` reads it (``get``, ``in``, attributes)."""

    __getattr__ = dict.__getitem__


def _stand_ins(keypoints: np.ndarray, scores: np.ndarray, photo_size: tuple) -> dict:
    """Module globals of ``wholebody.py`` that return ``keypoints`` (pixels of the photo as given to the
    annotator) scaled to the image the annotator hands its model."""
    people = len(keypoints)

    def inference_detector(model, image):
        boxes = SimpleNamespace(
            bboxes=np.zeros((people, 4), np.float32), scores=np.ones(people, np.float32),
            labels=np.zeros(people, np.int64),
        )  # fmt: skip
        found = SimpleNamespace(cpu=lambda: SimpleNamespace(numpy=lambda: boxes))
        return SimpleNamespace(pred_instances=found)

    def inference_topdown(model, image, bboxes=None):
        return [SimpleNamespace(image_shape=image.shape)]

    def merge_data_samples(results):
        height, width = results[0].image_shape[:2]
        scale = np.array([width / photo_size[0], height / photo_size[1]], np.float32)
        kp, s = keypoints.astype(np.float32) * scale, scores.astype(np.float32)
        found = _Instances(keypoints=kp, keypoint_scores=s, keypoints_visible=s)
        return SimpleNamespace(pred_instances=found)

    return dict(
        inference_detector=inference_detector,
        nms=lambda boxes, thr: list(range(len(boxes))),
        inference_topdown=inference_topdown,
        merge_data_samples=merge_data_samples,
    )


def run_annotator(
    modules: SimpleNamespace,
    photo_rgb: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    detect_resolution: int = 512,
    monkeypatch=None,
    image_resolution: Optional[int] = None,
) -> np.ndarray:
    """``DWposeDetector(photo, detect_resolution, image_resolution=detect_resolution, output_type="np")``
    with ``keypoints`` ``(N, 133, 2)`` photo pixels and ``scores`` ``(N, 133)`` in place of its networks:
    the RGB map at the detect resolution (or resized by the annotator to ``image_resolution``'s size).
    ``detect_resolution`` 0 (no resize: the photo's own size)
    replaces the annotator's ``resize_image`` by the identity through ``monkeypatch``."""
    photo_size = (photo_rgb.shape[1], photo_rgb.shape[0])
    for name, fn in _stand_ins(keypoints, scores, photo_size).items():
        monkeypatch.setattr(modules.wholebody, name, fn, raising=False)
    resize = modules.util.resize_image if detect_resolution else (lambda image, resolution: image)
    monkeypatch.setattr(modules.dwpose, "resize_image", resize)
    detect_resolution = detect_resolution or 512  # unused when resize_image keeps the size
    body = object.__new__(modules.wholebody.Wholebody)  # no networks loaded
    body.detector = body.pose_estimator = None
    detector = object.__new__(modules.dwpose.DWposeDetector)
    detector.pose_estimation = body
    return detector(photo_rgb, detect_resolution=detect_resolution,
                    image_resolution=image_resolution or detect_resolution, output_type="np")  # fmt: skip


def ground_truth_people(coco_mini: Path, seed: int = 0) -> dict:
    """``file name -> (BGR photo, keypoints (N, 133, 2) float32, scores (N, 133) float32)`` of the
    COCO-WholeBody mini ground truth; scores drawn per point from the visibility flags (visible: uniform
    in [0.15, 1), so some fall below 0.3; 3% exactly 0.3; not annotated: 0.05)."""
    import cv2

    from dwpose.keypoints import keypoints_from_annotation

    doc = json.loads((coco_mini / "coco_wholebody_mini.json").read_text())
    rng = np.random.default_rng(seed)
    out = {}
    for image in doc["images"]:
        anns = [a for a in doc["annotations"] if a["image_id"] == image["id"]]
        kps = np.stack([keypoints_from_annotation(a) for a in anns]) if anns else np.zeros((0, 133, 3))
        scores = np.where(kps[..., 2] > 0, rng.uniform(0.15, 1.0, kps.shape[:2]), 0.05)
        scores[rng.random(scores.shape) < 0.03] = 0.3  # exactly on the threshold
        photo = cv2.imread(str(coco_mini / "images" / image["file_name"]))
        out[image["file_name"]] = (photo, kps[..., :2].astype(np.float32), scores.astype(np.float32))
    return out
