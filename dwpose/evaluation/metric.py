"""``WholeBodyTableMetric``: mmpose's COCO-WholeBody metric plus the per-part AP/AR of the DWPose table.

Config use::

    val_evaluator = dict(type='WholeBodyTableMetric', ann_file='data/coco/annotations/...val_v1.0.json')
    # UBody val, one row per scene, scored on the images the (possibly scene-filtered) data set gave:
    test_evaluator = dict(type='WholeBodyTableMetric', ann_file=..., scene_from_path=True,
                          seen_images_only=True)
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger
from mmpose.evaluation.metrics import CocoWholeBodyMetric
from mmpose.registry import METRICS

from dwpose.evaluation.report import format_table
from dwpose.evaluation.wholebody import (
    REPORTED_PARTS,
    STATS_NAMES,
    PartScores,
    image_ids_by_scene,
    load_detections,
    score_loaded,
)


@METRICS.register_module()
class WholeBodyTableMetric(CocoWholeBodyMetric):
    """COCO-WholeBody AP/AR for the whole body and for each part, per scene if asked.

    ``compute_metrics`` returns, under the ``coco-wholebody/`` prefix:

    - the keys of :class:`mmpose.evaluation.CocoWholeBodyMetric` (``AP``, ``AP .5``, ... ``AR (L)`` of
      the 133-point ``keypoints_wholebody`` evaluation), so ``save_best='coco-wholebody/AP'`` still works;
    - ``<part>/AP`` and ``<part>/AR`` for ``body``, ``foot``, ``face``, ``lefthand``, ``righthand``,
      ``hand`` and ``wholebody``. Each part is xtcocotools' COCOeval with ``iouType='keypoints_<part>'``,
      that part's slice of the data set's sigmas and ``use_area`` as configured, the same runs as
      mmpose's metric (which only prints them). ``hand`` is the mean of ``lefthand`` and ``righthand``
      (AP with AP, AR with AR), as COCO-WholeBody's authors and the DWPose README report "Hand";
    - with ``scene_from_path=True``, ``scene/<scene>/<part>/AP|AR`` for every scene, a scene being the
      first folder of an image's ``file_name`` (UBody: ``Fitness/<video>/000001.png`` -> ``Fitness``).

    The table is also written to the log. A stat COCOeval cannot define (no annotated point of a part)
    is -1.

    Args:
        scene_from_path: add one set of rows per scene.
        seen_images_only: score only the images the data set produced samples for, instead of every
            image of ``ann_file``. Use it when the data set is a filtered view of the annotation file
            (``scenes=``, ``sample_interval``, ``indices``); leave it off for the official COCO-WholeBody
            val numbers, where an image with no detection must count as missed.
        *args, **kwargs: as :class:`mmpose.evaluation.CocoWholeBodyMetric`.
    """

    def __init__(
        self, *args, scene_from_path: bool = False, seen_images_only: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scene_from_path = scene_from_path
        self.seen_images_only = seen_images_only
        self._seen_img_ids: Optional[List[int]] = None

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """See :class:`mmpose.evaluation.CocoMetric`; records the image ids seen, then evaluates."""
        self._seen_img_ids = sorted({pred["img_id"] for pred, _ in results})
        return super().compute_metrics(results)

    def _do_python_keypoint_eval(self, outfile_prefix: str) -> List[Tuple[str, float]]:
        """Score ``<outfile_prefix>.keypoints.json`` (written by ``results2json``) against ``self.coco``.

        Returns:
            ``(name, value)`` pairs; the evaluator adds the ``coco-wholebody/`` prefix.
        """
        with open(f"{outfile_prefix}.keypoints.json", encoding="utf-8") as f:
            coco_dt = load_detections(self.coco, json.load(f))
        sigmas = self.dataset_meta["sigmas"]
        img_ids = self._seen_img_ids if self.seen_images_only else None
        overall = score_loaded(self.coco, coco_dt, sigmas, img_ids, self.use_area)
        pairs = [(name, overall["wholebody"][name]) for name in STATS_NAMES]
        pairs += _part_pairs(overall, "")
        rows = {"all": overall}
        if self.scene_from_path:
            for scene, ids in image_ids_by_scene(self.coco, img_ids).items():
                name = scene or "(no folder)"  # images directly in the image root
                rows[name] = score_loaded(self.coco, coco_dt, sigmas, ids, self.use_area)
                pairs += _part_pairs(rows[name], f"scene/{name}/")
        MMLogger.get_current_instance().info("COCO-WholeBody AP/AR per part:\n" + format_table(rows))
        return pairs


def _part_pairs(
    scores: PartScores, prefix: str, parts: Sequence[str] = REPORTED_PARTS
) -> List[Tuple[str, float]]:
    """``[(prefix + 'body/AP', x), (prefix + 'body/AR', y), ...]`` for the table's parts."""
    return [(f"{prefix}{part}/{stat}", scores[part][stat]) for part in parts for stat in ("AP", "AR")]
