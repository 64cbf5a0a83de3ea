"""Evaluate a pose checkpoint and print the whole-body AP/AR table, or MPII's PCKh table (saved too).

    python -m dwpose.engine.test CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi] [--trust-checkpoint]

``tools/test.py`` (and ``tools/dist_test.sh``) run :func:`main` with the same arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, Sequence

from dwpose.engine.entry import (
    add_common_arguments,
    bare_model,
    build_runner,
    entry_parser,
    run_guarded,
    set_run_arguments,
)

PROG = "python -m dwpose.engine.test"


def parse_args(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> argparse.Namespace:
    p = entry_parser(prog, __doc__, "where logs and the AP/AR tables go (default work_dirs/<config>)")
    p.add_argument("checkpoint", help="pose checkpoint (a distiller checkpoint: run pth_transfer.py first)")
    add_common_arguments(p, "data_root=/data/")
    return p.parse_args(argv)


def test(args: Any) -> dict:
    """Evaluate a checkpoint; prints and saves the whole-body AP/AR table. Returns the metrics."""
    from dwpose.engine.checkpoint import load_state_dict_strict, read_checkpoint, select_state_dict
    from dwpose.engine.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    source = f"checkpoint {args.checkpoint}"
    state = select_state_dict(read_checkpoint(args.checkpoint), source=source)
    set_run_arguments(cfg, args)
    cfg.load_from = None  # loaded strictly below, before EMA hooks copy the model in before_run
    runner = build_runner(cfg)
    load_state_dict_strict(bare_model(runner), state, source=source, target=f"config {args.config}")
    metrics = runner.test()
    from mmengine.dist import is_main_process

    if is_main_process():
        from dwpose.evaluation.report import print_and_save

        print_and_save(metrics, runner.work_dir)
    return metrics


test.__test__ = False  # not a pytest test, whatever imports it


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    """Parse ``argv`` and evaluate; returns the exit status (2: a user mistake, one ``error:`` line)."""
    return run_guarded(parse_args(argv, prog), test, prog)


if __name__ == "__main__":
    sys.exit(main())
