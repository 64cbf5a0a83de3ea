"""The training stream of random numbers, made resumable.

Dropout, DropPath and anything else drawn during a training step come from the process-global
generators of python, numpy and torch (CPU and CUDA). :class:`RandomStateHook` (which
``DWPoseRunner`` installs)

- snapshots them after every training iteration and puts the snapshot back before the next one,
  so whatever runs in between (hooks, validation, checkpointing, starting DataLoader workers, a
  resume that builds and initialises the model) draws nothing from the training stream;
- saves every rank's snapshot in the checkpoint (``checkpoint['rng_states']``, loadable by
  torch's weights-only loader) and restores this rank's one on ``--resume``.

Augmentation has its own per-sample seeds (:mod:`dwpose.engine.data_seeding`).
"""

from __future__ import annotations

import logging
import random
from typing import Any, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS


def capture_rng_state() -> dict[str, Any]:
    """The global generators' states as tensors and numbers (weights-only loadable)."""
    version, internal, gauss_next = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states only where as many devices are visible)."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state(("MT19937", npy["key"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["gauss"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Only training iterations advance the training random stream; checkpoints carry it."""

    priority = "HIGHEST"  # snapshot before, and restore before, any other hook draws

    def __init__(self) -> None:
        self._state: Optional[dict[str, Any]] = None
        self._gathered: Optional[list] = None

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        if self._state is not None:
            restore_rng_state(self._state)

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        self._state = capture_rng_state()

    def gather(self) -> None:
        """Collect every rank's snapshot; called on all ranks by ``DWPoseRunner.save_checkpoint``
        (MMEngine's own ``save_checkpoint``, and so ``before_save_checkpoint``, runs on rank 0 only,
        where a collective call would wait forever for the other ranks)."""
        mine = self._state if self._state is not None else capture_rng_state()
        self._gathered = all_gather_object(mine)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        gathered = self._gathered
        checkpoint["rng_states"] = gathered if gathered is not None else [
            self._state if self._state is not None else capture_rng_state()]
        self._gathered = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner._resume:  # loading weights to fine-tune is not resuming
            return
        states = checkpoint.get("rng_states")
        if not states:
            print_log("the checkpoint has no random states (saved by an older version): the resumed "
                      "run will not repeat the interrupted one exactly", logger="current",
                      level=logging.WARNING)
        elif len(states) != get_world_size():
            print_log(f"the checkpoint was saved by {len(states)} processes, this run has "
                      f"{get_world_size()}: random states are not restored", logger="current",
                      level=logging.WARNING)
        else:
            self._state = states[get_rank()]
