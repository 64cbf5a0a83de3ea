"""The logic behind ``tools/train.py`` and ``tools/test.py`` (those files only parse arguments).

Both turn user mistakes (missing files, config typos, unknown registry names, a corrupt image, a
checkpoint that does not fit) into one ``error:`` line and exit code 2; real bugs keep their
traceback.
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
    import torch

    from dwpose.engine.checkpoint import find_resumable_checkpoint, load_checkpoint_file

    cfg = load_config(args.config, args.cfg_options)
    check_launcher_env(args.launcher)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or default_work_dir(args.config)
    if args.amp:
        if not torch.cuda.is_available():
            raise ValueError("--amp needs a CUDA GPU (mixed precision is not supported on CPU here)")
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        found = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = found is not None
        cfg.load_from = found
        print(f"resume: {found or 'no readable checkpoint in ' + cfg.work_dir + ', starting fresh'}")
    elif args.resume:
        load_checkpoint_file(args.resume)  # clear error for a missing / truncated file
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


def train(args: Any) -> None:
    cfg = prepare_train_cfg(args)
    runner = build_runner(cfg)
    runner.train()


def check_checkpoint_fits(model, state_dict: dict, ckpt_path: str) -> None:
    """Raise ``ValueError`` naming the first layer where ``state_dict`` does not fit ``model``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise ValueError(f"checkpoint {ckpt_path} does not fit the config: {what} "
                         f"({len(missing)} missing, {len(unexpected)} unexpected keys)")
    for key, value in own.items():
        if tuple(state_dict[key].shape) != tuple(value.shape):
            raise ValueError(f"checkpoint {ckpt_path} does not fit the config: layer {key} has shape "
                             f"{tuple(state_dict[key].shape)} in the checkpoint, "
                             f"{tuple(value.shape)} in the model")


def test(args: Any) -> dict:
    """Evaluate a checkpoint; prints and saves the whole-body AP/AR table."""
    from dwpose.engine.checkpoint import load_checkpoint_file

    cfg = load_config(args.config, args.cfg_options)
    ckpt = load_checkpoint_file(args.checkpoint)
    check_launcher_env(args.launcher)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or default_work_dir(args.config)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    model = runner.model.module if hasattr(runner.model, "module") else runner.model
    check_checkpoint_fits(model, ckpt.get("state_dict", ckpt), args.checkpoint)
    metrics = runner.test()
    from mmengine.dist import is_main_process

    if is_main_process():
        from dwpose.evaluation.report import print_and_save

        print_and_save(metrics, runner.work_dir)
    return metrics


def main_entry(kind: str, argv: Optional[Sequence[str]], parse) -> int:
    """Shared ``main`` for the tools: parse, set LOCAL_RANK, run guarded."""
    args = parse(argv)
    if "LOCAL_RANK" not in os.environ and getattr(args, "local_rank", 0):
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    fn = train if kind == "train" else test

    def run() -> int:
        fn(args)  # train/test return the runner's result (metrics), not an exit code
        return 0

    return guarded(run, prog=f"tools/{kind}.py")
