"""Checks of ``tools/train.py`` / ``tools/test.py`` input made before MMEngine starts.

Each turns a mistake that MMEngine would report with a traceback from deep inside a run into one
``error:`` line (:mod:`dwpose.errors`): a ``--cfg-options`` item without ``=`` or that does not fit
the config (a field of a value the config sets to ``None``), a launcher started
without its environment, and weight files a config names (``load_from``, ``init_cfg`` of type
``Pretrained``) that are missing or that the weights-only loader refuses.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any, Iterator, Optional, Sequence, Tuple

from mmengine.config import DictAction as _MMEngineDictAction

from dwpose.errors import UserError, first_line
from dwpose.fileio import require_file

# (variables the launcher sets, how to start a run with it)
LAUNCHER_ENV = {
    "pytorch": (("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"),
                "torchrun's", "start it with tools/dist_train.sh or tools/dist_test.sh"),
    "slurm": (("SLURM_PROCID", "SLURM_NTASKS", "SLURM_NODELIST"),
              "Slurm's", "start it with tools/slurm_train.sh or tools/slurm_test.sh (srun)"),
    "mpi": (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "MASTER_ADDR"),
            "Open MPI's", "start it with mpirun and set MASTER_ADDR"),
}
# checkpoint prefixes MMEngine fetches itself (URLs, model zoos, object stores)
REMOTE_PREFIXES = ("http://", "https://", "open-mmlab://", "mmcls://", "mmpose://", "torchvision://",
                   "openmmlab://", "pavi://", "s3://", "modelscope://")


class DictAction(_MMEngineDictAction):
    """MMEngine's ``--cfg-options KEY=VALUE ...`` action; an item without ``KEY=`` is a usage error."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Optional[Sequence[str]], option_string: Optional[str] = None) -> None:
        for item in values or []:
            if "=" not in item or item.startswith("="):
                parser.error(f"argument {option_string}: expected KEY=VALUE, got {item!r}")
        super().__call__(parser, namespace, values, option_string)


_MERGE_CLASH = re.compile(  # MMEngine's "k={...} in child config cannot inherit from base because ..."
    r"^(\w+)=.* because \1 is a dict in the child config but is of type <class '(\w+)'>")


def cfg_options_error(exc: Exception, options: dict) -> str:
    """One line for ``--cfg-options`` that MMEngine cannot merge into the config (``exc``: its error)."""
    clash = _MERGE_CLASH.match(str(exc))
    if not clash:
        return f"--cfg-options cannot be merged into the config: {first_line(exc)}"
    name, base_type = clash.groups()
    key = name
    for option in options:
        parts = option.split(".")
        if name in parts[:-1]:
            key = ".".join(parts[: parts.index(name) + 1])
            break
    what = "None" if base_type == "NoneType" else f"a {base_type}"
    return (f"--cfg-options: {key} is {what} in the config, so its fields cannot be set one by one; "
            f"add {key}._delete_=True to replace it by the fields given")


def check_launcher_env(launcher: str) -> None:
    """Raise :class:`~dwpose.errors.UserError` when ``launcher`` is not ``none`` and its environment
    variables are missing."""
    if launcher == "none":
        return
    names, whose, how = LAUNCHER_ENV[launcher]
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise UserError(f"--launcher {launcher} needs {whose} environment (missing {', '.join(missing)}); "
                        f"{how}")


def is_remote(checkpoint: str) -> bool:
    """Whether MMEngine downloads ``checkpoint`` instead of reading a local file."""
    return checkpoint.startswith(REMOTE_PREFIXES)


def pretrained_init_cfgs(node: Any, where: str = "model") -> Iterator[Tuple[str, dict]]:
    """``(dotted key, init_cfg)`` for every ``init_cfg`` of type ``Pretrained`` in a model config."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}"
            if key == "init_cfg":
                for i, item in enumerate(value if isinstance(value, (list, tuple)) else [value]):
                    if isinstance(item, dict) and item.get("type") == "Pretrained":
                        yield (path if not isinstance(value, (list, tuple)) else f"{path}[{i}]"), item
            else:
                yield from pretrained_init_cfgs(value, path)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from pretrained_init_cfgs(item, f"{where}[{i}]")


def check_weight_files(cfg: Any, check_load_from: bool = True) -> None:
    """Fail early on the weight files a training config names.

    Args:
        cfg: the merged config.
        check_load_from: also read ``cfg.load_from`` with the weights-only loader (skip it when the
            caller already did, e.g. for ``--resume``).

    Raises:
        UserError: an ``init_cfg`` of type ``Pretrained`` without ``checkpoint``, or a checkpoint the
            weights-only loader refuses (truncated, not a checkpoint, disallowed objects).
        FileNotFoundError / IsADirectoryError: a named local file is missing or is a folder.
    """
    from dwpose.engine.checkpoint import load_checkpoint_file

    for key, init_cfg in pretrained_init_cfgs(cfg.get("model")):
        checkpoint = init_cfg.get("checkpoint")
        if not checkpoint:
            raise UserError(f"{key} has type='Pretrained' but no checkpoint; set {key}.checkpoint="
                            "/path/to/weights.pth (or use init_cfg=None)")
        if not is_remote(str(checkpoint)):
            require_file(checkpoint, f"{key}.checkpoint")
            load_checkpoint_file(checkpoint)
    load_from = cfg.get("load_from")
    if check_load_from and load_from and not is_remote(str(load_from)):
        load_checkpoint_file(load_from)
