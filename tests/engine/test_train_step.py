"""One real optimisation step of every student size (and the teacher) on CPU, through the recipe's
own training pipeline, on the project's synthetic images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[2]


def _dataset(cfg, root: Path):
    from mmpose.datasets import CocoWholeBodyDataset

    return CocoWholeBodyDataset(data_root=str(root), data_mode="topdown",
                                ann_file="annotations/demo_wholebody_train.json",
                                data_prefix=dict(img="images/train/"), pipeline=cfg.train_pipeline)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["t", "s", "m", "l", "x"])
def test_one_training_step(size, demo_data):
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401

    torch.manual_seed(0)
    cfg = Config.fromfile(str(REPO / "configs/wholebody_2d_keypoint/rtmpose/ubody"
                                 f"/rtmpose-{size}_8xb64-270e_coco-ubody-wholebody-256x192.py"))
    init_default_scope("mmpose")
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model.train()
    batch = pseudo_collate([_dataset(cfg, demo_data)[i] for i in range(2)])
    assert batch["inputs"][0].shape == (3, 256, 192)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = model.train_step(batch, optim)
    assert set(losses) >= {"loss_kpt", "acc_pose"}
    assert torch.isfinite(losses["loss_kpt"]) and losses["loss_kpt"].item() > 0
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())}
    assert any(n.startswith("backbone.") for n in changed)
    assert any(n.startswith("head.") for n in changed)
    # every trainable parameter that took part in the forward pass moved
    assert len(changed) >= 0.9 * len(before)
