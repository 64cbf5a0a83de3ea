"""SimCC training labels for a whole batch at once, in torch, on the batch's device.

:class:`BatchSimCCLabel` gives what mmpose's ``SimCCLabel`` codec (Gaussian smoothing) encodes one
sample at a time in ``GenerateTarget``, for every instance of a batch in one call:

- a labelled keypoint (``keypoints_visible >= 0.5``) sits at the integer SimCC bin
  ``mu = round(keypoint * simcc_split_ratio)`` (round half to even, as ``np.around``);
- its x row is ``exp(-(x - mu_x)^2 / (2 sigma_x^2))`` over the bins ``x = 0 .. Wx - 1`` (divided by
  ``sigma * sqrt(2 pi)`` when the codec normalises), likewise for y;
- a labelled keypoint whose 3-sigma window misses the label range on either axis (pushed out of
  the crop by the augmentations) gets zero rows and weight 0; an unlabelled one gets zero rows and
  keeps its visibility as weight.

A row depends only on the integer offset ``x - mu``, so every row is a slice of one table of
offsets, evaluated once with mmpose's own numpy expression: the labels are bitwise those of
mmpose, and a batch costs one row gather (a memory copy) per axis.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from dwpose.errors import UserError


class BatchSimCCLabel:
    """Batched SimCC Gaussian labels, equal to mmpose's ``SimCCLabel.encode`` per sample.

    Args:
        input_size: model input ``(w, h)``.
        sigma: Gaussian sigma in SimCC bins, one value or ``(sigma_x, sigma_y)``.
        simcc_split_ratio: SimCC bins per input pixel.
        normalize: divide the labels by ``sigma * sqrt(2 pi)`` (the codec's ``normalize``).

    Example::

        enc = BatchSimCCLabel.from_codec(dict(type='SimCCLabel', input_size=(192, 256),
                                              sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                                              normalize=False))
        x_labels, y_labels, weights = enc(keypoints, keypoints_visible)  # (M, K, 384), (M, K, 512), (M, K)
    """

    def __init__(self, input_size: Tuple[int, int], sigma: Union[float, Tuple[float, float]],
                 simcc_split_ratio: float, normalize: bool) -> None:
        self.input_size = tuple(input_size)
        self.sigma = np.array([sigma, sigma] if np.isscalar(sigma) else sigma, dtype=np.float64)
        self.simcc_split_ratio = simcc_split_ratio
        self.normalize = normalize
        w, h = self.input_size
        self.label_size = (int(np.around(w * simcc_split_ratio)), int(np.around(h * simcc_split_ratio)))
        self.radius = self.sigma * 3  # mmpose's 3-sigma rule
        # centre offset of each axis' table: every in-bounds mu has its row L - mu in [0, 2L]
        self.offsets = tuple(size + math.ceil(r) + 1 for size, r in zip(self.label_size, self.radius))
        self._rows = [self._row_table(axis) for axis in (0, 1)]
        self._device_rows: Dict[torch.device, Tuple[Tensor, Tensor]] = {}

    @classmethod
    def from_codec(cls, codec: Union[dict, object]) -> BatchSimCCLabel:
        """From a ``SimCCLabel`` codec or its config dict (``type='SimCCLabel'``).

        Raises:
            UserError: the codec is not a Gaussian-smoothing ``SimCCLabel``.
        """
        from mmpose.codecs import SimCCLabel
        from mmpose.registry import KEYPOINT_CODECS

        if isinstance(codec, dict):
            codec = KEYPOINT_CODECS.build(dict(codec))
        if not isinstance(codec, SimCCLabel) or codec.smoothing_type != "gaussian":
            raise UserError(f"batched SimCC targets need a SimCCLabel codec with Gaussian smoothing, got "
                            f"{codec!r}; use GenerateTarget + PackPoseInputs in the pipeline instead")
        return cls(codec.input_size, tuple(codec.sigma), codec.simcc_split_ratio, codec.normalize)

    def _row_table(self, axis: int) -> np.ndarray:
        """``(2L + 2, W)`` float32: row ``i`` is the label row of ``mu = L - i``; the last row is zeros."""
        size, offset = self.label_size[axis], self.offsets[axis]
        # mmpose's expression and dtypes: float32 bins minus an int64 centre, float64 sigma
        x = np.arange(0, 2 * offset + size, 1, dtype=np.float32)
        mu = np.int64(offset)
        table = np.zeros(x.shape, dtype=np.float32)
        table[:] = np.exp(-((x - mu) ** 2) / (2 * self.sigma[axis] ** 2))
        if self.normalize:
            table /= (self.sigma * np.sqrt(np.pi * 2))[axis]
        rows = np.lib.stride_tricks.sliding_window_view(table, size)[: 2 * offset + 1]
        return np.concatenate([rows, np.zeros((1, size), dtype=np.float32)])

    def _rows_on(self, device: torch.device) -> Tuple[Tensor, Tensor]:
        if device not in self._device_rows:
            self._device_rows[device] = tuple(torch.from_numpy(r).to(device) for r in self._rows)
        return self._device_rows[device]

    def __call__(self, keypoints: Tensor, keypoints_visible: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """SimCC labels of ``M`` instances.

        Args:
            keypoints: ``(M, K, 2)`` keypoints in input-image pixels (after ``TopdownAffine``).
            keypoints_visible: ``(M, K)`` visibility; ``>= 0.5`` means labelled.

        Returns:
            ``x_labels (M, K, Wx)`` and ``y_labels (M, K, Wy)`` float32, ``weights (M, K)`` in the
            dtype of ``keypoints_visible``; all on the device of ``keypoints``.
        """
        mu = torch.round(keypoints[..., :2] * self.simcc_split_ratio).long()  # (M, K, 2)
        mu_f = mu.double()
        inside = torch.ones_like(keypoints_visible, dtype=torch.bool)
        for axis in (0, 1):
            size, radius = self.label_size[axis], float(self.radius[axis])
            left, right = mu_f[..., axis] - radius, mu_f[..., axis] + radius + 1
            inside &= (left < size) & (right >= 0)
        labelled = ~(keypoints_visible < 0.5)  # as mmpose: NaN counts as labelled
        use = labelled & inside
        weights = keypoints_visible.masked_fill(labelled & ~inside, 0)
        labels = []
        for axis, rows in enumerate(self._rows_on(keypoints.device)):
            offset = self.offsets[axis]
            idx = torch.where(use, offset - mu[..., axis], 2 * offset + 1)
            labels.append(rows.index_select(0, idx.reshape(-1)).view(*idx.shape, rows.shape[1]))
        return labels[0], labels[1], weights
