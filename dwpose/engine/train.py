"""Train a pose model or a distiller from a config (single process, torchrun or slurm).

    python -m dwpose.engine.train CONFIG [--work-dir DIR] [--resume [CKPT]] [--resume-older] [--amp]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--trust-checkpoint]

``tools/train.py`` (and ``tools/dist_train.sh``) run :func:`main` with the same arguments.
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

PROG = "python -m dwpose.engine.train"


def parse_args(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> argparse.Namespace:
    p = entry_parser(prog, __doc__, "where logs and checkpoints go (default work_dirs/<config>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CKPT",
                   help="resume from CKPT, or from the newest readable checkpoint in the work dir "
                        "(the one last_checkpoint names; if that one does not load, refused unless "
                        "--resume-older)")
    p.add_argument("--resume-older", action="store_true",
                   help="with --resume: when the checkpoint last_checkpoint names does not load, "
                        "resume from the newest older one that does (or start fresh)")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision: fp16 AMP on CUDA, bf16 autocast on a CPU with native bf16")
    add_common_arguments(p, "train_cfg.max_epochs=10 data_root=/data/")
    return p.parse_args(argv)


def prepare_train_cfg(args: Any):
    """Build the training config (an MMEngine ``Config``) from the parsed arguments."""
    from dwpose.engine.checkpoint import check_resumable, find_resumable_checkpoint, read_checkpoint
    from dwpose.engine.config import load_config
    from dwpose.engine.preflight import check_weight_files

    cfg = load_config(args.config, args.cfg_options)
    set_run_arguments(cfg, args)
    if args.amp:
        from dwpose.engine.amp import configure_amp

        print(configure_amp(cfg))
    if getattr(args, "resume_older", False) and args.resume is None:
        args.resume = "auto"
    if args.resume == "auto":
        skipped: list = []
        older = getattr(args, "resume_older", False)
        found = find_resumable_checkpoint(cfg.work_dir, allow_older=older, skipped=skipped)
        for line in skipped:
            print(f"resume: {line}")
        cfg.resume = found is not None
        cfg.load_from = found
        print(f"resume: {found or 'no readable checkpoint in ' + cfg.work_dir + ', starting fresh'}")
    elif args.resume:
        check_resumable(read_checkpoint(args.resume), args.resume)  # missing, truncated, unsafe, bare
        cfg.resume, cfg.load_from = True, args.resume
    check_weight_files(cfg, check_load_from=args.resume is None)  # --resume checkpoints are read above
    return cfg


def train(args: Any) -> None:
    """Train as the parsed arguments say (resumed checkpoints must fit the config strictly)."""
    from dwpose.engine.checkpoint import check_fits, read_checkpoint, select_state_dict

    cfg = prepare_train_cfg(args)
    runner = build_runner(cfg)
    if cfg.get("resume") and cfg.get("load_from"):  # MMEngine resumes with strict=False: check here
        source = f"checkpoint {cfg.load_from}"
        state = select_state_dict(read_checkpoint(cfg.load_from), source=source)
        check_fits(bare_model(runner), state, source=source, target=f"config {args.config}")
    runner.train()


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    """Parse ``argv`` and train; returns the exit status (2: a user mistake, one ``error:`` line)."""
    return run_guarded(parse_args(argv, prog), train, prog)


if __name__ == "__main__":
    sys.exit(main())
