"""Pre-flight checks of the tools (dwpose/engine/preflight.py) and the torchrun wrapper's exit rule."""

from __future__ import annotations

import argparse
import os

import pytest
import torch
from mmengine.config import Config

from dwpose.engine.preflight import (
    DictAction,
    cfg_options_error,
    check_launcher_env,
    check_weight_files,
    pretrained_init_cfgs,
)
from dwpose.engine.torchrun import is_user_error


def test_cfg_options_need_key_equals_value(capsys):
    parser = argparse.ArgumentParser(prog="tools/train.py")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    assert parser.parse_args(["--cfg-options", "a.b=1", "c=[1,2]"]).cfg_options == {"a.b": 1, "c": [1, 2]}
    for bad in ("foo", "=1"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["--cfg-options", "a=1", bad])
        assert exc.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"tools/train.py: error: argument --cfg-options: expected KEY=VALUE, got {bad!r}")


def test_cfg_options_that_do_not_fit_the_config():
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=None))))
    options = {"model.backbone.init_cfg.type": "Pretrained"}
    with pytest.raises(TypeError) as exc:
        cfg.merge_from_dict(options)
    assert cfg_options_error(exc.value, options) == (
        "--cfg-options: model.backbone.init_cfg is None in the config, so its fields cannot be set one by "
        "one; add model.backbone.init_cfg._delete_=True to replace it by the fields given")
    cfg.merge_from_dict({**options, "model.backbone.init_cfg._delete_": True})  # what the message says
    assert cfg.model.backbone.init_cfg == {"type": "Pretrained"}
    assert cfg_options_error(KeyError("Index 3 exceeds"), {}).startswith("--cfg-options cannot be merged")


def test_launcher_environment(monkeypatch):
    for name in ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_NODELIST", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    check_launcher_env("none")
    missing = r"\(missing SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST\); start it with tools/slurm_train.sh"
    with pytest.raises(ValueError, match=r"^--launcher slurm needs Slurm's environment " + missing):
        check_launcher_env("slurm")
    with pytest.raises(ValueError, match="--launcher pytorch needs torchrun's environment .*dist_train.sh"):
        check_launcher_env("pytorch")
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_NODELIST", "node1")
    check_launcher_env("slurm")


def test_pretrained_init_cfgs_are_found_with_their_keys():
    model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="a.pth")),
                 teacher=dict(head=dict(init_cfg=[dict(type="Normal"), dict(type="Pretrained")])),
                 neck=dict(init_cfg=None))
    found = [key for key, _ in pretrained_init_cfgs(model)]
    assert found == ["model.backbone.init_cfg", "model.teacher.head.init_cfg[1]"]


def test_weight_files(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, good)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"state_dict": {}, "meta": {"hook": os.system}}, unsafe)

    def cfg(init_cfg=None, load_from=None):
        return Config(dict(model=dict(backbone=dict(init_cfg=init_cfg)), load_from=load_from))

    check_weight_files(cfg(dict(type="Pretrained", checkpoint=str(good)), str(good)))
    check_weight_files(cfg(dict(type="Pretrained", checkpoint="https://x/y.pth"), "open-mmlab://x"))
    with pytest.raises(ValueError, match=r"model.backbone.init_cfg has type='Pretrained' but no checkpoint"):
        check_weight_files(cfg(dict(type="Pretrained")))
    with pytest.raises(FileNotFoundError, match=r"init_cfg.checkpoint .*nope.pth does not exist"):
        check_weight_files(cfg(dict(type="Pretrained", checkpoint=str(tmp_path / "nope.pth"))))
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        check_weight_files(cfg(load_from=str(tmp_path)))
    with pytest.raises(ValueError, match="cannot read checkpoint .*unsafe.pth"):
        check_weight_files(cfg(load_from=str(unsafe)))
    check_weight_files(cfg(load_from=str(unsafe)), check_load_from=False)  # --resume reads it itself


@pytest.mark.parametrize(("codes", "user"), [
    ({2}, True), ({2, -15}, True), ({2, -9}, True),
    ({1}, False), ({2, 1}, False), ({-15}, False), ({-11}, False),
])
def test_torchrun_passes_on_only_user_mistakes(codes, user):
    assert is_user_error(codes) is user
