"""MergedGroupsOptimWrapperConstructor: fewer parameter groups, the very same training numbers.

The reference is MMEngine's own ``DefaultOptimWrapperConstructor`` (one group per parameter) with the
same ``paramwise_cfg`` and gradient clipping: after several AdamW steps with clipping active, every
weight must be bit-identical, and each parameter must carry the settings MMEngine gave it.
"""

from __future__ import annotations

import copy

import pytest
import torch
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from dwpose.engine.optim import MergedGroupsOptimWrapperConstructor, merge_param_groups

OPTIM = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=1e-2, weight_decay=0.05, foreach=True),
             clip_grad=dict(max_norm=0.05))  # small max_norm: clipping acts on every step
PARAMWISE = dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.SiLU(), nn.Conv2d(8, 8, 3, bias=False),
                         nn.BatchNorm2d(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))


def _train(constructor_cls, model: nn.Module, steps: int = 6):
    wrapper = constructor_cls(copy.deepcopy(OPTIM), PARAMWISE)(model)
    gen = torch.Generator().manual_seed(1)
    norms = []
    for _ in range(steps):
        x = torch.randn(4, 3, 12, 12, generator=gen)
        loss = model(x).square().mean()
        wrapper.update_params(loss)
        norms.append(wrapper.message_hub.get_scalar("train/grad_norm").current())
    return wrapper, norms


def test_same_weights_bit_for_bit_as_mmengine_default():
    ref_model, our_model = _model(), _model()
    ref, ref_norms = _train(DefaultOptimWrapperConstructor, ref_model)
    ours, our_norms = _train(MergedGroupsOptimWrapperConstructor, our_model)
    assert len(ref.optimizer.param_groups) == len(list(ref_model.parameters()))  # MMEngine: one per param
    assert len(ours.optimizer.param_groups) == 2  # weight decay 0.05 (conv/linear weights) and 0
    for (name, a), b in zip(ref_model.named_parameters(), our_model.parameters()):
        assert torch.equal(a, b), name
    assert ref_norms == our_norms and min(ref_norms) > OPTIM["clip_grad"]["max_norm"]  # clipping acted


def test_every_parameter_keeps_mmengine_settings():
    ref_model, our_model = _model(), _model()
    ref = DefaultOptimWrapperConstructor(copy.deepcopy(OPTIM), PARAMWISE)(ref_model)
    ours = MergedGroupsOptimWrapperConstructor(copy.deepcopy(OPTIM), PARAMWISE)(our_model)
    ref_wd = {id(p): g["weight_decay"] for g in ref.optimizer.param_groups for p in g["params"]}
    our_wd = {id(p): g["weight_decay"] for g in ours.optimizer.param_groups for p in g["params"]}
    assert ([ref_wd[id(p)] for p in ref_model.parameters()]
            == [our_wd[id(p)] for p in our_model.parameters()])
    assert sorted(set(our_wd.values())) == [0.0, 0.05]


def test_merge_keeps_order_and_distinct_settings():
    a, b, c, d = (nn.Parameter(torch.zeros(1)) for _ in range(4))
    merged = merge_param_groups([{"params": [a], "lr": 1.0, "weight_decay": 0.0},
                                 {"params": [b], "lr": 1.0, "weight_decay": 0.1},
                                 {"params": [c], "lr": 1.0, "weight_decay": 0.0},
                                 {"params": [d], "lr": 2.0, "weight_decay": 0.0}])
    assert [[id(p) for p in g["params"]] for g in merged] == [[id(a), id(c)], [id(b)], [id(d)]]
    assert [(g["lr"], g["weight_decay"]) for g in merged] == [(1.0, 0.0), (1.0, 0.1), (2.0, 0.0)]


@pytest.mark.parametrize("config", ["configs/_base_/rtmpose_demo_128x96.py",
                                    "configs/_base_/rtmpose_coco-ubody-wholebody_256x192.py"])
def test_our_configs_use_it_and_mmpose_reference_does_not(config):
    from mmengine.config import Config

    assert Config.fromfile(config).optim_wrapper.constructor == "MergedGroupsOptimWrapperConstructor"
    ref = Config.fromfile("configs/demo/study/mmpose_dwpose_s1_demo.py")
    assert ref.optim_wrapper.constructor == "DefaultOptimWrapperConstructor"
