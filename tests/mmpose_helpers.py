"""Helpers of the tests that run mmpose transforms and models on the real COCO-WholeBody mini set."""

from __future__ import annotations

import uuid

LABEL_KEYS = ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")  # SimCC labels, per person


def enter_mmpose_scope() -> None:
    """Build in the mmpose scope, with our modules registered (as configs do)."""
    from mmengine.registry import DefaultScope, init_default_scope

    import dwpose.plugin  # noqa: F401

    init_default_scope("mmpose")
    if DefaultScope.get_current_instance().scope_name != "mmpose":  # an earlier test left another scope
        DefaultScope.get_instance(f"mmpose-{uuid.uuid4().hex}", scope_name="mmpose")


def mini_dataset(coco_mini, pipeline=()):
    """mmpose's ``CocoWholeBodyDataset`` (top-down) over the real COCO-WholeBody mini set."""
    from mmpose.datasets import CocoWholeBodyDataset

    enter_mmpose_scope()
    return CocoWholeBodyDataset(data_root=str(coco_mini), data_mode="topdown",
                                ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                                pipeline=list(pipeline))


def apply_seeded(dataset, transforms, passes: int, seed: int = 0) -> list:
    """``transforms`` on every person of ``dataset``, ``passes`` times, numpy and random seeded once."""
    import random

    import numpy as np

    np.random.seed(seed)
    random.seed(seed)
    out = []
    for _ in range(passes):
        for i in range(len(dataset)):
            results = dataset[i]
            for t in transforms:
                results = t(results)
            out.append(results)
    return out
