"""Reading MMEngine config files: the one place that calls ``Config.fromfile``.

- :func:`read_config`: a config file, with a syntax error or a bad ``_base_`` turned into one
  ``ValueError`` line (the rule of :mod:`dwpose.errors`), and its switches applied
  (:func:`apply_switches`).
- :func:`load_config`: what ``tools/train.py`` / ``tools/test.py`` read: the file plus
  ``--cfg-options`` (``data_root=DIR/`` moves every data path of the config, see :func:`set_data_root`;
  ``fast_decode_warp=False`` and ``targets_on_device=False`` switch the training pipelines).
- :func:`load_model_config`: a teacher's or student's pose config named by a distiller config, by
  absolute path or ``mmpose::`` package path; its ``custom_imports`` are imported.
- :func:`apply_switches`: the full-size base configs (``configs/_base_/rtmpose_coco-ubody-wholebody_*``)
  build their training pipelines and data preprocessor from ``fast_decode_warp`` and
  ``targets_on_device`` when the base file is parsed, so a child config (or ``--cfg-options``) that sets
  a switch would change nothing else; this rewrites them to match the switches' final values.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

from dwpose.engine.preflight import cfg_options_error
from dwpose.errors import first_line
from dwpose.fileio import require_file

CONFIG_ERRORS = (SyntaxError, NameError, TypeError, AttributeError, ImportError, KeyError)
SWITCH_HOOKS = ("mmdet.PipelineSwitchHook", "PipelineSwitchHook")
PIPELINE_VARIABLES = ("train_pipeline", "train_pipeline_stage2")
ON_DEVICE, IN_WORKERS = "SimCCTargetPreprocessor", "PoseDataPreprocessor"
DATASET_WEIGHTS = "dataset_keypoint_weights"


def read_config(path: str | os.PathLike, what: str = "config") -> Config:
    """``Config.fromfile(path)`` with its pipeline switches applied (:func:`apply_switches`).

    Raises:
        FileNotFoundError / IsADirectoryError: the file does not exist / is a folder.
        ValueError: the file cannot be parsed ("``what`` PATH is invalid: SyntaxError: ...").
    """
    require_file(path, what)
    try:
        cfg = Config.fromfile(str(path))
    except CONFIG_ERRORS as exc:
        raise ValueError(f"{what} {path} is invalid: {type(exc).__name__}: {first_line(exc)}") from exc
    apply_switches(cfg)
    return cfg


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
        apply_switches(cfg)
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


# ---- the full-size configs' switches ----------------------------------------------------------------
def apply_switches(cfg: Any) -> None:
    """Make ``cfg``'s training pipelines and data preprocessor follow its switches, in place.

    ``fast_decode_warp``: ``LoadEncodedImage`` / ``DeferredRandomFlip`` / ``DecodeWarpTopdownAffine``
    (True) or mmpose's ``LoadImage`` / ``RandomFlip`` / ``TopdownAffine`` (False), see
    :func:`dwpose.datasets.decode_warp.fast_decode_warp_pipeline`. ``targets_on_device``:
    ``LeanPackPoseInputs`` and ``SimCCTargetPreprocessor`` (True) or mmpose's
    ``GenerateTarget(encoder=codec)`` + ``PackPoseInputs`` and ``PoseDataPreprocessor`` (False), same
    normalisation. Training only: ``train_pipeline``, ``train_pipeline_stage2``, every data set of
    ``train_dataloader`` (nested ``CombinedDataset`` / ``ConcatDataset`` / wrappers) and the
    ``PipelineSwitchHook``'s ``switch_pipeline``; validation and test stay as written. Applying it
    twice changes nothing more.

    Args:
        cfg: an MMEngine ``Config``; ``fast_decode_warp`` / ``targets_on_device`` unset (or None)
            leave their part alone.
    """
    decode, targets = cfg.get("fast_decode_warp"), cfg.get("targets_on_device")
    if decode is None and targets is None:
        return
    from dwpose.datasets.decode_warp import fast_decode_warp_pipeline  # mmpose: only when needed

    rewrites: List[Callable[[Sequence[dict]], List[dict]]] = []
    if decode is not None:
        rewrites.append(lambda p: fast_decode_warp_pipeline(p, on=bool(decode)))
    if targets is not None:
        codec, weights = _target_settings(cfg)
        rewrites.append(lambda p: _switch_packing(p, bool(targets), codec, weights))
        _switch_preprocessor(cfg, bool(targets), codec, weights)

    def rewrite(pipeline: Sequence[dict]) -> List[dict]:
        for step in rewrites:
            pipeline = step(pipeline)
        return [ConfigDict(t) for t in pipeline]

    for name in PIPELINE_VARIABLES:
        if cfg.get(name) is not None:
            cfg[name] = rewrite(cfg[name])
    for dataset in _datasets((cfg.get("train_dataloader") or {}).get("dataset")):
        if dataset.get("pipeline"):
            dataset["pipeline"] = rewrite(dataset["pipeline"])
    for hook in cfg.get("custom_hooks") or []:
        if hook.get("type") in SWITCH_HOOKS and hook.get("switch_pipeline"):
            hook["switch_pipeline"] = rewrite(hook["switch_pipeline"])


def _datasets(dataset: Optional[dict]) -> Iterator[dict]:
    """``dataset`` and every data set nested in it (``datasets=[...]``, ``dataset=...``)."""
    if not isinstance(dataset, dict):
        return
    yield dataset
    for child in dataset.get("datasets") or []:
        yield from _datasets(child)
    yield from _datasets(dataset.get("dataset"))


def _target_settings(cfg: Any) -> Tuple[Optional[dict], bool]:
    """``(codec, use_dataset_keypoint_weights)`` of the labels: the preprocessor's if it makes them,
    else a training pipeline's ``GenerateTarget``'s, else the config's ``codec``."""
    prep = (cfg.get("model") or {}).get("data_preprocessor") or {}
    if prep.get("type") == ON_DEVICE:
        return prep["codec"], bool(prep.get("use_dataset_keypoint_weights", False))
    for name in PIPELINE_VARIABLES:
        for t in cfg.get(name) or []:
            if t["type"] == "GenerateTarget":
                return t["encoder"], bool(t.get("use_dataset_keypoint_weights", False))
    return cfg.get("codec"), False


def _switch_packing(pipeline: Sequence[dict], on: bool, codec: Optional[dict],
                    weights: bool) -> List[dict]:
    """``LeanPackPoseInputs`` (``on``) or ``GenerateTarget`` + ``PackPoseInputs`` in place of the other."""
    from dwpose.datasets.packing import TRAIN_META_KEYS

    out: List[dict] = []
    for t in pipeline:
        if on and t["type"] == "GenerateTarget":
            continue
        if on and t["type"] == "PackPoseInputs":
            keys = (*TRAIN_META_KEYS, DATASET_WEIGHTS) if weights else TRAIN_META_KEYS
            out.append(dict(type="LeanPackPoseInputs", **({"meta_keys": keys} if weights else {})))
        elif not on and t["type"] == "LeanPackPoseInputs":
            if codec is None:
                raise ValueError("targets_on_device = False needs the SimCC codec: define `codec` in the "
                                 "config or give the data preprocessor one")
            extra = {"use_dataset_keypoint_weights": True} if weights else {}
            out += [dict(type="GenerateTarget", encoder=codec, **extra), dict(type="PackPoseInputs")]
        else:
            out.append(t)
    return out


def _switch_preprocessor(cfg: Any, on: bool, codec: Optional[dict], weights: bool) -> None:
    """``model.data_preprocessor`` as ``SimCCTargetPreprocessor`` (``on``) or ``PoseDataPreprocessor``,
    same normalisation. A distiller without one of its own (it takes its student config's) gets the
    student's, switched, where that differs."""
    model = cfg.get("model") or {}
    prep = model.get("data_preprocessor")
    if prep is None and model.get("student_cfg"):
        student = load_model_config(model["student_cfg"]).model.get("data_preprocessor")
        switched = _switched_preprocessor(student, on, codec, weights)
        if switched != student:
            model["data_preprocessor"] = ConfigDict(switched)
        return
    if prep is not None:
        model["data_preprocessor"] = ConfigDict(_switched_preprocessor(prep, on, codec, weights))


def _switched_preprocessor(prep: Optional[dict], on: bool, codec: Optional[dict],
                           weights: bool) -> Optional[dict]:
    if not prep or prep.get("type") not in (ON_DEVICE, IN_WORKERS):
        return prep
    norm = {k: v for k, v in prep.items() if k not in ("type", "codec", "use_dataset_keypoint_weights")}
    if not on:
        return dict(type=IN_WORKERS, **norm)
    extra = {"use_dataset_keypoint_weights": True} if weights else {}
    return dict(type=ON_DEVICE, codec=prep.get("codec", codec), **extra, **norm)
