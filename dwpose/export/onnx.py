"""Export an mmpose RTMPose / DWPose model to ONNX with the I/O of the official DWPose ONNX files.

The graph takes ``input`` ``(B, 3, H, W)`` float32 (RGB crops already normalised with the model's
mean / std) and returns ``simcc_x`` ``(B, K, W * r)`` and ``simcc_y`` ``(B, K, H * r)`` logits, with a
dynamic batch axis, so ``dwpose predict --pose OUT.onnx`` (and any DWPose ONNX consumer) can use it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import torch

    from dwpose.inference.torch_pose import TorchPoseModel

INPUT_NAME = "input"
OUTPUT_NAMES = ("simcc_x", "simcc_y")
MIN_OPSET = 11


def supported_opsets() -> Tuple[int, int]:
    """``(lowest, highest)`` ONNX opset this export can write with the installed torch and onnx."""
    import onnx

    try:  # torch states its limits only here (a private module, present since torch 1.13)
        from torch.onnx import _constants

        torch_max = getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", _constants.ONNX_MAX_OPSET)
    except (ImportError, AttributeError):
        torch_max = 17  # what every torch 2.x exporter writes
    return MIN_OPSET, min(int(torch_max), onnx.defs.onnx_opset_version())


def check_opset(opset: int) -> None:
    """Raise :class:`~dwpose.errors.UserError` unless the installed torch and onnx can export
    ``opset``."""
    low, high = supported_opsets()
    if not low <= opset <= high:
        raise UserError(f"--opset must be between {low} and {high} with the installed torch and onnx "
                        f"(got {opset})")


def _wrapper(pose_model: TorchPoseModel) -> torch.nn.Module:
    import torch

    class SimCCGraph(torch.nn.Module):
        """backbone (+ neck) + head -> (simcc_x, simcc_y); the data preprocessor is left out."""

        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, x):
            return tuple(self.model.head.forward(self.model.extract_feat(x)))

    return SimCCGraph(pose_model.model).eval()


def export_model(pose_model: TorchPoseModel, out: str | Path, opset: int = 17) -> Path:
    """Export a loaded :class:`~dwpose.inference.torch_pose.TorchPoseModel` to ``out`` atomically.

    Args:
        pose_model: the PyTorch pose model (its ``input_size`` fixes the crop size).
        out: destination ``.onnx``.
        opset: ONNX opset, within :func:`supported_opsets`.

    Returns:
        ``out`` as a Path, after onnx's checker accepted the file.

    Raises:
        UserError: an opset the installed torch / onnx cannot write.
    """
    import onnx
    import torch

    check_opset(opset)
    w, h = pose_model.input_size
    dummy = torch.zeros(1, 3, h, w, device=pose_model.device)
    dynamic = {INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in OUTPUT_NAMES}}
    buf = io.BytesIO()
    graph = _wrapper(pose_model)
    with torch.no_grad():
        shapes = {name: tuple(t.shape) for name, t in zip(OUTPUT_NAMES, graph(dummy))}
        torch.onnx.export(
            graph,
            (dummy,),
            buf,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    model_proto = onnx.load_from_string(buf.getvalue())
    # the tracer leaves the keypoint and bin axes symbolic ('MatMulsimcc_x_dim_1'); declare them as
    # the official files do (simcc_x 1x133x576 at 384x288), only the batch axis stays dynamic
    for output in model_proto.graph.output:
        for axis, size in list(enumerate(shapes[output.name]))[1:]:
            output.type.tensor_type.shape.dim[axis].dim_value = size
    onnx.checker.check_model(model_proto)
    return atomic_write_bytes(out, model_proto.SerializeToString())


def parity(
    pose_model: TorchPoseModel, onnx_path: str | Path, num_crops: int = 4, seed: int = 0
) -> Tuple[float, float]:
    """Compare the SimCC outputs of PyTorch and onnxruntime on random crops.

    Args:
        pose_model: the PyTorch model that was exported.
        onnx_path: the exported file.
        num_crops: batch size of the random normalised crops ``(N, 3, H, W)``.
        seed: numpy seed of the crops.

    Returns:
        ``(max |torch - onnxruntime|, max |torch|)`` over both outputs; float32 rounding makes the first
        grow with the second (about 1e-6 of it), so judge it relative to ``max(1, scale)``.
    """
    from dwpose.inference.pose_models import OnnxPoseModel

    w, h = pose_model.input_size
    crops = np.random.default_rng(seed).standard_normal((num_crops, 3, h, w)).astype(np.float32)
    refs = pose_model(crops)
    outs = OnnxPoseModel(onnx_path)(crops)
    diff = max(float(np.abs(r - o).max()) for r, o in zip(refs, outs))
    return diff, max(float(np.abs(r).max()) for r in refs)
