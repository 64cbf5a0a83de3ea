"""``SimCCTargetPreprocessor``: mmpose's ``PoseDataPreprocessor`` that also makes the training labels.

With it, the training pipeline ends with ``LeanPackPoseInputs`` (:mod:`dwpose.datasets.packing`)
instead of ``GenerateTarget`` + ``PackPoseInputs``: the data workers no longer build (and send)
133 x 2 SimCC label rows per person; the preprocessor makes them for the whole batch, on the
model's device, from the packed transformed keypoints. ``gt_instance_labels`` end up exactly as
mmpose's pipeline fills them, so heads and losses (``RTMCCHead.loss``, the distiller's) are unchanged.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS
from torch import Tensor

from dwpose.errors import UserError
from dwpose.models.simcc_targets import BatchSimCCLabel

_PACKERS = "LeanPackPoseInputs (or PackPoseInputs(pack_transformed=True))"


@MODELS.register_module()
class SimCCTargetPreprocessor(PoseDataPreprocessor):
    """Image preprocessing as ``PoseDataPreprocessor``; in training, SimCC labels of the batch too.

    In training mode (``model.train_step``) every data sample gets ``gt_instance_labels`` with
    ``keypoint_x_labels (N, K, Wx)``, ``keypoint_y_labels (N, K, Wy)``, ``keypoint_weights (N, K)``
    (and ``keypoints_visible_weights (N, K)`` when packed), on the device of the inputs, equal to
    ``GenerateTarget(encoder=codec)`` + ``PackPoseInputs`` in the worker. Evaluation batches pass
    through as with ``PoseDataPreprocessor``.

    Args:
        codec: the head's ``SimCCLabel`` config (Gaussian smoothing).
        use_dataset_keypoint_weights: multiply the weights by the data set's per-keypoint weights,
            as ``GenerateTarget(use_dataset_keypoint_weights=True)``; the packer must then put
            ``dataset_keypoint_weights`` in each sample's metainfo.
        **kwargs: ``PoseDataPreprocessor``'s (``mean``, ``std``, ``bgr_to_rgb``, ...).

    Example (config)::

        data_preprocessor=dict(type='SimCCTargetPreprocessor', codec=codec,
                               mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                               bgr_to_rgb=True)
    """

    def __init__(self, codec: dict, use_dataset_keypoint_weights: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.encoder = BatchSimCCLabel.from_codec(codec)
        self.use_dataset_keypoint_weights = use_dataset_keypoint_weights

    def cast_data(self, data):
        """MMEngine's device move, skipped when the model is on the CPU, where the batch already is.

        ``BaseDataElement.to`` rebuilds every data sample with a deep copy of its metainfo, even for
        a move from the CPU to the CPU: about 70 ms per batch of 16 demo samples (a tenth of the demo
        teacher's training step, measured with cProfile). The values are the same either way.
        """
        if self._device.type == "cpu":
            return data
        return super().cast_data(data)

    def forward(self, data: dict, training: bool = False) -> dict:
        """``PoseDataPreprocessor.forward``, then (training only) :meth:`add_targets`."""
        data = super().forward(data=data, training=training)
        if training:
            self.add_targets(data["data_samples"], data["inputs"].device)
        return data

    def add_targets(self, data_samples: Sequence, device: torch.device) -> None:
        """Fill ``gt_instance_labels`` of every sample from its ``gt_instances``, in one batched call.

        A batch whose samples already carry ``gt_instance_labels`` and no transformed keypoints (a
        pipeline ending with ``GenerateTarget`` + ``PackPoseInputs``) is left as it is.

        Raises:
            UserError: a sample has no ``gt_instances.transformed_keypoints`` (the pipeline does not
                end with a packer that keeps them), or no ``dataset_keypoint_weights`` when asked for.
        """
        if all("transformed_keypoints" not in s.get("gt_instances", {})
               and "keypoint_x_labels" in s.get("gt_instance_labels", {}) for s in data_samples):
            return  # labelled in the data pipeline (GenerateTarget + PackPoseInputs): kept as they are
        for sample in data_samples:
            if "transformed_keypoints" not in sample.get("gt_instances", {}):
                raise UserError("SimCCTargetPreprocessor makes the training labels from "
                                "gt_instances.transformed_keypoints, which this batch lacks: end the "
                                f"training pipeline with {_PACKERS}, without GenerateTarget")
        gts = [s.gt_instances for s in data_samples]
        counts = [len(gt) for gt in gts]
        keypoints = _batch([gt.transformed_keypoints for gt in gts], device)
        visible = _batch([gt.keypoints_visible for gt in gts], device)
        x_labels, y_labels, weights = self.encoder(keypoints, visible)
        if self.use_dataset_keypoint_weights:
            weights = _multiply_as_numpy(weights, self._dataset_weights(data_samples, counts, device))
        fields = dict(keypoint_x_labels=x_labels.split(counts), keypoint_y_labels=y_labels.split(counts),
                      keypoint_weights=weights.split(counts))
        if all("keypoints_visible_weights" in gt for gt in gts):
            vis_weights = _batch([gt.keypoints_visible_weights for gt in gts], device)
            fields["keypoints_visible_weights"] = vis_weights.split(counts)
        for i, sample in enumerate(data_samples):
            sample.gt_instance_labels = InstanceData(**{k: v[i] for k, v in fields.items()})

    @staticmethod
    def _dataset_weights(data_samples: Sequence, counts: List[int], device: torch.device) -> Tensor:
        """``(M, K)``: each sample's ``dataset_keypoint_weights`` repeated for its instances."""
        rows = []
        for sample, n in zip(data_samples, counts):
            w = sample.metainfo.get("dataset_keypoint_weights")
            if w is None:
                raise UserError("use_dataset_keypoint_weights=True needs 'dataset_keypoint_weights' in "
                                "every sample's metainfo: add it to the packer's meta_keys")
            rows.append(np.broadcast_to(np.asarray(w), (n, len(w))))
        return _batch(rows, device)


def _batch(arrays: Sequence, device: torch.device) -> Tensor:
    """Concatenate per-sample arrays (numpy or torch) along dim 0 into one tensor on ``device``."""
    if all(isinstance(a, np.ndarray) for a in arrays):
        return torch.from_numpy(np.concatenate(arrays)).to(device)
    return torch.cat([torch.as_tensor(a) for a in arrays]).to(device)


def _multiply_as_numpy(a: Tensor, b: Tensor) -> Tensor:
    """``a * b`` in the dtype numpy gives (int64 visibility x float32 weights is float64 there)."""
    dtype = np.result_type(_numpy_dtype(a.dtype), _numpy_dtype(b.dtype))
    dtype = torch.from_numpy(np.empty(0, dtype=dtype)).dtype
    return a.to(dtype) * b.to(dtype)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty(0, dtype=dtype).numpy().dtype
