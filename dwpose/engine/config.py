"""Reading MMEngine config files: the one place that calls ``Config.fromfile``.

- :func:`read_config`: a config file, with a syntax error or a bad ``_base_`` turned into one
  ``ValueError`` line (the rule of :mod:`dwpose.errors`).
- :func:`load_config`: what ``tools/train.py`` / ``tools/test.py`` read: the file plus
  ``--cfg-options`` (``data_root=DIR/`` moves every data path of the config, see :func:`set_data_root`).
- :func:`load_model_config`: a teacher's or student's pose config named by a distiller config, by
  absolute path or ``mmpose::`` package path; its ``custom_imports`` are imported.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Optional

from mmengine.config import Config

from dwpose.engine.preflight import cfg_options_error
from dwpose.errors import first_line
from dwpose.fileio import require_file

CONFIG_ERRORS = (SyntaxError, NameError, TypeError, AttributeError, ImportError, KeyError)


def read_config(path: str | os.PathLike, what: str = "config") -> Config:
    """``Config.fromfile(path)``.

    Raises:
        FileNotFoundError / IsADirectoryError: the file does not exist / is a folder.
        ValueError: the file cannot be parsed ("``what`` PATH is invalid: SyntaxError: ...").
    """
    require_file(path, what)
    try:
        return Config.fromfile(str(path))
    except CONFIG_ERRORS as exc:
        raise ValueError(f"{what} {path} is invalid: {type(exc).__name__}: {first_line(exc)}") from exc


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options``; a ``data_root`` option moves every path.

    Raises:
        FileNotFoundError / IsADirectoryError: the config does not exist / is a folder.
        ValueError: the config cannot be parsed, or the options do not fit it.
    """
    cfg = read_config(path)
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


def load_model_config(path: str) -> Config:
    """Load a pose-model config given by an absolute path or an ``mmpose::`` package path.

    Args:
        path: ``/abs/path/cfg.py`` (distiller configs write ``'{{fileDirname}}/../x.py'``, which MMEngine
            expands to the folder of the config being parsed) or
            ``'mmpose::wholebody_2d_keypoint/rtmpose/.../x.py'``. A relative path is refused rather than
            resolved against the working directory.

    Returns:
        The parsed config; its ``custom_imports`` have been imported.
    """
    from mmengine.utils import import_modules_from_strings

    if "::" in path:
        from mmengine.hub import get_config

        cfg = get_config(path)
    else:
        if not osp.isabs(path):
            raise ValueError(f"config path {path!r} is relative; write it relative to the distiller "
                             "config as '{{fileDirname}}/...', or give an absolute or 'mmpose::' path")
        cfg = read_config(path)
    if "model" not in cfg:
        raise ValueError(f"config {path} has no `model`")
    imports = cfg.get("custom_imports", {}).get("imports", [])
    if imports:
        import_modules_from_strings(imports)
    return cfg
