"""Reading the weights out of an RTMPose / DWPose ONNX graph, by its structure.

An exported RTMPose graph holds its weights as constants (initializers, ``Constant`` nodes, or
``Identity`` copies of either, which the exporter writes for tensors that came out equal):

- every convolution is a ``Conv`` node, in the order the model runs them; eval-mode BatchNorms are
  usually folded into the convolution before them (``W * g / sqrt(v + eps)``, bias
  ``b - m * g / sqrt(v + eps) + beta``), else a ``BatchNormalization`` node follows the ``Conv``;
- the head's linear layers are ``MatMul`` nodes whose constant is the weight transposed
  ``(in, out)`` (or ``Gemm`` with ``transB``), ScaleNorm's gain a ``Mul`` after a ``Div``, the GAU's
  ``gamma`` / ``beta`` a ``Mul`` / ``Add`` with a ``(.., 2, s)`` constant, the residual scale a ``Mul``.

:func:`read_graph` lists them in graph order for :mod:`dwpose.export.onnx_import` to map onto a
config's model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from dwpose.errors import UserError

PARAM_OPS = ("MatMul", "Gemm", "Mul", "Add")


@dataclass
class ConvLayer:
    """One ``Conv`` node: weight, bias (``None`` if absent) and the BatchNorm after it, if unfolded."""

    name: str
    weight: np.ndarray
    bias: Optional[np.ndarray]
    bn: Optional[Dict[str, np.ndarray]] = None  # scale, bias, mean, var, eps


@dataclass
class HeadConstant:
    """A constant operand of a ``MatMul`` / ``Gemm`` / ``Mul`` / ``Add`` node after the last ``Conv``."""

    node: str
    op: str
    value: np.ndarray
    after_div: bool = False  # a Mul whose other operand a Div made (ScaleNorm's gain)
    trans_b: bool = False  # Gemm with transB=1: the weight is stored (out, in)
    role: str = "operand"  # Gemm: "weight" or "bias"


@dataclass
class Graph:
    """What :func:`read_graph` found: the input size, convolutions and head constants in order."""

    path: Path
    input_hw: Tuple[int, int]
    convs: List[ConvLayer] = field(default_factory=list)
    head: List[HeadConstant] = field(default_factory=list)


def _constants(graph) -> Dict[str, np.ndarray]:
    """Every tensor name that holds a constant: initializers, ``Constant`` outputs, ``Identity`` copies."""
    from onnx import numpy_helper

    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
        elif node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


def _input_hw(path: Path, graph) -> Tuple[int, int]:
    inputs = [i for i in graph.input if i.name not in {init.name for init in graph.initializer}]
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim] if len(inputs) == 1 else []
    outputs = {o.name for o in graph.output}
    if len(dims) != 4 or dims[1] != 3 or min(dims[2:]) <= 0 or not {"simcc_x", "simcc_y"} <= outputs:
        raise UserError(f"{path} is not an RTMPose / DWPose ONNX file: expected one input (B, 3, H, W) "
                        f"and outputs simcc_x, simcc_y; it has {len(inputs)} input(s) and outputs "
                        f"{sorted(outputs)}")
    return int(dims[2]), int(dims[3])


def _bn_after(node, consumers: Dict[str, list], values: Dict[str, np.ndarray]) -> Optional[dict]:
    """The ``BatchNormalization`` node that reads this ``Conv``'s output, as arrays, or ``None``."""
    for user in consumers.get(node.output[0], []):
        if user.op_type == "BatchNormalization" and all(n in values for n in user.input[1:5]):
            eps = next((a.f for a in user.attribute if a.name == "epsilon"), 1e-5)
            scale, bias, mean, var = (values[n] for n in user.input[1:5])
            return dict(scale=scale, bias=bias, mean=mean, var=var, eps=np.float32(eps))
    return None


def read_graph(path: str | Path) -> Graph:
    """The convolutions and head constants of an ONNX pose model, in graph order.

    Raises:
        FileNotFoundError: no such file. UserError: not an ONNX model, or not of the pose layout.
    """
    import onnx

    from dwpose.fileio import require_file

    path = require_file(path, "ONNX model")
    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # onnx raises DecodeError and others for a file that is not ONNX
        raise UserError(f"{path} is not an ONNX model ({type(exc).__name__})") from exc
    values = _constants(graph)
    producers = {out: node for node in graph.node for out in node.output}
    consumers: Dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    result = Graph(path, _input_hw(path, graph))
    last_conv = max((i for i, n in enumerate(graph.node) if n.op_type == "Conv"), default=-1)
    for i, node in enumerate(graph.node):
        if node.op_type == "Conv":
            if node.input[1] not in values:
                raise UserError(f"{path}: Conv node {node.name!r} has no constant weight")
            bias = values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            result.convs.append(ConvLayer(node.name or node.output[0], values[node.input[1]], bias,
                                          _bn_after(node, consumers, values)))
        elif i > last_conv and node.op_type in PARAM_OPS:
            result.head += _head_constants(node, values, producers)
    return result


def _head_constants(node, values: Dict[str, np.ndarray], producers: Dict[str, object]) -> List[HeadConstant]:
    """The weight-like constants a head node reads (scalars only where they are ScaleNorm's gain)."""
    found = []
    name = node.name or node.output[0]
    if node.op_type == "Gemm":
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        if node.input[1] in values:
            found.append(HeadConstant(name, "Gemm", values[node.input[1]], trans_b=trans_b, role="weight"))
        if len(node.input) > 2 and node.input[2] in values:
            found.append(HeadConstant(name, "Gemm", values[node.input[2]], role="bias"))
        return found
    operands = list(node.input)
    for k, operand in enumerate(operands):
        if operand not in values:
            continue
        other = producers.get(operands[1 - k]) if len(operands) == 2 else None
        after_div = node.op_type == "Mul" and getattr(other, "op_type", "") == "Div"
        value = values[operand]
        if value.size > 1 or after_div:
            found.append(HeadConstant(name, node.op_type, value, after_div=after_div))
    return found
