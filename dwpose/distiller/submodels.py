"""Old home of the distiller's build and frozen-teacher helpers; import from their modules instead.

:mod:`dwpose.distiller.build` (``build_pose_model``, ``load_weights_strict``),
:mod:`dwpose.distiller.frozen` (``fold_batchnorm``, ``fast_frozen_copy``, ``FastFrozenCopy``) and
:mod:`dwpose.engine.config` (``load_model_config``). Kept only until ``dwpose/distiller/model.py``
imports from those; then this file goes.
"""

from dwpose.distiller.build import build_pose_model, load_weights_strict  # noqa: F401
from dwpose.distiller.frozen import FastFrozenCopy, fast_frozen_copy, fold_batchnorm  # noqa: F401
from dwpose.engine.config import load_model_config  # noqa: F401
