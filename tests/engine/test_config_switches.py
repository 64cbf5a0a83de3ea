"""``fast_decode_warp`` / ``targets_on_device`` set by a child config or ``--cfg-options`` take effect.

The full-size base configs build their training pipelines and data preprocessor from the two switches
when the base file is parsed; :func:`dwpose.engine.config.read_config` / ``load_config`` rewrite them
to the switches' final values (``apply_switches``). Reference: mmpose's own transforms and
``PoseDataPreprocessor``, and the base config as ``Config.fromfile`` gives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest
from mmengine.config import Config

from dwpose.engine.config import apply_switches, load_config, read_config

REPO = Path(__file__).resolve().parents[2]
BASES = [REPO / "configs/_base_" / name for name in ("rtmpose_coco-ubody-wholebody_256x192.py",
                                                      "rtmpose_coco-ubody-wholebody_384x288.py")]
DISTILLER = REPO / "configs/distiller/ubody/s1_dis/dwpose_l_dis_m__coco-ubody-256x192.py"
MMPOSE_TRAIN = ["LoadImage", "GetBBoxCenterScale", "RandomFlip", "RandomHalfBody", "RandomBBoxTransform",
                "TopdownAffine", "mmdet.YOLOXHSVRandomAug", "Albumentation", "GenerateTarget",
                "PackPoseInputs"]
FAST = {"LoadEncodedImage", "DeferredRandomFlip", "DecodeWarpTopdownAffine"}
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def _child(tmp_path: Path, base: Path, body: str) -> Path:
    path = tmp_path / "child.py"
    path.write_text(f"_base_ = [{str(base)!r}]\n{body}\n")
    return path


def _training_pipelines(cfg: Config) -> Dict[str, List[dict]]:
    """Every training pipeline of ``cfg`` by where it lives (empty per-data-set pipelines left out)."""
    found = {name: cfg[name] for name in ("train_pipeline", "train_pipeline_stage2")}
    dataset = cfg.train_dataloader.dataset
    found["train_dataloader.dataset"] = dataset.pipeline
    for i, child in enumerate(dataset.get("datasets", [])):
        if child.get("pipeline"):
            found[f"train_dataloader.dataset.datasets[{i}]"] = child.pipeline
    hooks = [h for h in cfg.custom_hooks if h["type"].endswith("PipelineSwitchHook")]
    assert len(hooks) == 1
    found["PipelineSwitchHook"] = hooks[0]["switch_pipeline"]
    return found


def _types(pipeline: List[dict]) -> List[str]:
    return [t["type"] for t in pipeline]


def _plain(cfg: Config) -> dict:
    return cfg._cfg_dict.to_dict()


@pytest.mark.parametrize("base", BASES, ids=lambda p: p.name)
def test_the_base_loads_unchanged(base):
    assert _plain(read_config(base)) == _plain(Config.fromfile(str(base)))
    assert _plain(load_config(str(base))) == _plain(Config.fromfile(str(base)))


@pytest.mark.parametrize("base", BASES, ids=lambda p: p.name)
def test_both_switches_off_in_a_child_give_mmposes_transforms(base, tmp_path):
    ref = Config.fromfile(str(base))
    cfg = read_config(_child(tmp_path, base, "fast_decode_warp = False\ntargets_on_device = False"))
    pipelines = _training_pipelines(cfg)
    assert len(pipelines) == 4
    for where, pipeline in pipelines.items():
        assert _types(pipeline) == MMPOSE_TRAIN, where
        assert pipeline[-2] == dict(type="GenerateTarget", encoder=ref.codec), where
        assert pipeline[-1] == dict(type="PackPoseInputs"), where
    for before, after in zip(ref.train_pipeline[:-1], cfg.train_pipeline[:-2]):  # every argument kept
        assert {k: v for k, v in before.items() if k != "type"} == {
            k: v for k, v in after.items() if k != "type"}
    assert cfg.model.data_preprocessor == dict(type="PoseDataPreprocessor", **NORM)
    assert cfg.val_dataloader == ref.val_dataloader and cfg.val_pipeline == ref.val_pipeline
    assert cfg.test_dataloader == ref.test_dataloader


def test_fast_decode_warp_off_alone(tmp_path):
    base = BASES[0]
    ref = Config.fromfile(str(base))
    cfg = read_config(_child(tmp_path, base, "fast_decode_warp = False"))
    for where, pipeline in _training_pipelines(cfg).items():
        types = _types(pipeline)
        assert {"LoadImage", "RandomFlip", "TopdownAffine"} <= set(types) and not FAST & set(types), where
        assert types[-1] == "LeanPackPoseInputs", where
    assert cfg.model.data_preprocessor == ref.model.data_preprocessor
    assert cfg.val_pipeline == ref.val_pipeline and cfg.val_dataloader == ref.val_dataloader


def test_targets_on_device_off_alone(tmp_path):
    base = BASES[0]
    ref = Config.fromfile(str(base))
    cfg = read_config(_child(tmp_path, base, "targets_on_device = False"))
    for where, pipeline in _training_pipelines(cfg).items():
        assert FAST <= set(_types(pipeline)), where
        assert pipeline[-2:] == [dict(type="GenerateTarget", encoder=ref.codec),
                                 dict(type="PackPoseInputs")], where
    assert cfg.model.data_preprocessor == dict(type="PoseDataPreprocessor", **NORM)
    assert cfg.val_pipeline == ref.val_pipeline and cfg.val_dataloader == ref.val_dataloader


def test_cfg_options_switch_like_a_child(tmp_path):
    base = BASES[0]
    for body, options in [("fast_decode_warp = False", {"fast_decode_warp": False}),
                          ("targets_on_device = False", {"targets_on_device": False}),
                          ("fast_decode_warp = False\ntargets_on_device = False",
                           {"fast_decode_warp": False, "targets_on_device": False})]:
        child = _plain(read_config(_child(tmp_path, base, body)))
        assert _plain(load_config(str(base), options)) == child, options


def test_switching_back_on_and_twice_is_the_base(tmp_path):
    base = BASES[0]
    cfg = load_config(str(base), {"fast_decode_warp": False, "targets_on_device": False})
    cfg.merge_from_dict({"fast_decode_warp": True, "targets_on_device": True})
    apply_switches(cfg)
    apply_switches(cfg)
    assert _plain(cfg) == _plain(Config.fromfile(str(base)))


def test_a_child_with_its_own_codec_gets_it_in_the_targets(tmp_path):
    """The MPII base replaces the codec (256x256): mmpose's GenerateTarget must use that one."""
    mpii = REPO / "configs/_base_/rtmpose_mpii_256x256.py"
    cfg = read_config(_child(tmp_path, mpii, "targets_on_device = False"))
    assert tuple(cfg.codec["input_size"]) == (256, 256)
    for where, pipeline in _training_pipelines(cfg).items():
        assert pipeline[-2] == dict(type="GenerateTarget", encoder=cfg.codec), where


def test_nested_datasets_are_switched_and_evaluation_is_not():
    step = [dict(type="LoadImage"), dict(type="TopdownAffine", input_size=(192, 256)),
            dict(type="PackPoseInputs")]
    cfg = Config(dict(
        fast_decode_warp=True,
        train_dataloader=dict(dataset=dict(type="RepeatDataset", times=2, dataset=dict(
            type="ConcatDataset", datasets=[dict(type="CocoDataset", pipeline=step),
                                            dict(type="CocoDataset", pipeline=[])]))),
        val_dataloader=dict(dataset=dict(type="CocoDataset", pipeline=step))))
    apply_switches(cfg)
    inner = cfg.train_dataloader.dataset.dataset.datasets
    assert _types(inner[0].pipeline) == ["LoadEncodedImage", "DecodeWarpTopdownAffine", "PackPoseInputs"]
    assert inner[1].pipeline == []
    assert _types(cfg.val_dataloader.dataset.pipeline) == _types(step)


def test_configs_without_switches_are_left_alone():
    for path in [REPO / "configs/_base_/rtmpose_demo_128x96.py", REPO / "configs/demo/dwpose_s1_demo.py"]:
        ref = Config.fromfile(str(path))
        assert "fast_decode_warp" not in ref and "targets_on_device" not in ref
        assert _plain(read_config(path)) == _plain(ref), path.name


def test_a_distiller_config_is_switched_too(tmp_path):
    """A distiller takes its data preprocessor from the student config: with the targets made in the
    workers it gets the student's as ``PoseDataPreprocessor``; as written it is left as it is."""
    assert _plain(read_config(DISTILLER)) == _plain(Config.fromfile(str(DISTILLER)))
    cfg = read_config(_child(tmp_path, DISTILLER, "fast_decode_warp = False\ntargets_on_device = False"))
    assert cfg.model.type == "TwoStageDistiller"
    for where, pipeline in _training_pipelines(cfg).items():
        assert _types(pipeline) == MMPOSE_TRAIN, where
    assert cfg.model.data_preprocessor == dict(type="PoseDataPreprocessor", **NORM)
