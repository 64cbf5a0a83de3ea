"""``LeanPackPoseInputs``: the last step of a top-down training pipeline whose labels are made later.

mmpose's ``GenerateTarget`` + ``PackPoseInputs`` build 133 x 2 SimCC label rows per person in the
data worker (about 0.5 MB per 256x192 sample, sent to the main process) and deep-copy the raw
annotation into every sample's metainfo. This packer keeps only what training needs: the image,
the transformed keypoints and their visibility, and the crop's box meta; ``SimCCTargetPreprocessor``
(:mod:`dwpose.models.data_preprocessor`) turns the keypoints into labels for the whole batch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData
from mmpose.registry import TRANSFORMS
from mmpose.structures import PoseDataSample

from dwpose.errors import UserError

TRAIN_META_KEYS = ("id", "img_id", "img_path", "ori_shape", "img_shape", "input_size", "input_center",
                   "input_scale", "flip", "flip_direction", "dataset_name")


@TRANSFORMS.register_module()
class LeanPackPoseInputs(BaseTransform):
    """Pack a top-down training sample: image, transformed keypoints, visibility, box meta; no labels.

    Takes the results of ``TopdownAffine`` (and later image-only augmentations) and returns
    ``dict(inputs=..., data_samples=...)``:

    - ``inputs``: ``(3, H, W)`` uint8 tensor of the ``(H, W, 3)`` image, as ``PackPoseInputs``;
    - ``data_samples.gt_instances``: ``transformed_keypoints (N, K, 2)`` and ``keypoints_visible
      (N, K)`` numpy arrays (a ``(N, K, 2)`` visibility is split into ``keypoints_visible`` and
      ``keypoints_visible_weights``, as ``GenerateTarget`` does);
    - ``data_samples.metainfo``: the ``meta_keys`` present in the results.

    Args:
        meta_keys: result keys copied into the metainfo. Add ``'dataset_keypoint_weights'`` for
            ``SimCCTargetPreprocessor(use_dataset_keypoint_weights=True)``.

    Raises:
        UserError: (when called) the results have no ``transformed_keypoints`` (no ``TopdownAffine``).
    """

    def __init__(self, meta_keys: Sequence[str] = TRAIN_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        keypoints = results.get("transformed_keypoints")
        if keypoints is None or np.ndim(keypoints) != 3:
            raise UserError("LeanPackPoseInputs packs the keypoints of a top-down crop: put TopdownAffine "
                            "before it (or end the pipeline with GenerateTarget + PackPoseInputs)")
        img = results["img"]
        img = img[..., None] if img.ndim == 2 else img
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

        visible = results["keypoints_visible"]
        gt_instances = InstanceData(transformed_keypoints=keypoints)
        if visible.ndim == 3 and visible.shape[2] == 2:
            visible, gt_instances.keypoints_visible_weights = visible[..., 0], visible[..., 1]
        gt_instances.keypoints_visible = visible

        sample = PoseDataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        sample.gt_instances = gt_instances
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(meta_keys={self.meta_keys})"
