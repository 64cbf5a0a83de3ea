"""Reading MMEngine config files: the one place that calls ``Config.fromfile``.

- :func:`read_config`: a config file, with a syntax error or a bad ``_base_`` turned into one
  :class:`~dwpose.errors.UserError` line (the rule of :mod:`dwpose.errors`), and its training steps
  checked against its own labels (:func:`check_training_steps`). Nothing is rewritten: the config a
  file gives (and ``--cfg-options`` change) is the one that trains (docs/configs.md).
- :func:`load_config`: what ``tools/train.py`` / ``tools/test.py`` read: the file plus
  ``--cfg-options`` (``data_root=DIR/`` moves every data path of the config, see :func:`set_data_root`).
- :func:`load_model_config`: a teacher's or student's pose config named by a distiller config, by
  absolute path or ``mmpose::`` package path; its ``custom_imports`` are imported.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Dict, Iterator, Optional, Tuple

from mmengine.config import Config

from dwpose.engine.preflight import cfg_options_error
from dwpose.errors import UserError, first_line
from dwpose.fileio import require_file

CONFIG_ERRORS = (SyntaxError, NameError, TypeError, AttributeError, ImportError, KeyError)
SWITCH_HOOKS = ("mmdet.PipelineSwitchHook", "PipelineSwitchHook")
# fast_decode_warp's steps and mmpose's, targets_on_device's packing and mmpose's (label -> value -> types)
STEPS: Dict[str, Dict[bool, Tuple[str, ...]]] = {
    "fast_decode_warp": {True: ("LoadEncodedImage", "DeferredRandomFlip", "DecodeWarpTopdownAffine"),
                         False: ("LoadImage", "RandomFlip", "TopdownAffine")},
    "targets_on_device": {True: ("LeanPackPoseInputs", "SimCCTargetPreprocessor"),
                          False: ("GenerateTarget", "PackPoseInputs", "PoseDataPreprocessor")},
}
MMPOSE_STEPS = "configs/_base_/rtmpose_coco-ubody-wholebody_256x192_mmpose-steps.py"


def read_config(path: str | os.PathLike, what: str = "config") -> Config:
    """``Config.fromfile(path)``, its training steps checked (:func:`check_training_steps`).

    Raises:
        FileNotFoundError / IsADirectoryError: the file does not exist / is a folder.
        UserError: the file cannot be parsed ("``what`` PATH is invalid: SyntaxError: ..."), or its
            ``fast_decode_warp`` / ``targets_on_device`` contradict its training pipelines.
    """
    require_file(path, what)
    try:
        cfg = Config.fromfile(str(path))
    except CONFIG_ERRORS as exc:
        raise UserError(f"{what} {path} is invalid: {type(exc).__name__}: {first_line(exc)}") from exc
    check_training_steps(cfg, f"{what} {path}")
    return cfg


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options``; a ``data_root`` option moves every path.

    Raises:
        FileNotFoundError / IsADirectoryError: the config does not exist / is a folder.
        UserError: the config cannot be parsed, or the options do not fit it (an option that
            sets ``fast_decode_warp`` / ``targets_on_device`` to another value than the config's
            pipelines have included: pick the config with those steps instead).
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
            raise UserError(cfg_options_error(exc, options)) from exc
        check_training_steps(cfg, f"--cfg-options of config {path}")
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
            raise UserError(f"config path {path!r} is relative; write it relative to the distiller "
                             "config as '{{fileDirname}}/...', or give an absolute or 'mmpose::' path")
        cfg = read_config(path)
    if "model" not in cfg:
        raise UserError(f"config {path} has no `model`")
    imports = cfg.get("custom_imports", {}).get("imports", [])
    if imports:
        import_modules_from_strings(imports)
    return cfg


# ---- the full-size configs' labels of their training steps ------------------------------------------
def training_pipelines(cfg: Any) -> Iterator[Tuple[str, list]]:
    """``(where, pipeline)`` of every training pipeline of ``cfg``: ``train_pipeline``,
    ``train_pipeline_stage2``, each data set of ``train_dataloader`` (nested ``datasets`` / ``dataset``)
    and the ``PipelineSwitchHook``'s ``switch_pipeline``; empty or missing ones left out."""
    for name in ("train_pipeline", "train_pipeline_stage2"):
        if cfg.get(name):
            yield name, cfg[name]
    stack = [("train_dataloader.dataset", (cfg.get("train_dataloader") or {}).get("dataset"))]
    while stack:
        where, dataset = stack.pop(0)
        if not isinstance(dataset, dict):
            continue
        if dataset.get("pipeline"):
            yield where, dataset["pipeline"]
        stack += [(f"{where}.datasets[{i}]", d) for i, d in enumerate(dataset.get("datasets") or [])]
        stack.append((f"{where}.dataset", dataset.get("dataset")))
    for hook in cfg.get("custom_hooks") or []:
        if hook.get("type") in SWITCH_HOOKS and hook.get("switch_pipeline"):
            yield f"{hook['type']}.switch_pipeline", hook["switch_pipeline"]


def check_training_steps(cfg: Any, where: str) -> None:
    """Refuse a config whose ``fast_decode_warp`` / ``targets_on_device`` contradict what it trains with.

    The full-size configs label their training steps (``configs/_base_/pipelines/fast_train_steps.py``);
    the labels describe the pipelines and never change them, so a child config or ``--cfg-options``
    that sets one to the other value would train with the steps it did not ask for.

    Raises:
        UserError: a training pipeline or the data preprocessor has a step of the label's other value.
    """
    prep = (cfg.get("model") or {}).get("data_preprocessor") or {}
    for label, steps in STEPS.items():
        value = cfg.get(label)
        if value is None:
            continue
        other = steps[not value]
        found = [(name, t.get("type")) for name, pipeline in training_pipelines(cfg) for t in pipeline]
        found.append(("model.data_preprocessor", prep.get("type")))
        for name, step in found:
            if step in other:
                raise UserError(
                    f"{where}: {label} = {value}, but {name} has {step}: a config's pipelines are what "
                    f"trains and {label} only labels them; pick a config with the steps you want "
                    f"(mmpose's: {MMPOSE_STEPS}, see docs/configs.md)")
