"""Weights-only reading of checkpoints written by any MMEngine runner (mmpose's included).

A plain MMEngine checkpoint pickles its message hub's ``HistoryBuffer`` objects, whose state holds
the class's statistics methods, rebuilt through ``getattr``: ``torch.load(weights_only=True)``
refuses them, and allowing ``getattr`` would open the door to arbitrary code. Converting a
checkpoint or loading a teacher needs only ``state_dict`` and ``meta``, so while reading, and only
then, the buffers become inert placeholders and ``getattr`` is answered for those placeholders
alone (anything else is refused). Tensors and the numpy allow-list of
:mod:`dwpose.engine.checkpoint` are unchanged.
"""

from __future__ import annotations

import os
import pickle
from typing import Union

import torch

from dwpose.engine.checkpoint import load_checkpoint_file


class DroppedObject:
    """Stands in for an object of the checkpoint that is not needed; keeps no state."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


def _getattr_of_dropped(obj, name: str) -> None:
    """What ``getattr`` means while reading: nothing, and only on dropped objects or their class."""
    if obj is DroppedObject or isinstance(obj, DroppedObject):
        return None
    raise pickle.UnpicklingError(f"refusing getattr({type(obj).__name__}, {name!r}) in a checkpoint")


STUBS = [(DroppedObject, "mmengine.logging.history_buffer.HistoryBuffer"),
         (_getattr_of_dropped, "builtins.getattr")]


def read_checkpoint(path: Union[str, os.PathLike]) -> dict:
    """Load an MMEngine checkpoint weights-only; message-hub buffers come back as placeholders.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: truncated, not a torch checkpoint, or holding objects outside the allow-list.
    """
    with torch.serialization.safe_globals(STUBS):
        return load_checkpoint_file(path)
