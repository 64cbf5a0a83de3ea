"""Moved: checkpoints are read by :mod:`dwpose.engine.checkpoint` (one module, one set of rules).

``read_checkpoint`` is re-exported for old imports; it is the same function, not a second reader.
"""

from dwpose.engine.checkpoint import read_checkpoint

__all__ = ["read_checkpoint"]
