"""``dwpose import-onnx MODEL.onnx CONFIG OUT.{pth,safetensors} [--seed N]``: trainable weights from
an RTMPose / DWPose ONNX file (see :mod:`dwpose.export.onnx_import`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dwpose.errors import UserError

SUFFIXES = (".pth", ".safetensors")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose import-onnx``."""
    parser.add_argument("onnx", type=Path, metavar="MODEL.onnx",
                        help="RTMPose / DWPose ONNX file (input 'input' 1x3xHxW, outputs simcc_x, simcc_y)")
    parser.add_argument("config", type=Path, metavar="CONFIG", help="mmpose config of the same model")
    parser.add_argument("out", type=Path, metavar="OUT", help="destination .pth or .safetensors file")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random crops both models run")


def run(args: argparse.Namespace) -> int:
    """Import, check the outputs agree, write; user mistakes raise UserError / FileNotFoundError."""
    from dwpose.engine import safetensors_io as st
    from dwpose.engine.checkpoint import atomic_save
    from dwpose.export.onnx_import import import_onnx

    suffix = args.out.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"the output file must end in .pth or .safetensors, got {args.out}")
    if args.out.resolve() == args.onnx.resolve():
        raise UserError("the output path equals the ONNX file; write the checkpoint elsewhere")
    model, diff, scale = import_onnx(args.onnx, args.config, seed=args.seed)
    meta = st.model_metadata(args.config, args.onnx, input_size=model.input_size,
                             num_keypoints=model.num_keypoints, imported_from="onnx")
    state = model.model.state_dict()
    if suffix == ".safetensors":
        st.write_safetensors(state, args.out, meta)
    else:
        atomic_save({"state_dict": state, "meta": dict(meta)}, args.out)
    print(f"imported {args.onnx} into {args.config} -> {args.out} (max |PyTorch - onnxruntime| "
          f"{diff:.2e}, outputs up to {scale:.3g}); BatchNorms folded in the graph start from identity "
          "statistics")
    return 0
