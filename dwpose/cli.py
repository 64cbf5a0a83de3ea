"""The ``dwpose`` command: one entry point, subcommands implemented in the subpackages.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``; it is imported
only when its subcommand is used, so ``dwpose predict`` with ONNX models never imports torch.
User mistakes (bad paths, bad values) surface as one ``error: ...`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from dwpose.errors import guarded

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("dwpose.inference.cli", "whole-body keypoints for an image, folder, video or webcam"),
    "eval": ("dwpose.evaluation.cli", "score a COCO-WholeBody results JSON against ground truth"),
    "export": ("dwpose.export.cli", "export a pose model (ONNX, safetensors)"),
    "import-onnx": ("dwpose.export.import_cli", "rebuild a config's PyTorch model from an RTMPose ONNX file"),
    "demo-data": ("dwpose.datasets.synthetic", "generate the synthetic demo data set"),
    "demo": ("dwpose.demo", "run the miniature DWPose recipe end to end (what `make demo` runs)"),
    "study": ("dwpose.study.cli", "distillation study: every variant x seed, mean and std over seeds"),
    "app": ("dwpose.app.cli", "a web page (Gradio) for pictures, videos and webcam snapshots, on 127.0.0.1"),
    "doctor": ("dwpose.doctor", "check this environment: versions, providers, CUDA, mmcv ops, CPU, data"),
}

__all__ = ["build_parser", "guarded", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dwpose", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    argv = sys.argv[1:]
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen subcommand's module is imported (keeps `predict` light).
        if argv and argv[0] == name:
            importlib.import_module(module).add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args()
    module = importlib.import_module(args._module)
    return guarded(lambda: module.run(args))


if __name__ == "__main__":
    sys.exit(main())
