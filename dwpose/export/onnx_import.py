"""``dwpose import-onnx``: a config's PyTorch pose model rebuilt from an RTMPose / DWPose ONNX file.

The graph's weights (:func:`dwpose.export.onnx_graph.read_graph`) are put onto the config's model by
structure, not by name (exported files keep no names):

- **convolutions in the order the model runs them** (found with forward hooks on a dummy crop):
  the i-th ``Conv`` of the graph gives the i-th ``Conv2d``. Where the model has a BatchNorm after
  the convolution and the graph folded it in, the convolution takes the folded weight and the
  BatchNorm identity statistics (running mean 0, variance 1, weight ``sqrt(1 + eps)``) with the
  folded bias as its bias, so it passes the folded output through unchanged. (Fine-tuning an
  imported model therefore starts its BatchNorms from these statistics, not the original ones.)
  An unfolded ``BatchNormalization`` node is copied as it is.
- **the head** (RTMCC: ScaleNorm + linear, the GAU, ``cls_x`` / ``cls_y``) from its constants in
  graph order, linear weights transposed back from ``(in, out)``.

A graph that does not fit is refused with one line naming the first layer that does not and both
shapes. Before anything is written, both models run on the same random crops and the SimCC
outputs must agree within ``TOLERANCE x max(1, output scale)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.export.onnx_graph import ConvLayer, Graph, HeadConstant, read_graph

TOLERANCE = 1e-4
# head keys in the order their constants appear in the graph, and the form each takes there
HEAD_LAYOUT = (
    ("mlp.0.g", "gain"), ("mlp.1.weight", "linear"), ("mlp.1.bias", "bias"),
    ("gau.ln.g", "gain"), ("gau.uv.weight", "linear"), ("gau.uv.bias", "bias"),
    ("gau.gamma", "mul"), ("gau.beta", "add"),
    ("gau.o.weight", "linear"), ("gau.o.bias", "bias"), ("gau.res_scale.scale", "mul"),
    ("cls_x.weight", "linear"), ("cls_x.bias", "bias"), ("cls_y.weight", "linear"), ("cls_y.bias", "bias"),
)


def _mismatch(graph: Graph, config: str, layer: str, want: tuple, got: Optional[tuple],
              where: str) -> UserError:
    """The one-line refusal: the first layer that does not fit, its shape in the config and the graph."""
    got_text = "nothing (the graph has no more)" if got is None else str(tuple(got))
    return UserError(f"{graph.path.name} does not fit config {Path(config).name}: layer '{layer}' is "
                     f"{tuple(want)} in the config but {got_text} in the ONNX graph ({where})")


def conv_order(model, input_hw: Tuple[int, int]) -> List[Tuple[str, object, Optional[Tuple[str, object]]]]:
    """``(name, Conv2d, (bn name, BatchNorm) or None)`` in the order a forward pass runs them."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    calls: List[Tuple[str, object]] = []
    hooks = [m.register_forward_pre_hook(lambda mod, _args, n=name: calls.append((n, mod)))
             for name, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, _BatchNorm))]
    try:
        with torch.no_grad():
            model.head.forward(model.extract_feat(torch.zeros(1, 3, *input_hw)))
    finally:
        for h in hooks:
            h.remove()
    order = []
    for name, mod in calls:
        if isinstance(mod, torch.nn.Conv2d):
            order.append((name, mod, None))
        elif order and order[-1][2] is None and order[-1][1].out_channels == mod.num_features:
            order[-1] = (*order[-1][:2], (name, mod))
        else:
            raise UserError(f"the config's model has a BatchNorm '{name}' that follows no convolution; "
                            "only RTMPose-style models can be imported")
    return order


def _conv_state(name: str, conv, bn, layer: ConvLayer, graph: Graph, config: str) -> Dict[str, np.ndarray]:
    """State-dict entries of one convolution (and its BatchNorm) from one graph ``Conv``."""
    want = tuple(conv.weight.shape)
    if tuple(layer.weight.shape) != want:
        raise _mismatch(graph, config, f"{name}.weight", want, layer.weight.shape, f"Conv {layer.name!r}")
    out = {f"{name}.weight": layer.weight}
    c = want[0]
    bias = layer.bias if layer.bias is not None else np.zeros(c, np.float32)
    if bias.shape != (c,):
        raise _mismatch(graph, config, f"{name}.bias", (c,), bias.shape, f"Conv {layer.name!r}")
    if conv.bias is not None:
        out[f"{name}.bias"], bias = bias, np.zeros(c, np.float32)
    elif bn is None and np.any(bias != 0):
        raise UserError(f"{graph.path.name} does not fit config {Path(config).name}: layer '{name}' "
                        f"has no bias in the config but a bias in the ONNX graph (Conv {layer.name!r})")
    if bn is not None:
        bn_name, bn_mod = bn
        if layer.bn is not None:  # BatchNormalization kept in the graph: copy it (after the conv bias)
            stats = layer.bn
            mean, var, weight, beta = stats["mean"] - bias, stats["var"], stats["scale"], stats["bias"]
        else:  # folded: identity statistics, the folded bias as the BatchNorm's bias
            mean, var = np.zeros(c, np.float32), np.ones(c, np.float32)
            weight = np.full(c, np.sqrt(1.0 + bn_mod.eps), np.float32)
            beta = bias
        out.update({f"{bn_name}.running_mean": mean, f"{bn_name}.running_var": var,
                    f"{bn_name}.weight": weight, f"{bn_name}.bias": beta})
    return out


def _head_value(key: str, form: str, want: tuple, const: HeadConstant) -> Optional[np.ndarray]:
    """``const`` as the state-dict tensor ``key`` of shape ``want``, or ``None`` if it cannot be."""
    value = const.value
    if form == "gain":
        ok = const.after_div and value.size == 1
        return value.reshape(want) if ok else None
    if form == "linear":
        if const.op == "Gemm" and const.role == "weight":
            value = value if const.trans_b else value.T
        elif const.op == "MatMul" and value.ndim == 2:
            value = value.T
        else:
            return None
        return value if tuple(value.shape) == want else None
    op = {"bias": "Add", "add": "Add", "mul": "Mul"}[form]
    ok = (const.op == op or (form == "bias" and const.role == "bias")) and value.size == int(np.prod(want))
    return value.reshape(want) if ok else None


def _head_state(model, graph: Graph, config: str) -> Dict[str, np.ndarray]:
    head_state = {k.removeprefix("head."): v for k, v in model.state_dict().items()
                  if k.startswith("head.") and not k.startswith("head.final_layer.")}
    known = {k for k, _ in HEAD_LAYOUT}
    unknown = sorted(set(head_state) - known)
    if unknown:
        raise UserError(f"config {Path(config).name}: head layer 'head.{unknown[0]}' is not part of the "
                        "RTMPose ONNX layout this importer reads")
    out, pending = {}, list(graph.head)
    for key, form in HEAD_LAYOUT:
        if key not in head_state:
            continue
        want = tuple(head_state[key].shape)
        const = pending.pop(0) if pending else None
        value = _head_value(key, form, want, const) if const is not None else None
        if value is None:
            got = None if const is None else tuple(const.value.shape)
            where = "after the last Conv" if const is None else f"{const.op} {const.node!r}"
            raise _mismatch(graph, config, f"head.{key}", want, got, where)
        out[f"head.{key}"] = value
    if pending:
        extra = pending[0]
        raise UserError(f"{graph.path.name} does not fit config {Path(config).name}: the ONNX graph has "
                        f"weights the config's head does not ({extra.op} {extra.node!r}, "
                        f"{tuple(extra.value.shape)})")
    return out


def state_from_graph(model, graph: Graph, config: str) -> Dict[str, object]:
    """The full state dict of ``model`` (a config's top-down estimator) filled from ``graph``.

    Raises:
        UserError: one line naming the first layer that does not fit, with both shapes.
    """
    import torch

    order = conv_order(model, graph.input_hw)
    arrays: Dict[str, np.ndarray] = {}
    for (name, conv, bn), layer in zip(order, graph.convs):  # the first misfit by shape wins
        arrays.update(_conv_state(name, conv, bn, layer, graph, config))
    if len(graph.convs) < len(order):
        name, conv, _ = order[len(graph.convs)]
        raise _mismatch(graph, config, f"{name}.weight", tuple(conv.weight.shape), None,
                        f"it has {len(graph.convs)} Conv nodes, the config {len(order)}")
    if len(graph.convs) > len(order):
        extra = graph.convs[len(order)]
        raise UserError(f"{graph.path.name} does not fit config {Path(config).name}: the ONNX graph has "
                        f"{len(graph.convs)} Conv nodes, the config's model {len(order)} (first extra: "
                        f"{extra.name!r}, {tuple(extra.weight.shape)})")
    arrays.update(_head_state(model, graph, config))
    state = dict(model.state_dict())
    for key, value in arrays.items():
        state[key] = torch.from_numpy(np.array(value, dtype=np.float32, copy=True)).to(state[key].dtype)
    return state


def import_onnx(onnx_path: str | Path, config: str | Path, seed: int = 0):
    """``(TorchPoseModel with the graph's weights, max |diff|, output scale)``.

    Raises:
        FileNotFoundError: a missing file. UserError: not a pose ONNX file, a config it does not
            fit (one line naming the layer), or outputs that disagree beyond the tolerance.
    """
    from dwpose.export.onnx import parity
    from dwpose.inference.torch_pose import TorchPoseModel

    graph = read_graph(onnx_path)
    model = TorchPoseModel(config, None, "cpu")
    w, h = model.input_size
    if (h, w) != graph.input_hw:
        raise UserError(f"{graph.path.name} does not fit config {Path(config).name}: its input is "
                        f"{graph.input_hw[1]}x{graph.input_hw[0]} (WxH), the config's {w}x{h}")
    model.model.load_state_dict(state_from_graph(model.model, graph, str(config)), strict=True)
    model.model.eval()
    diff, scale = parity(model, graph.path, num_crops=2, seed=seed)
    if diff > TOLERANCE * max(1.0, scale):
        raise UserError(f"the model rebuilt from {graph.path.name} does not reproduce it: max |PyTorch - "
                        f"onnxruntime| {diff:.3g} on random crops (outputs up to {scale:.3g}, allowed "
                        f"{TOLERANCE:g} x max(1, that)); the graph's layout is not the config's")
    return model, diff, scale
