"""A config's dumped pipelines are the ones that train, and nothing rewrites them after loading.

For every config under ``configs/``: the training pipelines of the config as ``Config.dump`` writes it
equal, transform by transform (class and every argument), the pipeline its training data set builds
through the registries and the one ``PipelineSwitchHook`` switches to. The full-size recipes label
their training steps (``fast_decode_warp`` / ``targets_on_device``); a label that contradicts the
pipelines, from a child config or ``--cfg-options``, is refused rather than silently ignored.
References: ``Config.fromfile`` (the loader adds nothing), mmpose's own transforms
(:func:`dwpose.datasets.decode_warp.fast_decode_warp_pipeline` reverted), the 256x192 pipelines
with the crop size changed by hand.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
from mmengine.config import Config

from dwpose.engine.config import load_config, read_config
from dwpose.errors import UserError

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").rglob("*.py"))
BASE = REPO / "configs/_base_"
B256 = BASE / "rtmpose_coco-ubody-wholebody_256x192.py"
B384 = BASE / "rtmpose_coco-ubody-wholebody_384x288.py"
MMPOSE_STEPS = BASE / "rtmpose_coco-ubody-wholebody_256x192_mmpose-steps.py"
MPII = BASE / "rtmpose_mpii_256x256.py"
DISTILLER = REPO / "configs/distiller/ubody/s1_dis/dwpose_l_dis_m__coco-ubody-256x192.py"
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
SWITCH_HOOKS = ("mmdet.PipelineSwitchHook", "PipelineSwitchHook")
# Configs whose training data set takes another variable than `train_pipeline` (none at present).
TRAINS_WITH: dict = {}


def _plain(value: Any) -> Any:
    """Tuples, arrays and ConfigDicts as lists and dicts, for comparing a built object with its config."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _assert_built_as(obj: Any, spec: dict, where: str) -> None:
    """``obj`` is what the registries build from ``spec``: its class, and each argument kept as given."""
    from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS

    registry = KEYPOINT_CODECS if where.endswith(".encoder") else TRANSFORMS
    assert type(obj) is registry.get(spec["type"]), f"{where}: {type(obj).__name__} != {spec['type']}"
    for key, value in spec.items():
        if key == "type":
            continue
        if isinstance(value, dict) and "type" in value:  # a nested component: GenerateTarget's encoder
            _assert_built_as(getattr(obj, key), value, f"{where}.{key}")
            continue
        assert _plain(getattr(obj, key)) == _plain(value), f"{where}.{key}"
    if type(obj).__name__ == "Albumentation":  # its transforms, built by albumentations
        assert [type(t).__name__ for t in obj.aug.transforms] == [t["type"] for t in spec["transforms"]]


def _assert_same_pipeline(built: List[Any], specs: List[dict], where: str) -> None:
    assert [type(t).__name__ for t in built] == [s["type"].split(".")[-1] for s in specs], where
    for i, (obj, spec) in enumerate(zip(built, specs)):
        _assert_built_as(obj, spec, f"{where}[{i}]")


def _lazy(dataset: dict) -> dict:
    """The data set config built without reading annotations (``CombinedDataset`` without its parts:
    it counts their samples when built, and applies its own pipeline)."""
    return dict(dataset, lazy_init=True, **({"datasets": []} if "datasets" in dataset else {}))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_the_dumped_pipelines_are_the_built_ones(path, tmp_path):
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    import dwpose.plugin  # noqa: F401

    cfg = load_config(str(path))
    assert cfg._cfg_dict.to_dict() == Config.fromfile(str(path))._cfg_dict.to_dict()  # nothing rewritten
    if "train_dataloader" not in cfg:
        pytest.skip("a fragment: no training data")
    cfg.dump(str(tmp_path / "dumped.py"))
    dumped = Config.fromfile(str(tmp_path / "dumped.py"))
    init_default_scope("mmpose")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # albumentations' and the metainfo fallback's notes
        dataset = DATASETS.build(_lazy(cfg.train_dataloader.dataset.to_dict()))
        stage2 = [h for h in cfg.get("custom_hooks", []) if h["type"] in SWITCH_HOOKS]
        switched = [Compose(h["switch_pipeline"]).transforms for h in stage2]
    built = dataset.pipeline.transforms
    _assert_same_pipeline(built, dumped.train_dataloader.dataset.pipeline, "train_dataloader.dataset")
    trains_with = TRAINS_WITH.get(str(path.relative_to(REPO / "configs")), "train_pipeline")
    if trains_with in dumped:
        _assert_same_pipeline(built, dumped[trains_with], trains_with)
    assert len(switched) == ("train_pipeline_stage2" in dumped)
    if switched:
        _assert_same_pipeline(switched[0], dumped.train_pipeline_stage2, "train_pipeline_stage2")
    for part in dumped.train_dataloader.dataset.get("datasets", []):
        assert not part.get("pipeline"), "a part of a CombinedDataset has a pipeline of its own"


def _types(pipeline: List[dict]) -> List[str]:
    return [t["type"] for t in pipeline]


def test_the_384x288_recipe_is_the_256x192_one_at_its_size():
    small, big = read_config(B256), read_config(B384)
    for name in ("train_pipeline", "train_pipeline_stage2", "val_pipeline"):
        expected = [dict(t, input_size=(288, 384)) if "input_size" in t else dict(t) for t in small[name]]
        assert [dict(t) for t in big[name]] == expected, name
    assert big.train_dataloader.dataset.pipeline == big.train_pipeline
    assert big.val_dataloader.dataset.pipeline == big.test_dataloader.dataset.pipeline == big.val_pipeline
    assert big.custom_hooks[1].switch_pipeline == big.train_pipeline_stage2
    assert big.custom_hooks[0] == small.custom_hooks[0]
    assert big.codec == dict(small.codec, input_size=(288, 384), sigma=(6.0, 6.93))
    assert big.model.head.decoder == big.model.data_preprocessor.codec == big.codec
    assert big.train_dataloader.batch_size == 32 and big.auto_scale_lr.base_batch_size == 256
    same = {k for k in small if k not in ("train_pipeline", "train_pipeline_stage2", "val_pipeline", "codec",
                                          "input_size", "model", "train_dataloader", "val_dataloader",
                                          "test_dataloader", "custom_hooks", "train_batch_size",
                                          "auto_scale_lr")}
    assert set(big) == set(small)
    assert {k: big[k] for k in same} == {k: small[k] for k in same}


def test_the_mmpose_steps_variant_is_the_recipe_with_mmposes_transforms():
    from dwpose.datasets.decode_warp import fast_decode_warp_pipeline

    fast, plain = read_config(B256), read_config(MMPOSE_STEPS)
    assert (plain.fast_decode_warp, plain.targets_on_device) == (False, False)
    for name in ("train_pipeline", "train_pipeline_stage2"):
        augment = fast_decode_warp_pipeline(fast[name][:-1], on=False)
        assert _types(fast[name])[-1] == "LeanPackPoseInputs"
        expected = [*augment, dict(type="GenerateTarget", encoder=fast.codec), dict(type="PackPoseInputs")]
        assert [dict(t) for t in plain[name]] == expected, name
    assert plain.train_dataloader.dataset.pipeline == plain.train_pipeline
    assert plain.custom_hooks[1].switch_pipeline == plain.train_pipeline_stage2
    assert plain.model.data_preprocessor == dict(type="PoseDataPreprocessor", **NORM)
    assert fast.model.data_preprocessor == dict(type="SimCCTargetPreprocessor", codec=fast.codec, **NORM)
    assert plain.val_pipeline == fast.val_pipeline and plain.model.head == fast.model.head


@pytest.mark.parametrize("base", [B256, B384, MPII, DISTILLER], ids=lambda p: p.name)
@pytest.mark.parametrize("body", ["fast_decode_warp = False", "targets_on_device = False"])
def test_a_child_that_sets_a_label_is_refused(base, body, tmp_path):
    child = tmp_path / "child.py"
    child.write_text(f"_base_ = [{str(base)!r}]\n{body}\n")
    with pytest.raises(UserError, match=f"{body.split()[0]} = False, but .* has .*mmpose-steps.py"):
        read_config(child)


@pytest.mark.parametrize("options", [{"fast_decode_warp": False}, {"targets_on_device": False},
                                     {"fast_decode_warp": True, "targets_on_device": False}])
def test_cfg_options_that_contradict_the_pipelines_are_refused(options):
    with pytest.raises(UserError, match="only labels them"):
        load_config(str(B256), options)
    with pytest.raises(UserError, match="only labels them"):
        load_config(str(MMPOSE_STEPS), {k: not v for k, v in options.items()})


def test_cfg_options_that_agree_with_the_pipelines_change_nothing():
    ref = Config.fromfile(str(B256))._cfg_dict.to_dict()
    cfg = load_config(str(B256), {"fast_decode_warp": True, "targets_on_device": True})
    assert cfg._cfg_dict.to_dict() == ref


def test_the_training_tool_refuses_a_label_option_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools/train.py"), str(B256), "--work-dir",
                           str(tmp_path / "w"), "--cfg-options", "fast_decode_warp=False"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert lines[-1].startswith("tools/train.py: error:") and "fast_decode_warp = False" in lines[-1]
