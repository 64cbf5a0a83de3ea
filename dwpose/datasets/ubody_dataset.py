"""``UBodyWholeBodyDataset``: UBody's COCO-WholeBody style annotations, optionally one scene at a time.

mmpose's ``UBody2dDataset`` reads the files of ``tools/dataset_converters/ubody_split.py`` correctly
(their ``file_name``s are relative to ``images/`` and never start with '/'). This class adds what it
lacks:

- ``scenes``: keep only the images of some scenes (first folder of ``file_name``), so one config tests
  all scenes or one: ``--cfg-options test_dataloader.dataset.scenes=Fitness``;
- a leading '/' in ``file_name`` is ignored (``os.path.join`` would otherwise drop ``data_prefix``), so
  UBody's raw per-scene files work too with ``data_prefix=dict(img='images/<scene>/')``;
- annotations without ``segmentation`` / ``num_keypoints`` / ``iscrowd`` get ``[]`` / the count of
  labelled body points (as COCO) / 0 instead of a ``KeyError``.

Registered under a name mmpose does not use (``UBody2dDataset`` is taken). Top-down mode.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
from mmpose.datasets.datasets.wholebody import CocoWholeBodyDataset
from mmpose.registry import DATASETS

from dwpose.datasets.ubody import UBODY_SCENES
from dwpose.errors import UserError


@DATASETS.register_module()
class UBodyWholeBodyDataset(CocoWholeBodyDataset):
    """COCO-WholeBody style UBody data set (133 keypoints) with an optional scene filter.

    Args:
        scenes: a scene name or a list of them (UBody's 15: see ``UBODY_SCENES``); ``None`` keeps all.
        *args, **kwargs: as :class:`mmpose.datasets.CocoWholeBodyDataset` (``ann_file``,
            ``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``, ``sample_interval``, ...).

    Example (config)::

        dict(type='UBodyWholeBodyDataset', data_root='data/UBody/',
             ann_file='annotations/val_annotations.json', data_prefix=dict(img='images/'),
             scenes='Fitness', test_mode=True, pipeline=val_pipeline)
    """

    def __init__(self, *args, scenes: Union[None, str, Sequence[str]] = None, **kwargs) -> None:
        self.scenes = _as_scene_set(scenes)
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """Parse one instance (see the parent); ``None`` for an image outside ``scenes``."""
        img = dict(raw_data_info["raw_img_info"])
        img["file_name"] = img["file_name"].lstrip("/")
        if self.scenes is not None and img["file_name"].split("/")[0] not in self.scenes:
            return None
        ann = _with_defaults(raw_data_info["raw_ann_info"])
        return super().parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))


def _as_scene_set(scenes: Union[None, str, Sequence[str]]) -> Optional[frozenset]:
    if scenes is None:
        return None
    names = frozenset([scenes] if isinstance(scenes, str) else scenes)
    unknown = sorted(names - set(UBODY_SCENES))
    if unknown or not names:
        raise UserError(
            f"unknown UBody scene(s) {unknown or '(empty list)'}; choose from {list(UBODY_SCENES)}"
        )
    return names


def _with_defaults(ann: dict) -> dict:
    if all(k in ann for k in ("segmentation", "num_keypoints", "iscrowd")):
        return ann
    ann = dict(ann)
    ann.setdefault("segmentation", [])
    ann.setdefault("iscrowd", 0)
    if "num_keypoints" not in ann:
        ann["num_keypoints"] = int(np.count_nonzero(np.asarray(ann["keypoints"]).reshape(-1, 3)[:, 2] > 0))
    return ann
