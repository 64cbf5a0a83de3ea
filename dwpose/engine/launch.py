"""The logic behind ``tools/train.py`` and ``tools/test.py`` (those files only parse arguments).

Both turn user mistakes (missing files, config typos, unknown registry names, a corrupt image, a
checkpoint that does not fit or is not safe to unpickle) into one ``error:`` line and exit code 2;
real bugs keep their traceback. Checkpoints are read, checked and loaded by
:mod:`dwpose.engine.checkpoint`; MMEngine's own loads (resume, ``load_from``) run inside its
:func:`~dwpose.engine.checkpoint.safe_loading`, so a work dir of the stock MMEngine ``Runner``
resumes without unrestricted unpickling. ``--trust-checkpoint`` lifts the restriction (warns).
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Optional, Sequence

from mmengine.config import Config

from dwpose.engine.preflight import (
    DictAction,  # noqa: F401  (re-exported for tools)
    cfg_options_error,
    check_launcher_env,
    check_weight_files,
)
from dwpose.errors import first_line as _first_line
from dwpose.errors import guarded
from dwpose.fileio import require_file

CONFIG_ERRORS = (SyntaxError, NameError, TypeError, AttributeError, ImportError, KeyError)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options``; a ``data_root`` option moves every path.

    Raises:
        FileNotFoundError / IsADirectoryError: the config does not exist / is a folder.
        ValueError: the config cannot be parsed.
    """
    require_file(path, "config")
    try:
        cfg = Config.fromfile(path)
    except CONFIG_ERRORS as exc:
        raise ValueError(f"config {path} is invalid: {type(exc).__name__}: {_first_line(exc)}") from exc
    options = dict(cfg_options or {})
    new_root = options.pop("data_root", None)
    if new_root is not None:
        set_data_root(cfg, str(new_root))
    if options:
        try:
            cfg.merge_from_dict(options)
        except (TypeError, KeyError) as exc:  # e.g. a field of a value the config sets to None
            raise ValueError(cfg_options_error(exc, options)) from exc
    return cfg


def set_data_root(cfg: Config, new_root: str) -> None:
    """Point every data path that starts with the config's ``data_root`` at ``new_root``."""
    old = cfg.get("data_root")
    if not new_root.endswith("/"):
        new_root += "/"
    if old:
        for key in ("train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator",
                    "test_evaluator"):
            if key in cfg:
                cfg[key] = _replace_prefix(cfg[key], old, new_root)
    cfg.data_root = new_root


def _replace_prefix(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        return new + node[len(old):] if node.startswith(old) else node
    if isinstance(node, dict):
        return type(node)({k: _replace_prefix(v, old, new) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_prefix(v, old, new) for v in node)
    return node


def default_work_dir(config_path: str) -> str:
    return osp.join("work_dirs", osp.splitext(osp.basename(config_path))[0])


def prepare_train_cfg(args: Any) -> Config:
    """Build the training config from the parsed ``tools/train.py`` arguments."""
    from dwpose.engine.checkpoint import check_resumable, find_resumable_checkpoint, read_checkpoint

    cfg = load_config(args.config, args.cfg_options)
    check_launcher_env(args.launcher)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or default_work_dir(args.config)
    if args.amp:
        from dwpose.engine.amp import configure_amp

        print(configure_amp(cfg))
    if args.resume == "auto":
        found = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = found is not None
        cfg.load_from = found
        print(f"resume: {found or 'no readable checkpoint in ' + cfg.work_dir + ', starting fresh'}")
    elif args.resume:
        check_resumable(read_checkpoint(args.resume), args.resume)  # missing, truncated, unsafe, bare
        cfg.resume, cfg.load_from = True, args.resume
    check_weight_files(cfg, check_load_from=args.resume is None)  # --resume checkpoints are read above
    return cfg


def build_runner(cfg: Config):
    """Build the runner named by the config (``DWPoseRunner`` for ours)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if "runner_type" in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def _bare_model(runner):
    return runner.model.module if hasattr(runner.model, "module") else runner.model


def train(args: Any) -> None:
    from dwpose.engine.checkpoint import check_fits, read_checkpoint, select_state_dict

    cfg = prepare_train_cfg(args)
    runner = build_runner(cfg)
    if cfg.get("resume") and cfg.get("load_from"):  # MMEngine resumes with strict=False: check here
        source = f"checkpoint {cfg.load_from}"
        state = select_state_dict(read_checkpoint(cfg.load_from), source=source)
        check_fits(_bare_model(runner), state, source=source, target=f"config {args.config}")
    runner.train()


def test(args: Any) -> dict:
    """Evaluate a checkpoint; prints and saves the whole-body AP/AR table."""
    from dwpose.engine.checkpoint import load_state_dict_strict, read_checkpoint, select_state_dict

    cfg = load_config(args.config, args.cfg_options)
    source = f"checkpoint {args.checkpoint}"
    state = select_state_dict(read_checkpoint(args.checkpoint), source=source)
    check_launcher_env(args.launcher)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or default_work_dir(args.config)
    cfg.load_from = None  # loaded strictly below, before EMA hooks copy the model in before_run
    runner = build_runner(cfg)
    load_state_dict_strict(_bare_model(runner), state, source=source, target=f"config {args.config}")
    metrics = runner.test()
    from mmengine.dist import is_main_process

    if is_main_process():
        from dwpose.evaluation.report import print_and_save

        print_and_save(metrics, runner.work_dir)
    return metrics


def add_trust_argument(parser) -> None:
    """``--trust-checkpoint`` of the tools (``argparse`` parser)."""
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle checkpoints without restriction (it can run code: only for "
                             "files from a source you trust); by default only tensors, plain values, "
                             "numpy and MMEngine's log buffers / configs are read")


def main_entry(kind: str, argv: Optional[Sequence[str]], parse) -> int:
    """Shared ``main`` for the tools: parse, set LOCAL_RANK, run guarded."""
    args = parse(argv)
    if "LOCAL_RANK" not in os.environ and getattr(args, "local_rank", 0):
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    fn = train if kind == "train" else test

    def run() -> int:
        from dwpose.engine.checkpoint import safe_loading, trusting

        trust = getattr(args, "trust_checkpoint", False)
        with trusting(trust, prog=f"tools/{kind}.py"), safe_loading():
            fn(args)  # train/test return the runner's result (metrics), not an exit code
        return 0

    return guarded(run, prog=f"tools/{kind}.py")
