"""Pose models behind one small interface, so the pipeline does not care where the weights come from.

The interface is :class:`dwpose.inference.pose_protocol.PoseModel`: ``input_size`` ``(W, H)``,
``mean`` / ``std`` (RGB, 0-255 scale), ``num_keypoints`` ``K``, and a call on a batch of normalised RGB
crops ``(N, 3, H, W)`` float32 that returns SimCC logits ``simcc_x`` ``(N, K, Wx)`` and ``simcc_y``
``(N, K, Wy)`` as numpy arrays.

- :class:`OnnxPoseModel`: the I/O of the official DWPose / RTMPose ONNX files (``dw-ll_ucoco_384.onnx``):
  input ``input`` ``(B, 3, H, W)``, outputs ``simcc_x``, ``simcc_y``. No torch.
- ``dwpose.inference.torch_pose.TorchPoseModel``: an mmpose config + checkpoint (imports torch lazily).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.inference.pose_protocol import RGB_MEAN, RGB_STD, PoseModel
from dwpose.inference.runtime import create_session
from dwpose.keypoints import NUM_KEYPOINTS


class OnnxPoseModel:
    """An RTMPose / DWPose ONNX file run by onnxruntime.

    A dynamic batch axis runs all crops in one call; a model exported with a fixed batch of 1 is
    called once per crop. (Measured on 2 idle cores: one 2-thread call on 4 crops takes 6.9 ms per
    crop, 4 calls of 1 crop 8.0 ms, two 1-thread sessions on 2 crops each at once 10.9 ms.)
    """

    mean: Tuple[float, float, float] = RGB_MEAN
    std: Tuple[float, float, float] = RGB_STD

    def __init__(self, path: str | Path, device: str = "cpu", threads: Optional[int] = None) -> None:
        self.path = Path(path)
        self.session = create_session(self.path, device, threads, what="pose model")
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        self._check_io(inputs, outputs)
        self.input_name = inputs[0].name
        self.output_names = [o.name for o in outputs]
        if "simcc_x" in self.output_names:
            self.output_names = ["simcc_x", "simcc_y"]
        batch, _, h, w = inputs[0].shape
        self.input_size = (int(w), int(h))
        self.fixed_batch = batch if isinstance(batch, int) else None
        k = outputs[0].shape[1]
        self.num_keypoints = k if isinstance(k, int) and k > 0 else NUM_KEYPOINTS  # a named axis: 133

    def _check_io(self, inputs: Sequence, outputs: Sequence) -> None:
        shape = inputs[0].shape if len(inputs) == 1 else None
        ok = shape is not None and len(shape) == 4 and shape[1] == 3
        ok = ok and all(isinstance(d, int) and d > 0 for d in shape[2:])
        ok = ok and len(outputs) == 2 and all(len(o.shape) == 3 for o in outputs)
        if not ok:
            got = [(i.name, i.shape) for i in inputs], [(o.name, o.shape) for o in outputs]
            raise UserError(
                f"{self.path} is not a pose model: expected one input (B, 3, H, W) with fixed H, W and "
                f"outputs simcc_x (B, K, Wx), simcc_y (B, K, Wy); got inputs {got[0]}, outputs {got[1]}"
            )

    def _run(self, batch: np.ndarray) -> List[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: batch})[:2]

    def __call__(self, batch: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, 3, H, W)`` float32 normalised RGB crops -> ``simcc_x (N, K, Wx)``, ``simcc_y (N, K, Wy)``."""
        n = len(batch)
        if self.fixed_batch is None or self.fixed_batch == n:
            simcc_x, simcc_y = self._run(batch)
            return simcc_x, simcc_y
        if self.fixed_batch != 1:
            raise UserError(
                f"pose model {self.path} has a fixed batch of {self.fixed_batch}; export it with "
                "a dynamic batch axis or a batch of 1"
            )
        outs = [self._run(batch[i : i + 1]) for i in range(n)]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


def load_pose_model(spec: Sequence[str], device: str = "cpu") -> PoseModel:
    """A pose model from ``[MODEL.onnx]`` or ``[CONFIG, CHECKPOINT]`` (the latter imports torch / mmpose).

    Raises:
        FileNotFoundError: a named file is missing. UserError: wrong arity or an unusable model.
    """
    spec = [str(s) for s in spec]
    if len(spec) == 1 and spec[0].lower().endswith(".onnx"):
        return OnnxPoseModel(spec[0], device)
    if len(spec) == 2 and spec[0].lower().endswith(".onnx"):
        raise UserError(f"--pose got {spec[0]} and {spec[1]}: an ONNX model is one file (put INPUT first)")
    if len(spec) == 2:
        from dwpose.inference.torch_pose import TorchPoseModel

        return TorchPoseModel(spec[0], spec[1], device)
    raise UserError(f"--pose takes MODEL.onnx or CONFIG CHECKPOINT, got {' '.join(spec) or 'nothing'}")
