"""Tests that build mmpose transforms and models: start each in the mmpose registry scope."""

from __future__ import annotations

import uuid

LABEL_KEYS = ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")  # SimCC labels, per person


def enter_mmpose_scope() -> None:
    """Build in the mmpose scope, with our modules registered (as configs do)."""
    from mmengine.registry import DefaultScope, init_default_scope

    import dwpose.plugin  # noqa: F401

    init_default_scope("mmpose")
    if DefaultScope.get_current_instance().scope_name != "mmpose":  # an earlier test left another scope
        DefaultScope.get_instance(f"mmpose-{uuid.uuid4().hex}", scope_name="mmpose")
