"""What the train and test entry points share: their parser, launcher and work dir, runner, guarded run.

:mod:`dwpose.engine.train` and :mod:`dwpose.engine.test` hold the logic behind ``tools/train.py`` and
``tools/test.py`` (those files only call them), runnable from an installed package as
``python -m dwpose.engine.train`` / ``python -m dwpose.engine.test``. Both turn user mistakes
(missing files, config typos, unknown registry names, a corrupt image, a checkpoint that does not fit
or is not safe to unpickle) into one ``error:`` line and exit code 2; real bugs keep their traceback.
Checkpoints are read, checked and loaded by :mod:`dwpose.engine.checkpoint`; MMEngine's own loads
(resume, ``load_from``) run inside its :func:`~dwpose.engine.checkpoint.safe_loading`, so a work dir
of the stock MMEngine ``Runner`` resumes without unrestricted unpickling. ``--trust-checkpoint`` lifts
the restriction (warns).
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
from typing import Any, Callable

from dwpose.engine.preflight import DictAction
from dwpose.errors import guarded


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config name without .py>``."""
    return osp.join("work_dirs", osp.splitext(osp.basename(config_path))[0])


def entry_parser(prog: str, doc: str, work_dir_help: str) -> argparse.ArgumentParser:
    """The parser both entry points start from: ``config`` and ``--work-dir``; each adds its own
    arguments (positionals after ``config``), then :func:`add_common_arguments`."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument("--work-dir", help=work_dir_help)
    return parser


def add_common_arguments(parser: argparse.ArgumentParser, cfg_example: str) -> None:
    """``--cfg-options``, ``--launcher``, ``--local_rank`` and ``--trust-checkpoint``."""
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
                        help=f"override config entries, e.g. {cfg_example}")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle checkpoints without restriction (it can run code: only for "
                             "files from a source you trust); by default only tensors, plain values, "
                             "numpy and MMEngine's log buffers / configs are read")


def set_run_arguments(cfg: Any, args: argparse.Namespace) -> None:
    """``cfg.launcher`` from ``--launcher`` (checked against the environment) and ``cfg.work_dir`` from
    ``--work-dir``, else the config's ``work_dir``, else :func:`default_work_dir`."""
    from dwpose.engine.preflight import check_launcher_env

    check_launcher_env(args.launcher)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or default_work_dir(args.config)


def build_runner(cfg: Any):
    """Build the runner named by the config (``DWPoseRunner`` for ours)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if "runner_type" in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def bare_model(runner):
    """The runner's model without its DDP wrapper."""
    return runner.model.module if hasattr(runner.model, "module") else runner.model


def run_guarded(args: argparse.Namespace, fn: Callable[[argparse.Namespace], Any], prog: str) -> int:
    """Set ``LOCAL_RANK`` from ``--local_rank``, then ``fn(args)`` under the checkpoint-trust rules,
    through :func:`dwpose.errors.guarded` (a user mistake: one ``PROG: error:`` line, exit code 2)."""
    if "LOCAL_RANK" not in os.environ and getattr(args, "local_rank", 0):
        os.environ["LOCAL_RANK"] = str(args.local_rank)

    def run() -> int:
        from dwpose.engine.checkpoint import safe_loading, trusting

        with trusting(getattr(args, "trust_checkpoint", False), prog=prog), safe_loading():
            fn(args)  # train/test return the runner's result (metrics), not an exit code
        return 0

    return guarded(run, prog=prog)
