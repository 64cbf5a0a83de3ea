"""``dwpose export onnx CONFIG CHECKPOINT OUT.onnx [--input-size W H] [--opset 17] [--check]
[--trust-checkpoint]`` and ``dwpose export safetensors CONFIG CHECKPOINT OUT.safetensors``."""

from __future__ import annotations

import argparse
from pathlib import Path

from dwpose.errors import UserError

PARITY_TOLERANCE = 1e-4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose export``: one sub-command per format (``onnx``, ``safetensors``)."""
    formats = parser.add_subparsers(dest="format", metavar="FORMAT")
    formats.required = True
    onnx = formats.add_parser(
        "onnx",
        help="ONNX with input 'input' and outputs 'simcc_x', 'simcc_y'",
        description="Export a pose model to ONNX (dynamic batch axis).",
    )
    onnx.add_argument("config", type=Path, help="mmpose config of the pose model")
    onnx.add_argument("checkpoint", type=Path, help="its checkpoint (.pth, an MMEngine checkpoint is fine)")
    onnx.add_argument("out", type=Path, help="destination .onnx file")
    onnx.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        metavar=("W", "H"),
        help="crop size; default: the config's (must match what the checkpoint was trained on)",
    )
    onnx.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    onnx.add_argument(
        "--check",
        action="store_true",
        help=f"compare with PyTorch on random crops (fail above {PARITY_TOLERANCE:g} x max(1, scale))",
    )
    onnx.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="unpickle CHECKPOINT without restriction (it can run code: only for files from a source "
        "you trust); by default only tensors, plain values, numpy and MMEngine's log buffers are read",
    )
    st = formats.add_parser(
        "safetensors",
        help="the model's state dict as safetensors (no pickle), with metadata",
        description="Write a pose model's weights as a .safetensors file (metadata: config name, input "
        "size, keypoint count, the source checkpoint's sha256).",
    )
    st.add_argument("config", type=Path, help="mmpose config of the pose model")
    st.add_argument("checkpoint", type=Path, help="its checkpoint (.pth or .safetensors)")
    st.add_argument("out", type=Path, help="destination .safetensors file")
    st.add_argument("--trust-checkpoint", action="store_true",
                    help="unpickle CHECKPOINT without restriction (only for files from a source you trust)")


def run_safetensors(args: argparse.Namespace) -> int:
    """``dwpose export safetensors``: the checkpoint's weights, checked against the config."""
    from dwpose.engine import safetensors_io as st
    from dwpose.engine.checkpoint import trusting
    from dwpose.inference.torch_pose import TorchPoseModel

    if args.out.suffix.lower() != st.SUFFIX:
        raise UserError(f"the output file must end in {st.SUFFIX}, got {args.out}")
    with trusting(args.trust_checkpoint, prog="dwpose export"):
        model = TorchPoseModel(args.config, args.checkpoint, "cpu")
    meta = st.model_metadata(args.config, args.checkpoint, input_size=model.input_size,
                             num_keypoints=model.num_keypoints)
    st.write_safetensors(model.model.state_dict(), args.out, meta)
    print(f"exported {args.out} ({meta['input_size']}, {meta['num_keypoints']} keypoints, "
          f"from {args.checkpoint})")
    return 0


def run(args: argparse.Namespace) -> int:
    """Export; user mistakes raise UserError / FileNotFoundError (one error line, exit 2)."""
    if args.format == "safetensors":
        return run_safetensors(args)
    from dwpose.engine.checkpoint import trusting
    from dwpose.export.onnx import check_opset, export_model, parity
    from dwpose.inference.torch_pose import TorchPoseModel

    if args.out.suffix.lower() != ".onnx":
        raise UserError(f"the output file must end in .onnx, got {args.out}")
    if args.input_size is not None and min(args.input_size) < 32:
        raise UserError(f"--input-size must be at least 32x32, got {args.input_size}")
    check_opset(args.opset)  # before loading the model
    with trusting(args.trust_checkpoint, prog="dwpose export"):
        model = TorchPoseModel(args.config, args.checkpoint, "cpu", args.input_size)
    out = export_model(model, args.out, args.opset)
    w, h = model.input_size
    print(f"exported {out} (input 'input' (B, 3, {h}, {w}); outputs 'simcc_x', 'simcc_y')")
    if args.check:
        diff, scale = parity(model, out)
        print(f"max |PyTorch - onnxruntime| on random crops: {diff:.2e} (outputs up to {scale:.3g})")
        if diff > PARITY_TOLERANCE * max(1.0, scale):
            print(f"parity check FAILED (> {PARITY_TOLERANCE:g} x max(1, output scale))")
            return 1
    return 0
