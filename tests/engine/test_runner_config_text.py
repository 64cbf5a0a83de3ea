"""DWPoseRunner formats its config text once per content; the text is MMEngine's, byte for byte."""

from __future__ import annotations

from pathlib import Path

import mmengine.config.config as mm_config
import torch

from dwpose.engine.config import load_config
from dwpose.engine.runner import DWPoseRunner, TextCachedConfig

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "configs/demo/rtmpose-student_demo.py"


def _count_yapf(monkeypatch) -> list:
    calls = []
    real = mm_config.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mm_config, "FormatCode", counted)
    return calls


def test_text_is_mmengines_and_formatted_once_per_content(monkeypatch):
    plain = load_config(str(STUDENT))
    reference = plain.pretty_text
    cached = plain.copy()
    object.__setattr__(cached, "__class__", TextCachedConfig)
    calls = _count_yapf(monkeypatch)
    assert cached.pretty_text == reference and cached.pretty_text == reference
    assert len(calls) == 1
    cached.train_cfg.max_epochs = 3  # a change in place is seen: formatted again
    changed = cached.pretty_text
    assert len(calls) == 2 and changed != reference and "max_epochs=3" in changed
    plain.train_cfg.max_epochs = 3
    assert changed == plain.pretty_text


def test_checkpoints_quote_the_same_text(tmp_path, monkeypatch):
    from dwpose.datasets.synthetic import generate_demo_dataset

    generate_demo_dataset(tmp_path / "data", num_train=2, num_val=2)
    cfg = load_config(str(STUDENT), {
        "data_root": str(tmp_path / "data"), "train_cfg.max_epochs": 2, "train_dataloader.batch_size": 2,
        "train_dataloader.num_workers": 0, "train_dataloader.persistent_workers": False,
        "val_dataloader.num_workers": 0, "val_dataloader.persistent_workers": False,
        "default_hooks.checkpoint.interval": 1})
    cfg.work_dir = str(tmp_path / "work")
    cfg.launcher = "none"
    runner = DWPoseRunner.from_cfg(cfg)
    assert isinstance(runner.cfg, TextCachedConfig)
    calls = _count_yapf(monkeypatch)
    runner.train()  # two epochs: a checkpoint after each, the best one after the validation
    assert len(calls) == 0  # formatted once when the runner logged its config, not per checkpoint
    fresh = mm_config.Config(runner.cfg.to_dict()).pretty_text
    saved = sorted(Path(cfg.work_dir).glob("*.pth"))
    assert len(saved) >= 2
    for path in saved:
        meta = torch.load(path, map_location="cpu", weights_only=False)["meta"]
        assert meta["cfg"] == fresh
