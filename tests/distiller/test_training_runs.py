"""Both stages trained through MMEngine's Runner (EMA on), then exported with pth_transfer.

One chain per session: demo teacher -> stage 1 (3 epochs) -> export -> stage 2 (2 epochs) -> export.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook

from dwpose.distiller.transfer import transfer_checkpoint
from dwpose.engine.checkpoint import read_checkpoint
from tests.distiller.helpers import (
    STUDENT_CFG,
    build_distiller,
    build_plain,
    collate,
    differing,
    make_samples,
    preprocess,
    single_thread,
    state_of,
)

S1_EPOCHS, S2_EPOCHS = 3, 2


class _DecayRecorder(Hook):
    """Collects the logged ``distill_decay`` of every iteration, by epoch."""

    def __init__(self) -> None:
        self.by_epoch: dict = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if outputs and "distill_decay" in outputs:
            self.by_epoch.setdefault(runner.epoch, set()).add(round(float(outputs["distill_decay"]), 6))


def _train(model, work_dir: Path, epochs: int, guard: bool = True) -> _DecayRecorder:
    """Train through the project's DWPoseRunner (guard on) or MMEngine's own Runner (guard off)."""
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader

    from dwpose.engine.runner import DWPoseRunner

    recorder = _DecayRecorder()
    # gamma=1 makes ExpMomentumEMA's momentum small after a few steps, where its arithmetic is
    # no longer exact: without FrozenTeacherEMAHook the EMA teacher would drift
    hooks = [dict(type="EMAHook", ema_type="ExpMomentumEMA", momentum=0.0002, gamma=1,
                  update_buffers=True, priority=49), recorder]
    if guard:  # what our configs and DWPoseRunner.from_cfg add
        hooks += [dict(type="FrozenTeacherEMAHook"), dict(type="WeightsOnlyCheckpointHook")]
    runner = (DWPoseRunner if guard else Runner)(
        model=model, work_dir=str(work_dir), experiment_name=f"dis-{uuid.uuid4().hex[:8]}",
        train_dataloader=DataLoader(make_samples(4, seed=3), batch_size=2, shuffle=False,
                                    collate_fn=collate),
        optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
                           clip_grad=dict(max_norm=1.0)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=epochs),
                           logger=dict(type="LoggerHook", interval=1)),
        custom_hooks=hooks, default_scope="mmpose", randomness=dict(seed=0))
    runner.train()
    return recorder


@pytest.fixture(scope="module")
def chain(tmp_path_factory, teacher_ckpt):
    root = Path(tmp_path_factory.mktemp("chain"))
    with single_thread():
        return _run_chain(root, teacher_ckpt)


def _run_chain(root: Path, teacher_ckpt: str) -> dict:
    out: dict = {}
    s1 = build_distiller(1, teacher_ckpt)
    out["teacher0"] = state_of(s1.teacher)
    out["decay"] = _train(s1, root / "s1", S1_EPOCHS).by_epoch
    out["s1_live_teacher"] = state_of(s1.teacher)
    out["s1_ckpt"] = str(root / "s1" / f"epoch_{S1_EPOCHS}.pth")
    out["s1_stage"] = transfer_checkpoint(out["s1_ckpt"], str(root / "s1_plain.pth"))
    out["s1_plain"] = str(root / "s1_plain.pth")
    s2 = build_distiller(2, out["s1_plain"])
    _train(s2, root / "s2", S2_EPOCHS)
    out["s2_live_teacher"] = state_of(s2.teacher)
    out["s2_ckpt"] = str(root / "s2" / f"epoch_{S2_EPOCHS}.pth")
    out["s2_stage"] = transfer_checkpoint(out["s2_ckpt"], str(root / "s2_plain.pth"))
    out["s2_plain"] = str(root / "s2_plain.pth")
    return out


def _load(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _prefixed(state: dict, prefix: str) -> dict:
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


def test_stage1_teacher_bit_identical_live_and_in_checkpoint(chain):
    assert differing(chain["teacher0"], chain["s1_live_teacher"]) == []
    saved = _prefixed(_load(chain["s1_ckpt"])["state_dict"], "teacher.")  # the EMA weights
    assert differing(chain["teacher0"], saved) == []


def test_stage2_export_keeps_the_stage1_backbone_bit_identical(chain):
    s1_plain = _load(chain["s1_plain"])["state_dict"]
    assert differing(s1_plain, chain["s2_live_teacher"]) == []
    s2_plain = _load(chain["s2_plain"])["state_dict"]
    assert differing(_prefixed(s1_plain, "backbone."), _prefixed(s2_plain, "backbone.")) == []
    # ...while the head is the newly trained student head
    assert differing(_prefixed(s1_plain, "head."), _prefixed(s2_plain, "head.")) != []


def test_decay_weight_per_epoch(chain):
    expected = {e: {round(1 - e / S1_EPOCHS, 6)} for e in range(S1_EPOCHS)}
    assert chain["decay"] == expected


def test_detected_stages(chain):
    assert (chain["s1_stage"], chain["s2_stage"]) == ("stage1", "stage2")


@pytest.mark.parametrize("stage", [1, 2])
def test_round_trip_predictions(chain, stage):
    """Distiller restored from its checkpoint == plain model from the converted checkpoint."""
    ckpt, plain_path = chain[f"s{stage}_ckpt"], chain[f"s{stage}_plain"]
    distiller = build_distiller(stage, None)
    distiller.load_state_dict(_load(ckpt)["state_dict"], strict=True)
    plain_ckpt = _load(plain_path)
    assert set(plain_ckpt) == {"meta", "state_dict"}
    plain = build_plain(STUDENT_CFG)
    plain.load_state_dict(plain_ckpt["state_dict"], strict=True)
    distiller.eval(), plain.eval()
    with torch.no_grad():
        inputs, samples_d = preprocess(distiller, make_samples(3, seed=9), training=False)
        _, samples_p = preprocess(plain, make_samples(3, seed=9), training=False)
        got = distiller(inputs, samples_d, mode="predict")
        want = plain(inputs, samples_p, mode="predict")
        assert all(torch.equal(a, b) for a, b in zip(distiller(inputs, None, "tensor"),
                                                     plain(inputs, None, "tensor")))
    for a, b in zip(got, want):
        assert (a.pred_instances.keypoints == b.pred_instances.keypoints).all()
        assert (a.pred_instances.keypoint_scores == b.pred_instances.keypoint_scores).all()


def test_ema_would_drift_the_teacher_without_the_guard(teacher_ckpt, tmp_path):
    """Contrast for FrozenTeacherEMAHook: the same run without it saves a drifted teacher."""
    model = build_distiller(1, teacher_ckpt)
    teacher0 = state_of(model.teacher)
    _train(model, tmp_path, 1, guard=False)
    # a plain MMEngine checkpoint (message-hub buffers inside): read as pth_transfer reads it
    saved = _prefixed(read_checkpoint(tmp_path / "epoch_1.pth")["state_dict"], "teacher.")
    assert differing(teacher0, state_of(model.teacher)) == []  # the live teacher is fine...
    assert differing(teacher0, saved) != []  # ...but EMA changed the one in the checkpoint
