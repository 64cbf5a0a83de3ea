"""``MpiiPCKhTableMetric``: MPII PCKh@0.5 per joint and mean, as MPII's table reports it.

Config use (MPII val with MPII's head boxes, as mmpose's ``MpiiDataset`` reads them)::

    val_dataloader = dict(dataset=dict(
        type='MpiiDataset', headbox_file='data/mpii/annotations/mpii_gt_val.mat', test_mode=True, ...))
    val_evaluator = dict(type='MpiiPCKhTableMetric')
    default_hooks = dict(checkpoint=dict(save_best='mpii/Mean', rule='greater'))
"""

from __future__ import annotations

from typing import Dict

import numpy as np
from mmengine.logging import MMLogger
from mmpose.evaluation.metrics import MpiiPCKAccuracy
from mmpose.registry import METRICS

from dwpose.evaluation.pckh import format_pckh_table, mpii_pckh


@METRICS.register_module()
class MpiiPCKhTableMetric(MpiiPCKAccuracy):
    """PCKh of :func:`dwpose.evaluation.pckh.mpii_pckh` under the ``mpii/`` prefix, table in the log.

    Returns ``mpii/Head`` ... ``mpii/Ankle``, ``mpii/Mean``, ``mpii/Mean@0.1`` (mmpose's ``Head PCK``
    ... ``PCK``, ``PCK@0.1`` by another name) and ``mpii/PCKh/<joint>`` for each of the 16 joints.
    Collects results exactly as :class:`mmpose.evaluation.MpiiPCKAccuracy` (``norm_item='head'``).
    """

    default_prefix = "mpii"

    def __init__(self, thr: float = 0.5, **kwargs) -> None:
        super().__init__(thr=thr, norm_item="head", **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.concatenate([r["pred_coords"] for r in results])
        gt = np.concatenate([r["gt_coords"] for r in results])
        mask = np.concatenate([r["mask"] for r in results])
        head = np.concatenate([r["head_size"] for r in results])[:, 0]
        scores = mpii_pckh(pred, gt, mask, head, self.thr)
        MMLogger.get_current_instance().info(f"MPII PCKh@{self.thr}:\n" + format_pckh_table(scores))
        return scores
