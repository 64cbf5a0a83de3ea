"""The training random stream: snapshots survive a weights-only checkpoint, and only training
iterations advance it."""

from __future__ import annotations

import io
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dwpose.engine.rng_state import RandomStateHook, capture_rng_state, restore_rng_state


def _draws() -> tuple:
    return random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(2).tolist()


def test_snapshot_round_trips_through_a_weights_only_checkpoint():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    random.gauss(0, 1), np.random.randn()  # leave a cached Gaussian in both states
    buf = io.BytesIO()
    torch.save({"rng_states": [capture_rng_state()]}, buf)
    expected = _draws()
    _draws()
    buf.seek(0)
    restore_rng_state(torch.load(buf, weights_only=True)["rng_states"][0])
    assert _draws() == expected


def _runner(resume: bool = True) -> SimpleNamespace:
    return SimpleNamespace(_resume=resume)


def test_only_training_iterations_advance_the_stream():
    hook = RandomStateHook()
    torch.manual_seed(0)
    hook.after_train_iter(_runner(), 0)
    expected = torch.rand(4)
    torch.rand(100)  # validation, checkpointing, a new DataLoader iterator...
    hook.before_train_iter(_runner(), 1)
    assert torch.equal(torch.rand(4), expected)


def test_resume_restores_the_saved_stream():
    saver, resumer = RandomStateHook(), RandomStateHook()
    torch.manual_seed(3)
    saver.after_train_iter(_runner(), 0)
    ckpt: dict = {}
    saver.before_save_checkpoint(_runner(), ckpt)
    expected = torch.rand(4)

    torch.manual_seed(99)  # a fresh process: model init, worker start-up
    resumer.after_load_checkpoint(_runner(), ckpt)
    resumer.before_train_iter(_runner(), 0)
    assert torch.equal(torch.rand(4), expected)


@pytest.mark.parametrize("ckpt", [{}, {"rng_states": [None, None]}], ids=["old", "other-world-size"])
def test_unusable_states_are_not_restored(ckpt):
    hook = RandomStateHook()
    hook.after_load_checkpoint(_runner(), ckpt)
    assert hook._state is None


def test_loading_weights_to_fine_tune_keeps_the_fresh_stream():
    saver, loader = RandomStateHook(), RandomStateHook()
    ckpt: dict = {}
    saver.before_save_checkpoint(_runner(), ckpt)
    loader.after_load_checkpoint(_runner(resume=False), ckpt)
    assert loader._state is None
